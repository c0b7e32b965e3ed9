//! The budget of one document: how many changes and operations, and how many decoded bytes, it
//! may hold. Incoming Automerge bytes (an imported file, a received bundle or snapshot) are
//! measured against it before Automerge loads them.
//!
//! Automerge's storage format is columnar and run-length encoded, and its columns may be
//! deflated, so a few hundred kilobytes can stand for millions of changes or operations that
//! Automerge would build in memory while loading. Measuring reads only the chunk headers and
//! the column encodings: it sums run lengths (a run of a million equal values is one number)
//! and inflates deflated parts as a stream through a meter that stops at the byte budget, so it
//! never holds more than a small buffer and gives up as soon as any count passes its limit.
//! The Automerge crate keeps its parser private; this reads the published storage format
//! (chunk header, change and document chunk layout, column specifications, RLE, boolean and
//! delta encodings) only as far as counting needs.

use std::io::{self, Read};

use super::chunks::{self, CHANGE, COMPRESSED_CHANGE, DOCUMENT};

/// The limits of one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Changes in the document's history.
    pub changes: u64,
    /// Operations (every field set, every character typed, every list item).
    pub ops: u64,
    /// Bytes of the storage format once inflated.
    pub decoded_bytes: u64,
}

/// The budget every document is held to.
pub const DOCUMENT_BUDGET: Budget = Budget {
    changes: 100_000,
    ops: 1_000_000,
    decoded_bytes: 64 * 1024 * 1024,
};

/// What a run of Automerge chunks holds, as far as the budget is concerned. Changes that are
/// in several chunks (a document and a change it already has) count each time, so this is an
/// upper bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Size {
    /// Changes.
    pub changes: u64,
    /// Operations.
    pub ops: u64,
    /// Decoded bytes.
    pub decoded_bytes: u64,
}

/// Why incoming bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    /// The document would hold more than the budget allows.
    #[error(
        "het document is te groot: meer dan {limit} {what} (de grens voor één document); het is niet opgeslagen"
    )]
    Exceeded { what: &'static str, limit: u64 },
    /// The bytes are not Automerge storage chunks kompas can measure.
    #[error("onleesbare Automerge-gegevens: {0}")]
    Unreadable(String),
}

impl Size {
    /// The size of a loaded document, as Automerge counts it.
    pub fn of(doc: &automerge::AutoCommit) -> Size {
        use automerge::ReadDoc as _;
        let stats = doc.stats();
        Size {
            changes: stats.num_changes,
            ops: stats.num_ops,
            decoded_bytes: 0,
        }
    }

    /// Refuses a size past `budget`.
    pub fn check(&self, budget: &Budget) -> Result<(), BudgetError> {
        let over = |what, limit| Err(BudgetError::Exceeded { what, limit });
        if self.changes > budget.changes {
            return over("wijzigingen", budget.changes);
        }
        if self.ops > budget.ops {
            return over("bewerkingen", budget.ops);
        }
        if self.decoded_bytes > budget.decoded_bytes {
            return over("bytes", budget.decoded_bytes);
        }
        Ok(())
    }
}

/// Measures `data` (concatenated Automerge chunks) and refuses it as soon as it is past
/// `budget`. Memory stays a few kilobytes whatever `data` encodes.
pub fn measure(data: &[u8], budget: &Budget) -> Result<Size, BudgetError> {
    let mut size = Size::default();
    for chunk in chunks::split(data).map_err(BudgetError::Unreadable)? {
        let mut meter = Meter {
            size: &mut size,
            budget,
        };
        match chunk.kind {
            DOCUMENT => meter.document(chunk.body)?,
            CHANGE => meter.change(chunk.body)?,
            COMPRESSED_CHANGE => meter.change(flate2::read::DeflateDecoder::new(chunk.body))?,
            other => {
                return Err(BudgetError::Unreadable(format!(
                    "onbekend soort Automerge-stuk ({other})"
                )));
            }
        }
    }
    Ok(size)
}

/// The counts so far and the budget they are held to.
struct Meter<'a> {
    size: &'a mut Size,
    budget: &'a Budget,
}

