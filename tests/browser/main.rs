//! End to end in a real browser: headless Chromium, driven through chromedriver (WebDriver) with
//! `fantoccini`, against the examples' own apps served on loopback: the login app
//! (`login_app.rs`) and the counter (`counter_clients.rs`). This file holds what they share:
//! starting chromedriver and Chromium, profiles, serving an app, quitting cleanly.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`apt-get install chromium chromium-driver`;
//! `scripts/browser-deps.sh` does it). `TS_CHROMIUM` and `TS_CHROMEDRIVER` override the paths
//! (default `/usr/bin/chromium`, `/usr/bin/chromedriver`). Without them the tests fail saying
//! what to install; they never pass without a browser.
//!
//! The session cookie is `Secure` by default, and the tests keep it so. Chromium treats
//! `http://localhost` (and, as of Chromium 156, `http://127.0.0.1` too: the tests pass with either)
//! as a secure context and stores `Secure` cookies from it; the tests open
//! `http://localhost:<port>/`, the host the library's docs promise, while the app listens on
//! 127.0.0.1 only.
//!
//! Quitting matters: the browser is quit through WebDriver, which shuts Chromium down cleanly so
//! that it writes its cookie store to the profile, and the tests wait for it to release the
//! profile before relaunching. A killed Chromium loses the cookie it set moments before.

mod counter_clients;
mod login_app;

use std::fs;
use std::net::{SocketAddr, TcpListener as StdTcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// What a whole test may take before it fails as hung.
const TEST_TIMEOUT: Duration = Duration::from_secs(180);

const INSTALL: &str = "install Debian's Chromium and ChromeDriver: \
    `apt-get install chromium chromium-driver` (as root), or source scripts/browser-deps.sh and \
    run `ensure_browser`";

/// Chromium's flags: headless, and nothing that reaches for the network (the machine has only
/// loopback) or would change between runs.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--password-store=basic",
];

/// Browser tests start a Chromium each; one at a time keeps them from starving each other on a
/// small machine (each test has its own runtime, so the lock is a runtime-agnostic tokio one).
static ONE_BROWSER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---------------------------------------------------------------------------------------------
// Tools, temporary directories, processes

/// A program the tests need: `$var`, else `default`; fails the test saying what to install.
fn tool(var: &str, default: &str, what: &str) -> PathBuf {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.is_file(),
        "{what} not found at {} (set {var} to another path): {INSTALL}",
        path.display()
    );
    path
}

fn chromium() -> PathBuf {
    tool("TS_CHROMIUM", "/usr/bin/chromium", "Chromium")
}

fn chromedriver() -> PathBuf {
    tool("TS_CHROMEDRIVER", "/usr/bin/chromedriver", "ChromeDriver")
}

/// A directory removed (with its contents) when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> Self {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "typed-sessions-browser-{what}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create a temporary directory");
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on (just now).
fn free_port() -> u16 {
    StdTcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// An app (the login example's, or the counter's), served on 127.0.0.1 on a free port until
/// dropped.
struct App {
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl App {
    async fn start(app: axum::Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("server error");
        });
        Self { addr, server }
    }

    /// The app's address as the browser opens it: `localhost`, see the module docs.
    fn url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.addr.port())
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A chromedriver process, in a process group of its own with the Chromiums it starts, which is
/// killed whole when dropped (so that a failed test leaves no browser behind).
struct Driver {
    child: Child,
    url: String,
    log: PathBuf,
    _dir: TempDir,
}

impl Driver {
    async fn start() -> Self {
        let chromedriver = chromedriver();
        let dir = TempDir::new("driver");
        let log = dir.path().join("chromedriver.log");
        let port = free_port();
        let output = fs::File::create(&log).expect("create the chromedriver log");
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(output.try_clone().expect("log file"))
                .stderr(output)
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}: {INSTALL}", chromedriver.display()))
        };
        let mut driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!(
                    "chromedriver exited ({status}) before listening:\n{}",
                    driver.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port} within 20 s:\n{}",
                driver.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        driver
    }

    /// The end of chromedriver's log (for failure messages).
    fn log(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let start = log.len().saturating_sub(4000);
        let start = (start..log.len())
            .find(|&i| log.is_char_boundary(i))
            .unwrap_or(0);
        log[start..].to_owned()
    }

    /// Starts a headless Chromium with the profile in `profile` and a WebDriver session on it.
    async fn browser(&self, profile: &TempDir) -> Client {
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|&f| f.to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium(),
                "args": args,
            },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
        {
            Ok(client) => client,
            Err(e) => panic!(
                "chromedriver could not start Chromium: {e}\n{}\n({INSTALL})",
                self.log()
            ),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and any Chromium it left running.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Quits the browser through WebDriver (Chromium shuts down cleanly, writing its cookie store to
/// the profile) and waits until it has let go of the profile.
async fn quit(client: Client, profile: &TempDir) -> TestResult {
    client.close().await?;
    // Chromium holds `SingletonLock` in the profile while it runs and removes it on exit.
    let lock = profile.path().join("SingletonLock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while fs::symlink_metadata(&lock).is_ok() {
        assert!(
            Instant::now() < deadline,
            "Chromium did not release its profile within 20 s of quitting"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Runs `test` with a time limit, one browser test at a time.
async fn run(test: impl Future<Output = TestResult>) -> TestResult {
    let _one = ONE_BROWSER_AT_A_TIME.lock().await;
    // Fail on a missing browser before starting anything.
    chromium();
    chromedriver();
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .unwrap_or_else(|_| panic!("browser test did not finish within {TEST_TIMEOUT:?}"))
}
