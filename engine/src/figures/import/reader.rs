//! Reading a CSV file row by row into observations.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};

use super::bounded::{Bounded, MAX_RECORD_BYTES};
use super::text::next_record;
use super::{
    Cell, ColumnPlan, ImportError, ImportOptions, ImportProgress, Parsed, ParsedTable, RowError,
    parse_cell,
};
use crate::figures::codec::clean_text;
use crate::figures::excerpt::excerpt;
use crate::figures::{AreaCode, AreaRegistry, Breakdown, Observation, Period, Status};
use crate::privacy;

/// Report progress every this many rows.
const PROGRESS_EVERY: u64 = 65_536;

/// How many distinct texts and breakdowns are remembered while reading.
const REMEMBERED: usize = 10_000;

/// Breakdowns and area labels already read, by their cells as written (checked by the privacy
/// guard once, and shared between rows, so a million rows hold a handful of breakdown maps).
#[derive(Default)]
struct Seen {
    key: String,
    breakdowns: HashMap<String, Breakdown>,
    labels: HashMap<String, AreaCode>,
}

impl Seen {
    /// The area of a cell: a code, or a label the registry knows (`Groningen (gemeente)`).
    fn area(&mut self, cell: &str, areas: &AreaRegistry) -> Result<AreaCode, String> {
        if let Ok(code) = AreaCode::parse(cell) {
            return Ok(code);
        }
        if let Some(code) = self.labels.get(cell) {
            return Ok(*code);
        }
        let code = areas.code_for_label(cell).map_err(|e| e.to_string())?;
        if self.labels.len() < REMEMBERED {
            self.labels.insert(cell.to_string(), code);
        }
        Ok(code)
    }
}

