//! Reading `Cookie` headers: the values of every cookie of the session cookie's name.

use http::HeaderMap;
use http::header::COOKIE;

/// The values of the cookies called `name` in the request that pass `plausible`, in the order
/// sent, all of them: a cookie planted ahead of the genuine one (by a sibling subdomain, with a
/// longer `Path`) must not hide it, whatever their number. Each costs its caller one MAC (or
/// one AES-GCM open) at most, and only a value of about 50 bytes or more gets that far, so the
/// work is bounded by the size of the `Cookie` header the server accepts: a few thousand MACs
/// for the largest header hyper accepts by default, a few milliseconds. Implausible values
/// (unknown version or key id) cost nothing.
pub(crate) fn values<'h>(
    headers: &'h HeaderMap,
    name: &'h str,
    plausible: impl Fn(&str) -> bool + 'h,
) -> impl Iterator<Item = &'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|header| Pairs::of(header.as_bytes()))
        .filter_map(move |pair| {
            let pair = pair.trim_ascii();
            let eq = pair.iter().position(|&b| b == b'=')?;
            let (key, value) = (&pair[..eq], &pair[eq + 1..]);
            (key.trim_ascii() == name.as_bytes())
                .then(|| std::str::from_utf8(value.trim_ascii()).ok())
                .flatten()
        })
        .filter(move |value| plausible(value))
}

/// The `;`-separated pairs of one `Cookie` header. A header that is UTF-8 (as they all are in
/// practice) is split with the string searcher, which skips ahead a word at a time; byte by
/// byte otherwise. Every session-reading request goes through this.
enum Pairs<'h> {
    Text(std::str::Split<'h, char>),
    Bytes(std::slice::Split<'h, u8, fn(&u8) -> bool>),
}

impl<'h> Pairs<'h> {
    fn of(header: &'h [u8]) -> Self {
        match std::str::from_utf8(header) {
            Ok(text) => Pairs::Text(text.split(';')),
            Err(_) => Pairs::Bytes(header.split(|&b| b == b';')),
        }
    }
}

impl<'h> Iterator for Pairs<'h> {
    type Item = &'h [u8];

    fn next(&mut self) -> Option<&'h [u8]> {
        match self {
            Pairs::Text(split) => split.next().map(str::as_bytes),
            Pairs::Bytes(split) => split.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn finds_the_named_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; session=abc ; b=2"));
        headers.append(COOKIE, HeaderValue::from_static("session=def"));
        let found: Vec<_> = values(&headers, "session", |_| true).collect();
        assert_eq!(found, ["abc", "def"]);
        assert_eq!(values(&headers, "sess", |_| true).count(), 0);
    }

    #[test]
    fn valid_pairs_of_a_header_with_invalid_utf8_are_found() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_bytes(b"a=\xff; session=abc;b=2").unwrap(),
        );
        assert_eq!(
            values(&headers, "session", |_| true).collect::<Vec<_>>(),
            ["abc"]
        );
    }

    #[test]
    fn invalid_utf8_and_garbage_are_skipped() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_bytes(b"session=\xff\xfe; ;;=; x").unwrap(),
        );
        assert_eq!(values(&headers, "session", |_| true).count(), 0);
    }

    #[test]
    fn every_plausible_candidate_is_offered() {
        let mut headers = HeaderMap::new();
        let many = vec!["session=x"; 1000].join("; ");
        headers.append(COOKIE, HeaderValue::from_str(&many).unwrap());
        assert_eq!(values(&headers, "session", |_| true).count(), 1000);
        let real = "session=1.k.real";
        headers.append(COOKIE, HeaderValue::from_static(real));
        let found: Vec<_> = values(&headers, "session", |v| v.starts_with("1.")).collect();
        assert_eq!(
            found,
            ["1.k.real"],
            "implausible values do not use up the candidates"
        );
    }
}
