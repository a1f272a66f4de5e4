//! Idle and absolute expiry, and when an idle refresh is worth a write.

use std::time::Duration as StdDuration;

use time::{OffsetDateTime, PrimitiveDateTime};

use crate::clock::{duration_ms as millis, from_unix_ms, to_millis, unix_ms};
use crate::lifetime::{Idle, Lifetime};

/// How long sessions live. Both limits are enforced by the server, whatever the browser does
/// with the cookie.
///
/// Kept in milliseconds (a fraction of a millisecond counting as a whole one: clock times are
/// whole milliseconds, so comparisons and `Max-Age` stay as exact as with the durations), so
/// that a request's expiry arithmetic is integer arithmetic.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Expiry {
    /// A session unused for this long expires; `None` disables the idle limit.
    idle: Option<i64>,
    /// A session expires this long after it was created, however active.
    absolute: i64,
    /// The idle deadline is only moved (a store write or a new cookie) when it would move by at
    /// least this much; `None`: half the idle timeout.
    refresh_after: Option<i64>,
    /// Move the idle deadline on every request that extracts the session, whatever
    /// `refresh_after` says. Kept apart from it, so that turning rolling off again restores it.
    rolling: bool,
    /// The longest idle or absolute timeout a session's own [`Lifetime`] may have; `None`: the
    /// absolute timeout.
    max: Option<i64>,
}

const MS_PER_DAY: i64 = 86_400_000;

impl Default for Expiry {
    fn default() -> Self {
        Self {
            idle: Some(MS_PER_DAY),
            absolute: 14 * MS_PER_DAY,
            refresh_after: None,
            rolling: false,
            max: None,
        }
    }
}

impl Expiry {
    pub(crate) fn set_idle(&mut self, idle: Option<StdDuration>) {
        self.idle = idle.map(millis);
    }

    pub(crate) fn set_absolute(&mut self, absolute: StdDuration) {
        self.absolute = millis(absolute);
    }

    pub(crate) fn set_refresh_after(&mut self, after: StdDuration) {
        self.refresh_after = Some(millis(after));
    }

    pub(crate) fn set_rolling(&mut self, rolling: bool) {
        self.rolling = rolling;
    }

    pub(crate) fn set_max(&mut self, max: StdDuration) {
        self.max = Some(millis(max));
    }

    /// The limits of one session: the layer's, or those of the session's own lifetime, each
    /// cut to the layer's maximum. A stored lifetime is never trusted further: it may have been
    /// written under a higher maximum, or edited in the store.
    pub(crate) fn for_session(&self, lifetime: Option<&Lifetime>) -> Self {
        let Some(lifetime) = lifetime else {
            return *self;
        };
        let max = self.max.unwrap_or(self.absolute);
        let idle = match lifetime.idle() {
            Idle::Layer => self.idle,
            Idle::Off => None,
            Idle::After(ms) => Some(ms),
        };
        Self {
            idle: idle.map(|idle| idle.min(max)),
            absolute: lifetime.absolute_ms().unwrap_or(self.absolute).min(max),
            ..*self
        }
    }

    /// Why the limits cannot work, if they cannot.
    pub(crate) fn problem(&self) -> Option<&'static str> {
        if self.max.is_some_and(|max| max <= 0) {
            return Some("the maximum session lifetime must be positive");
        }
        if self.absolute <= 0 {
            return Some("the absolute timeout must be positive");
        }
        if self.idle.is_some_and(|idle| idle <= 0) {
            return Some("the idle timeout must be positive");
        }
        None
    }

    /// When a session created at `created` and last refreshed at `last_seen` expires.
    pub(crate) fn deadline(
        &self,
        created: OffsetDateTime,
        last_seen: OffsetDateTime,
    ) -> OffsetDateTime {
        at(self.deadline_ms(unix_ms(created), unix_ms(last_seen)))
    }

    /// [`Expiry::deadline`] in Unix milliseconds.
    pub(crate) fn deadline_ms(&self, created: i64, last_seen: i64) -> i64 {
        let absolute = self.absolute_deadline_ms(created);
        match self.idle {
            Some(idle) => absolute.min(last_seen.saturating_add(idle)),
            None => absolute,
        }
    }

    /// The latest a session created at `created` (Unix milliseconds) may live.
    pub(crate) fn absolute_deadline_ms(&self, created: i64) -> i64 {
        created.saturating_add(self.absolute)
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
        // Half the idle timeout unless configured; rolling: whenever the deadline moves.
        let after = if self.rolling {
            0
        } else {
            self.refresh_after.unwrap_or(idle / 2)
        };
        let moved = self
            .deadline_ms(unix_ms(created), unix_ms(now))
            .saturating_sub(unix_ms(current));
        moved > 0 && moved >= after
    }
}

