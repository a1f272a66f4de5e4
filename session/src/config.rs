//! What a layer was configured with, shared by its services and every request they serve.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::codec::Codec;
use crate::cookies::CookieConfig;
use crate::expiry::Expiry;
use crate::failure::Render;
use crate::index_owner::IndexOwner;
use crate::store::DynStore;
use crate::telemetry::Telemetry;
use http::HeaderName;

/// Everything a layer was configured with. Built by [`SessionLayer`](crate::SessionLayer)'s
/// builder, read by the request core.
#[derive(Clone)]
pub(crate) struct Config {
    /// The cookie's name as configured; the codec holds the name it is sent under.
    pub(crate) name: String,
    /// The cookie's name and keys: how its value is sealed and opened.
    pub(crate) codec: Codec,
    /// Where sessions live; `None` for the cookie store.
    pub(crate) store: Option<Arc<dyn DynStore>>,
    /// The cookie's attributes.
    pub(crate) cookie: CookieConfig,
    pub(crate) expiry: Expiry,
    pub(crate) clock: Clock,
    /// Whether a 5xx response still saves the request's changes.
    pub(crate) save_on_server_error: bool,
    /// The bound on every store call.
    pub(crate) store_timeout: Duration,
    /// Why this configuration cannot work, when the layer was installed anyway: every request
    /// that extracts a session then fails with a 500 instead of running on a broken setup.
    pub(crate) misconfigured: Option<Arc<str>>,
    /// The application's rendering of failed sessions; generic bodies when `None`.
    pub(crate) render_failure: Option<Render>,
    /// Spans and metrics, labelled with the store's kind.
    pub(crate) telemetry: Telemetry,
    /// The request and response header that carries the token beside the cookie, if any.
    pub(crate) token_header: Option<HeaderName>,
    /// The one session type whose index field the layer keeps, once one was met.
    pub(crate) index_owner: Arc<IndexOwner>,
}

impl Config {
    /// The configuration of `SessionLayer::new`: the cookie store, signed by `codec`'s keys.
    pub(crate) fn new(codec: Codec) -> Self {
        let mut config = Self {
            name: codec.name().to_owned(),
            codec,
            store: None,
            cookie: CookieConfig::default(),
            expiry: Expiry::default(),
            clock: Clock::system(),
            save_on_server_error: false,
            store_timeout: Duration::from_secs(1),
            misconfigured: None,
            render_failure: None,
            telemetry: Telemetry::new("cookie"),
            token_header: None,
            index_owner: Arc::default(),
        };
        config.settle_name();
        config
    }

    /// Sends the cookie under its configured name, `__Host-` prefixed where wanted and allowed;
    /// called after every change that can affect it.
    pub(crate) fn settle_name(&mut self) {
        let name = self
            .cookie
            .effective_name(&self.name)
            .unwrap_or_else(|| self.name.clone());
        if name != self.codec.name() {
            self.codec.set_name(name);
        }
    }
}
