//! One session's own lifetime ("remember me"), chosen by a handler: [`Lifetime`].
//!
//! It is kept with the session as a reserved field of its record (`$lifetime`), so that it
//! rides the per-field patch of every store, and inside the MAC on the cookie store, with no
//! schema change anywhere.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use typed_sessions::Session;
//! use typed_sessions::lifetime::Lifetime;
//!
//! #[derive(Session, Default)]
//! struct Auth {
//!     user: Option<String>,
//! }
//!
//! async fn login(mut auth: Session<Auth>) {
//!     auth.regenerate();
//!     auth.user = Some("ann".into());
//!     auth.set_lifetime(Lifetime::remember_for(Duration::from_secs(30 * 24 * 3600)));
//! }
//! ```

use std::time::Duration;

use serde_json::{Map, Value};

use crate::clock::duration_ms;
use crate::store::Fields;

/// The storage key the lifetime is kept under. `#[derive(Session)]` refuses keys that start
/// with `$`, so no field of a session type can collide with it.
pub(crate) const KEY: &str = crate::reserved::LIFETIME;

/// How long one session lives, when it should differ from what the layer configures: a
/// "remember me" session kept for 30 days in a persistent cookie, or a session that ends with
/// the browser.
///
/// Set it with [`Session::set_lifetime`](crate::Session::set_lifetime). The choice is stored
/// with the session (in the cookie, under its MAC, on the cookie store; in the record on every
/// other store) and kept across requests, idle refreshes, `regenerate()` and key rotation, until
/// `destroy()` or [`Session::reset_lifetime`](crate::Session::reset_lifetime).
///
/// The server never lets a session live longer than the layer's
/// [`with_max_lifetime`](crate::SessionLayer::with_max_lifetime): a longer idle or absolute
/// timeout is cut to it when the session is loaded and saved, whatever the stored choice says.
/// The absolute timeout counts from the session's creation, not from the call.
///
/// Other libraries call this `set_expiry` (tower-sessions, Django), `set_longterm`
/// (axum_session), `req.session.cookie.maxAge` (express) or `ctx.session.maxAge` (koa).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use typed_sessions::lifetime::Lifetime;
///
/// const DAY: Duration = Duration::from_secs(24 * 60 * 60);
///
/// // A persistent cookie; the session ends 30 days after it was created, however idle.
/// let remember = Lifetime::remember_for(30 * DAY);
/// assert!(remember.is_persistent());
/// assert_eq!(remember.absolute_timeout(), Some(30 * DAY));
/// assert_eq!(remember.idle_timeout(), Some(None));
///
/// // Or: also end it after a week without a visit.
/// let remember = Lifetime::remember_for(30 * DAY).with_idle_timeout(7 * DAY);
/// assert_eq!(remember.idle_timeout(), Some(Some(7 * DAY)));
///
/// // A cookie without `Max-Age`: the browser drops it when it closes.
/// let shared_computer = Lifetime::browser_session();
/// assert!(!shared_computer.is_persistent());
/// assert_eq!(shared_computer.absolute_timeout(), None, "the layer's");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetime {
    /// Whether the cookie carries `Max-Age`/`Expires`.
    persistent: bool,
    /// The idle timeout in milliseconds.
    idle: Idle,
    /// The absolute timeout in milliseconds; `None`: the layer's.
    absolute: Option<i64>,
}

/// A session's own idle timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Idle {
    /// The layer's.
    Layer,
    /// None: the session lives until its absolute timeout, however long it is unused.
    Off,
    /// This many milliseconds.
    After(i64),
}

impl Lifetime {
    /// A persistent cookie, and a session that lives `duration` after its creation, with no idle
    /// timeout (add one with [`with_idle_timeout`](Self::with_idle_timeout)). Capped by the
    /// layer's [`with_max_lifetime`](crate::SessionLayer::with_max_lifetime).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// use typed_sessions::lifetime::Lifetime;
    ///
    /// let month = Lifetime::remember_for(Duration::from_secs(30 * 24 * 60 * 60));
    /// assert!(month.is_persistent());
    /// ```
    pub fn remember_for(duration: Duration) -> Self {
        Self {
            persistent: true,
            idle: Idle::Off,
            absolute: Some(duration_ms(duration)),
        }
    }

    /// A browser-session cookie (no `Max-Age` or `Expires`), with the layer's idle and absolute
    /// timeouts, which the server still enforces.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::lifetime::Lifetime;
    ///
    /// assert!(!Lifetime::browser_session().is_persistent());
    /// ```
    pub fn browser_session() -> Self {
        Self {
            persistent: false,
            idle: Idle::Layer,
            absolute: None,
        }
    }

