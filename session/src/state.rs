//! The session as one request sees it: loaded by a backend, changed through `Session<T>`
//! handles, settled by the commit at the end of the request.
//!
//! Data only: the fields are private, and every change goes through a method named for what
//! it means, so the invariants (an id change forgets what was derived from the old id, a
//! destroyed session cannot be written by handles from before) hold in one place.

use std::collections::BTreeSet;

use serde_json::Value;
use time::OffsetDateTime;

use crate::Error;
use crate::codec::MAC_LEN;
use crate::cookies::CookieAction;
use crate::id::SessionId;
use crate::reserved;
use crate::store::{Fields, IndexDigest, StoreKey, nesting_exceeds};

/// The deepest nesting a field may have: serde_json refuses to parse past 128 levels, and the
/// cookie payload wraps fields in two more.
const MAX_NESTING: usize = 100;

/// What the request did to its session, in the order the end of a request looks at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// No stored session backs this one and it holds no field: a new session nobody wrote to,
    /// or one destroyed in this request. Nothing is written.
    Empty,
    /// A new session with fields, saved for the first time.
    New,
    /// A stored session given a new id (`regenerate`).
    Regenerated,
    /// A stored session whose fields changed.
    Dirty,
    /// A stored session, unchanged, whose idle deadline is due to move.
    Refresh,
    /// A stored session, unchanged, whose cookie was verified by an older key (or is in the
    /// other cookie-store mode) and is re-issued.
    Reissue,
    /// A stored session, unchanged: no write, no cookie.
    Unchanged,
}

/// The session as this request sees it.
pub(crate) struct SessionState {
    /// The request lies outside the cookie's path: the session is ephemeral.
    out_of_scope: bool,
    /// The session's id: the loaded one, a regenerated one, or none yet for a new session.
    /// Changed only by [`SessionState::set_id`], which forgets what was derived from the old one.
    id: Option<SessionId>,
    /// The store key of `id`, once computed (it costs a SHA-256).
    key: Option<StoreKey>,
    /// The MAC of the id cookie the client presented for `id`, when the newest key verified it:
    /// re-issuing that cookie then needs no new MAC (the value would be the same bytes).
    presented_mac: Option<[u8; MAC_LEN]>,
    /// Every stored field, including those no session type of this request knows.
    fields: Fields,
    /// The index digest the store holds for the session, as of its load or last save.
    stored_index: Option<IndexDigest>,
    /// Storage keys written with a new value (present in `fields`) or removed (absent).
    changed: BTreeSet<&'static str>,
    created: OffsetDateTime,
    /// The deadline the session had when loaded (or last saved).
    expires: OffsetDateTime,
    /// No stored session backs this one (nothing loaded, or destroyed).
    is_new: bool,
    /// The client holds a session cookie that should be expired if nothing replaces it.
    presented: bool,
    /// A stored session to delete (destroyed, or found expired when loaded).
    remove: Option<SessionId>,
    /// A stored session moving to `id` (regenerated).
    rekey_from: Option<SessionId>,
    /// The cookie verified with an older key or in the other mode: re-issue it.
    stale_cookie: bool,
    /// The idle deadline is due to move.
    refresh: bool,
    /// Bumped by `destroy`, so that handles from before it cannot write into the new session.
    epoch: u64,
    /// A failure deferred from a place that cannot return one (a `Drop`).
    error: Option<Error>,
    /// The cookie an explicit `save` settled on, sent unless a later save changes it.
    pending_cookie: Option<CookieAction>,
}

impl Default for SessionState {
    /// A new, empty session. Its times are set when it is first saved; until then nothing reads
    /// them, so a request without a session cookie does not read the clock.
    fn default() -> Self {
        Self {
            out_of_scope: false,
            id: None,
            key: None,
            presented_mac: None,
            fields: Fields::new(),
            stored_index: None,
            changed: BTreeSet::new(),
            created: OffsetDateTime::UNIX_EPOCH,
            expires: OffsetDateTime::UNIX_EPOCH,
            is_new: true,
            presented: false,
            remove: None,
            rekey_from: None,
            stale_cookie: false,
            refresh: false,
            epoch: 0,
            error: None,
            pending_cookie: None,
        }
    }
}

