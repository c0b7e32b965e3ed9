//! The standard error of a running process, line by line, for tests that wait for a moment the
//! process reports there (and send it a signal right then).

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// The lines a process writes, read on a thread of their own; each is also passed on to the
/// test's own standard error, after `label`.
pub struct Lines {
    received: Receiver<String>,
}

impl Lines {
    /// Starts reading `output`.
    pub fn read(output: impl Read + Send + 'static, label: &str) -> Lines {
        let (lines, received) = std::sync::mpsc::channel();
        let label = label.to_string();
        std::thread::spawn(move || {
            for line in BufReader::new(output).lines().map_while(Result::ok) {
                eprintln!("{label}: {line}");
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Lines { received }
    }

    /// Forgets the lines read so far.
    pub fn forget(&self) {
        while self.received.try_recv().is_ok() {}
    }

    /// Waits up to `patience` for a line that contains `text` and returns it (`None` when none
    /// came in time or the output ended).
    pub fn until(&self, text: &str, patience: Duration) -> Option<String> {
        let deadline = Instant::now() + patience;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.received.recv_timeout(left) {
                Ok(line) if line.contains(text) => return Some(line),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}