impl Meter<'_> {
    /// A document chunk: actors, heads, the change and operation column specifications, then
    /// the columns themselves. The rows of the longest column are the changes (or operations).
    fn document(&mut self, body: &[u8]) -> Result<(), BudgetError> {
        let (change_columns, op_columns, mut offset) = {
            let mut header = Source::new(body, self.budget, self.size);
            header.skip_actors()?;
            let heads = header.uleb()?;
            header.skip(heads.saturating_mul(32))?;
            let change_columns = header.columns()?;
            let op_columns = header.columns()?;
            (change_columns, op_columns, header.consumed)
        };
        for (columns, is_changes) in [(change_columns, true), (op_columns, false)] {
            let mut rows = 0;
            for (spec, len) in columns {
                let len = usize::try_from(len).map_err(|_| truncated())?;
                let end = offset
                    .checked_add(len)
                    .filter(|end| *end <= body.len())
                    .ok_or_else(truncated)?;
                let data = &body[offset..end];
                offset = end;
                let column_rows = if spec & DEFLATE != 0 {
                    let inflated = flate2::read::DeflateDecoder::new(data);
                    column(spec, &mut Source::new(inflated, self.budget, self.size))?
                } else {
                    column(spec, &mut Source::new(data, self.budget, self.size))?
                };
                rows = rows.max(column_rows);
            }
            self.add(rows, is_changes)?;
        }
        Ok(())
    }

    /// A change chunk's body: its header, then its operation columns.
    fn change(&mut self, body: impl Read) -> Result<(), BudgetError> {
        let rows = Self::change_rows(&mut Source::new(body, self.budget, self.size))?;
        self.add(1, true)?;
        self.add(rows, false)
    }

    /// Reads a change chunk's body and returns how many operations it holds.
    fn change_rows<R: Read>(source: &mut Source<'_, R>) -> Result<u64, BudgetError> {
        let deps = source.uleb()?;
        source.skip(deps.saturating_mul(32))?;
        let actor = source.uleb()?;
        source.skip(actor)?;
        source.uleb()?; // seq
        source.uleb()?; // start op
        source.sleb()?; // time
        let message = source.uleb()?;
        source.skip(message)?;
        source.skip_actors()?;
        let columns = source.columns()?;
        let mut rows = 0;
        for (spec, len) in columns {
            let mut data = Source {
                inner: (&mut source.inner).take(len),
                size: &mut *source.size,
                budget: source.budget,
                consumed: 0,
            };
            rows = u64::max(rows, column(spec, &mut data)?);
            if data.consumed as u64 != len {
                return Err(truncated());
            }
        }
        // What follows the columns is the change's extra bytes; they count towards the bytes.
        source.drain()?;
        Ok(rows)
    }

    fn add(&mut self, rows: u64, is_changes: bool) -> Result<(), BudgetError> {
        if is_changes {
            self.size.changes = self.size.changes.saturating_add(rows);
        } else {
            self.size.ops = self.size.ops.saturating_add(rows);
        }
        self.size.check(self.budget)
    }
}

/// The deflate bit of a column specification.
const DEFLATE: u64 = 0b1000;

/// Column types (the low three bits of a specification).
const GROUP: u64 = 0;
const ACTOR: u64 = 1;
const INTEGER: u64 = 2;
const DELTA: u64 = 3;
const BOOLEAN: u64 = 4;
const STRING: u64 = 5;
const VALUE_METADATA: u64 = 6;

/// How many rows one column holds, reading it to its end.
fn column<R: Read>(spec: u64, source: &mut Source<'_, R>) -> Result<u64, BudgetError> {
    let limit = source.budget.ops.max(source.budget.changes);
    let mut rows: u64 = 0;
    match spec & 0b111 {
        BOOLEAN => {
            // Alternating run lengths of false and true.
            while let Some(run) = source.next_uleb()? {
                rows = rows.saturating_add(run);
                over(rows, limit)?;
            }
        }
        kind @ (GROUP | ACTOR | INTEGER | DELTA | STRING | VALUE_METADATA) => {
            // Run-length encoding: a positive length and one value repeated, a negative
            // length and that many literal values, or zero and a count of nulls.
            while let Some(run) = source.next_sleb()? {
                let values = match run {
                    n if n > 0 => {
                        source.value(kind)?;
                        n.unsigned_abs()
                    }
                    n if n < 0 => {
                        let n = n.unsigned_abs();
                        over(rows.saturating_add(n), limit)?;
                        for _ in 0..n {
                            source.value(kind)?;
                        }
                        n
                    }
                    _ => source.uleb()?,
                };
                rows = rows.saturating_add(values);
                over(rows, limit)?;
            }
        }
        _ => source.drain()?, // Raw values: bytes, no rows of their own.
    }
    Ok(rows)
}

