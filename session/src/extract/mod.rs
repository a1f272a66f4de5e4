//! `Session<T>`: the extractor handlers use.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde_json::Value;
use time::OffsetDateTime;

use crate::Error;
use crate::commit;
use crate::data::SessionData;
use crate::id::SessionId;
use crate::lifetime::{self, Lifetime};
use crate::request::RequestState;
use crate::store::Fields;

mod from_request;

pub use from_request::SessionRejection;
pub(crate) use from_request::{extract, loaded};

/// The typed session of the current request.
///
/// Read fields through `Deref`, write them through `DerefMut`. When the handle drops, each
/// field is re-encoded and compared with its encoding when first mutably borrowed: only fields
/// whose encoding differs are saved, so a write of an equal value, or a change undone before
/// the end of the handler, is not a change. A field whose value equals its default is removed
/// from the store rather than written.
///
/// Every `Session<_>` of a request shares one session id and one store load. Changes made by a
/// handle are recorded when it drops, so a handle must not outlive the handler (a handle moved
/// into a detached task loses its changes).
///
/// A layer indexes sessions by one session type's `#[session(index)]` field: extracting a
/// second type with an index field fails with a 500 (see [`devices`](crate::devices)).
///
/// Extract `Option<Session<T>>` to read a session without starting one: `None` unless the client
/// presented a live session (see its `OptionalFromRequestParts` impl).
///
/// # Examples
///
/// ```
/// use typed_sessions::Session;
///
/// #[derive(Session, Default)]
/// struct Visit {
///     views: u64,
/// }
///
/// async fn count(mut visit: Session<Visit>) -> String {
///     visit.views += 1;
///     format!("{} views", visit.views)
/// }
/// ```
pub struct Session<T: SessionData> {
    value: T,
    /// The fields' encodings when the value was first mutably borrowed (or extracted, when it
    /// holds a flash field to consume).
    snapshot: Option<Vec<Value>>,
    /// Flash fields were loaded and not yet consumed: the first flush removes those the handler
    /// did not set again.
    flash_pending: bool,
    state: Arc<RequestState>,
    epoch: u64,
}

impl<T: SessionData> Session<T> {
    /// The session id, or `None` for a new session that has not been saved yet (or was
    /// destroyed in this request).
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::Session;
    /// # #[derive(Session, Default)]
    /// # struct Visit { views: u64, user: Option<String> }
    /// async fn handler(visit: Session<Visit>) -> &'static str {
    ///     match visit.id() {
    ///         Some(_) => "a saved session", // `Debug` of the id prints `SessionId(REDACTED)`
    ///         None => "no session saved yet",
    ///     }
    /// }
    /// ```
    pub fn id(&self) -> Option<SessionId> {
        self.state.lock().id().cloned()
    }

    /// Whether no stored session backs this one: the client sent none, an invalid or expired
    /// one, or it was destroyed in this request.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::Session;
    /// # #[derive(Session, Default)]
    /// # struct Visit { views: u64, user: Option<String> }
    /// async fn handler(visit: Session<Visit>) -> &'static str {
    ///     if visit.is_new() { "welcome" } else { "welcome back" }
    /// }
    /// ```
    pub fn is_new(&self) -> bool {
        self.state.lock().is_new()
    }

    /// When the session was created; `None` for a new session.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::Session;
    /// # #[derive(Session, Default)]
    /// # struct Visit { views: u64, user: Option<String> }
    /// async fn handler(visit: Session<Visit>) -> String {
    ///     match visit.created_at() {
    ///         Some(at) => format!("here since {at}"),
    ///         None => "new here".to_owned(),
    ///     }
    /// }
    /// ```
    pub fn created_at(&self) -> Option<OffsetDateTime> {
        let session = self.state.lock();
        (!session.is_new()).then_some(session.created())
    }

