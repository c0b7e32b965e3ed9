//! Reading a CSV file row by row into observations.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};

use super::text::next_record;
use super::{
    Cell, ColumnPlan, ImportError, ImportOptions, ImportProgress, Parsed, RowError, parse_cell,
};
use crate::figures::codec::clean_text;
use crate::figures::{AreaCode, Breakdown, Observation, Period, Status};
use crate::privacy;

/// Report progress every this many rows.
const PROGRESS_EVERY: u64 = 65_536;

/// How many distinct texts and breakdowns are remembered while reading.
const REMEMBERED: usize = 10_000;

/// Breakdowns already read, by their cells as written (checked by the privacy guard once, and
/// shared between rows, so a million rows hold a handful of breakdown maps).
#[derive(Default)]
struct Seen {
    key: String,
    breakdowns: HashMap<String, Breakdown>,
}

/// Reads observations from CSV text, calling `progress` now and then.
pub fn read_csv<R: Read>(
    input: R,
    options: &ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<Parsed, ImportError> {
    let (mut reader, titles) = open_csv(input)?;
    let (mut raw, mut record) = (csv::ByteRecord::new(), csv::StringRecord::new());
    let plan = ColumnPlan::resolve(titles, options.mapping.as_ref())?;
    let mut parsed = Parsed {
        ignored_columns: plan.ignored(),
        ..Parsed::default()
    };
    let mut seen = Seen::default();
    let mut errors = Vec::new();
    loop {
        match next_record(&mut reader, &mut raw, &mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let row = e.position().map_or(parsed.read + 2, |p| p.line());
                let problem = e.to_string();
                if !options.skip_bad_rows {
                    return Err(ImportError::Csv { row, problem });
                }
                errors.push(RowError {
                    row,
                    column: None,
                    problem,
                });
                continue;
            }
        }
        parsed.read += 1;
        let row = record.position().map_or(parsed.read + 1, |p| p.line());
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match read_row(&plan, &record, row, &mut seen) {
            Ok(Some(o)) => parsed.rows.push(o),
            Ok(None) => parsed.without_value += 1,
            Err(e) => errors.push(e),
        }
        if parsed.read.is_multiple_of(PROGRESS_EVERY) {
            progress(ImportProgress {
                rows: parsed.read,
                bytes: record.position().map_or(0, |p| p.byte()),
            });
        }
    }
    progress(ImportProgress {
        rows: parsed.read,
        bytes: reader.position().byte(),
    });
    if !errors.is_empty() && !options.skip_bad_rows {
        return Err(ImportError::BadRows(errors));
    }
    parsed.bad_rows = errors;
    Ok(parsed)
}

/// A CSV reader over `input` with its delimiter detected and its header read.
pub fn open_csv<R: Read>(input: R) -> Result<(csv::Reader<impl Read>, Vec<String>), ImportError> {
    let mut buffered = BufReader::with_capacity(1 << 16, input);
    let mut first = Vec::new();
    buffered
        .read_until(b'\n', &mut first)
        .map_err(|e| ImportError::Header(format!("kan het bestand niet lezen ({e})")))?;
    let header = first
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&first)
        .to_vec();
    let delimiter = detect_delimiter(&header);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(std::io::Cursor::new(header).chain(buffered));
    let (mut raw, mut record) = (csv::ByteRecord::new(), csv::StringRecord::new());
    match next_record(&mut reader, &mut raw, &mut record) {
        Ok(true) => Ok((reader, record.iter().map(str::to_string).collect())),
        Ok(false) => Err(ImportError::Header("het bestand is leeg".into())),
        Err(e) => Err(ImportError::Header(e.to_string())),
    }
}

/// Picks the delimiter that occurs most often in the header: `;`, `,` or tab (`;` on a tie).
fn detect_delimiter(header: &[u8]) -> u8 {
    let count = |d: u8| header.iter().filter(|b| **b == d).count();
    [b';', b',', b'\t']
        .into_iter()
        .max_by_key(|d| (count(*d), *d == b';'))
        .unwrap_or(b';')
}

fn read_row(
    plan: &ColumnPlan,
    record: &csv::StringRecord,
    row: u64,
    seen: &mut Seen,
) -> Result<Option<Observation>, RowError> {
    let cell = |i: usize| record.get(i).unwrap_or("");
    let bad = |i: usize, problem: String| RowError {
        row,
        column: Some(plan.titles[i].trim().to_string()),
        problem,
    };
    if plan.personal {
        let cells = plan.titles.iter().map(String::as_str).zip(record.iter());
        privacy::check_row(cells).map_err(|e| RowError {
            row,
            column: Some(e.field.trim().to_string()),
            problem: format!(
                "{}; zulke bestanden horen niet in een gedeeld document",
                e.finding
            ),
        })?;
    }
    let area = AreaCode::parse(cell(plan.area)).map_err(|e| bad(plan.area, e.to_string()))?;
    let (period, marked) =
        Period::parse_marked(cell(plan.period)).map_err(|e| bad(plan.period, e.to_string()))?;
    let value = match parse_cell(cell(plan.value)).map_err(|e| bad(plan.value, e))? {
        Cell::Missing => return Ok(None),
        Cell::Secret => None,
        Cell::Number(n) => Some(n),
    };
    let denominator = match plan.denominator {
        None => None,
        Some(i) => match parse_cell(cell(i)).map_err(|e| bad(i, e))? {
            Cell::Number(n) if n >= 0.0 => Some(n),
            Cell::Number(_) => return Err(bad(i, "een noemer kan niet negatief zijn".into())),
            Cell::Missing | Cell::Secret => None,
        },
    };
    let status = match plan.status {
        Some(i) => Status::parse(cell(i)).ok_or_else(|| {
            bad(
                i,
                format!(
                    "{:?} is geen status; gebruik Definitief of Voorlopig",
                    cell(i).trim()
                ),
            )
        })?,
        None if marked => Status::Voorlopig,
        None => Status::Definitief,
    };
    let text = |i: usize, raw: &str| -> Result<String, RowError> {
        let clean = clean_text(raw);
        privacy::check_text(plan.titles[i].trim(), &clean)
            .map_err(|e| bad(i, e.finding.to_string()))?;
        Ok(clean)
    };
    // The breakdown cells as written, joined: rows with the same cells share one breakdown.
    seen.key.clear();
    for (_, i) in &plan.breakdown {
        seen.key.push_str(cell(*i));
        seen.key.push('\u{1f}');
    }
    let breakdown = match seen.breakdowns.get(seen.key.as_str()) {
        Some(b) => b.clone(),
        None => {
            let mut dims = BTreeMap::new();
            for (dim, i) in &plan.breakdown {
                let category = text(*i, cell(*i))?;
                // Totals such as "Totaal" or "Totaal mannen en vrouwen" are the total, not a category.
                if !category.is_empty() && !category.to_lowercase().starts_with("totaal") {
                    dims.insert(dim.clone(), category);
                }
            }
            let b = Breakdown::from_map(dims);
            if seen.breakdowns.len() < REMEMBERED {
                seen.breakdowns.insert(seen.key.clone(), b.clone());
            }
            b
        }
    };
    let note = match plan.note {
        Some(i) => Some(text(i, cell(i))?).filter(|n| !n.is_empty()),
        None => None,
    };
    Ok(Some(Observation {
        area,
        period,
        breakdown,
        value,
        denominator,
        status: if marked { Status::Voorlopig } else { status },
        note,
    }))
}