/// Refuses a column longer than any budget allows before reading more of it.
fn over(rows: u64, limit: u64) -> Result<(), BudgetError> {
    if rows > limit {
        Err(BudgetError::Exceeded {
            what: "rijen in één kolom",
            limit,
        })
    } else {
        Ok(())
    }
}

/// Decoded bytes being read, each counted against the byte budget.
struct Source<'a, R> {
    inner: R,
    size: &'a mut Size,
    budget: &'a Budget,
    consumed: usize,
}

impl<'a, R: Read> Source<'a, R> {
    fn new(inner: R, budget: &'a Budget, size: &'a mut Size) -> Self {
        Source {
            inner,
            size,
            budget,
            consumed: 0,
        }
    }

    /// The next byte, or `None` at the end.
    fn next_byte(&mut self) -> Result<Option<u8>, BudgetError> {
        let mut byte = [0u8; 1];
        loop {
            match self.inner.read(&mut byte) {
                Ok(0) => return Ok(None),
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(&e)),
            }
        }
        self.consumed += 1;
        self.size.decoded_bytes += 1;
        if self.size.decoded_bytes > self.budget.decoded_bytes {
            return Err(BudgetError::Exceeded {
                what: "bytes",
                limit: self.budget.decoded_bytes,
            });
        }
        Ok(Some(byte[0]))
    }

    fn byte(&mut self) -> Result<u8, BudgetError> {
        self.next_byte()?.ok_or_else(truncated)
    }

    /// The bits of a LEB128 number, how many bits it took and its last byte, or `None` if
    /// the data ends before it starts.
    fn next_leb(&mut self) -> Result<Option<(u64, u32, u8)>, BudgetError> {
        let Some(first) = self.next_byte()? else {
            return Ok(None);
        };
        let mut value = u64::from(first & 0x7f);
        let mut byte = first;
        let mut shift = 7;
        while byte & 0x80 != 0 {
            if shift >= 64 {
                return Err(BudgetError::Unreadable("te groot getal".into()));
            }
            byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            shift += 7;
        }
        Ok(Some((value, shift, byte)))
    }

    /// An unsigned LEB128 number, or `None` if the data ends before it starts.
    fn next_uleb(&mut self) -> Result<Option<u64>, BudgetError> {
        Ok(self.next_leb()?.map(|(value, _, _)| value))
    }

    fn uleb(&mut self) -> Result<u64, BudgetError> {
        self.next_uleb()?.ok_or_else(truncated)
    }

    /// A signed LEB128 number, or `None` if the data ends before it starts.
    fn next_sleb(&mut self) -> Result<Option<i64>, BudgetError> {
        Ok(self.next_leb()?.map(|(bits, shift, last)| {
            // Reinterpreting the bits is the point: the sign is extended from the last byte.
            let value = bits as i64;
            if shift < 64 && last & 0x40 != 0 {
                value | (-1i64 << shift)
            } else {
                value
            }
        }))
    }

    fn sleb(&mut self) -> Result<i64, BudgetError> {
        self.next_sleb()?.ok_or_else(truncated)
    }

    /// Reads past `n` bytes.
    fn skip(&mut self, n: u64) -> Result<(), BudgetError> {
        for _ in 0..n {
            self.byte()?;
        }
        Ok(())
    }

    /// Reads to the end, counting the bytes.
    fn drain(&mut self) -> Result<(), BudgetError> {
        while self.next_byte()?.is_some() {}
        Ok(())
    }

    /// Reads past a length-prefixed list of actor ids.
    fn skip_actors(&mut self) -> Result<(), BudgetError> {
        let actors = self.uleb()?;
        for _ in 0..actors {
            let len = self.uleb()?;
            self.skip(len)?;
        }
        Ok(())
    }

    /// A list of column specifications with their lengths.
    fn columns(&mut self) -> Result<Vec<(u64, u64)>, BudgetError> {
        let count = self.uleb()?;
        // Column ids are distinct and small; more columns than this is no Automerge data.
        if count > 64 {
            return Err(BudgetError::Unreadable("te veel kolommen".into()));
        }
        (0..count)
            .map(|_| Ok((self.uleb()?, self.uleb()?)))
            .collect()
    }

    /// Reads past one value of a run-length encoded column of type `kind`.
    fn value(&mut self, kind: u64) -> Result<(), BudgetError> {
        match kind {
            DELTA => self.sleb().map(drop),
            STRING => {
                let len = self.uleb()?;
                self.skip(len)
            }
            _ => self.uleb().map(drop),
        }
    }
}