// Loading: what a backend found.
impl SessionState {
    /// The session of a request outside the cookie's path: it lives for the request only.
    pub(crate) fn out_of_scope() -> Self {
        Self {
            out_of_scope: true,
            ..Self::default()
        }
    }

    /// Takes over the stored session the client presented.
    pub(crate) fn adopt(
        &mut self,
        id: SessionId,
        fields: Fields,
        created: OffsetDateTime,
        expires: OffsetDateTime,
        refresh: bool,
    ) {
        self.set_id(Some(id));
        self.stored_index = IndexDigest::in_fields(&fields);
        self.fields = fields;
        self.created = created;
        self.expires = expires;
        self.is_new = false;
        self.presented = true;
        self.refresh = refresh;
    }

    /// The client presented an authentic cookie that cannot be used: expire it unless a new
    /// session replaces it.
    pub(crate) fn mark_presented(&mut self) {
        self.presented = true;
    }

    /// The adopted session's cookie was verified by an older key or is in the other mode.
    pub(crate) fn set_stale_cookie(&mut self, stale: bool) {
        self.stale_cookie = stale;
    }

    /// The adopted session's store key (already computed to load it), and the MAC of its
    /// cookie when that cookie can be sent again as it is.
    pub(crate) fn set_key(&mut self, key: StoreKey, presented_mac: Option<[u8; MAC_LEN]>) {
        self.key = Some(key);
        self.presented_mac = presented_mac;
    }

    /// A stored session the client presented that turned out expired: removed at the end.
    pub(crate) fn remove_at_commit(&mut self, id: SessionId) {
        self.remove = Some(id);
    }
}

// Reading and changing: what handles do.
impl SessionState {
    pub(crate) fn is_out_of_scope(&self) -> bool {
        self.out_of_scope
    }

    pub(crate) fn id(&self) -> Option<&SessionId> {
        self.id.as_ref()
    }

    pub(crate) fn is_new(&self) -> bool {
        self.is_new
    }

    pub(crate) fn created(&self) -> OffsetDateTime {
        self.created
    }

    pub(crate) fn expires(&self) -> OffsetDateTime {
        self.expires
    }

    pub(crate) fn fields(&self) -> &Fields {
        &self.fields
    }

    /// The index digest the store holds for the session, as of its load or last save.
    pub(crate) fn stored_index(&self) -> Option<IndexDigest> {
        self.stored_index.clone()
    }

    /// Whether the field under `key` was written or removed since the last save.
    pub(crate) fn is_changed(&self, key: &str) -> bool {
        self.changed.contains(key)
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Records a field's new encoding; a value equal to the field's default is stored as absent.
    pub(crate) fn set_field(
        &mut self,
        key: &'static str,
        value: Value,
        default: impl FnOnce() -> Result<Value, Error>,
    ) {
        if nesting_exceeds(&value, MAX_NESTING) {
            self.defer_error(Error::TooDeep {
                key,
                limit: MAX_NESTING,
            });
            return;
        }
        match default() {
            Ok(default) if default == value => {
                self.fields.remove(key);
            }
            // Replacing in place keeps the stored key: no new `String` per write.
            Ok(_) => match self.fields.get_mut(key) {
                Some(slot) => *slot = value,
                None => {
                    self.fields.insert(key.to_owned(), value);
                }
            },
            Err(error) => {
                self.defer_error(error);
                return;
            }
        }
        self.changed.insert(key);
    }

    /// Ends the session: a stored one is removed at the end of the request, and the state is a
    /// new, empty session that handles from before cannot write into.
    pub(crate) fn destroy(&mut self) {
        let stored = self
            .rekey_from
            .take()
            .or_else(|| if self.is_new { None } else { self.id.clone() });
        if stored.is_some() {
            self.remove = stored;
        }
        self.set_id(None);
        self.fields.clear();
        self.stored_index = None;
        self.changed.clear();
        self.is_new = true;
        self.stale_cookie = false;
        self.refresh = false;
        self.epoch += 1;
    }

    /// A new id for the same data; a stored session moves to it at the end of the request.
    /// Tokens derived from the session's CSRF secret stop working with the old id: the secret
    /// goes, and the next token handed out creates a new one.
    pub(crate) fn regenerate(&mut self) {
        let old = self.set_id(Some(SessionId::generate()));
        if !self.is_new && self.rekey_from.is_none() {
            self.rekey_from = old;
        }
        self.remove_field(reserved::CSRF_SECRET);
    }

    /// Removes a stored field, as a change (written as a removal by the next save).
    pub(crate) fn remove_field(&mut self, key: &'static str) {
        if self.fields.remove(key).is_some() {
            self.changed.insert(key);
        }
    }

    /// Keeps the first failure of a place that cannot return one; it fails the request.
    pub(crate) fn defer_error(&mut self, error: Error) {
        self.error.get_or_insert(error);
    }

    /// The cookie an explicit save settled on, for the response.
    pub(crate) fn set_pending_cookie(&mut self, cookie: CookieAction) {
        self.pending_cookie = Some(cookie);
    }
}

// Settling: what the end of the request (or an explicit save) does.
impl SessionState {
    pub(crate) fn take_error(&mut self) -> Option<Error> {
        self.error.take()
    }

