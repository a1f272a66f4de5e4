//! The header transport, for API and mobile clients that keep no cookies: with
//! [`with_header`](crate::SessionLayer::with_header), the same signed (or sealed) token the
//! cookie carries is also read from a request header, and sent in a response header of that
//! name whenever the cookie would be set (a new token) or expired (an empty value).
//!
//! The header is read before the cookies: a client that sends it chose it, and a browser never
//! sends a custom header by itself, so a token from the header is also one no other site can
//! make a browser present.

use http::header::VARY;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::config::Config;
use crate::cookies;

/// The session tokens a request presents, in the order they are tried: the transport header's
/// values first, then the session cookies. Only values that could be this layer's (`plausible`)
/// come out.
pub(crate) fn presented<'h>(
    config: &'h Config,
    headers: &'h HeaderMap,
    plausible: impl Fn(&str) -> bool + Copy + 'h,
) -> impl Iterator<Item = &'h str> {
    let from_header = config
        .token_header
        .iter()
        .flat_map(move |name| headers.get_all(name).iter())
        .filter_map(|value| value.to_str().ok())
        .map(str::trim)
        .filter(move |value| plausible(value));
    from_header.chain(cookies::values(headers, config.codec.name(), plausible))
}

/// Mirrors a `Set-Cookie` value into the transport header: the token the cookie carries, or an
/// empty value when the cookie is expired (`set_cookie` is `None`).
pub(crate) fn mirror(name: &HeaderName, response: &mut HeaderMap, set_cookie: Option<&str>) {
    let token = set_cookie
        .and_then(|header| header.split_once('='))
        .map_or("", |(_, rest)| rest.split(';').next().unwrap_or(""));
    if let Ok(value) = HeaderValue::from_str(token) {
        response.insert(name.clone(), value);
    }
}

/// `Cache-Control` for a response that sets the session: shared caches must not keep the
/// cookie, nor the transport header when there is one.
pub(crate) fn no_cache(token_header: Option<&HeaderName>) -> HeaderValue {
    match token_header {
        None => HeaderValue::from_static("no-cache=\"set-cookie\""),
        Some(name) => HeaderValue::from_str(&format!("no-cache=\"set-cookie, {name}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("no-store")),
    }
}

/// Adds `Vary: <name>`: the response depends on the transport header too.
pub(crate) fn add_vary(name: &HeaderName, response: &mut HeaderMap) {
    let already = response.get_all(VARY).iter().any(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|v| v.trim().eq_ignore_ascii_case(name.as_str()) || v.trim() == "*")
        })
    });
    if !already && let Ok(value) = HeaderValue::from_str(name.as_str()) {
        response.append(VARY, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_the_cookie_value_and_an_expiry_is_empty() {
        let name = HeaderName::from_static("x-session");
        let mut headers = HeaderMap::new();
        mirror(
            &name,
            &mut headers,
            Some("session=1.ab.cd; HttpOnly; Path=/"),
        );
        assert_eq!(headers[&name], "1.ab.cd");
        mirror(&name, &mut headers, None);
        assert_eq!(headers[&name], "");
    }

    #[test]
    fn vary_names_the_header_once() {
        let name = HeaderName::from_static("x-session");
        let mut headers = HeaderMap::new();
        headers.append(VARY, HeaderValue::from_static("cookie"));
        add_vary(&name, &mut headers);
        add_vary(&name, &mut headers);
        let vary: Vec<_> = headers.get_all(VARY).iter().collect();
        assert_eq!(vary, ["cookie", "x-session"]);
    }
}
