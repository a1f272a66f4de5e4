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
    let mut body = String::new();
    if let Some(notice) = notice {
        let _ = write!(
            body,
            r#"<p id="notice" role="status">{}</p>"#,
            escape(notice)
        );
    }
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
            // DEVICES PAGE: the link to the "your devices" page (`GET /devices`, see `router`)
            // goes here once the session index exists.
            body.push_str(&form("/logout", token, "", "Log out"));
        }
    }
    page("Home", &body)
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
