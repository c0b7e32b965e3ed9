//! The compact encoding of a batch of observations inside an indicator document.
//!
//! One line per observation, fields separated by tabs:
//! `area  period  value  denominator  status  breakdown  note`, where a secret value is `x`, an
//! absent denominator is empty, status is `d` (final) or `v` (provisional) and the breakdown is
//! `dim=cat|dim=cat`. Texts never contain tabs, newlines, `|` or `=` ([`clean_text`] sees to that).
//!
//! Batches are written compressed ([`encode_batches`]): the magic bytes [`COMPRESSED`], the first
//! and last period of the batch (`2015JJ00\t2024JJ00\n`), then the lines deflated (flate2), at most
//! [`BATCH_TEXT_BYTES`] of them (and one line more) per batch. Deflate takes the lines to about a
//! seventh of their size, since consecutive lines share their area and breakdown; the periods up
//! front let an import read back only the stored batches of the periods it touches. Batches of
//! plain lines, as earlier versions wrote them, are still read.
//!
//! Decoding checks everything again, including the privacy guard and that every line lies within
//! the periods its batch names, because a batch may arrive from another replica; a compressed
//! batch may inflate to [`MAX_BATCH_TEXT`] bytes at most.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{BufRead as _, Read as _, Write as _};

use super::{AreaCode, Breakdown, Observation, Period, Status};
use crate::privacy;

