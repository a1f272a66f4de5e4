//! One listed session of a user, and the opaque handle that revokes it.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use crate::Error;
use crate::store::{Record, StoreKey};

/// One live session of a value, as [`Devices::list`](super::Devices::list) answers it.
///
/// # Examples
///
/// ```
/// # use typed_sessions::Session;
/// # use typed_sessions::devices::Device;
/// # #[derive(Session, Default)]
/// # struct Auth { #[session(index)] user: Option<u64>, device: String }
/// fn row(device: &Device<Auth>) -> String {
///     format!("{} since {}", device.data().device, device.created())
/// }
/// ```
#[derive(Debug)]
pub struct Device<T> {
    handle: DeviceHandle,
    created: OffsetDateTime,
    expires: OffsetDateTime,
    data: T,
    current: bool,
}

impl<T> Device<T> {
    /// What [`Devices::revoke`](super::Devices::revoke) takes to end this session: opaque, not
    /// the session id.
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::Session;
    /// # use typed_sessions::devices::Device;
    /// # #[derive(Session, Default)]
    /// # struct Auth { #[session(index)] user: Option<u64>, device: String }
    /// fn logout_link(device: &Device<Auth>) -> String {
    ///     format!("/devices/{}/logout", device.handle())
    /// }
    /// ```
    pub fn handle(&self) -> &DeviceHandle {
        &self.handle
    }

    /// When the session was created (its login, for a session regenerated at login).
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::Session;
    /// # use typed_sessions::devices::Device;
    /// # #[derive(Session, Default)]
    /// # struct Auth { #[session(index)] user: Option<u64>, device: String }
    /// fn since(device: &Device<Auth>) -> time::OffsetDateTime {
    ///     device.created()
    /// }
    /// ```
    pub fn created(&self) -> OffsetDateTime {
        self.created
    }

    /// When the session expires unless it is used again. With an idle timeout, this is the
    /// last activity the layer wrote plus that timeout: the closest the store knows to "last
    /// seen" (the layer refreshes the expiry at most every half idle timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::Session;
    /// # use typed_sessions::devices::Device;
    /// # #[derive(Session, Default)]
    /// # struct Auth { #[session(index)] user: Option<u64>, device: String }
    /// fn until(device: &Device<Auth>) -> time::OffsetDateTime {
    ///     device.expires()
    /// }
    /// ```
    pub fn expires(&self) -> OffsetDateTime {
        self.expires
    }

    /// The session's fields, decoded as the session type (a device label it stored, say).
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::Session;
    /// # use typed_sessions::devices::Device;
    /// # #[derive(Session, Default)]
    /// # struct Auth { #[session(index)] user: Option<u64>, device: String }
    /// fn label(device: &Device<Auth>) -> &str {
    ///     &device.data().device
    /// }
    /// ```
    pub fn data(&self) -> &T {
        &self.data
    }

    /// Whether this is the session of the request that built the [`Devices`](super::Devices).
    ///
    /// # Examples
    ///
    /// ```
    /// # use typed_sessions::Session;
    /// # use typed_sessions::devices::Device;
    /// # #[derive(Session, Default)]
    /// # struct Auth { #[session(index)] user: Option<u64>, device: String }
    /// fn mark(device: &Device<Auth>) -> &'static str {
    ///     if device.is_current() { " (this device)" } else { "" }
    /// }
    /// ```
    pub fn is_current(&self) -> bool {
        self.current
    }
}

/// The opaque name of one listed session, for [`Devices::revoke`](super::Devices::revoke): its
/// `Display` form fits a form field or a URL, and parses back with `FromStr`. It is the store's
/// key (a digest of the session id), which cannot be turned into a cookie.
///
/// # Examples
///
/// ```
/// use typed_sessions::devices::DeviceHandle;
///
/// let handle: DeviceHandle = "ab".repeat(32).parse()?;
/// assert_eq!(handle.to_string(), "ab".repeat(32));
/// assert!("not a handle".parse::<DeviceHandle>().is_err());
/// # Ok::<(), typed_sessions::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DeviceHandle(StoreKey);

impl fmt::Display for DeviceHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl fmt::Debug for DeviceHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DeviceHandle")
            .field(&self.0.as_str())
            .finish()
    }
}

impl FromStr for DeviceHandle {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        StoreKey::from_digest_hex(text)
            .map(Self)
            .ok_or_else(|| Error::Config("not a device handle".into()))
    }
}

impl<T> Device<T> {
    pub(super) fn new(key: StoreKey, record: &Record, data: T, current: bool) -> Self {
        Self {
            handle: DeviceHandle(key),
            created: record.created(),
            expires: record.expires(),
            data,
            current,
        }
    }
}

impl DeviceHandle {
    /// The store key the handle names.
    pub(super) fn store_key(&self) -> &StoreKey {
        &self.0
    }
}