/// The time of `millis` Unix milliseconds, clamped to the first and last millisecond
/// `OffsetDateTime` can hold.
pub(crate) fn at(millis: i64) -> OffsetDateTime {
    from_unix_ms(millis).unwrap_or_else(|| {
        if millis < 0 {
            PrimitiveDateTime::MIN.assume_utc()
        } else {
            to_millis(PrimitiveDateTime::MAX.assume_utc())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

    fn expiry(idle_ms: i64, absolute_ms: i64) -> Expiry {
        Expiry {
            idle: Some(idle_ms),
            absolute: absolute_ms,
            refresh_after: None,
            rolling: false,
            max: None,
        }
    }

    #[test]
    fn a_session_lifetime_is_cut_to_the_maximum() {
        let mut e = expiry(200, 1000);
        let year = StdDuration::from_secs(365 * 86_400);
        let remember = Lifetime::remember_for(year);
        let own = e.for_session(Some(&remember));
        assert_eq!(
            own.deadline_ms(0, 0),
            1000,
            "no maximum: the absolute timeout"
        );
        e.set_max(StdDuration::from_millis(5000));
        let own = e.for_session(Some(&remember));
        assert_eq!(
            own.deadline_ms(0, 4000),
            5000,
            "no idle timeout, absolute capped"
        );
        let idle = e.for_session(Some(&remember.with_idle_timeout(year)));
        assert_eq!(idle.deadline_ms(0, 100), 5000, "idle capped too");
        let short = e.for_session(Some(&Lifetime::remember_for(StdDuration::from_millis(300))));
        assert_eq!(short.deadline_ms(0, 0), 300);
        let browser = e.for_session(Some(&Lifetime::browser_session()));
        assert_eq!(browser.deadline_ms(0, 0), 200, "the layer's timeouts");
        assert_eq!(e.for_session(None).deadline_ms(0, 0), 200);
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
        e.set_rolling(true);
        let current = e.deadline(T0, T0);
        assert!(!e.refresh_due(T0, current, T0));
        assert!(e.refresh_due(T0, current, T0 + Duration::milliseconds(1)));
    }

    #[test]
    fn rolling_and_the_refresh_threshold_do_not_undo_each_other() {
        let mut e = expiry(2000, 60_000);
        e.set_refresh_after(StdDuration::from_millis(300));
        e.set_rolling(true);
        e.set_rolling(false);
        let current = e.deadline(T0, T0);
        assert!(!e.refresh_due(T0, current, T0 + Duration::milliseconds(299)));
        assert!(e.refresh_due(T0, current, T0 + Duration::milliseconds(300)));
        e.set_rolling(true);
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
        let mut e = expiry(1, 1);
        e.set_idle(None);
        e.set_absolute(StdDuration::MAX);
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
        let mut e = expiry(1, 1);
        e.set_idle(Some(StdDuration::from_micros(500)));
        e.set_absolute(StdDuration::from_millis(1500) + StdDuration::from_nanos(1));
        assert_eq!(e.deadline_ms(0, 0), 1);
        assert_eq!(e.deadline_ms(0, 5000), 1501);
        assert!(e.deadline(T0, T0) > T0, "never born expired");
        assert_eq!(e.problem(), None);
        e.set_idle(Some(StdDuration::ZERO));
        assert_eq!(e.problem(), Some("the idle timeout must be positive"));
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
