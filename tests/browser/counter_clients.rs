//! The counter example counts in every common client over plain `http://` on loopback: curl,
//! Python's standard cookie jar (which, like Safari, withholds `Secure` cookies over plain HTTP,
//! even from `localhost`) and headless Chromium. The example turns on
//! `with_http_on_localhost(true)`; a control shows that Python's jar does not count with the
//! default (`Secure`) cookie, so the setting is what makes the difference.

#[path = "../../examples/common/counter.rs"]
mod counter;

use std::process::Command;

use fantoccini::Locator;
use typed_sessions::{Key, SessionLayer};

use super::{App, Driver, TempDir, TestResult, quit, run};

/// The layer as the counter example's `main` builds it.
fn example_layer() -> SessionLayer {
    SessionLayer::new(Key::generate()).with_http_on_localhost(true)
}

/// The counter's address on `host` (`127.0.0.1` or `localhost`).
fn url(app: &App, host: &str) -> String {
    format!("http://{host}:{}/", app.addr.port())
}

/// What a program printed; fails the test with its error output when it failed.
fn output(command: &mut Command, what: &str) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what} ({e}): install it (scripts/test does)"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Three visits by curl with a cookie jar file.
fn curl_visits(url: &str) -> Vec<String> {
    let jar = TempDir::new("curl");
    let jar = jar.path().join("jar");
    (0..3)
        .map(|_| {
            output(
                Command::new("curl")
                    .args(["--silent", "--show-error", "--cookie-jar"])
                    .arg(&jar)
                    .arg("--cookie")
                    .arg(&jar)
                    .arg(url),
                "curl",
            )
        })
        .collect()
}

/// Three visits by Python's `urllib` with an `http.cookiejar.CookieJar`, one line each.
fn python_visits(url: &str) -> Vec<String> {
    const SCRIPT: &str = "
import http.cookiejar, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
for _ in range(3):
    print(opener.open(sys.argv[1]).read().decode())
";
    output(Command::new("python3").args(["-c", SCRIPT, url]), "python3")
        .lines()
        .map(str::to_owned)
        .collect()
}

const COUNTED: [&str; 3] = ["1 views", "2 views", "3 views"];

/// Serves the counter as the example does and expects `visits` to count 1, 2, 3 on both
/// loopback names.
async fn counts_on_loopback(client: &'static str, visits: fn(&str) -> Vec<String>) {
    let app = App::start(counter::app(example_layer())).await;
    for host in ["127.0.0.1", "localhost"] {
        let url = url(&app, host);
        let seen = tokio::task::spawn_blocking(move || visits(&url))
            .await
            .unwrap();
        assert_eq!(seen, COUNTED, "{client} on {host}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_counter_counts_with_curl() {
    counts_on_loopback("curl", curl_visits).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_counter_counts_with_pythons_cookie_jar() {
    counts_on_loopback("Python's cookie jar", python_visits).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pythons_cookie_jar_withholds_the_default_secure_cookie_over_http() {
    let app = App::start(counter::app(SessionLayer::new(Key::generate()))).await;
    let url = url(&app, "127.0.0.1");
    let seen = tokio::task::spawn_blocking(move || python_visits(&url))
        .await
        .unwrap();
    assert_eq!(seen, ["1 views", "1 views", "1 views"]);
}

#[tokio::test]
async fn the_counter_counts_in_chromium() -> TestResult {
    run(async {
        let app = App::start(counter::app(example_layer())).await;
        let profile = TempDir::new("profile");
        let driver = Driver::start().await;
        let client = driver.browser(&profile).await;
        for host in ["127.0.0.1", "localhost"] {
            for expected in COUNTED {
                client.goto(&url(&app, host)).await?;
                let body = client.find(Locator::Css("body")).await?.text().await?;
                assert_eq!(body.trim(), expected, "Chromium on {host}");
            }
            client.delete_all_cookies().await?;
        }
        quit(client, &profile).await
    })
    .await
}