    pub(crate) fn take_pending_cookie(&mut self) -> Option<CookieAction> {
        self.pending_cookie.take()
    }

    /// What the request did to the session, in the order the end of a request decides on it.
    pub(crate) fn change(&self) -> Change {
        if self.is_new {
            if self.fields.is_empty() {
                Change::Empty
            } else {
                Change::New
            }
        } else if self.rekey_from.is_some() {
            Change::Regenerated
        } else if !self.changed.is_empty() {
            Change::Dirty
        } else if self.refresh {
            Change::Refresh
        } else if self.stale_cookie {
            Change::Reissue
        } else {
            Change::Unchanged
        }
    }

    /// Whether any field was written since the last save.
    pub(crate) fn has_changes(&self) -> bool {
        !self.changed.is_empty()
    }

    /// Forgets the written fields (a new session whose writes left nothing to store).
    pub(crate) fn clear_changes(&mut self) {
        self.changed.clear();
    }

    /// The fields to set and the keys to delete since the last save, forgotten here.
    pub(crate) fn take_changes(&mut self) -> (Fields, Vec<String>) {
        let mut changed = Fields::new();
        let mut removed = Vec::new();
        for key in std::mem::take(&mut self.changed) {
            match self.fields.get(key) {
                Some(value) => {
                    changed.insert(key.to_owned(), value.clone());
                }
                None => removed.push(key.to_owned()),
            }
        }
        (changed, removed)
    }

    /// The fields, taken out when nothing can save again, copied otherwise.
    pub(crate) fn fields_for_save(&mut self, last: bool) -> Fields {
        if last {
            std::mem::take(&mut self.fields)
        } else {
            self.fields.clone()
        }
    }

    pub(crate) fn take_removal(&mut self) -> Option<SessionId> {
        self.remove.take()
    }

    pub(crate) fn take_rekey(&mut self) -> Option<SessionId> {
        self.rekey_from.take()
    }

    pub(crate) fn is_stale_cookie(&self) -> bool {
        self.stale_cookie
    }

    /// The MAC of the cookie the client presented, when it can be sent again as it is.
    pub(crate) fn presented_mac(&self) -> Option<[u8; MAC_LEN]> {
        self.presented_mac
    }

    /// The id, minting one for a session that has none yet.
    pub(crate) fn id_or_generate(&mut self) -> SessionId {
        match &self.id {
            Some(id) => id.clone(),
            None => {
                let id = SessionId::generate();
                self.set_id(Some(id.clone()));
                id
            }
        }
    }

    /// Draws new ids until `fits` accepts one's store key, at most `tries` times, and returns
    /// the key of the id the session ends up with (the last drawn, if none fit). For a store
    /// that can move a session only between some keys (Redis Cluster: within one hash slot).
    pub(crate) fn draw_id_until(
        &mut self,
        tries: usize,
        mut fits: impl FnMut(&StoreKey) -> bool,
    ) -> StoreKey {
        let mut key = self.store_key();
        for _ in 1..tries {
            if fits(&key) {
                break;
            }
            self.set_id(Some(SessionId::generate()));
            key = self.store_key();
        }
        key
    }

