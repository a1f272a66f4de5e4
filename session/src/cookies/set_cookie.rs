//! Writing `Set-Cookie`: the session cookie's value and attributes in one exactly-sized string,
//! byte for byte as the `cookie` crate writes them, measured against what browsers keep.

use cookie::SameSite;
use time::{OffsetDateTime, UtcOffset};

use super::CookieConfig;
use crate::Error;
use crate::clock::unix_ms;

/// The largest `Set-Cookie` header value browsers are guaranteed to keep (RFC 6265 §6.1).
const MAX_SET_COOKIE_LEN: usize = 4096;

impl CookieConfig {
    /// A `Set-Cookie` value carrying a value of `value_len` bytes, which `write_value` appends,
    /// until `expires` (`None`: a browser-session cookie, whatever the layer's default, for a
    /// session whose own lifetime says so); measured against the limit. The value is written
    /// straight into the header: no string of its own.
    pub(crate) fn set(
        &self,
        name: &str,
        value_len: usize,
        write_value: impl FnOnce(&mut String),
        now: OffsetDateTime,
        expires: Option<OffsetDateTime>,
    ) -> Result<String, Error> {
        let lifetime = expires.map(|expires| {
            // Round up: a cookie must not die in the browser before it dies on the server.
            let expires_ms =
                unix_ms(expires) + i64::from(!expires.nanosecond().is_multiple_of(1_000_000));
            let remaining_ms = expires_ms.saturating_sub(unix_ms(now)).max(0);
            (remaining_ms.saturating_add(999) / 1000, expires)
        });
        let header = self.render(name, value_len, write_value, lifetime);
        if header.len() > MAX_SET_COOKIE_LEN {
            return Err(Error::CookieTooLarge {
                size: header.len(),
                limit: MAX_SET_COOKIE_LEN,
            });
        }
        Ok(header)
    }

    /// A `Set-Cookie` value that deletes the cookie: same name, path and domain, in the past.
    pub(crate) fn expire(&self, name: &str) -> String {
        self.render(name, 0, |_| {}, Some((0, OffsetDateTime::UNIX_EPOCH)))
    }