/// Why stored observations could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("opgeslagen cijfers, regel {line}: {problem}")]
pub struct CodecError {
    /// The line within the batch (1-based).
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

/// Replaces the characters the encoding reserves by spaces and trims the result.
pub fn clean_text(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| {
            if matches!(c, '\t' | '\n' | '\r' | '|' | '=') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The first bytes of a compressed batch (a batch of plain lines starts with an area code).
pub const COMPRESSED: &[u8; 4] = b"\0kc2";

/// The text of the lines that one compressed batch holds at most (plus the line that passes it).
pub const BATCH_TEXT_BYTES: usize = 4 << 20;

/// The most a compressed batch may inflate to: a full batch and one line of the longest kind a
/// CSV record allows, with room to spare.
pub const MAX_BATCH_TEXT: u64 = 8 << 20;

/// Appends the lines of `rows` to `out`.
pub fn encode(rows: &[Observation], out: &mut Vec<u8>) {
    let mut line = String::with_capacity(64);
    for o in rows {
        line.clear();
        encode_line(o, &mut line);
        out.extend_from_slice(line.as_bytes());
    }
}

/// Encodes `rows` as compressed batches, each of at most [`BATCH_TEXT_BYTES`] of lines (and one
/// line more), in order.
pub fn encode_batches(rows: &[Observation]) -> Result<Vec<Vec<u8>>, CodecError> {
    let mut batches = Vec::new();
    let mut text = String::with_capacity(BATCH_TEXT_BYTES.min(rows.len() * 48) + 256);
    let mut periods: Option<Periods> = None;
    for o in rows {
        encode_line(o, &mut text);
        periods = Some(match periods {
            None => (o.period, o.period),
            Some((first, last)) => (first.min(o.period), last.max(o.period)),
        });
        if text.len() >= BATCH_TEXT_BYTES
            && let Some(range) = periods.take()
        {
            batches.push(compress(&text, range)?);
            text.clear();
        }
    }
    if let Some(range) = periods {
        batches.push(compress(&text, range)?);
    }
    Ok(batches)
}

/// The first and last period a compressed batch names; `None` for a batch of plain lines, whose
/// periods are known only by decoding it.
pub fn periods(bytes: &[u8]) -> Result<Option<Periods>, CodecError> {
    match header(bytes)? {
        Some((range, _)) => Ok(Some(range)),
        None => Ok(None),
    }
}

/// Writes one line.
fn encode_line(o: &Observation, line: &mut String) {
    line.push_str(o.area.as_str());
    line.push('\t');
    o.period.write_code(line);
    line.push('\t');
    match o.value {
        Some(v) => write_number(line, v),
        None => line.push('x'),
    }
    line.push('\t');
    if let Some(d) = o.denominator {
        write_number(line, d);
    }
    line.push_str(match o.status {
        Status::Definitief => "\td\t",
        Status::Voorlopig => "\tv\t",
    });
    for (i, (k, v)) in o.breakdown.iter().enumerate() {
        if i > 0 {
            line.push('|');
        }
        let _ = write!(line, "{k}={v}");
    }
    line.push('\t');
    if let Some(n) = &o.note {
        line.push_str(n);
    }
    line.push('\n');
}

/// One compressed batch of `text`, whose lines lie in `range`.
fn compress(text: &str, (first, last): Periods) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(text.len() / 5 + 32);
    out.extend_from_slice(COMPRESSED);
    let _ = writeln!(out, "{first}\t{last}");
    let mut deflate = flate2::write::DeflateEncoder::new(out, flate2::Compression::fast());
    let failed = |e: std::io::Error| CodecError {
        line: 0,
        problem: format!("kan de cijfers niet inpakken ({e})"),
    };
    deflate.write_all(text.as_bytes()).map_err(failed)?;
    deflate.finish().map_err(failed)
}

/// The first and last period of a batch.
type Periods = (Period, Period);

/// The periods and the deflated body of a compressed batch; `None` for plain lines.
fn header(bytes: &[u8]) -> Result<Option<(Periods, &[u8])>, CodecError> {
    let Some(rest) = bytes.strip_prefix(COMPRESSED.as_slice()) else {
        return Ok(None);
    };
    let bad = |problem: &str| CodecError {
        line: 0,
        problem: problem.to_string(),
    };
    let end = rest
        .iter()
        .take(64)
        .position(|b| *b == b'\n')
        .ok_or_else(|| bad("de kop van een ingepakt blok mist"))?;
    let head = std::str::from_utf8(&rest[..end]).map_err(|_| bad("de kop is geen UTF-8"))?;
    let (first, last) = head
        .split_once('\t')
        .ok_or_else(|| bad("de kop noemt geen twee perioden"))?;
    let period = |s: &str| Period::parse(s).map_err(|e| bad(&format!("de kop: {e}")));
    let range = (period(first)?, period(last)?);
    if range.0 > range.1 {
        return Err(bad("de kop noemt een laatste periode voor de eerste"));
    }
    Ok(Some((range, &rest[end + 1..])))
}

/// Writes a number so that it reads back exactly; whole numbers take the short way.
fn write_number(out: &mut String, n: f64) {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        out.push_str(itoa::Buffer::new().format(n as i64));
    } else {
        let _ = write!(out, "{n}");
    }
}

/// Decodes one batch (compressed or plain lines), checking every field.
pub fn decode(bytes: &[u8]) -> Result<Vec<Observation>, CodecError> {
    let mut out = Vec::new();
    decode_each(bytes, |o| out.push(o))?;
    Ok(out)
}

/// Decodes one batch as [`decode`] does, handing each observation to `each` in order as its
/// line is read: a compressed batch is inflated a line at a time, so neither its text nor its
/// observations are ever held whole. On an error, `each` has seen the lines before the bad one.
pub fn decode_each(bytes: &[u8], mut each: impl FnMut(Observation)) -> Result<(), CodecError> {
    let Some((range, body)) = header(bytes)? else {
        let text = std::str::from_utf8(bytes).map_err(|_| CodecError {
            line: 0,
            problem: "geen UTF-8".into(),
        })?;
        let mut lines = Lines::new(None);
        for (i, line) in text.lines().enumerate() {
            each(lines.decode(i + 1, line)?);
        }
        return Ok(());
    };
    let mut reader = std::io::BufReader::with_capacity(
        64 << 10,
        flate2::read::DeflateDecoder::new(body).take(MAX_BATCH_TEXT + 1),
    );
    let mut lines = Lines::new(Some(range));
    let (mut line, mut inflated, mut number) = (Vec::new(), 0u64, 0);
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| CodecError {
                line: 0,
                problem: format!("het ingepakte blok is beschadigd ({e})"),
            })?;
        if read == 0 {
            return Ok(());
        }
        inflated += read as u64;
        if inflated > MAX_BATCH_TEXT {
            return Err(CodecError {
                line: 0,
                problem: format!(
                    "het ingepakte blok is groter dan {} MiB uitgepakt",
                    MAX_BATCH_TEXT >> 20
                ),
            });
        }
        number += 1;
        let text = std::str::from_utf8(&line).map_err(|_| CodecError {
            line: number,
            problem: "geen UTF-8".into(),
        })?;
        // As `str::lines` ends a line: at a newline, with a carriage return before it.
        let text = text.strip_suffix('\n').unwrap_or(text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        each(lines.decode(number, text)?);
    }
}

