//! CSRF protection bound to the session: a synchronizer token, and the Fetch Metadata /
//! `Origin` check beside it.
//!
//! - [`CsrfToken`], an extractor: the token to put in a form or a meta tag.
//! - [`CsrfLayer`], installed inside [`SessionLayer`](crate::SessionLayer): refuses unsafe
//!   requests (`POST`, `PUT`, `PATCH`, `DELETE`) that come from another site or carry no valid
//!   token, in the header `x-csrf-token` or the form field `csrf_token`, with `403`.
//!
//! Both work outside axum too: the layer wraps any tower service over `http` types, whatever
//! its request body ([`CsrfService`] says what the service inside receives), and
//! [`CsrfToken::load`] gives such a service its token.
//!
//! What Rails (`protect_from_forgery`, `authenticity_token`), Django (`{% csrf_token %}`,
//! `CsrfViewMiddleware`) and Laravel (`@csrf`, `VerifyCsrfToken`) build in.
//!
//! # Example
//!
//! ```
//! use axum::{response::Html, routing::get, Form, Router};
//! use serde::Deserialize;
//! use typed_sessions::csrf::{CsrfLayer, CsrfToken};
//! use typed_sessions::{Key, SessionLayer};
//!
//! async fn show(token: CsrfToken) -> Html<String> {
//!     Html(format!(
//!         r#"<form method="post"><input type="hidden" name="csrf_token" value="{token}">
//!            <input name="text"><button>Send</button></form>"#
//!     ))
//! }
//!
//! #[derive(Deserialize)]
//! struct Comment {
//!     text: String, // the form's other fields reach the handler as sent
//! }
//!
//! async fn post(Form(comment): Form<Comment>) -> String {
//!     format!("posted: {}", comment.text) // only runs with a valid token
//! }
//!
//! let app: Router = Router::new()
//!     .route("/comment", get(show).post(post))
//!     .layer(CsrfLayer::new())
//!     .layer(SessionLayer::new(Key::generate()));
//! # let _ = app;
//! ```
//!
//! # Design
//!
//! **Where the token lives.** Each session has a 32-byte secret, stored as a field under a
//! reserved storage key that `#[derive(Session)]` can never produce (it starts with `$`). It is
//! an ordinary field of the record, so it works with whatever struct the application stores,
//! rides the per-field patch of every store, and travels inside the cookie store's MAC (or
//! encryption). The first [`CsrfToken::value`] of a session creates it; `regenerate()` drops it
//! (log in, and the tokens from before stop working); `destroy()` drops it with everything else.
//!
//! **Tokens are masked.** A token is the secret XORed with a fresh random mask, sent with the
//! mask: no two responses carry the same bytes, so compression side channels (BREACH) cannot
//! recover it, and any token ever handed out for the session stays valid until the secret
//! rotates. The check unmasks and compares in constant time.
//!
//! **Concurrency.** Fields are last-writer-wins. If the secret were random, two requests that
//! both find a session without one (two tabs opened at once) would each create a different
//! secret, and the tab whose write lost would hold a token that no longer matches — the bug
//! axum-csrf-sync-pattern reports (#29). Here the secret is derived: HMAC-SHA256 under the
//! layer's newest key of a fixed label and the session id. Two racing requests create the same
//! secret, and their writes agree. Once written, the stored value is what tokens are checked
//! against, so rotating the layer's key does not invalidate tokens, and neither does a store
//! that moves a regenerated session to another id at commit (Redis Cluster). Two requests
//! racing across a key rotation could still create different secrets; the one written last
//! wins. Two requests of a visitor with **no session at all** start two different sessions;
//! the browser keeps the cookie it received last, and the other tab's token belongs to a
//! session that is gone (reload and it works): that is a session race, not a token race, and
//! the same in the frameworks above.
//!
//! **The check.** Safe methods (`GET`, `HEAD`, `OPTIONS`, `TRACE`) always pass and never load
//! the session: they must not change state. An unsafe request is refused when Fetch Metadata
//! says it is `cross-site` (or, without Fetch Metadata, `Origin` names another host), unless
//! its origin is trusted; then when its session has no secret (a request without a session has
//! no token it could match); then when its token does not match. A refusal is `403` with a
//! generic body; the reason goes to the log and, with the feature `metrics`, to a counter.
//!
//! **Routes that use `Option<Session<T>>`** are checked the same way: the layer checks the
//! request, whatever the handler extracts.

mod extract;
mod form;
mod layer;
mod origin;
mod token;

pub use extract::CsrfToken;
pub use layer::{CsrfLayer, CsrfService, ResponseFuture};
