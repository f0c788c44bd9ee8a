//! Where log lines go: stderr (or another sink), through a buffer. A request's line is appended to memory under
//! a lock; the buffer goes out in one write when it holds 64 kB, every 50 ms, and when the
//! process ends (`flush`). One `write` for many lines, instead of a system call on the
//! request's path for each, as an unbuffered stderr would have it.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Past this many bytes the writer that reaches it sends the buffer out itself.
const FLUSH_AT: usize = 64 * 1024;
/// The longest a line waits in memory.
const FLUSH_EVERY: Duration = Duration::from_millis(50);

struct Shared {
    lines: Mutex<Vec<u8>>,
    /// Held while a buffer goes out, so buffers reach the sink in the order they were filled.
    out: Mutex<Box<dyn Write + Send>>,
}

impl Shared {
    fn flush(&self) -> std::io::Result<()> {
        let mut sink = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let full = std::mem::take(&mut *self.lines.lock().unwrap_or_else(|p| p.into_inner()));
        if full.is_empty() {
            return Ok(());
        }
        sink.write_all(&full)?;
        sink.flush()
    }
}

static SHARED: OnceLock<Arc<Shared>> = OnceLock::new();

/// Sends the log to `sink` (the first call decides; stderr for the service) and returns what
/// `tracing_subscriber::fmt` takes as its writer. Starts the thread that sends the buffer out
/// every `FLUSH_EVERY`.
fn buffered_into(sink: Box<dyn Write + Send>) -> fn() -> Buffered {
    SHARED.get_or_init(|| {
        let shared = Arc::new(Shared { lines: Mutex::new(Vec::with_capacity(FLUSH_AT)), out: Mutex::new(sink) });
        let flusher = shared.clone();
        let started = std::thread::Builder::new().name("log-flush".into()).spawn(move || loop {
            std::thread::sleep(FLUSH_EVERY);
            let _ = flusher.flush();
        });
        if started.is_err() {
            eprintln!("provisioning: no thread to flush the log; lines go out as the buffer fills");
        }
        shared
    });
    || Buffered(SHARED.get().expect("set above").clone())
}

/// Starts the process's log: lines at RUST_LOG (default `info`: one line a request) into
/// `sink` through the buffer (a line reaches it within 50 ms), as JSON objects (`json`) or as
/// text, coloured only when `terminal`.
pub fn start(json: bool, terminal: bool, sink: Box<dyn Write + Send>) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(buffered_into(sink));
    match json {
        true => builder.json().with_current_span(true).with_span_list(false).init(),
        false => builder.with_ansi(terminal).init(),
    }
}

/// Sends out what the buffer holds; `main` calls it before the process ends.
pub fn flush() {
    if let Some(shared) = SHARED.get() {
        let _ = shared.flush();
    }
}

/// One handle on the buffer.
pub struct Buffered(Arc<Shared>);

impl Write for Buffered {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let full = {
            let mut lines = self.0.lines.lock().unwrap_or_else(|p| p.into_inner());
            lines.extend_from_slice(bytes);
            lines.len() >= FLUSH_AT
        };
        if full {
            self.0.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // A line is complete when written; it goes out with the buffer, not on its own.
        Ok(())
    }
}
