//! Where "now" comes from: the system clock, or a manual clock that tests move by hand.

use std::cell::Cell;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

/// The time source of a [`SessionLayer`](crate::SessionLayer) and a
/// [`MemoryStore`](crate::MemoryStore). The system clock unless a [`ManualClock`] is given.
///
/// # Examples
///
/// ```
/// use typed_sessions::clock::Clock;
///
/// let now = Clock::system().now();
/// assert!(now.year() >= 2024);
/// ```
#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<ManualClock>,
}

impl Clock {
    /// The system clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::clock::Clock;
    ///
    /// let clock = Clock::system();
    /// assert!(clock.now() <= time::OffsetDateTime::now_utc());
    /// ```
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// The current time, to the millisecond: every time the crate stores (cookies, records)
    /// has millisecond precision, so times read back equal the times written.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::clock::Clock;
    ///
    /// let now = Clock::system().now();
    /// assert_eq!(now.nanosecond() % 1_000_000, 0, "whole milliseconds");
    /// ```
    pub fn now(&self) -> OffsetDateTime {
        match &self.manual {
            None => system_now(),
            Some(manual) => manual.now(),
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.manual {
            None => f.write_str("Clock::system()"),
            Some(manual) => write!(f, "Clock::manual({})", manual.now()),
        }
    }
}

impl From<ManualClock> for Clock {
    fn from(manual: ManualClock) -> Self {
        Self {
            manual: Some(manual),
        }
    }
}

/// The system time to the millisecond, built from Unix milliseconds.
///
/// `OffsetDateTime::now_utc` goes through calendar arithmetic on every call; here the calendar
/// date of the current day comes from a small per-thread cache, so a read costs a clock read,
/// a few divisions and a table lookup.
fn system_now() -> OffsetDateTime {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|since| i64::try_from(since.as_millis()).ok());
    since
        .and_then(from_unix_ms)
        .unwrap_or_else(|| to_millis(OffsetDateTime::now_utc()))
}

const MS_PER_DAY: i64 = 86_400_000;
/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;
/// Days kept by [`date_of_day`]'s cache: today, the idle and absolute deadlines and the
/// creation day of the sessions at hand rarely collide in eight slots.
const CACHED_DAYS: usize = 8;

thread_local! {
    static DAYS: [Cell<(i64, Date)>; CACHED_DAYS] =
        const { [const { Cell::new((i64::MIN, Date::MIN)) }; CACHED_DAYS] };
}

/// The calendar date `day` days after 1970-01-01, cached per thread.
fn date_of_day(day: i64) -> Option<Date> {
    let slot = usize::try_from(day.rem_euclid(CACHED_DAYS as i64)).unwrap_or(0);
    DAYS.with(|days| {
        let (cached_day, date) = days[slot].get();
        if cached_day == day {
            return Some(date);
        }
        let julian = i32::try_from(day.checked_add(UNIX_EPOCH_JULIAN_DAY)?).ok()?;
        let date = Date::from_julian_day(julian).ok()?;
        days[slot].set((day, date));
        Some(date)
    })
}

/// A duration in milliseconds, a started millisecond counting as a whole one, saturating.
pub(crate) fn duration_ms(duration: std::time::Duration) -> i64 {
    let whole =
        duration.as_millis() + u128::from(!duration.subsec_nanos().is_multiple_of(1_000_000));
    i64::try_from(whole).unwrap_or(i64::MAX)
}

/// Unix time in whole milliseconds (rounded down): how cookies and SQL tables keep times.
pub(crate) fn unix_ms(at: OffsetDateTime) -> i64 {
    // `OffsetDateTime` spans ±9999 years (±999 999 with `time/large-dates`), well within `i64`
    // milliseconds.
    at.unix_timestamp() * 1000 + i64::from(at.millisecond())
}