fn truncated() -> BudgetError {
    BudgetError::Unreadable("afgekapt".into())
}

fn read_error(e: &io::Error) -> BudgetError {
    BudgetError::Unreadable(format!("kan niet uitpakken ({e})"))
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ROOT, ReadDoc};

    use super::*;

    const SMALL: Budget = Budget {
        changes: 50,
        ops: 500,
        decoded_bytes: 1024 * 1024,
    };

    fn doc_with(changes: usize, ops_per_change: usize) -> AutoCommit {
        let mut doc = AutoCommit::new();
        let text = doc.put_object(ROOT, "tekst", ObjType::Text).unwrap();
        for c in 0..changes {
            for _ in 0..ops_per_change {
                let len = doc.length(&text);
                doc.splice_text(&text, len, 0, "x").unwrap();
            }
            doc.put(ROOT, "n", c as i64).unwrap();
            doc.commit();
        }
        doc
    }

    #[test]
    fn a_saved_document_counts_its_changes_and_operations() {
        let mut doc = doc_with(20, 5);
        let stats = doc.stats();
        let size = measure(&doc.save(), &DOCUMENT_BUDGET).unwrap();
        assert_eq!(size.changes, stats.num_changes);
        assert_eq!(size.ops, stats.num_ops);
        assert!(size.decoded_bytes > 0);
        // Each change on its own, as sync sends them, counts the same.
        let run: Vec<u8> = doc
            .get_changes(&[])
            .into_iter()
            .flat_map(|c| c.raw_bytes().to_vec())
            .collect();
        let size = measure(&run, &DOCUMENT_BUDGET).unwrap();
        assert_eq!(size.changes, stats.num_changes);
        assert_eq!(size.ops, stats.num_ops);
        // Compressed change chunks too.
        let compressed: Vec<u8> = doc
            .get_changes(&[])
            .into_iter()
            .flat_map(|mut c| c.bytes().into_owned())
            .collect();
        assert_eq!(
            measure(&compressed, &DOCUMENT_BUDGET).unwrap().ops,
            stats.num_ops
        );
    }

    #[test]
    fn too_many_changes_or_operations_are_refused_whatever_the_form() {
        let mut many_changes = doc_with(60, 1);
        let err = measure(&many_changes.save(), &SMALL).unwrap_err();
        assert!(
            matches!(
                err,
                BudgetError::Exceeded {
                    what: "wijzigingen",
                    ..
                }
            ),
            "{err}"
        );
        let mut many_ops = doc_with(2, 400);
        let err = measure(&many_ops.save(), &SMALL).unwrap_err();
        assert!(
            err.to_string().contains("bewerkingen") || err.to_string().contains("rijen"),
            "{err}"
        );
        let big_change = many_ops.get_changes(&[])[0].clone().raw_bytes().to_vec();
        let mut one = big_change.clone();
        one.extend(many_ops.get_changes(&[])[1].raw_bytes());
        assert!(measure(&one, &SMALL).is_err());
        let tight = Budget {
            decoded_bytes: 64,
            ..DOCUMENT_BUDGET
        };
        let err = measure(&big_change, &tight).unwrap_err();
        assert!(
            matches!(err, BudgetError::Exceeded { what: "bytes", .. }),
            "{err}"
        );
    }

    #[test]
    fn damaged_bytes_are_unreadable_not_a_panic() {
        let mut doc = doc_with(3, 3);
        let saved = doc.save();
        for cut in [1, 9, 12, saved.len() / 2, saved.len() - 1] {
            assert!(
                measure(&saved[..cut], &DOCUMENT_BUDGET).is_err(),
                "cut at {cut}"
            );
        }
        assert!(matches!(
            measure(b"geen automerge", &DOCUMENT_BUDGET),
            Err(BudgetError::Unreadable(_))
        ));
        assert_eq!(measure(&[], &DOCUMENT_BUDGET), Ok(Size::default()));
    }

    #[test]
    fn a_loaded_document_reports_its_size() {
        let doc = doc_with(4, 2);
        let size = Size::of(&doc);
        assert_eq!(size.changes, 4);
        assert!(size.check(&DOCUMENT_BUDGET).is_ok());
        assert!(
            Size {
                changes: 51,
                ..size
            }
            .check(&SMALL)
            .is_err()
        );
    }
}