    /// The store key of the session's id, computed once per id.
    ///
    /// # Panics
    ///
    /// If the session has no id.
    pub(crate) fn store_key(&mut self) -> StoreKey {
        let id = self.id.as_ref().expect("a stored session has an id");
        self.key.get_or_insert_with(|| id.store_key()).clone()
    }

    /// A server error: the request's data changes are dropped, but what it ended stays ended.
    /// A destroyed session is still removed, and a regenerated one loses its old id (the new
    /// one is not saved, so the session ends). Returns whether anything is left to commit.
    pub(crate) fn keep_only_removals(&mut self) -> bool {
        if let Some(old) = self.rekey_from.take() {
            self.remove = Some(old);
        }
        if self.remove.is_none() {
            return false;
        }
        self.set_id(None);
        self.fields.clear();
        self.changed.clear();
        self.is_new = true;
        self.stale_cookie = false;
        self.refresh = false;
        // Failures of the discarded changes (an encoding error, a failed explicit save) go
        // with them: the response already reports an error.
        self.error = None;
        true
    }

    /// The state once a save went through.
    pub(crate) fn saved(&mut self, created: OffsetDateTime, expires: OffsetDateTime) {
        self.stored_index = IndexDigest::in_fields(&self.fields);
        self.changed.clear();
        self.is_new = false;
        self.presented = true;
        self.created = created;
        self.expires = expires;
        self.refresh = false;
        self.stale_cookie = false;
        self.rekey_from = None;
    }

    /// A re-issue that was skipped: the client keeps the cookie it holds.
    pub(crate) fn keep_presented_cookie(&mut self) {
        self.stale_cookie = false;
        self.refresh = false;
    }

    /// The session ends up with nothing stored: whether the client's cookie must be expired.
    /// Afterwards the state is a new session and no longer expects a cookie.
    pub(crate) fn end_empty(&mut self) -> bool {
        let emptied = self.has_changes() && !self.is_new;
        self.changed.clear();
        self.rekey_from = None;
        self.is_new = true;
        emptied || std::mem::take(&mut self.presented)
    }

    /// For a new session that nothing replaced: whether the client's cookie must be expired.
    pub(crate) fn presented_expired(&mut self) -> bool {
        self.is_new && std::mem::take(&mut self.presented)
    }

    /// Replaces the id, forgetting what was derived from the old one; returns the old one.
    fn set_id(&mut self, id: Option<SessionId>) -> Option<SessionId> {
        self.key = None;
        self.presented_mac = None;
        std::mem::replace(&mut self.id, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(depth: usize) -> Value {
        (0..depth).fold(json!(1), |inner, _| json!([inner]))
    }

    #[test]
    fn too_deep_fields_are_refused_before_saving() {
        let mut state = SessionState::default();
        state.set_field("deep", nested(MAX_NESTING + 1), || Ok(Value::Null));
        assert!(matches!(
            state.take_error(),
            Some(Error::TooDeep { key: "deep", .. })
        ));
        assert!(!state.has_changes());
    }

    #[test]
    fn changes_are_decided_in_the_commit_order() {
        let mut state = SessionState::default();
        assert_eq!(state.change(), Change::Empty);
        state.set_field("a", json!(1), || Ok(json!(0)));
        assert_eq!(state.change(), Change::New);
        state.id_or_generate();
        state.saved(OffsetDateTime::UNIX_EPOCH, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(state.change(), Change::Unchanged);
        state.set_stale_cookie(true);
        assert_eq!(state.change(), Change::Reissue);
        state.set_field("a", json!(2), || Ok(json!(0)));
        assert_eq!(state.change(), Change::Dirty);
        state.regenerate();
        assert_eq!(
            state.change(),
            Change::Regenerated,
            "a regenerate wins over edits"
        );
        state.destroy();
        assert_eq!(state.change(), Change::Empty);
        assert!(
            state.take_removal().is_some(),
            "the stored session is removed"
        );
    }

    #[test]
    fn an_id_change_forgets_what_was_derived_from_the_old_id() {
        let mut state = SessionState::default();
        let id = state.id_or_generate();
        let key = state.store_key();
        assert_eq!(key, id.store_key());
        state.set_key(key, Some([7; MAC_LEN]));
        state.regenerate();
        assert_eq!(state.presented_mac(), None);
        assert_ne!(state.store_key(), id.store_key());
    }
}
