//! The run log: a file in the results folder that receives every log line
//! at `info` and above, whatever `-q`/`-v` say for the terminal.
//!
//! Logging is set up before the command knows its results folder, so the
//! file layer writes into a slot that [`attach`] fills later; until then
//! (and for commands without a folder) it writes nothing.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Mutex, OnceLock};

fn slot() -> &'static Mutex<Option<File>> {
    static SLOT: OnceLock<Mutex<Option<File>>> = OnceLock::new();
    SLOT.get_or_init(|| Mutex::new(None))
}

/// Appends the log to `path` from now on (a failure to open it is logged and ignored).
pub fn attach(path: &Path) {
    match OpenOptions::new().create(true).append(true).open(path) {
        Ok(f) => *slot().lock().unwrap_or_else(|e| e.into_inner()) = Some(f),
        Err(e) => tracing::warn!("cannot open the log file {}: {e}", path.display()),
    }
}

/// A `MakeWriter` for tracing-subscriber that writes to the attached file.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogFile;

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match slot().lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some(f) => f.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match slot().lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogFile {
    type Writer = LogFile;

    fn make_writer(&'a self) -> LogFile {
        LogFile
    }
}
