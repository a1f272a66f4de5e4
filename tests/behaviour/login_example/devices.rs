//! The login example's devices page (`GET /devices` and its two forms) through the app's
//! router, on every store: the user's sessions listed (labelled by each browser's
//! `User-Agent`, escaped; this one marked), "log out other devices", "log out" one session by
//! its handle, and another user's handle refused.

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode, header};
use typed_sessions_tests::TestResponse;

use super::{
    Client, REFUSED, app, expect_logged_out, expect_redirect_home, serve, text_of, token_in,
};

impl Client {
    /// `GET /devices`, keeping the page's CSRF token.
    async fn devices(&mut self, app: &Router) -> TestResponse {
        let page = self
            .send(app, Request::get("/devices"), Body::empty())
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        self.token = Some(token_in(&page.body));
        page
    }

    /// "Log out" on the devices page's row whose handle is `handle` (loading the page first,
    /// for its token).
    async fn log_out_device(&mut self, app: &Router, handle: &str) -> TestResponse {
        self.devices(app).await;
        self.post(app, "/devices/log-out", &[("device", handle)], true)
            .await
    }
}

/// A browser named `agent`, logged in as `user` (remembered).
async fn logged_in(app: &Router, user: &str, agent: &'static str) -> Client {
    let mut client = Client {
        agent: Some(agent),
        ..Client::default()
    };
    let response = client
        .log_in(app, user, &format!("{user}-password"), true)
        .await;
    expect_redirect_home(&response);
    client
}

/// One row of the devices page: its label, whether it is marked "this device", its handle.
#[derive(Debug, PartialEq)]
struct Row {
    label: String,
    current: bool,
    handle: String,
}

