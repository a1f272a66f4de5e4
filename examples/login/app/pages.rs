//! The app's HTML: plain server-rendered pages, no script. Every value put into a page goes
//! through [`escape`], the CSRF token included (it is base64url, but nothing is taken on
//! trust).

use std::fmt::Write as _;

/// Who is logged in, as the home page shows it.
pub(crate) struct Visitor<'a> {
    /// The user's name.
    pub(crate) user: &'a str,
    /// Whether the login was remembered (a persistent cookie).
    pub(crate) remembered: bool,
}

/// `text` made safe inside HTML text and double-quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The home page: the flash notice if there is one, then the login form, or who is logged in
/// and the logout button. `token` is the session's CSRF token, put in every form.
pub(crate) fn home(visitor: Option<Visitor<'_>>, notice: Option<&str>, token: &str) -> String {
    let mut body = notice_html(notice);
    match visitor {
        None => {
            body.push_str(r#"<p id="who">Not logged in.</p>"#);
            body.push_str(&login_form(token));
        }
        Some(visitor) => {
            let how = if visitor.remembered {
                "remembered on this browser for 30 days"
            } else {
                "until the browser closes"
            };
            let _ = write!(
                body,
                r#"<p id="who">Logged in as {}, {how}.</p>"#,
                escape(visitor.user)
            );
            body.push_str(r#"<p><a id="devices-link" href="/devices">Your devices</a></p>"#);
            body.push_str(&form("/logout", token, "", "Log out"));
        }
    }
    page("Home", &body)
}

/// One of the user's sessions, as the devices page shows it.
pub(crate) struct DeviceRow {
    /// The opaque handle that names it in its "log out" form.
    pub(crate) handle: String,
    /// The browser's label, stored at login.
    pub(crate) label: String,
    /// When it logged in, from [`when`].
    pub(crate) created: String,
    /// When it expires unless used again, from [`when`].
    pub(crate) expires: String,
    /// Whether it is the session of the browser looking at the page.
    pub(crate) current: bool,
}

/// A moment as the pages show it: `2026-12-02 05:56 UTC`.
pub(crate) fn when(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// The devices page of `user`: the notice if there is one, a table row per session (label,
/// logged in, expires, "this device" or not, a "log out" button), then "log out other devices".
pub(crate) fn devices(user: &str, rows: &[DeviceRow], notice: Option<&str>, token: &str) -> String {
    let mut body = notice_html(notice);
    let _ = write!(
        body,
        r#"<p id="who">The browsers {} is logged in on.</p>
<table id="devices">
<tr><th>Browser</th><th>Logged in</th><th>Expires</th><th></th><th></th></tr>
"#,
        escape(user)
    );
    for row in rows {
        let (class, mark) = if row.current {
            ("device current", "this device")
        } else {
            ("device", "")
        };
        let handle = format!(
            r#"<input type="hidden" name="device" value="{}">"#,
            escape(&row.handle)
        );
        let _ = writeln!(
            body,
            r#"<tr class="{class}"><td class="label">{}</td><td class="created">{}</td><td class="expires">{}</td><td class="mark">{mark}</td><td>{}</td></tr>"#,
            escape(&row.label),
            escape(&row.created),
            escape(&row.expires),
            form("/devices/log-out", token, &handle, "Log out"),
        );
    }
    body.push_str("</table>\n");
    body.push_str(&form(
        "/devices/log-out-others",
        token,
        "",
        "Log out other devices",
    ));
    body.push_str(r#"<p><a href="/">Home</a></p>"#);
    page("Your devices", &body)
}

/// The flash notice, if there is one, as the top of a page's body.
fn notice_html(notice: Option<&str>) -> String {
    notice.map_or_else(String::new, |notice| {
        format!(r#"<p id="notice" role="status">{}</p>"#, escape(notice))
    })
}

/// The login form: name, password, "remember me".
fn login_form(token: &str) -> String {
    let fields = r#"<div><label>User <input name="user" autocomplete="username" required></label></div>
<div><label>Password <input name="password" type="password" autocomplete="current-password" required></label></div>
<div><label><input name="remember" type="checkbox" value="yes"> Remember me for 30 days</label></div>
"#;
    form("/login", token, fields, "Log in")
}

/// A `POST` form to `action` with the CSRF token, `fields` (trusted markup) and a button.
pub(crate) fn form(action: &str, token: &str, fields: &str, button: &str) -> String {
    format!(
        r#"<form method="post" action="{}">
<input type="hidden" name="csrf_token" value="{}">
{fields}<button>{}</button>
</form>
"#,
        escape(action),
        escape(token),
        escape(button)
    )
}

/// A whole page.
fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{} - typed-sessions login</title></head>
<body>
<h1>{}</h1>
{body}</body>
</html>
"#,
        escape(title),
        escape(title)
    )
}
