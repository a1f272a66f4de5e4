//! Log capture: what the library logs while a test runs.

use std::sync::{Arc, Mutex};

/// Captures `WARN` and above on this thread (the tests run on a current-thread runtime).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Starts capturing; the capture ends when the guard drops.
    pub fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .finish();
        (logs.clone(), tracing::subscriber::set_default(subscriber))
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

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}
