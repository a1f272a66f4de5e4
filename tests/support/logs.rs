//! Log capture: what the library logs while a test runs.
//!
//! One subscriber is installed for the whole test process, the first time a test captures, and
//! writes each event to the capture active on the thread that logged it (and records the
//! library's spans for [`Spans`](crate::spans::Spans)). A subscriber set per
//! thread instead (`tracing::subscriber::set_default`) loses events now and then: `tracing`
//! caches per call site whether anyone listens, and a test thread without a subscriber can
//! cache "nobody" while another thread's capture is starting.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, Once};

thread_local! {
    /// The capture of this thread, if one is active.
    static ACTIVE: RefCell<Option<Logs>> = const { RefCell::new(None) };
}

/// Captures `WARN` and above logged on this thread (the tests run on a current-thread runtime).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

/// Ends a capture when dropped, and resumes the one it interrupted, if any.
#[must_use = "the capture ends when this guard is dropped"]
pub struct Capture(Option<Logs>);

impl Drop for Capture {
    fn drop(&mut self) {
        let interrupted = self.0.take();
        ACTIVE.with(|active| *active.borrow_mut() = interrupted);
    }
}

impl Logs {
    /// Starts capturing on this thread; the capture ends when the guard drops.
    ///
    /// # Panics
    ///
    /// If another global `tracing` subscriber was installed in this process.
    pub fn capture() -> (Self, Capture) {
        install();
        let logs = Self::default();
        let interrupted = ACTIVE.with(|active| active.borrow_mut().replace(logs.clone()));
        (logs, Capture(interrupted))
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// The lines the library logged so far (the store drivers' own logs are left out), and
    /// forgets everything.
    pub fn take(&self) -> String {
        let text =
            String::from_utf8_lossy(&std::mem::take(&mut *self.0.lock().unwrap())).into_owned();
        let ours: Vec<&str> = text
            .lines()
            .filter(|line| line.contains("typed_sessions"))
            .collect();
        ours.join("\n")
    }
}

/// Installs the tests' one global subscriber, once: `WARN` and above for [`Logs`], the library's
/// spans and events at `DEBUG` and above for [`Spans`](crate::spans::Spans). Each layer filters
/// by target and level alone, so what a call site's interest caches never depends on a capture.
///
/// # Panics
///
/// If another global `tracing` subscriber was installed in this process.
pub(crate) fn install() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;

    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let logs = tracing_subscriber::fmt::layer()
            .with_writer(|| ThreadWriter)
            .with_ansi(false)
            .with_filter(LevelFilter::WARN);
        let spans = crate::spans::Recorder
            .with_filter(Targets::new().with_target("typed_sessions", LevelFilter::DEBUG));
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(logs).with(spans),
        )
        .expect("the only global subscriber of the tests");
    });
}

/// Writes to the capture active on the current thread, or nowhere.
struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        ACTIVE.with(|active| {
            if let Some(logs) = active.borrow().as_ref() {
                logs.0.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