/// Reads observations from CSV text, calling `progress` now and then.
pub fn read_csv<R: Read>(
    input: R,
    options: &ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<Parsed, ImportError> {
    let (mut reader, titles) = open_csv(input)?;
    let (mut raw, mut record) = (csv::ByteRecord::new(), csv::StringRecord::new());
    let plan = ColumnPlan::resolve(titles, options)?;
    let mut parsed = Parsed {
        ignored_columns: plan.ignored(),
        columns: plan.roles(),
        ..Parsed::default()
    };
    let denominator = plan.denominator.map(|i| plan.titles[i].trim().to_string());
    if plan.measure.is_none() {
        parsed.tables = plan
            .values
            .iter()
            .map(|v| ParsedTable {
                source: v.column.clone(),
                title: v.title.clone(),
                unit: v.unit,
                denominator: denominator.clone(),
                rows: Vec::new(),
            })
            .collect();
    }
    let mut seen = Seen::default();
    let mut errors = Vec::new();
    let mut measures: HashMap<String, usize> = HashMap::new();
    loop {
        match next_record(&mut reader, &mut raw, &mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let row = e.position().map_or(parsed.read + 2, |p| p.line());
                let problem = excerpt(&e.to_string());
                if !options.skip_bad_rows || e.is_io_error() {
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
        if parsed.read.is_multiple_of(PROGRESS_EVERY) {
            progress(ImportProgress {
                rows: parsed.read,
                bytes: record.position().map_or(0, |p| p.byte()),
            });
        }
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if record.len() > plan.titles.len() {
            errors.push(RowError {
                row,
                column: None,
                problem: format!(
                    "de rij heeft {} velden, de kopregel {}",
                    record.len(),
                    plan.titles.len()
                ),
            });
            continue;
        }
        let common = match read_common(&plan, &record, row, &mut seen, &options.areas) {
            Ok(c) => c,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let mut without_value = true;
        for (k, column) in plan.values.iter().enumerate() {
            let table = match plan.measure {
                None => k,
                Some(shape) => {
                    let code = record.get(shape.measure).unwrap_or("").trim();
                    if code.is_empty() {
                        errors.push(bad_cell(&plan, row, shape.measure, "geen maat".into()));
                        continue;
                    }
                    if options.value.as_deref().is_some_and(|v| v.trim() != code) {
                        without_value = false;
                        continue;
                    }
                    match measures.get(code) {
                        Some(t) => *t,
                        None => {
                            measures.insert(code.to_string(), parsed.tables.len());
                            parsed.tables.push(ParsedTable {
                                source: excerpt(code),
                                title: excerpt(code),
                                unit: None,
                                denominator: denominator.clone(),
                                rows: Vec::new(),
                            });
                            parsed.tables.len() - 1
                        }
                    }
                }
            };
            match read_value(&plan, &record, row, column.index) {
                Ok(Some(value)) => {
                    without_value = false;
                    parsed.tables[table].rows.push(Observation {
                        value,
                        ..common.clone()
                    });
                }
                Ok(None) => {}
                Err(e) => {
                    without_value = false;
                    errors.push(e);
                }
            }
        }
        if without_value {
            parsed.without_value += 1;
        }
    }
    progress(ImportProgress {
        rows: parsed.read,
        bytes: reader.position().byte(),
    });
    if !errors.is_empty() && !options.skip_bad_rows {
        return Err(ImportError::BadRows(errors));
    }
    if plan.measure.is_some() {
        if let Some(chosen) = &options.value
            && parsed.tables.is_empty()
        {
            return Err(ImportError::Header(format!(
                "maat {:?} staat niet in de kolom Measure",
                excerpt(chosen)
            )));
        }
        if parsed.tables.len() > 1 && !options.all_values && options.value.is_none() {
            return Err(ImportError::Choice(
                parsed
                    .tables
                    .iter()
                    .map(|t| format!("maat {:?}", t.source))
                    .collect(),
            ));
        }
    }
    parsed.bad_rows = errors;
    Ok(parsed)
}

/// A CSV reader over `input` with its delimiter detected and its header read. No record (the
/// header included) may be longer than [`MAX_RECORD_BYTES`], so one unclosed quote cannot make
/// the reader hold the rest of a large file.
pub fn open_csv<R: Read>(
    input: R,
) -> Result<(csv::Reader<Bounded<impl Read>>, Vec<String>), ImportError> {
    let mut buffered = BufReader::with_capacity(1 << 16, input);
    let mut first = Vec::new();
    (&mut buffered)
        .take(MAX_RECORD_BYTES)
        .read_until(b'\n', &mut first)
        .map_err(|e| ImportError::Header(format!("kan het bestand niet lezen ({e})")))?;
    if first.len() as u64 >= MAX_RECORD_BYTES && !first.ends_with(b"\n") {
        return Err(ImportError::Header(format!(
            "de kopregel is langer dan {} MiB",
            MAX_RECORD_BYTES >> 20
        )));
    }
    let header = first
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&first)
        .to_vec();
    let delimiter = detect_delimiter(&header);
    let bounded = Bounded::new(std::io::Cursor::new(header).chain(buffered));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(bounded);
    let (mut raw, mut record) = (csv::ByteRecord::new(), csv::StringRecord::new());
    let header = match next_record(&mut reader, &mut raw, &mut record) {
        Ok(true) => Ok(record.iter().map(str::to_string).collect()),
        Ok(false) => Err(ImportError::Header("het bestand is leeg".into())),
        Err(e) => Err(ImportError::Header(excerpt(&e.to_string()))),
    }?;
    Ok((reader, header))
}

/// Picks the delimiter that occurs most often in the header: `;`, `,` or tab (`;` on a tie).
fn detect_delimiter(header: &[u8]) -> u8 {
    let count = |d: u8| header.iter().filter(|b| **b == d).count();
    [b';', b',', b'\t']
        .into_iter()
        .max_by_key(|d| (count(*d), *d == b';'))
        .unwrap_or(b';')
}

fn bad_cell(plan: &ColumnPlan, row: u64, i: usize, problem: String) -> RowError {
    RowError {
        row,
        column: Some(excerpt(plan.titles[i].trim())),
        problem,
    }
}

/// The value of one value column: `Ok(None)` when the cell has no value.
fn read_value(
    plan: &ColumnPlan,
    record: &csv::StringRecord,
    row: u64,
    i: usize,
) -> Result<Option<Option<f64>>, RowError> {
    let secret = plan.measure.and_then(|m| m.attribute).is_some_and(|a| {
        matches!(
            record.get(a).unwrap_or("").trim(),
            "Confidential" | "Geheim" | "geheim"
        )
    });
    if secret {
        return Ok(Some(None));
    }
    match parse_cell(record.get(i).unwrap_or("")).map_err(|e| bad_cell(plan, row, i, e))? {
        Cell::Missing => Ok(None),
        Cell::Secret => Ok(Some(None)),
        Cell::Number(n) => Ok(Some(Some(n))),
    }
}

/// Everything of a row but its value: area, period, denominator, status, breakdown and note.
fn read_common(
    plan: &ColumnPlan,
    record: &csv::StringRecord,
    row: u64,
    seen: &mut Seen,
    areas: &AreaRegistry,
) -> Result<Observation, RowError> {
    let cell = |i: usize| record.get(i).unwrap_or("");
    let bad = |i: usize, problem: String| bad_cell(plan, row, i, problem);
    if plan.personal {
        let cells = plan.titles.iter().map(String::as_str).zip(record.iter());
        privacy::check_row(cells).map_err(|e| RowError {
            row,
            column: Some(excerpt(e.field.trim())),
            problem: format!(
                "{}; zulke bestanden horen niet in een gedeeld document",
                e.finding
            ),
        })?;
    }
    let area = seen
        .area(cell(plan.area), areas)
        .map_err(|e| bad(plan.area, e))?;
    let (period, marked) =
        Period::parse_marked(cell(plan.period)).map_err(|e| bad(plan.period, e.to_string()))?;
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
                if !category.is_empty() && !is_total_category(&category) {
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
    Ok(Observation {
        area,
        period,
        breakdown,
        value: None,
        denominator,
        status: if marked { Status::Voorlopig } else { status },
        note,
    })
}

/// Whether a breakdown category is the total: `Totaal`, `Totaal mannen en vrouwen`, or an OData
/// total key such as `T001038`.
fn is_total_category(category: &str) -> bool {
    let c = category.trim();
    c.to_lowercase().starts_with("totaal")
        || (c.len() == 7 && c.starts_with('T') && c[1..].bytes().all(|b| b.is_ascii_digit()))
}
