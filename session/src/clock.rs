//! Where "now" comes from: the system clock, or a manual clock that tests move by hand.

use std::fmt;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

/// The time source of a [`SessionLayer`](crate::SessionLayer) and a
/// [`MemoryStore`](crate::MemoryStore). The system clock unless a [`ManualClock`] is given.
///
/// # Example
///
/// ```
/// use typed_sessions::Clock;
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
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// The current time, to the millisecond: every time the crate stores (cookies, records)
    /// has millisecond precision, so times read back equal the times written.
    pub fn now(&self) -> OffsetDateTime {
        match &self.manual {
            None => to_millis(OffsetDateTime::now_utc()),
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

/// Unix time in whole milliseconds (rounded down): how cookies and SQL tables keep times.
pub(crate) fn unix_ms(at: OffsetDateTime) -> i64 {
    let millis = at.unix_timestamp_nanos().div_euclid(1_000_000);
    // `OffsetDateTime` spans ±9999 years, well within `i64` milliseconds.
    i64::try_from(millis).unwrap_or(if millis < 0 { i64::MIN } else { i64::MAX })
}

/// The time `millis` Unix milliseconds stand for, if it is within `OffsetDateTime`'s range.
pub(crate) fn from_unix_ms(millis: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()
}

/// `at` without its sub-millisecond part.
fn to_millis(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.nanosecond();
    at.replace_nanosecond(nanos - nanos % 1_000_000)
        .expect("a smaller nanosecond is valid")
}

/// A clock that only moves when told to, for testing expiry without sleeping.
///
/// Clones share the same time.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use typed_sessions::{Clock, ManualClock};
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
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// A clock starting at the current system time.
    pub fn starting_now() -> Self {
        Self::new(OffsetDateTime::now_utc())
    }

    /// The time it reads, to the millisecond (like [`Clock::now`]).
    pub fn now(&self) -> OffsetDateTime {
        to_millis(
            *self
                .now
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }
}
