//! How long sessions live, as the builder sets it: the idle and absolute timeouts, the longest
//! lifetime a session may claim, when the idle deadline moves, and the clock they are measured
//! by.

use std::time::Duration;

use super::SessionLayer;
use crate::clock::Clock;

impl SessionLayer {
    /// Expires a session unused for `idle` (default 1 day).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate()).with_idle_timeout(Duration::from_secs(30 * 60));
    /// # let _ = layer;
    /// ```
    pub fn with_idle_timeout(self, idle: Duration) -> Self {
        self.edit(|c| c.expiry.set_idle(Some(idle)))
    }

    /// Lets sessions live until the absolute timeout however long they are unused.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate())
    ///     .without_idle_timeout()
    ///     .with_absolute_timeout(Duration::from_secs(8 * 60 * 60));
    /// # let _ = layer;
    /// ```
    pub fn without_idle_timeout(self) -> Self {
        self.edit(|c| c.expiry.set_idle(None))
    }

    /// Expires every session `absolute` after it was created, however active (default 14 days).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate())
    ///     .with_absolute_timeout(Duration::from_secs(7 * 24 * 60 * 60));
    /// # let _ = layer;
    /// ```
    pub fn with_absolute_timeout(self, absolute: Duration) -> Self {
        self.edit(|c| c.expiry.set_absolute(absolute))
    }

    /// The longest idle or absolute timeout that a session's own
    /// [`Lifetime`](crate::lifetime::Lifetime) may have (default: the absolute timeout). A longer one is
    /// cut to it whenever a session is loaded or saved, so lowering it takes effect on sessions
    /// already stored, and a record edited to claim more gains nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use typed_sessions::{Key, SessionLayer};
    /// const DAY: Duration = Duration::from_secs(24 * 60 * 60);
    /// // Sessions end with the browser, after a day at most; "remember me" keeps one 30 days.
    /// let layer = SessionLayer::new(Key::generate())
    ///     .with_browser_session(true)
    ///     .with_absolute_timeout(DAY)
    ///     .with_max_lifetime(30 * DAY);
    /// # let _ = layer;
    /// ```
    pub fn with_max_lifetime(self, max: Duration) -> Self {
        self.edit(|c| c.expiry.set_max(max))
    }

    /// Moves the idle deadline only when it would move by at least `after` (default: half the
    /// idle timeout), so that reading a session is not a write on every request. Ignored while
    /// [`with_rolling(true)`](Self::with_rolling) is on, and in force again when it is off.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate())
    ///     .with_idle_timeout(Duration::from_secs(60 * 60))
    ///     .with_idle_refresh_after(Duration::from_secs(5 * 60));
    /// # let _ = layer;
    /// ```
    pub fn with_idle_refresh_after(self, after: Duration) -> Self {
        self.edit(|c| c.expiry.set_refresh_after(after))
    }

    /// Refreshes the idle deadline (and re-sends a persistent cookie) on every request that
    /// extracts an existing session. Requests that never extract it still cost nothing. Turning
    /// it off again restores the refresh threshold set by
    /// [`with_idle_refresh_after`](Self::with_idle_refresh_after).
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::{Key, SessionLayer};
    /// let layer = SessionLayer::new(Key::generate()).with_rolling(true);
    /// # let _ = layer;
    /// ```
    pub fn with_rolling(self, rolling: bool) -> Self {
        self.edit(|c| c.expiry.set_rolling(rolling))
    }

    /// Reads the time from `clock` (tests use a [`ManualClock`](crate::clock::ManualClock)).
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::clock::ManualClock;
    /// use typed_sessions::{Key, SessionLayer};
    ///
    /// let clock = ManualClock::starting_now();
    /// let layer = SessionLayer::new(Key::generate()).with_clock(clock.clone());
    /// clock.advance(std::time::Duration::from_secs(60)); // the layer's sessions age a minute
    /// # let _ = layer;
    /// ```
    pub fn with_clock(self, clock: impl Into<Clock>) -> Self {
        let clock = clock.into();
        self.edit(|c| c.clock = clock)
    }
}