/// The rows of the devices page, in order.
fn rows(page: &str) -> Vec<Row> {
    page.split(r#"<tr class="device"#)
        .skip(1)
        .map(|row| {
            let row = &row[..row.find("</tr>").expect("a closed row")];
            const HANDLE: &str = r#"name="device" value=""#;
            let at = row.find(HANDLE).expect("a log-out form in the row") + HANDLE.len();
            Row {
                label: class_text(row, "label").unwrap_or_default(),
                current: row.starts_with(" current") && row.contains(">this device<"),
                handle: row[at..].split('"').next().unwrap().to_owned(),
            }
        })
        .collect()
}

/// `text_of` for a class rather than an id.
fn class_text(row: &str, class: &str) -> Option<String> {
    text_of(
        &row.replace(&format!(r#"class="{class}""#), &format!(r#"id="{class}""#)),
        class,
    )
}

/// Whether `client` is still logged in as `user` (a page load).
async fn is_logged_in(client: &mut Client, app: &Router, user: &str) -> bool {
    let page = client.home(app).await;
    page.body.contains(&format!("Logged in as {user},"))
}

/// The devices page lists the user's sessions (not another user's), oldest first, labelled by
/// each browser's `User-Agent` (escaped), this one marked; the home page links to it; a visitor
/// who is not logged in is sent home.
async fn the_devices_page_lists_the_users_sessions(store: Option<&str>) {
    let app = serve(store).await;
    let mut laptop = logged_in(&app, "ann", "Laptop <b>&</b>").await;
    let mut phone = logged_in(&app, "ann", "Phone").await;
    let _bob = logged_in(&app, "bob", "Bob's browser").await;

    let home = laptop.home(&app).await;
    assert!(home.body.contains(r#"href="/devices""#), "{}", home.body);
    let page = phone.devices(&app).await;
    let seen = rows(&page.body);
    // Oldest first, but logins within one clock tick may come in any order.
    let mut labels: Vec<(&str, bool)> =
        seen.iter().map(|r| (r.label.as_str(), r.current)).collect();
    labels.sort_unstable();
    assert_eq!(
        labels,
        [("Laptop &lt;b&gt;&amp;&lt;/b&gt;", false), ("Phone", true)],
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("<b>"),
        "an unescaped label:\n{}",
        page.body
    );
    let row = &page.body[page.body.find(r#"<tr class="device"#).unwrap()..];
    let created = class_text(row, "created").expect("a login time");
    let expires = class_text(row, "expires").expect("an expiry");
    assert!(created.ends_with(" UTC") && expires.ends_with(" UTC") && created < expires);
    assert_ne!(seen[0].handle, seen[1].handle);
    for row in &seen {
        assert_eq!(row.handle.len(), 64, "an opaque handle: {row:?}");
        assert!(
            phone
                .cookie
                .as_deref()
                .is_none_or(|c| !c.contains(&row.handle)),
            "the handle is not the cookie"
        );
    }
    let page = laptop.devices(&app).await;
    let mut marks: Vec<(String, bool)> = rows(&page.body)
        .into_iter()
        .map(|r| (r.label, r.current))
        .collect();
    marks.sort_unstable();
    assert_eq!(
        marks[0],
        ("Laptop &lt;b&gt;&amp;&lt;/b&gt;".to_owned(), true)
    );
    assert_eq!(marks[1], ("Phone".to_owned(), false));

    let mut visitor = Client::default();
    let response = visitor
        .send(&app, Request::get("/devices"), Body::empty())
        .await;
    expect_redirect_home(&response);
}

/// "Log out other devices" ends every session of the user but this one (the others are logged
/// out at their next request), says how many, and leaves another user logged in; it needs the
/// page's CSRF token.
async fn log_out_other_devices_ends_all_but_this_one(store: Option<&str>) {
    let app = serve(store).await;
    let mut first = logged_in(&app, "ann", "First").await;
    let mut second = logged_in(&app, "ann", "Second").await;
    let mut third = logged_in(&app, "ann", "Third").await;
    let mut bob = logged_in(&app, "bob", "Bob").await;

    second.devices(&app).await;
    let refused = second
        .post(&app, "/devices/log-out-others", &[], false)
        .await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (StatusCode::FORBIDDEN, REFUSED)
    );
    assert!(is_logged_in(&mut first, &app, "ann").await);

    second.devices(&app).await;
    let response = second
        .post(&app, "/devices/log-out-others", &[], true)
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(response.headers[header::LOCATION], "/devices");
    let page = second.devices(&app).await;
    assert_eq!(
        text_of(&page.body, "notice").as_deref(),
        Some(&*app::notice::others_logged_out(2))
    );
    let left: Vec<(String, bool)> = rows(&page.body)
        .into_iter()
        .map(|r| (r.label, r.current))
        .collect();
    assert_eq!(left, [("Second".to_owned(), true)]);

    assert!(!is_logged_in(&mut first, &app, "ann").await);
    assert!(!is_logged_in(&mut third, &app, "ann").await);
    assert!(is_logged_in(&mut second, &app, "ann").await);
    assert!(is_logged_in(&mut bob, &app, "bob").await);
}

/// "Log out" on one row ends that session only; on this browser's own row it is a logout.
async fn log_out_one_device_by_its_handle(store: Option<&str>) {
    let app = serve(store).await;
    let mut laptop = logged_in(&app, "ann", "Laptop").await;
    let mut phone = logged_in(&app, "ann", "Phone").await;
    let mut tablet = logged_in(&app, "ann", "Tablet").await;

    let page = phone.devices(&app).await;
    let laptop_row = rows(&page.body)
        .into_iter()
        .find(|r| r.label == "Laptop")
        .unwrap();
    let response = phone.log_out_device(&app, &laptop_row.handle).await;
    assert_eq!(response.headers[header::LOCATION], "/devices");
    let page = phone.devices(&app).await;
    assert_eq!(
        text_of(&page.body, "notice").as_deref(),
        Some(app::notice::DEVICE_LOGGED_OUT)
    );
    let mut labels: Vec<String> = rows(&page.body).into_iter().map(|r| r.label).collect();
    labels.sort_unstable();
    assert_eq!(labels, ["Phone", "Tablet"]);
    assert!(!is_logged_in(&mut laptop, &app, "ann").await);
    assert!(is_logged_in(&mut tablet, &app, "ann").await);

    // The same handle again: nothing left to log out.
    phone.log_out_device(&app, &laptop_row.handle).await;
    let page = phone.devices(&app).await;
    assert_eq!(
        text_of(&page.body, "notice").as_deref(),
        Some(app::notice::NO_SUCH_DEVICE)
    );

    // This browser's own row: logged out, with the logout notice.
    let own = rows(&page.body).into_iter().find(|r| r.current).unwrap();
    let response = phone.log_out_device(&app, &own.handle).await;
    expect_logged_out(&mut phone, &app, &response).await;
    assert!(is_logged_in(&mut tablet, &app, "ann").await);
}

/// Another user's handle (or one that is no handle at all) logs nothing out.
async fn another_users_handle_is_refused(store: Option<&str>) {
    let app = serve(store).await;
    let mut ann = logged_in(&app, "ann", "Ann").await;
    let mut bob = logged_in(&app, "bob", "Bob").await;
    let page = bob.devices(&app).await;
    let bobs = rows(&page.body).remove(0).handle;

    for handle in [bobs.as_str(), "not-a-handle", &"0".repeat(64)] {
        let response = ann.log_out_device(&app, handle).await;
        assert_eq!(response.headers[header::LOCATION], "/devices", "{handle}");
        let page = ann.devices(&app).await;
        assert_eq!(
            text_of(&page.body, "notice").as_deref(),
            Some(app::notice::NO_SUCH_DEVICE),
            "{handle}"
        );
        assert_eq!(rows(&page.body).len(), 1);
    }
    assert!(is_logged_in(&mut bob, &app, "bob").await);
    assert!(is_logged_in(&mut ann, &app, "ann").await);
}

on_app_stores!(
    the_devices_page_lists_the_users_sessions,
    log_out_other_devices_ends_all_but_this_one,
    log_out_one_device_by_its_handle,
    another_users_handle_is_refused,
);
