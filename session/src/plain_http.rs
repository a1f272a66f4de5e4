//! Local development over plain `http://`: with
//! [`with_http_on_localhost`](crate::SessionLayer::with_http_on_localhost), in a debug build, a
//! request to a loopback host that no proxy forwarded gets its cookie without `Secure`, so that
//! every client keeps it (Safari and Python's cookie jar do not send a `Secure` cookie over plain
//! HTTP, even to `localhost`). Any other request keeps `Secure`, and a release build ignores
//! the setting: a reverse proxy on the same machine (nginx and Apache send `Host: 127.0.0.1`
//! upstream by default) cannot turn it into insecure cookies in production.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Once;

use cookie::SameSite;
use http::HeaderMap;
use http::header::{FORWARDED, HOST};

use crate::cookies::CookieConfig;

/// Headers a reverse proxy adds: a request that carries one came from elsewhere, whatever its
/// `Host` says.
const PROXY_HEADERS: [&str; 5] = [
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "via",
];

/// Whether the layer's setting takes effect in this build: only with debug assertions on, as
/// in `cargo run` and `cargo test`, never in a release build.
pub(crate) const TAKES_EFFECT: bool = cfg!(debug_assertions);

/// Whether this request's cookie goes without `Secure`: local development is on, the request
/// names a loopback host in its `Host` header, no proxy header says it was forwarded, and
/// `SameSite=None` (which browsers accept only with `Secure`) is not set. A request without a
/// `Host` header keeps `Secure`.
pub(crate) fn plain_http_for(cookie: &CookieConfig, headers: &HeaderMap) -> bool {
    if !cookie.http_on_localhost || cookie.same_site == SameSite::None {
        return false;
    }
    let forwarded = headers.contains_key(FORWARDED)
        || PROXY_HEADERS.iter().any(|name| headers.contains_key(*name));
    let loopback = !forwarded
        && headers
            .get(HOST)
            .and_then(|host| host.to_str().ok())
            .is_some_and(is_loopback_host);
    if !loopback {
        static WARNED: Once = Once::new();
        WARNED.call_once(|| {
            tracing::warn!(
                "with_http_on_localhost(true) is serving a request that is not local (another \
                 host, or forwarded by a proxy): the cookie keeps `Secure` there, but goes \
                 without the `__Host-` prefix; turn the setting off outside local development"
            );
        });
    }
    loopback
}

/// `header` (a `Set-Cookie` value that `cookies` wrote) without its `Secure` attribute.
pub(crate) fn without_secure(header: String) -> String {
    header.replacen("; Secure", "", 1)
}

/// Whether `host` (a `Host` header: a name or an address, maybe with a port) is a loopback
/// host: `localhost` or a name under it, an address in 127.0.0.0/8, or `[::1]`.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    if let Some(rest) = host.strip_prefix('[') {
        // An IPv6 literal: `[::1]` or `[::1]:3000`.
        return rest
            .split_once(']')
            .filter(|(_, port)| port.is_empty() || port.starts_with(':'))
            .and_then(|(address, _)| address.parse::<Ipv6Addr>().ok())
            .is_some_and(|address| address.is_loopback());
    }
    let name = host.rsplit_once(':').map_or(host, |(name, _port)| name);
    let name = name.strip_suffix('.').unwrap_or(name);
    if let Ok(address) = name.parse::<Ipv4Addr>() {
        return address.is_loopback();
    }
    let under = |suffix: &str| {
        name.len()
            .checked_sub(suffix.len())
            .and_then(|at| name.get(at..))
            .is_some_and(|end| end.eq_ignore_ascii_case(suffix))
    };
    name.eq_ignore_ascii_case("localhost") || under(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_told_apart_from_every_other_host() {
        for host in [
            "localhost",
            "localhost:3000",
            "LocalHost:8080",
            "localhost.",
            "app.localhost:3000",
            "127.0.0.1",
            "127.0.0.1:3000",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:3000",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "example.com",
            "localhost.example.com",
            "mylocalhost",
            "evil-localhost:3000",
            "128.0.0.1",
            "10.0.0.1:3000",
            "[::2]:3000",
            "[::1]x",
            "::1",
            "",
            "[",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn only_the_secure_attribute_goes() {
        let header = "session=abc.Secure; HttpOnly; SameSite=Lax; Secure; Path=/".to_owned();
        assert_eq!(
            without_secure(header),
            "session=abc.Secure; HttpOnly; SameSite=Lax; Path=/"
        );
    }

    #[test]
    fn the_setting_applies_only_to_loopback_hosts() {
        let on = CookieConfig {
            http_on_localhost: true,
            ..CookieConfig::default()
        };
        let host = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(HOST, value.parse().unwrap());
            headers
        };
        assert!(plain_http_for(&on, &host("localhost:3000")));
        assert!(!plain_http_for(&on, &host("example.com")));
        // Behind a reverse proxy on the same machine, `Host` may say 127.0.0.1.
        for proxy in [
            "forwarded",
            "x-forwarded-for",
            "x-forwarded-proto",
            "x-real-ip",
            "via",
        ] {
            let mut forwarded = host("127.0.0.1:3000");
            forwarded.insert(proxy, "for=203.0.113.7".parse().unwrap());
            assert!(!plain_http_for(&on, &forwarded), "{proxy}");
        }
        assert!(!plain_http_for(&on, &HeaderMap::new()));
        assert!(!plain_http_for(
            &CookieConfig::default(),
            &host("localhost")
        ));
        let cross_site = CookieConfig {
            same_site: SameSite::None,
            ..on
        };
        assert!(!plain_http_for(&cross_site, &host("localhost")));
    }
}
