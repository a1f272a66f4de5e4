//! "Your devices": the logged-in user's live sessions, one per browser they logged in from,
//! listed through the session index (`#[session(index)]` on the user field), and the buttons
//! that log one of them out, or all but this one.
//!
//! A session is named in a form by its opaque handle ([`DeviceHandle`]), never its id: a
//! handle cannot be turned into a cookie, and one that is not among the user's own sessions
//! (another user's, or one already logged out) logs nothing out. A logged-out browser finds
//! itself logged out at its next request, since its session is gone from the store.
//!
//! A visitor who is not logged in is sent home. A store error answers a generic `500`; the
//! detail goes to the log (standard error).

use axum::Form;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use typed_sessions::Session;
use typed_sessions::csrf::CsrfToken;
use typed_sessions::devices::DeviceHandle;

use super::{Auth, notice, pages};

/// The form of one row's "log out" button.
#[derive(Deserialize)]
pub(super) struct LogOutForm {
    /// The device's handle, as the page printed it.
    device: String,
}

/// A store error, answered with a generic `500` and logged.
pub(super) struct Failed(typed_sessions::Error);

impl From<typed_sessions::Error> for Failed {
    fn from(error: typed_sessions::Error) -> Self {
        Self(error)
    }
}

impl IntoResponse for Failed {
    fn into_response(self) -> Response {
        eprintln!("devices page: {}", self.0);
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error: please try again later",
        )
            .into_response()
    }
}

/// `GET /devices`: the user's sessions, oldest first.
pub(super) async fn list(auth: Session<Auth>, token: CsrfToken) -> Result<Response, Failed> {
    let Some(user) = auth.user.clone() else {
        return Ok(Redirect::to("/").into_response());
    };
    let rows: Vec<pages::DeviceRow> = auth
        .devices()?
        .list(&user)
        .await?
        .iter()
        .map(|device| pages::DeviceRow {
            handle: device.handle().to_string(),
            label: device.data().device.clone().unwrap_or_default(),
            created: pages::when(device.created()),
            expires: pages::when(device.expires()),
            current: device.is_current(),
        })
        .collect();
    let page = pages::devices(&user, &rows, auth.notice.as_deref(), &token.value());
    Ok(Html(page).into_response())
}

/// `POST /devices/log-out`: ends the session `device` names if it is one of the user's; this
/// browser's own is a plain logout.
pub(super) async fn log_out_one(
    mut auth: Session<Auth>,
    Form(form): Form<LogOutForm>,
) -> Result<Redirect, Failed> {
    let Some(user) = auth.user.clone() else {
        return Ok(Redirect::to("/"));
    };
    let Ok(handle) = form.device.trim().parse::<DeviceHandle>() else {
        auth.notice = Some(notice::NO_SUCH_DEVICE.to_owned());
        return Ok(Redirect::to("/devices"));
    };
    let devices = auth.devices()?;
    let this_one = devices
        .list(&user)
        .await?
        .iter()
        .any(|device| device.is_current() && *device.handle() == handle);
    if this_one {
        auth.destroy();
        auth.notice = Some(notice::LOGGED_OUT.to_owned());
        return Ok(Redirect::to("/"));
    }
    auth.notice = Some(if devices.revoke(&user, &handle).await? {
        notice::DEVICE_LOGGED_OUT.to_owned()
    } else {
        notice::NO_SUCH_DEVICE.to_owned()
    });
    Ok(Redirect::to("/devices"))
}

/// `POST /devices/log-out-others`: ends every session of the user but this browser's.
pub(super) async fn log_out_others(mut auth: Session<Auth>) -> Result<Redirect, Failed> {
    let Some(user) = auth.user.clone() else {
        return Ok(Redirect::to("/"));
    };
    let count = auth.devices()?.revoke_others(&user).await?;
    auth.notice = Some(notice::others_logged_out(count));
    Ok(Redirect::to("/devices"))
}
