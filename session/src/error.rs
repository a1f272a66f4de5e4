//! The crate's one error type.

use std::time::Duration;

/// Everything that can go wrong in typed-sessions: configuration, stores, encoding, cookies.
///
/// Store implementations report their failures through [`Error::store`],
/// [`Error::unavailable`] and [`Error::corrupt`].
///
/// # Examples
///
/// ```
/// use typed_sessions::{Error, Key};
///
/// let err = Key::from_bytes(b"too short").unwrap_err();
/// assert!(matches!(err, Error::KeyTooShort { len: 9 }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key shorter than [`Key::MIN_LEN`](crate::Key::MIN_LEN) bytes was given.
    #[error("session key is {len} bytes long; at least 32 bytes of secret randomness are required")]
    KeyTooShort {
        /// The length that was given.
        len: usize,
    },

    /// A key given as text ([`Key::from_base64`](crate::Key::from_base64),
    /// [`Key::from_hex`](crate::Key::from_hex)) does not decode. The message says what is
    /// wrong with the text, never what the text was.
    #[error("session key is not valid {encoding}: {problem}")]
    KeyEncoding {
        /// The encoding expected: `"base64"` or `"hex"`.
        encoding: &'static str,
        /// What is wrong with the text.
        problem: &'static str,
    },

    /// The layer's configuration is invalid.
    #[error("invalid session configuration: {0}")]
    Config(String),

    /// A field of the session failed to serialize.
    #[error("session field `{key}` failed to serialize: {source}")]
    Encode {
        /// The storage key of the field.
        key: &'static str,
        /// What serde_json reported.
        source: serde_json::Error,
    },

    /// A field's value nests deeper than stores and cookies can read back.
    #[error(
        "session field `{key}` nests more than {limit} levels deep; it could be written but never \
         read back"
    )]
    TooDeep {
        /// The storage key of the field.
        key: &'static str,
        /// The deepest nesting accepted.
        limit: usize,
    },

    /// The signed session cookie would exceed what browsers keep.
    #[error(
        "session cookie too large: the `Set-Cookie` header would be {size} bytes, over the \
         {limit}-byte limit browsers enforce; store less in the session or use a server-side store"
    )]
    CookieTooLarge {
        /// The size of the whole `Set-Cookie` header value.
        size: usize,
        /// The limit.
        limit: usize,
    },

    /// The session was removed (logged out, expired) by a concurrent request before this
    /// request's changes were saved; they were not applied, so the removal stands.
    #[error("session was removed by a concurrent request before this request's changes were saved")]
    RemovedConcurrently,

    /// The store could not be reached or did not answer in time.
    #[error("session store unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// The store did not answer within the configured timeout.
    #[error("session store did not answer within {0:?}")]
    Timeout(Duration),

    /// The store failed.
    #[error("session store error: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// The store holds a record that is not a session record.
    #[error("corrupt session record: {0}")]
    Corrupt(String),
}

impl Error {
    /// Wraps a store failure.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = typed_sessions::Error::store(std::io::Error::other("disk full"));
    /// assert_eq!(err.to_string(), "session store error: disk full");
    /// ```
    pub fn store(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Store(source.into())
    }

    /// Wraps a failure to reach the store (connection refused, reset, pool exhausted).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = typed_sessions::Error::unavailable("connection refused");
    /// assert!(err.is_unavailable());
    /// ```
    pub fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Unavailable(source.into())
    }

    /// Reports a stored record that cannot be a session record.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = typed_sessions::Error::corrupt("expected a JSON object");
    /// assert!(err.to_string().contains("corrupt"));
    /// ```
    pub fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt(what.into())
    }

    /// Whether the store was out of reach (answered with `503 Service Unavailable`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(typed_sessions::Error::Timeout(Duration::from_secs(1)).is_unavailable());
    /// ```
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Timeout(_))
    }

    /// The HTTP status a request answers with when this error ends it.
    pub(crate) fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            _ if self.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            Self::RemovedConcurrently => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
