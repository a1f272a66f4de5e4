//! Where an unsafe request comes from: Fetch Metadata, or `Origin` where a browser sends none.
//!
//! OWASP's defence in depth beside the token: a browser says whether a request was made by
//! another site (`Sec-Fetch-Site: cross-site`), and a forged form post from another site is
//! refused before the session is even loaded. Browsers too old for Fetch Metadata still send
//! `Origin` on a cross-origin `POST`, compared here with the request's `Host`. A request with
//! neither (a client that is not a browser) is left to the token.

use http::header::{HOST, ORIGIN};
use http::{HeaderMap, Uri};

/// Why a request's origin was refused, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `Sec-Fetch-Site: cross-site` from an origin that is not trusted.
    CrossSite,
    /// No Fetch Metadata, and an `Origin` that is neither the request's host nor trusted.
    ForeignOrigin,
}

/// Checks the request's origin; `trusted` are the origins (`https://app.example.com`) allowed
/// to post from other sites. The request's host is its `Host` header, or the URI's authority
/// (HTTP/2).
pub(crate) fn check(headers: &HeaderMap, uri: &Uri, trusted: &[String]) -> Result<(), Refused> {
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    let is_trusted = || origin.is_some_and(|origin| trusted.iter().any(|t| t == origin));
    match headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
        // `same-site` (a sibling subdomain) and `none` (the user's own navigation) go on to
        // the token, which a sibling cannot read.
        Some(b"cross-site") if !is_trusted() => Err(Refused::CrossSite),
        Some(_) => Ok(()),
        None => match origin {
            None => Ok(()),
            Some(origin) if is_trusted() || same_host(origin, host(headers, uri)) => Ok(()),
            Some(_) => Err(Refused::ForeignOrigin),
        },
    }
}

/// The host the request was sent to.
fn host<'a>(headers: &'a HeaderMap, uri: &'a Uri) -> Option<&'a str> {
    match headers.get(HOST) {
        Some(host) => host.to_str().ok(),
        None => uri.authority().map(|authority| authority.as_str()),
    }
}

/// Whether `origin` (`scheme://host[:port]`) names `host`.
fn same_host(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host else {
        return false;
    };
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false; // `null`, an opaque origin: a sandboxed frame or a `data:` page
    };
    let default_port = match scheme {
        "https" => ":443",
        "http" => ":80",
        _ => return false,
    };
    let strip = |authority: &str| -> String {
        authority
            .strip_suffix(default_port)
            .unwrap_or(authority)
            .to_ascii_lowercase()
    };
    strip(authority) == strip(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.parse().unwrap(), HeaderValue::from_static(value)))
            .collect()
    }

    #[test]
    fn fetch_metadata_decides_where_a_browser_sends_it() {
        let trusted = vec!["https://app.example.com".to_owned()];
        for (site, expected) in [
            ("same-origin", Ok(())),
            ("same-site", Ok(())),
            ("none", Ok(())),
            ("cross-site", Err(Refused::CrossSite)),
        ] {
            let request = headers(&[("sec-fetch-site", site), ("host", "example.com")]);
            assert_eq!(check(&request, &Uri::default(), &[]), expected, "{site}");
        }
        let trusted_post = headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://app.example.com"),
        ]);
        assert_eq!(check(&trusted_post, &Uri::default(), &trusted), Ok(()));
        assert_eq!(
            check(&trusted_post, &Uri::default(), &[]),
            Err(Refused::CrossSite)
        );
    }

    #[test]
    fn without_fetch_metadata_origin_must_name_the_host() {
        let trusted = vec!["https://partner.example".to_owned()];
        for (origin, host, expected) in [
            ("https://example.com", "example.com", Ok(())),
            ("https://example.com", "example.com:443", Ok(())),
            ("http://localhost:3000", "localhost:3000", Ok(())),
            ("https://EXAMPLE.com", "example.com", Ok(())),
            (
                "https://evil.example",
                "example.com",
                Err(Refused::ForeignOrigin),
            ),
            (
                "https://example.com:8443",
                "example.com",
                Err(Refused::ForeignOrigin),
            ),
            ("null", "example.com", Err(Refused::ForeignOrigin)),
            ("https://partner.example", "example.com", Ok(())),
        ] {
            let request = headers(&[("origin", origin), ("host", host)]);
            assert_eq!(
                check(&request, &Uri::default(), &trusted),
                expected,
                "{origin} to {host}"
            );
        }
        let none = Uri::default();
        assert_eq!(
            check(&headers(&[("host", "example.com")]), &none, &[]),
            Ok(())
        );
        let no_host = headers(&[("origin", "https://example.com")]);
        assert_eq!(check(&no_host, &none, &[]), Err(Refused::ForeignOrigin));
        let http2: Uri = "https://example.com/post".parse().unwrap();
        assert_eq!(check(&no_host, &http2, &[]), Ok(()), "the URI's authority");
    }
}
