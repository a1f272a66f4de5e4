//! Span capture: the spans (and events) the library records while a test runs, with their
//! fields, for tests of what its telemetry says and never says.
//!
//! The tests' one global subscriber ([`crate::logs`]) records every span and event of the
//! library at `DEBUG` and above into the capture active on the thread that opened the span.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

thread_local! {
    /// The capture of this thread, if one is active.
    static ACTIVE: RefCell<Option<Spans>> = const { RefCell::new(None) };
}

/// A span once closed, or an event: its name (`"event"` for an event) and its fields, each
/// formatted with `Debug` (strings without their quotes).
#[derive(Clone, Debug, Default)]
pub struct Recorded {
    /// The span's name, or `"event"`.
    pub name: String,
    /// The fields that were recorded, by name.
    pub fields: BTreeMap<String, String>,
}

impl Recorded {
    /// The field `name`, if it was recorded.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// Captures the library's spans and events opened on this thread (the tests run on a
/// current-thread runtime).
#[derive(Clone, Default)]
pub struct Spans(Arc<Mutex<Vec<Recorded>>>);

/// Ends a capture when dropped, and resumes the one it interrupted, if any.
#[must_use = "the capture ends when this guard is dropped"]
pub struct Capture(Option<Spans>);

impl Drop for Capture {
    fn drop(&mut self) {
        let interrupted = self.0.take();
        ACTIVE.with(|active| *active.borrow_mut() = interrupted);
    }
}

impl Spans {
    /// Starts capturing on this thread; the capture ends when the guard drops.
    ///
    /// # Panics
    ///
    /// If another global `tracing` subscriber was installed in this process.
    pub fn capture() -> (Self, Capture) {
        crate::logs::install();
        let spans = Self::default();
        let interrupted = ACTIVE.with(|active| active.borrow_mut().replace(spans.clone()));
        (spans, Capture(interrupted))
    }

    /// The spans closed and the events recorded so far, in that order, and forgets them.
    pub fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    fn push(&self, recorded: Recorded) {
        self.0.lock().unwrap().push(recorded);
    }
}

/// The layer of the global subscriber that records into the active [`Spans`].
pub(crate) struct Recorder;

/// A span's record while it is open, and the capture it goes to.
struct Open(Recorded, Spans);

/// Writes fields into a map.
struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(spans) = ACTIVE.with(|active| active.borrow().clone()) else {
            return;
        };
        let mut recorded = Recorded {
            name: attrs.metadata().name().to_owned(),
            ..Recorded::default()
        };
        attrs.record(&mut Fields(&mut recorded.fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Open(recorded, spans));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(Open(recorded, _)) = span.extensions_mut().get_mut::<Open>()
        {
            values.record(&mut Fields(&mut recorded.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let Some(spans) = ACTIVE.with(|active| active.borrow().clone()) else {
            return;
        };
        let mut recorded = Recorded {
            name: "event".to_owned(),
            ..Recorded::default()
        };
        event.record(&mut Fields(&mut recorded.fields));
        spans.push(recorded);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id)
            && let Some(Open(recorded, spans)) = span.extensions_mut().remove::<Open>()
        {
            spans.push(recorded);
        }
    }
}