    /// `name=value` and the attributes, byte for byte as the `cookie` crate writes them (a test
    /// holds the two together), but without its general-purpose date formatting, which cost
    /// more than the rest of a `Set-Cookie` together. `lifetime` is `Max-Age` and `Expires`.
    ///
    /// The string is allocated at its exact length, so that it becomes a header value without
    /// another allocation; `write_value` appends the value's `value_len` bytes.
    fn render(
        &self,
        name: &str,
        value_len: usize,
        write_value: impl FnOnce(&mut String),
        lifetime: Option<(i64, OffsetDateTime)>,
    ) -> String {
        let domain = self
            .domain
            .as_deref()
            .map(|d| d.strip_prefix('.').unwrap_or(d));
        let lifetime = lifetime.map(|(max_age, at)| (max_age, at.to_offset(UtcOffset::UTC)));
        let same_site = match self.same_site {
            SameSite::Strict => "; SameSite=Strict",
            SameSite::Lax => "; SameSite=Lax",
            SameSite::None => "; SameSite=None",
        };
        let len = name.len()
            + 1
            + value_len
            + if self.http_only {
                "; HttpOnly".len()
            } else {
                0
            }
            + same_site.len()
            + if self.secure { "; Secure".len() } else { 0 }
            + "; Path=".len()
            + self.path.len()
            + domain.map_or(0, |d| "; Domain=".len() + d.len())
            + lifetime.map_or(0, |(max_age, at)| {
                "; Max-Age=".len()
                    + decimal_len(max_age, 1)
                    + "; Expires=".len()
                    + HTTP_DATE_LEN_BUT_YEAR
                    + decimal_len(i64::from(at.year()), 1)
            });
        let mut out = String::with_capacity(len);
        out.push_str(name);
        out.push('=');
        let start = out.len();
        write_value(&mut out);
        debug_assert_eq!(out.len() - start, value_len, "announced value length");
        if self.http_only {
            out.push_str("; HttpOnly");
        }
        out.push_str(same_site);
        if self.secure {
            out.push_str("; Secure");
        }
        out.push_str("; Path=");
        out.push_str(&self.path);
        if let Some(domain) = domain {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
        if let Some((max_age, expires)) = lifetime {
            out.push_str("; Max-Age=");
            push_decimal(&mut out, max_age, 1);
            out.push_str("; Expires=");
            push_http_date(&mut out, expires);
        }
        debug_assert_eq!(out.len(), len, "{out}");
        out
    }
}

/// How many bytes [`push_decimal`] appends.
fn decimal_len(n: i64, width: usize) -> usize {
    let digits = n
        .unsigned_abs()
        .checked_ilog10()
        .map_or(1, |log| log as usize + 1);
    usize::from(n < 0) + digits.max(width)
}

/// The length of an HTTP date without the year's digits: `Sun, 06 Nov  08:49:37 GMT`.
const HTTP_DATE_LEN_BUT_YEAR: usize = 25;

/// Appends `n` in decimal, zero-padded to at least `width` digits (at most 20).
fn push_decimal(out: &mut String, n: i64, width: usize) {
    if n < 0 {
        out.push('-');
    }
    let mut digits = [b'0'; 20];
    let start = digits.len() - write_decimal(&mut digits, n.unsigned_abs(), width);
    out.push_str(std::str::from_utf8(&digits[start..]).expect("digits are ASCII"));
}

/// Writes `n` right-aligned at the end of `digits`, zero-padded to `width`; returns how many
/// bytes it took.
fn write_decimal(digits: &mut [u8], mut n: u64, width: usize) -> usize {
    let mut used = 0;
    while n > 0 || used < width.max(1) {
        used += 1;
        digits[digits.len() - used] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    used
}

/// Appends `at` (in UTC) as an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`), the format the
/// `cookie` crate writes `Expires` in.
fn push_http_date(out: &mut String, at: OffsetDateTime) {
    const WEEKDAYS: [&[u8; 3]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let (year, month, day) = at.to_calendar_date();
    let (hour, minute, second) = at.to_hms();
    if !(0..=9999).contains(&year) {
        // Outside four digits (`OffsetDateTime` reaches ±9999): the general path.
        out.push_str(&format!(
            "{}, {day:02} {} {year} {hour:02}:{minute:02}:{second:02} GMT",
            std::str::from_utf8(WEEKDAYS[usize::from(at.weekday().number_days_from_monday())])
                .expect("ASCII"),
            std::str::from_utf8(MONTHS[usize::from(u8::from(month) - 1)]).expect("ASCII"),
        ));
        return;
    }
    // `Sun, 06 Nov 1994 08:49:37 GMT`, years below 1000 without leading zeros.
    let mut date = *b"Www, dd Mmm yyyy hh:mm:ss GMT";
    date[..3].copy_from_slice(WEEKDAYS[usize::from(at.weekday().number_days_from_monday())]);
    write_decimal(&mut date[5..7], u64::from(day), 2);
    date[8..11].copy_from_slice(MONTHS[usize::from(u8::from(month) - 1)]);
    let year_digits = write_decimal(&mut date[12..16], year.unsigned_abs().into(), 1);
    write_decimal(&mut date[17..19], u64::from(hour), 2);
    write_decimal(&mut date[20..22], u64::from(minute), 2);
    write_decimal(&mut date[23..25], u64::from(second), 2);
    let date = std::str::from_utf8(&date).expect("ASCII");
    out.push_str(&date[..5]);
    out.push_str(&date[5..12]);
    out.push_str(&date[16 - year_digits..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use cookie::Cookie;
    use time::Duration;
    use time::macros::datetime;

    /// What the `cookie` crate writes for the same cookie: the reference for `render`.
    fn reference(
        config: &CookieConfig,
        name: &str,
        value: &str,
        lifetime: Option<(i64, OffsetDateTime)>,
    ) -> String {
        let mut cookie = Cookie::new(name.to_owned(), value.to_owned());
        cookie.set_path(config.path.clone());
        if let Some(domain) = &config.domain {
            cookie.set_domain(domain.clone());
        }
        cookie.set_secure(config.secure);
        cookie.set_http_only(config.http_only);
        cookie.set_same_site(config.same_site);
        if let Some((max_age, expires)) = lifetime {
            cookie.set_max_age(Duration::seconds(max_age));
            cookie.set_expires(expires);
        }
        cookie.to_string()
    }

    /// The `Max-Age` of a cookie set at `now` until `expires`.
    fn max_age(now: OffsetDateTime, expires: OffsetDateTime) -> String {
        let header = CookieConfig::default()
            .set("s", 1, |out| out.push('v'), now, Some(expires))
            .unwrap();
        let start = header.find("Max-Age=").unwrap() + "Max-Age=".len();
        header[start..].split(';').next().unwrap().to_owned()
    }

    #[test]
    fn max_age_rounds_up_to_whole_seconds() {
        let now = datetime!(2026-11-25 12:00:00.250 UTC);
        let after = |d: Duration| max_age(now, now + d);
        assert_eq!(after(Duration::ZERO), "0");
        assert_eq!(after(-Duration::seconds(5)), "0");
        assert_eq!(after(Duration::milliseconds(1)), "1");
        assert_eq!(after(Duration::milliseconds(1000)), "1");
        assert_eq!(after(Duration::milliseconds(1001)), "2");
        assert_eq!(
            after(Duration::nanoseconds(1)),
            "1",
            "a sub-millisecond expiry"
        );
        assert_eq!(after(Duration::seconds(1) + Duration::nanoseconds(1)), "2");
        assert_eq!(after(Duration::days(1)), "86400");
    }

    #[test]
    fn set_cookie_is_written_as_the_cookie_crate_writes_it() {
        let times = [
            OffsetDateTime::UNIX_EPOCH,
            datetime!(2026-11-25 20:34:07.123 UTC),
            datetime!(2024-02-29 00:00:00 UTC),
            datetime!(2031-12-31 23:59:59.999 +02:00),
            datetime!(0999-01-05 09:08:07 UTC),
            datetime!(9999-12-31 23:59:59 UTC),
            datetime!(-0042-03-04 05:06:07 UTC),
        ];
        for secure in [true, false] {
            for http_only in [true, false] {
                for same_site in [SameSite::Strict, SameSite::Lax, SameSite::None] {
                    for domain in [None, Some("example.com"), Some(".example.com")] {
                        for path in ["/", "/app/x"] {
                            let config = CookieConfig {
                                secure,
                                http_only,
                                same_site,
                                path: path.into(),
                                domain: domain.map(Into::into),
                                persistent: true,
                                host_prefix: true,
                                http_on_localhost: false,
                            };
                            let lifetimes = times
                                .iter()
                                .zip([0, 1, 59, 86_400, 1_209_600, 315_569_520_000, 7])
                                .map(|(&at, secs)| Some((secs, at)))
                                .chain([None]);
                            for lifetime in lifetimes {
                                let rendered = config.render(
                                    "session",
                                    "1.ab.cd".len(),
                                    |out| out.push_str("1.ab.cd"),
                                    lifetime,
                                );
                                assert_eq!(
                                    rendered,
                                    reference(&config, "session", "1.ab.cd", lifetime),
                                );
                                assert_eq!(rendered.capacity(), rendered.len());
                            }
                            assert_eq!(
                                config.expire("id"),
                                reference(&config, "id", "", Some((0, OffsetDateTime::UNIX_EPOCH))),
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn decimals() {
        let text = |n, width| {
            let mut out = String::new();
            push_decimal(&mut out, n, width);
            assert_eq!(out.len(), decimal_len(n, width), "{n}");
            out
        };
        assert_eq!(text(0, 1), "0");
        assert_eq!(text(7, 2), "07");
        assert_eq!(text(1234, 2), "1234");
        assert_eq!(text(-45, 1), "-45");
        assert_eq!(text(i64::MIN, 1), i64::MIN.to_string());
        assert_eq!(text(i64::MAX, 1), i64::MAX.to_string());
    }
}
