//! Idle and absolute expiry, and when an idle refresh is worth a write.

use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::clock::{from_unix_ms, unix_ms};

/// How long sessions live. Both limits are enforced by the server, whatever the browser does
/// with the cookie.
#[derive(Clone, Debug)]
pub(crate) struct Expiry {
    /// A session unused for this long expires; `None` disables the idle limit.
    pub(crate) idle: Option<Duration>,
    /// A session expires this long after it was created, however active.
    pub(crate) absolute: Duration,
    /// The idle deadline is only moved (a store write or a new cookie) when it would move by at
    /// least this much; zero means on every request that extracts the session ("rolling").
    pub(crate) refresh_after: Option<Duration>,
}

impl Default for Expiry {
    fn default() -> Self {
        Self {
            idle: Some(Duration::days(1)),
            absolute: Duration::days(14),
            refresh_after: None,
        }
    }
}

impl Expiry {
    /// When a session created at `created` and last refreshed at `last_seen` expires.
    pub(crate) fn deadline(
        &self,
        created: OffsetDateTime,
        last_seen: OffsetDateTime,
    ) -> OffsetDateTime {
        at(self.deadline_ms(unix_ms(created), unix_ms(last_seen)))
    }

    /// [`Expiry::deadline`] in Unix milliseconds: integer arithmetic instead of calendar
    /// arithmetic, which is what most of a request's time handling costs otherwise.
    pub(crate) fn deadline_ms(&self, created: i64, last_seen: i64) -> i64 {
        let absolute = created.saturating_add(millis(self.absolute));
        match self.idle {
            Some(idle) => absolute.min(last_seen.saturating_add(millis(idle))),
            None => absolute,
        }
    }

    /// The latest a session created at `created` (Unix milliseconds) may live.
    pub(crate) fn absolute_deadline_ms(&self, created: i64) -> i64 {
        created.saturating_add(millis(self.absolute))
    }

    /// The idle refresh interval: half the idle timeout unless configured.
    fn refresh_after(&self, idle: Duration) -> Duration {
        self.refresh_after.unwrap_or(idle / 2)
    }

    /// Whether a session whose deadline is `current` should have it moved now.
    pub(crate) fn refresh_due(
        &self,
        created: OffsetDateTime,
        current: OffsetDateTime,
        now: OffsetDateTime,
    ) -> bool {
        let Some(idle) = self.idle else {
            return false;
        };
        let moved = self
            .deadline_ms(unix_ms(created), unix_ms(now))
            .saturating_sub(unix_ms(current));
        moved > 0 && moved >= millis(self.refresh_after(idle))
    }
}

/// A duration in milliseconds, a fraction of a millisecond counting as a whole one (clock
/// times are whole milliseconds, so this keeps every comparison and `Max-Age` as exact as
/// with the duration itself), saturating at `i64`'s range.
fn millis(duration: Duration) -> i64 {
    let whole =
        duration.whole_milliseconds() + i128::from(duration.subsec_nanoseconds() % 1_000_000 > 0);
    i64::try_from(whole).unwrap_or(if whole < 0 { i64::MIN } else { i64::MAX })
}

/// The time of `millis` Unix milliseconds, clamped to the first and last millisecond
/// `OffsetDateTime` can hold.
pub(crate) fn at(millis: i64) -> OffsetDateTime {
    from_unix_ms(millis).unwrap_or_else(|| {
        if millis < 0 {
            PrimitiveDateTime::MIN.assume_utc()
        } else {
            let last = PrimitiveDateTime::MAX;
            last.replace_nanosecond(last.nanosecond() / 1_000_000 * 1_000_000)
                .expect("a smaller nanosecond is valid")
                .assume_utc()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

    fn expiry(idle_ms: i64, absolute_ms: i64) -> Expiry {
        Expiry {
            idle: Some(Duration::milliseconds(idle_ms)),
            absolute: Duration::milliseconds(absolute_ms),
            refresh_after: None,
        }
    }

    #[test]
    fn deadline_is_the_earlier_of_idle_and_absolute() {
        let e = expiry(200, 1000);
        assert_eq!(e.deadline(T0, T0), T0 + Duration::milliseconds(200));
        let late = T0 + Duration::milliseconds(900);
        assert_eq!(e.deadline(T0, late), T0 + Duration::milliseconds(1000));
    }

    #[test]
    fn refresh_waits_for_half_the_idle_timeout() {
        let e = expiry(2000, 60_000);
        let current = e.deadline(T0, T0);
        assert!(!e.refresh_due(T0, current, T0 + Duration::milliseconds(500)));
        assert!(e.refresh_due(T0, current, T0 + Duration::milliseconds(1200)));
    }

    #[test]
    fn rolling_refreshes_whenever_the_deadline_moves() {
        let mut e = expiry(2000, 60_000);
        e.refresh_after = Some(Duration::ZERO);
        let current = e.deadline(T0, T0);
        assert!(!e.refresh_due(T0, current, T0));
        assert!(e.refresh_due(T0, current, T0 + Duration::milliseconds(1)));
    }

    #[test]
    fn no_refresh_past_the_absolute_deadline() {
        let e = expiry(200, 1000);
        let current = T0 + Duration::milliseconds(1000);
        assert!(!e.refresh_due(T0, current, T0 + Duration::milliseconds(950)));
    }

    #[test]
    fn deadlines_saturate_at_the_ends_of_time() {
        let e = Expiry {
            idle: None,
            absolute: Duration::MAX,
            refresh_after: None,
        };
        let last = e.deadline(T0, T0);
        assert_eq!(last.year(), PrimitiveDateTime::MAX.year());
        assert_eq!(last.nanosecond(), 999_000_000);
        assert_eq!(at(i64::MAX), last);
        assert_eq!(at(i64::MIN), PrimitiveDateTime::MIN.assume_utc());
        assert_eq!(
            at(unix_ms(PrimitiveDateTime::MIN.assume_utc()) - 1),
            at(i64::MIN)
        );
    }

    #[test]
    fn sub_millisecond_timeouts_count_as_a_whole_millisecond() {
        let e = Expiry {
            idle: Some(Duration::microseconds(500)),
            absolute: Duration::milliseconds(1500) + Duration::nanoseconds(1),
            refresh_after: None,
        };
        assert_eq!(e.deadline_ms(0, 0), 1);
        assert_eq!(e.deadline_ms(0, 5000), 1501);
        assert!(e.deadline(T0, T0) > T0, "never born expired");
    }

    #[test]
    fn without_idle_limit_nothing_refreshes() {
        let e = Expiry {
            idle: None,
            ..expiry(1, 1000)
        };
        assert!(!e.refresh_due(
            T0,
            T0 + Duration::seconds(1),
            T0 + Duration::milliseconds(999)
        ));
    }
}