/// The time `millis` Unix milliseconds stand for, if it is within `OffsetDateTime`'s range.
pub(crate) fn from_unix_ms(millis: i64) -> Option<OffsetDateTime> {
    let date = date_of_day(millis.div_euclid(MS_PER_DAY))?;
    let in_day = millis.rem_euclid(MS_PER_DAY);
    // Every part is below its limit, so the conversions and `from_hms_milli` cannot fail.
    let time = Time::from_hms_milli(
        u8::try_from(in_day / 3_600_000).ok()?,
        u8::try_from(in_day / 60_000 % 60).ok()?,
        u8::try_from(in_day / 1000 % 60).ok()?,
        u16::try_from(in_day % 1000).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// `at` without its sub-millisecond part.
pub(crate) fn to_millis(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.nanosecond();
    at.replace_nanosecond(nanos - nanos % 1_000_000)
        .expect("a smaller nanosecond is valid")
}

/// A clock that only moves when told to, for testing expiry without sleeping.
///
/// Clones share the same time.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use typed_sessions::clock::{Clock, ManualClock};
///
/// let manual = ManualClock::new(time::macros::datetime!(2026-01-01 0:00 UTC));
/// let clock = Clock::from(manual.clone());
/// manual.advance(Duration::from_secs(90));
/// assert_eq!(clock.now(), time::macros::datetime!(2026-01-01 0:01:30 UTC));
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    /// A clock that reads `start` until advanced.
    ///
    /// # Examples
    ///
    /// ```
    /// use time::macros::datetime;
    /// use typed_sessions::clock::ManualClock;
    ///
    /// let clock = ManualClock::new(datetime!(2026-01-01 0:00 UTC));
    /// assert_eq!(clock.now(), datetime!(2026-01-01 0:00 UTC));
    /// ```
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// A clock starting at the current system time.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::clock::ManualClock;
    ///
    /// let clock = ManualClock::starting_now();
    /// let start = clock.now();
    /// std::thread::sleep(std::time::Duration::from_millis(5));
    /// assert_eq!(clock.now(), start, "it does not move by itself");
    /// ```
    pub fn starting_now() -> Self {
        Self::new(OffsetDateTime::now_utc())
    }

    /// The time it reads, to the millisecond (like [`Clock::now`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use time::macros::datetime;
    /// use typed_sessions::clock::ManualClock;
    ///
    /// let clock = ManualClock::new(datetime!(2026-01-01 0:00:00.123456 UTC));
    /// assert_eq!(clock.now(), datetime!(2026-01-01 0:00:00.123 UTC));
    /// ```
    pub fn now(&self) -> OffsetDateTime {
        to_millis(
            *self
                .now
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Moves the clock forward by `by`; every clone moves with it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use time::macros::datetime;
    /// use typed_sessions::clock::ManualClock;
    ///
    /// let clock = ManualClock::new(datetime!(2026-01-01 0:00 UTC));
    /// let shared = clock.clone();
    /// clock.advance(Duration::from_secs(3600));
    /// assert_eq!(shared.now(), datetime!(2026-01-01 1:00 UTC));
    /// ```
    pub fn advance(&self, by: std::time::Duration) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the conversions replace: the `time` crate's own, general arithmetic.
    fn reference(millis: i64) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()
    }

    fn min_ms() -> i64 {
        unix_ms(time::PrimitiveDateTime::MIN.assume_utc())
    }

    fn max_ms() -> i64 {
        unix_ms(time::PrimitiveDateTime::MAX.assume_utc())
    }

    proptest! {
        #[test]
        fn from_unix_ms_agrees_with_time(millis in min_ms()..=max_ms()) {
            let fast = from_unix_ms(millis).expect("in range");
            prop_assert_eq!(Some(fast), reference(millis));
            prop_assert_eq!(fast.offset(), time::UtcOffset::UTC);
            prop_assert_eq!(unix_ms(fast), millis);
        }

        #[test]
        fn unix_ms_rounds_down(nanos in i128::from(min_ms()) * 1_000_000..i128::from(max_ms()) * 1_000_000) {
            let at = OffsetDateTime::from_unix_timestamp_nanos(nanos).expect("in range");
            prop_assert_eq!(i128::from(unix_ms(at)), nanos.div_euclid(1_000_000));
        }
    }

    #[test]
    fn out_of_range_is_none() {
        assert_eq!(from_unix_ms(max_ms() + 1), None);
        assert_eq!(from_unix_ms(min_ms() - 1), None);
        assert!(from_unix_ms(max_ms()).is_some());
        assert!(from_unix_ms(min_ms()).is_some());
        assert_eq!(from_unix_ms(i64::MAX), None);
        assert_eq!(from_unix_ms(i64::MIN), None);
    }

    #[test]
    fn cached_days_do_not_leak_between_slots() {
        // Days eight apart share a slot: each must still come out right after the other.
        for round in 0..3 {
            for day in [0i64, 8, 16, -8, 20_000, 20_008] {
                let millis = day * MS_PER_DAY + 12_345 + round;
                assert_eq!(from_unix_ms(millis), reference(millis), "day {day}");
            }
        }
    }

    #[test]
    fn system_clock_reads_now_to_the_millisecond() {
        let before = to_millis(OffsetDateTime::now_utc());
        let now = Clock::system().now();
        let after = OffsetDateTime::now_utc();
        assert!(
            before <= now && now <= after,
            "{before} <= {now} <= {after}"
        );
        assert_eq!(now.nanosecond() % 1_000_000, 0);
    }
}
