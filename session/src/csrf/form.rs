//! The token in an HTML form's body (`application/x-www-form-urlencoded`): the body is read up
//! to a limit, searched for the token's field, and handed on to the handler intact.

use std::borrow::Cow;
use std::pin::Pin;

use axum_core::body::Body;
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use http_body::Body as _;

/// Why a form body could not be read, for the log and the status.
#[derive(Debug)]
pub(crate) enum Unread {
    /// Longer than the limit.
    TooLarge,
    /// The body failed while being read (the client went away).
    Failed(axum_core::Error),
}

/// Whether the request's body is an urlencoded form (the only body the check reads: a
/// multipart form or a JSON body carries its token in the header).
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Reads `body` whole, refusing one longer than `limit` bytes.
pub(crate) async fn read(mut body: Body, limit: usize) -> Result<Vec<u8>, Unread> {
    if body.size_hint().lower() > limit as u64 {
        return Err(Unread::TooLarge);
    }
    let mut bytes = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(Unread::Failed)?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > limit {
                return Err(Unread::TooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

/// The value of the first field `name` in an urlencoded `body`.
pub(crate) fn field<'a>(body: &'a [u8], name: &str) -> Option<Cow<'a, str>> {
    body.split(|&b| b == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        (decode(key)? == name).then(|| decode(value)).flatten()
    })
}

/// Percent-decodes one urlencoded component (`+` is a space); `None` if it is not UTF-8.
fn decode(component: &[u8]) -> Option<Cow<'_, str>> {
    if !component.iter().any(|&b| b == b'%' || b == b'+') {
        return std::str::from_utf8(component).ok().map(Cow::Borrowed);
    }
    let mut out = Vec::with_capacity(component.len());
    let mut bytes = component.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .as_slice()
                    .get(..2)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        bytes.nth(1);
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn the_field_is_found_decoded_among_others() {
        let body = b"title=a+b%26c&csrf_token=AB-_cd&csrf%5Ftoken=second&empty";
        assert_eq!(field(body, "csrf_token").as_deref(), Some("AB-_cd"));
        assert_eq!(field(body, "title").as_deref(), Some("a b&c"));
        assert_eq!(field(body, "empty").as_deref(), Some(""));
        assert_eq!(field(body, "missing"), None);
        assert_eq!(field(b"x=%zz%4", "x").as_deref(), Some("%zz%4"));
        assert_eq!(field(b"x=%ff", "x"), None, "not UTF-8");
    }

    #[test]
    fn only_an_urlencoded_form_is_read() {
        for (value, expected) in [
            ("application/x-www-form-urlencoded", true),
            ("Application/X-WWW-Form-Urlencoded; charset=UTF-8", true),
            ("multipart/form-data; boundary=x", false),
            ("application/json", false),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            assert_eq!(is_form(&headers), expected, "{value}");
        }
        assert!(!is_form(&HeaderMap::new()));
    }

    #[tokio::test]
    async fn a_body_is_read_up_to_the_limit() {
        assert_eq!(read(Body::from("a=1"), 3).await.unwrap(), b"a=1");
        assert!(matches!(
            read(Body::from("a=12"), 3).await,
            Err(Unread::TooLarge)
        ));
    }
}