    /// Expires the session when unused for `idle` (capped by the layer's maximum).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// use typed_sessions::lifetime::Lifetime;
    ///
    /// let hour = Duration::from_secs(3600);
    /// let lifetime = Lifetime::browser_session().with_idle_timeout(hour);
    /// assert_eq!(lifetime.idle_timeout(), Some(Some(hour)));
    /// ```
    #[must_use]
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = Idle::After(duration_ms(idle));
        self
    }

    /// Lets the session live until its absolute timeout however long it is unused.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::lifetime::Lifetime;
    ///
    /// let lifetime = Lifetime::browser_session().without_idle_timeout();
    /// assert_eq!(lifetime.idle_timeout(), Some(None));
    /// ```
    #[must_use]
    pub fn without_idle_timeout(mut self) -> Self {
        self.idle = Idle::Off;
        self
    }

    /// Expires the session `absolute` after its creation, however active (capped by the layer's
    /// maximum).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// use typed_sessions::lifetime::Lifetime;
    ///
    /// let day = Duration::from_secs(24 * 3600);
    /// let lifetime = Lifetime::browser_session().with_absolute_timeout(day);
    /// assert_eq!(lifetime.absolute_timeout(), Some(day));
    /// ```
    #[must_use]
    pub fn with_absolute_timeout(mut self, absolute: Duration) -> Self {
        self.absolute = Some(duration_ms(absolute));
        self
    }

    /// Whether the cookie is persistent (`Max-Age`/`Expires`) rather than a browser-session one.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// use typed_sessions::lifetime::Lifetime;
    ///
    /// assert!(Lifetime::remember_for(Duration::from_secs(60)).is_persistent());
    /// ```
    pub fn is_persistent(&self) -> bool {
        self.persistent
    }

    /// The chosen idle timeout: `None` for the layer's, `Some(None)` for none at all.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::lifetime::Lifetime;
    ///
    /// assert_eq!(Lifetime::browser_session().idle_timeout(), None);
    /// ```
    pub fn idle_timeout(&self) -> Option<Option<Duration>> {
        match self.idle {
            Idle::Layer => None,
            Idle::Off => Some(None),
            Idle::After(ms) => Some(Some(duration_of(ms))),
        }
    }

    /// The chosen absolute timeout; `None` for the layer's.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::lifetime::Lifetime;
    ///
    /// assert_eq!(Lifetime::browser_session().absolute_timeout(), None);
    /// ```
    pub fn absolute_timeout(&self) -> Option<Duration> {
        self.absolute.map(duration_of)
    }

    pub(crate) fn idle(&self) -> Idle {
        self.idle
    }

    pub(crate) fn absolute_ms(&self) -> Option<i64> {
        self.absolute
    }

    /// The stored form: `{"p": persistent, "i": idle ms (null: none; absent: the layer's),
    /// "a": absolute ms (absent: the layer's)}`. Short keys: on the cookie store it travels in
    /// every cookie.
    pub(crate) fn to_value(self) -> Value {
        let mut map = Map::new();
        map.insert("p".into(), self.persistent.into());
        match self.idle {
            Idle::Layer => {}
            Idle::Off => {
                map.insert("i".into(), Value::Null);
            }
            Idle::After(ms) => {
                map.insert("i".into(), ms.into());
            }
        }
        if let Some(ms) = self.absolute {
            map.insert("a".into(), ms.into());
        }
        Value::Object(map)
    }

    /// The lifetime stored among `fields`, if any. A stored value that does not read as one
    /// (written by hand, or by a newer version) is ignored with a warning: the layer's
    /// timeouts apply.
    pub(crate) fn stored(fields: &Fields) -> Option<Self> {
        let value = fields.get(KEY)?;
        let lifetime = Self::from_value(value);
        if lifetime.is_none() {
            tracing::warn!("stored session lifetime does not decode; using the layer's timeouts");
        }
        lifetime
    }

    fn from_value(value: &Value) -> Option<Self> {
        let map = value.as_object()?;
        let positive = |v: &Value| v.as_i64().filter(|ms| *ms > 0);
        let idle = match map.get("i") {
            None => Idle::Layer,
            Some(Value::Null) => Idle::Off,
            Some(ms) => Idle::After(positive(ms)?),
        };
        let absolute = match map.get("a") {
            None => None,
            Some(ms) => Some(positive(ms)?),
        };
        Some(Self {
            persistent: map.get("p")?.as_bool()?,
            idle,
            absolute,
        })
    }
}

/// `ms` milliseconds as a duration (stored values are positive).
fn duration_of(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_its_stored_form() {
        let day = Duration::from_secs(86_400);
        for lifetime in [
            Lifetime::remember_for(30 * day),
            Lifetime::remember_for(30 * day).with_idle_timeout(day),
            Lifetime::browser_session(),
            Lifetime::browser_session().with_absolute_timeout(day),
        ] {
            let mut fields = Fields::new();
            fields.insert(KEY.into(), lifetime.to_value());
            assert_eq!(Lifetime::stored(&fields), Some(lifetime));
        }
    }

    #[test]
    fn unreadable_stored_forms_are_ignored() {
        for value in [
            json!("30d"),
            json!({}),
            json!({"p": true, "a": -5}),
            json!({"p": true, "i": 0}),
            json!({"p": "yes"}),
            json!({"p": true, "a": 1.5}),
        ] {
            let mut fields = Fields::new();
            fields.insert(KEY.into(), value.clone());
            assert_eq!(Lifetime::stored(&fields), None, "{value}");
        }
    }
}