/// What decoding the lines of one batch keeps between them: the periods the batch names, and
/// its breakdowns by their text, checked once and shared between lines, so that a decoded
/// batch holds a handful of breakdown maps rather than one a line.
struct Lines {
    range: Option<Periods>,
    breakdowns: HashMap<String, Breakdown>,
}

impl Lines {
    fn new(range: Option<Periods>) -> Lines {
        Lines {
            range,
            breakdowns: HashMap::new(),
        }
    }

    /// Decodes line `at` (1-based) of the batch.
    fn decode(&mut self, at: usize, line: &str) -> Result<Observation, CodecError> {
        let bad = |problem: String| CodecError { line: at, problem };
        // The fields in place, without a list of them for every line.
        let (mut fields, mut count) = ([""; 7], 0);
        for field in line.split('\t') {
            if let Some(slot) = fields.get_mut(count) {
                *slot = field;
            }
            count += 1;
        }
        if count != fields.len() {
            return Err(bad(format!("verwacht 7 velden, vond er {count}")));
        }
        let [area, period, value, den, status, breakdown, note] = fields;
        let number = |s: &str| {
            s.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| bad(format!("{s:?} is geen getal")))
        };
        let breakdown = match self.breakdowns.get(breakdown) {
            Some(b) => b.clone(),
            None => {
                let mut dims = BTreeMap::new();
                for part in breakdown.split('|').filter(|p| !p.is_empty()) {
                    let (k, v) = part
                        .split_once('=')
                        .ok_or_else(|| bad(format!("uitsplitsing {part:?} mist =")))?;
                    privacy::check_text(k, v).map_err(|e| bad(e.to_string()))?;
                    dims.insert(k.to_string(), v.to_string());
                }
                let b = Breakdown::from_map(dims);
                self.breakdowns.insert(breakdown.to_string(), b.clone());
                b
            }
        };
        if !note.is_empty() {
            privacy::check_text("trendbreuk", note).map_err(|e| bad(e.to_string()))?;
        }
        let period = Period::parse(period).map_err(|e| bad(e.to_string()))?;
        if let Some((first, last)) = self.range
            && !(first..=last).contains(&period)
        {
            return Err(bad(format!(
                "periode {period} ligt buiten de perioden van het blok ({first} tot en met {last})"
            )));
        }
        Ok(Observation {
            area: AreaCode::parse(area).map_err(|e| bad(e.to_string()))?,
            period,
            value: if value == "x" {
                None
            } else {
                Some(number(value)?)
            },
            denominator: if den.is_empty() {
                None
            } else {
                Some(number(den)?)
            },
            status: match status {
                "d" => Status::Definitief,
                "v" => Status::Voorlopig,
                other => return Err(bad(format!("onbekende status {other:?}"))),
            },
            breakdown,
            note: (!note.is_empty()).then(|| note.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip() {
        let rows = vec![
            Observation {
                area: AreaCode::parse("GM0363").unwrap(),
                period: Period::parse("2023KW02").unwrap(),
                breakdown: Breakdown::total().with("geslacht", "meisje"),
                value: Some(12.5),
                denominator: Some(1000.0),
                status: Status::Voorlopig,
                note: Some("nieuwe definitie".into()),
            },
            Observation {
                area: AreaCode::parse("WK036301").unwrap(),
                period: Period::year(2022),
                breakdown: Breakdown::total(),
                value: None,
                denominator: None,
                status: Status::Definitief,
                note: None,
            },
        ];
        let mut bytes = Vec::new();
        encode(&rows, &mut bytes);
        assert_eq!(
            decode(&bytes).unwrap(),
            rows,
            "plain lines, as earlier versions wrote"
        );
        assert_eq!(periods(&bytes).unwrap(), None);
        let batches = encode_batches(&rows).unwrap();
        assert_eq!(batches.len(), 1);
        assert!(batches[0].starts_with(COMPRESSED));
        assert_eq!(decode(&batches[0]).unwrap(), rows, "compressed");
        assert_eq!(
            periods(&batches[0]).unwrap(),
            Some((Period::year(2022), Period::parse("2023KW02").unwrap()))
        );
    }

    /// Many similar rows, as an import of one period gives them.
    fn many(n: usize) -> Vec<Observation> {
        (0..n)
            .map(|i| Observation {
                area: AreaCode::parse(&format!("BU{:08}", i / 3)).unwrap(),
                period: Period::year(2024),
                breakdown: Breakdown::total(),
                value: Some((i % 400) as f64 * 5.0),
                denominator: Some(4000.0 + (i % 97) as f64 * 5.0),
                status: Status::Definitief,
                note: None,
            })
            .collect()
    }

    #[test]
    fn large_imports_are_cut_into_compressed_batches_of_bounded_text() {
        let rows = many(200_000);
        let mut plain = Vec::new();
        encode(&rows, &mut plain);
        let batches = encode_batches(&rows).unwrap();
        assert!(batches.len() >= 2, "{} batches", batches.len());
        let compressed: usize = batches.iter().map(Vec::len).sum();
        assert!(
            compressed * 3 < plain.len(),
            "{compressed} bytes compressed, {} plain",
            plain.len()
        );
        let mut back = Vec::new();
        for b in &batches {
            let rows = decode(b).unwrap();
            let mut text = Vec::new();
            encode(&rows, &mut text);
            assert!(text.len() < BATCH_TEXT_BYTES + 100, "{}", text.len());
            back.extend(rows);
        }
        assert_eq!(back, rows);
    }

    /// A compressed batch with `header` (after the magic bytes) and `lines` deflated.
    fn compressed(header: &str, lines: &[u8]) -> Vec<u8> {
        let mut out = COMPRESSED.to_vec();
        out.extend_from_slice(header.as_bytes());
        let mut deflate = flate2::write::DeflateEncoder::new(out, flate2::Compression::fast());
        deflate.write_all(lines).unwrap();
        deflate.finish().unwrap()
    }

    #[test]
    fn damaged_compressed_batches_are_refused() {
        let line = b"GM0363\t2023JJ00\t10\t\td\t\t\n";
        assert_eq!(
            decode(&compressed("2023JJ00\t2023JJ00\n", line))
                .unwrap()
                .len(),
            1
        );
        let outside = decode(&compressed("2024JJ00\t2024JJ00\n", line)).unwrap_err();
        assert!(outside.problem.contains("buiten de perioden"), "{outside}");
        let reversed = decode(&compressed("2024JJ00\t2023JJ00\n", line)).unwrap_err();
        assert!(reversed.problem.contains("laatste periode"), "{reversed}");
        let headless = decode(&compressed("2023JJ00", line)).unwrap_err();
        assert!(headless.problem.contains("kop"), "{headless}");
        let mut cut = compressed("2023JJ00\t2023JJ00\n", line);
        cut.truncate(cut.len() - 4);
        let cut = decode(&cut).unwrap_err();
        assert!(cut.problem.contains("beschadigd"), "{cut}");
        // Zeros deflate to almost nothing: a small batch may not inflate without bound.
        let bomb = vec![b'0'; MAX_BATCH_TEXT as usize + 10];
        let bomb = compressed("2023JJ00\t2023JJ00\n", &bomb);
        assert!(bomb.len() < 100_000);
        let err = decode(&bomb).unwrap_err();
        assert!(err.problem.contains("groter dan 8 MiB"), "{err}");
    }

    #[test]
    fn damaged_batches_name_the_line() {
        let err =
            decode(b"GM0363\t2023JJ00\t1\t\td\t\t\nGM0363\t2023JJ00\tveel\t\td\t\t\n").unwrap_err();
        assert_eq!(err.line, 2);
        let bsn = decode(b"GM0363\t2023JJ00\t1\t\td\tgroep=111222333\t\n").unwrap_err();
        assert!(bsn.problem.contains("burgerservicenummer"), "{bsn}");
    }
}
