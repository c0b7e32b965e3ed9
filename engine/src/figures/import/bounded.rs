//! A reader that bounds how far one CSV record may reach, so that a single huge field or
//! record (one unclosed quote in a large file) is refused instead of buffered whole.

use std::cell::Cell;
use std::io::Read;

/// The longest record (or header) read, in bytes.
pub const MAX_RECORD_BYTES: u64 = 1 << 20;

/// How far the CSV reader reads ahead of the record it returns (its buffer), allowed on top.
const READ_AHEAD: u64 = 64 << 10;

/// Reads from `inner`, refusing to read more than [`MAX_RECORD_BYTES`] past the start of the
/// current record; [`Bounded::record_read`] moves that start after every record.
pub struct Bounded<R> {
    inner: R,
    read: u64,
    record_start: Cell<u64>,
}

impl<R> Bounded<R> {
    /// Bounds `inner`.
    pub fn new(inner: R) -> Self {
        Bounded {
            inner,
            read: 0,
            record_start: Cell::new(0),
        }
    }

    /// Tells the reader that a record ended at byte `end`.
    pub fn record_read(&self, end: u64) {
        self.record_start.set(end);
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read > self.record_start.get() + MAX_RECORD_BYTES + READ_AHEAD {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "een rij is langer dan {} MiB; staat er een aanhalingsteken dat niet gesloten wordt?",
                    MAX_RECORD_BYTES >> 20
                ),
            ));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}