    /// When the session expires unless it is used again; `None` for a new session. Reflects
    /// both the idle and the absolute timeout, as of the start of the request.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::Session;
    /// # #[derive(Session, Default)]
    /// # struct Visit { views: u64, user: Option<String> }
    /// async fn handler(visit: Session<Visit>) -> String {
    ///     let left = visit.expires_at().map(|at| at - time::OffsetDateTime::now_utc());
    ///     format!("{left:?} left")
    /// }
    /// ```
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        let session = self.state.lock();
        (!session.is_new()).then_some(session.expires())
    }

    /// Gives this session its own lifetime: "remember me for 30 days" in a persistent cookie,
    /// or a browser-session cookie, with its own idle and absolute timeouts, each cut to the
    /// layer's [`with_max_lifetime`](crate::SessionLayer::with_max_lifetime). Saved with the
    /// session (so it starts one, like a field would), kept across requests, idle refreshes,
    /// `regenerate()` and key rotation; `destroy()` forgets it. The absolute timeout still
    /// counts from the session's creation. [`expires_at`](Self::expires_at) reflects it from
    /// the next request on.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use typed_sessions::Session;
    /// # #[derive(Session, Default)]
    /// # struct Visit { views: u64, user: Option<String> }
    /// use typed_sessions::lifetime::Lifetime;
    ///
    /// async fn login(mut visit: Session<Visit>, remember_me: bool) {
    ///     visit.regenerate();
    ///     visit.user = Some("ann".into());
    ///     if remember_me {
    ///         visit.set_lifetime(Lifetime::remember_for(Duration::from_secs(30 * 24 * 3600)));
    ///     } else {
    ///         visit.set_lifetime(Lifetime::browser_session());
    ///     }
    /// }
    /// ```
    pub fn set_lifetime(&mut self, lifetime: Lifetime) {
        // No default equals an object: the value is always written.
        self.state
            .lock()
            .set_field(lifetime::KEY, lifetime.to_value(), || Ok(Value::Null));
    }

    /// Drops this session's own lifetime: the layer's timeouts and cookie apply again.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use typed_sessions::Session;
    /// # #[derive(Session, Default)]
    /// # struct Visit { views: u64, user: Option<String> }
    /// async fn forget_me(mut visit: Session<Visit>) {
    ///     visit.reset_lifetime();
    ///     assert_eq!(visit.lifetime(), None);
    /// }
    /// ```
    pub fn reset_lifetime(&mut self) {
        let mut session = self.state.lock();
        if session.fields().contains_key(lifetime::KEY) {
            session.set_field(lifetime::KEY, Value::Null, || Ok(Value::Null));
        }
    }

    /// The lifetime this session was given with [`set_lifetime`](Self::set_lifetime), as
    /// chosen (before the layer's maximum cuts it); `None`: the layer's.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::Session;
    /// # #[derive(Session, Default)]
    /// # struct Visit { views: u64, user: Option<String> }
    /// async fn handler(visit: Session<Visit>) -> &'static str {
    ///     match visit.lifetime() {
    ///         Some(lifetime) if lifetime.is_persistent() => "remembered",
    ///         Some(_) => "until the browser closes",
    ///         None => "the usual",
    ///     }
    /// }
    /// ```
    pub fn lifetime(&self) -> Option<Lifetime> {
        Lifetime::stored(self.state.lock().fields())
    }

    /// The handle that lists and revokes the sessions of one value of `T`'s
    /// `#[session(index)]` field (the user's devices), this request's session marked current:
    /// see [`devices`](crate::devices). Revoking the current session ends it in this request
    /// too.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for the cookie store, which keeps no sessions on the server to list,
    /// and for a `T` without an index field.
    ///
    /// # Examples
    ///
    /// ```
    /// use typed_sessions::Session;
    ///
    /// #[derive(Session, Default)]
    /// struct Auth {
    ///     #[session(index)]
    ///     user: Option<u64>,
    /// }
    ///
    /// async fn logout_other_devices(auth: Session<Auth>) -> Result<String, typed_sessions::Error> {
    ///     let Some(user) = auth.user else { return Ok("not logged in".into()) };
    ///     let ended = auth.devices()?.revoke_others(&user).await?;
    ///     Ok(format!("{ended} other sessions ended"))
    /// }
    /// # let _ = logout_other_devices;
    /// ```
    pub fn devices(&self) -> Result<crate::devices::Devices<T>, Error> {
        crate::devices::Devices::of_request(self.state.clone())
    }

    /// Gives the session a new id and keeps its data: the old id stops working when the
    /// response is sent. Call it whenever privileges change (log in) to defeat session
    /// fixation.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::Session;
    /// # #[derive(Session, Default)]
    /// # struct Visit { views: u64, user: Option<String> }
    /// async fn login(mut visit: Session<Visit>) {
    ///     visit.regenerate(); // before granting anything to the session
    ///     visit.user = Some("ann".into());
    /// }
    /// ```
    pub fn regenerate(&mut self) {
        self.state.lock().regenerate();
    }

    /// Ends the session: the stored record is removed and the cookie expired when the response
    /// is sent. The handle reads as a new, default session afterwards; writing to it starts a
    /// new session with a new id.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::Session;
    /// # #[derive(Session, Default)]
    /// # struct Visit { views: u64, user: Option<String> }
    /// async fn logout(mut visit: Session<Visit>) {
    ///     visit.destroy();
    ///     assert!(visit.is_new() && visit.user.is_none());
    /// }
    /// ```
    pub fn destroy(&mut self) {
        let mut session = self.state.lock();
        session.destroy();
        self.epoch = session.epoch();
        drop(session);
        self.value = T::decode(&Fields::new());
        self.snapshot = None;
        self.flash_pending = false;
    }

    /// Saves the session now rather than when the response is sent, and reports the outcome.
    ///
    /// The cookie is still sent once, with the response. Further changes after `save` are
    /// saved at the end of the request as usual.
    ///
    /// # Errors
    ///
    /// What the store reported, or [`Error::CookieTooLarge`] for the cookie store. The request
    /// then fails with an error response even if the handler carries on.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::Session;
    /// # #[derive(Session, Default)]
    /// # struct Visit { views: u64, user: Option<String> }
    /// use axum::http::StatusCode;
    ///
    /// async fn handler(mut visit: Session<Visit>) -> Result<String, StatusCode> {
    ///     visit.views += 1;
    ///     // Stored before the slow work below, whatever happens to this request later.
    ///     visit.save().await.map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    ///     Ok(format!("{} views", visit.views))
    /// }
    /// ```
    pub async fn save(&mut self) -> Result<(), Error> {
        self.flush();
        match commit::persist(&self.state).await {
            Ok(cookie) => {
                if let Some(cookie) = cookie {
                    self.state.lock().set_pending_cookie(cookie);
                }
                Ok(())
            }
            Err(error) => {
                self.state
                    .lock()
                    .defer_error(Error::store(format!("saving the session failed: {error}")));
                Err(error)
            }
        }
    }

    /// The handle on a request state whose session is loaded: the value as it stands.
    #[inline]
    fn from_loaded(state: Arc<RequestState>) -> Self {
        let (value, epoch, flash) = {
            let mut session = state.lock();
            let fields = session.fields();
            let flash = T::FLASH
                .iter()
                .filter_map(|&index| T::KEYS.get(index))
                .any(|key| fields.contains_key(*key));
            let value = T::decode(fields);
            if T::INDEX.is_some() && state.config().store.is_some() {
                crate::devices::sync_index(&mut session, &value, state.config().codec.keys());
            }
            (value, session.epoch(), flash)
        };
        // Flash fields to consume: the snapshot is the loaded value, so that the handle's drop
        // can tell a flash field set again from one only read.
        let snapshot = flash.then(|| value.encode().unwrap_or_default());
        Self {
            value,
            snapshot,
            flash_pending: flash,
            state,
            epoch,
        }
    }

    /// Records the fields that differ from the snapshot in the request's state.
    fn flush(&mut self) {
        let Some(before) = &self.snapshot else {
            return;
        };
        let consume = std::mem::take(&mut self.flash_pending);
        let mut session = self.state.lock();
        if session.epoch() != self.epoch {
            return;
        }
        let after = match self.value.encode() {
            Ok(after) => after,
            Err(error) => {
                session.defer_error(error);
                return;
            }
        };
        for (index, (key, value)) in T::KEYS.iter().zip(&after).enumerate() {
            if before.get(index) != Some(value) {
                session.set_field(key, value.clone(), || T::encode_default(index));
            } else if consume && T::FLASH.contains(&index) && session.fields().contains_key(*key) {
                // A flash field read and not set again: consumed. Null against a Null default
                // is stored as absent, a removal of that one field.
                session.set_field(key, Value::Null, || Ok(Value::Null));
            }
        }
        // The extraction synced the index with the loaded value: only a change of the indexed
        // field needs another digest.
        let index_changed = T::INDEX.is_some_and(|index| before.get(index) != after.get(index));
        if index_changed && self.state.config().store.is_some() {
            crate::devices::sync_index(&mut session, &self.value, self.state.config().codec.keys());
        }
        drop(session);
        self.snapshot = Some(after);
    }
}

impl<T: SessionData> Deref for Session<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: SessionData> DerefMut for Session<T> {
    fn deref_mut(&mut self) -> &mut T {
        if self.snapshot.is_none() {
            // An encoding failure leaves an empty snapshot: every field then counts as changed,
            // and the failure resurfaces when the handle drops.
            self.snapshot = Some(self.value.encode().unwrap_or_default());
        }
        &mut self.value
    }
}

impl<T: SessionData> Drop for Session<T> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Each clone carries its own copy of the value; every clone's changes are saved.
impl<T: SessionData + Clone> Clone for Session<T> {
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            snapshot: self.snapshot.clone(),
            flash_pending: self.flash_pending,
            state: self.state.clone(),
            epoch: self.epoch,
        }
    }
}

impl<T: SessionData + fmt::Debug> fmt::Debug for Session<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &"REDACTED")
            .field("value", &self.value)
            .finish()
    }
}
