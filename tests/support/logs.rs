//! Capturing what `tracing` writes, for tests that check spans and log lines.

use std::io;
use std::sync::{Arc, Mutex};

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Everything the subscriber wrote, shared with the test.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    /// What was written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A plain-text subscriber up to `max_level` writing into the returned buffer; with
/// `span_closes`, a line for every span that closes.
pub fn capture(
    max_level: LevelFilter,
    span_closes: bool,
) -> (impl tracing::Subscriber + Send + Sync + 'static, LogBuffer) {
    let buffer = LogBuffer::default();
    let writer = buffer.clone();
    let span_events = if span_closes {
        FmtSpan::CLOSE
    } else {
        FmtSpan::NONE
    };
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(max_level)
        .with_span_events(span_events)
        .with_ansi(false)
        .finish();
    (subscriber, buffer)
}
