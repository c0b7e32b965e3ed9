//! Reading a CSV file row by row into observations.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read};

use super::bounded::{Bounded, MAX_RECORD_BYTES};
use super::numbers::{
    Conventions, Culprit, Read as Number, breakdowns_above_total, check_period, check_values,
};
use super::text::next_record;
use super::{
    Cell, ColumnPlan, Conversion, ImportError, ImportOptions, ImportProgress, Parsed, ParsedTable,
    RowError, parse_cell,
};
use crate::figures::codec::clean_text;
use crate::figures::excerpt::excerpt;
use crate::figures::period_rows::{MAX_PERIOD_ROWS, PeriodRows, RowAt};
use crate::figures::recent::Recent;
use crate::figures::{AreaCode, AreaRegistry, Breakdown, Observation, Period, Status, Unit};
use crate::privacy;

/// Report progress every this many rows.
const PROGRESS_EVERY: u64 = 65_536;

/// How many measures an `Observations` set may have.
const MAX_MEASURES: usize = 1000;

/// How many distinct texts and breakdowns are remembered while reading.
const REMEMBERED: usize = 10_000;

/// Breakdowns and area labels already read, by their cells as written (checked by the privacy
/// guard once, and shared between rows, so a million rows hold a handful of breakdown maps).
/// The cells come from the file, so the maps are seeded (std's `RandomState`); the last few
/// breakdowns are found without hashing.
#[derive(Default)]
struct Seen {
    key: String,
    breakdowns: HashMap<String, Breakdown>,
    recent: Recent<String, Breakdown>,
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
        for v in &plan.values {
            let conversion =
                Conversion::between(&v.column, v.unit, options.unit, denominator.is_some())
                    .map_err(ImportError::Header)?;
            parsed.tables.push(ParsedTable {
                source: v.column.clone(),
                title: v.title.clone(),
                unit: v.unit,
                conversion,
                denominator: denominator.clone(),
                rows: PeriodRows::default(),
            });
        }
    }
    let mut seen = Seen::default();
    let mut errors = Vec::new();
    let mut numbers = Conventions::default();
    let mut pending: Vec<Pending> = Vec::new();
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
        let (common, denominator_read) =
            match read_common(&plan, &record, row, &mut seen, options, &mut numbers) {
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
                        None if measures.len() >= MAX_MEASURES => {
                            return Err(ImportError::Header(format!(
                                "het bestand heeft meer dan {MAX_MEASURES} maten"
                            )));
                        }
                        None => {
                            measures.insert(code.to_string(), parsed.tables.len());
                            parsed.tables.push(ParsedTable {
                                source: excerpt(code),
                                title: excerpt(code),
                                unit: None,
                                conversion: None,
                                denominator: denominator.clone(),
                                rows: PeriodRows::default(),
                            });
                            parsed.tables.len() - 1
                        }
                    }
                }
            };
            let value_read = match read_value(&plan, &record, row, column.index, &mut numbers) {
                Ok(Some(v)) => v,
                Ok(None) => continue,
                Err(e) => {
                    without_value = false;
                    errors.push(e);
                    continue;
                }
            };
            without_value = false;
            let mut o = common.clone();
            // The numbers left open until the whole file is read: (column, written, culprit).
            let mut open = Vec::new();
            match value_read {
                Some(Number::Value(v)) => o.value = Some(v),
                Some(Number::Open(written)) => open.push((column.index, written, Culprit::Value)),
                None => {}
            }
            match (denominator_read, plan.denominator) {
                (Some(Number::Value(d)), _) => o.denominator = Some(d),
                (Some(Number::Open(written)), Some(column)) => {
                    open.push((column, written, Culprit::Denominator));
                }
                _ => {}
            }
            if open.is_empty()
                && let Err(e) = check_row(&o, &parsed.tables[table], options)
            {
                errors.push(culprit_error(&plan, row, column.index, e));
                continue;
            }
            let at = parsed.tables[table].rows.push(&o);
            if at.index >= MAX_PERIOD_ROWS {
                return Err(ImportError::PeriodTooLarge {
                    period: at.period,
                    limit: MAX_PERIOD_ROWS,
                });
            }
            pending.extend(open.into_iter().map(|(column, written, culprit)| Pending {
                table,
                at,
                row,
                column,
                written,
                culprit,
            }));
        }
        if without_value {
            parsed.without_value += 1;
        }
    }
    settle(&mut parsed, &plan, options, &numbers, pending, &mut errors);
    for table in &mut parsed.tables {
        table.rows.shrink_to_fit();
    }
    progress(ImportProgress {
        rows: parsed.read,
        bytes: reader.position().byte(),
    });
    if !errors.is_empty() && !options.skip_bad_rows {
        return Err(ImportError::BadRows(errors));
    }
    for table in &mut parsed.tables {
        if unit_of(table, options).is_count() {
            parsed.warnings.extend(breakdowns_above_total(&table.rows));
        }
        if let Some(c) = table.conversion {
            table.rows.map_values(|v, d| c.apply(v, d));
            table.unit = Some(c.to);
        }
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

/// The value of one value column: `Ok(None)` when the cell has no value, `Ok(Some(None))`
/// when it is secret.
fn read_value(
    plan: &ColumnPlan,
    record: &csv::StringRecord,
    row: u64,
    i: usize,
    numbers: &mut Conventions,
) -> Result<Option<Option<Number>>, RowError> {
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
        Cell::Number(w) => numbers
            .read(i, row, w)
            .map(|r| Some(Some(r)))
            .map_err(|e| bad_cell(plan, row, i, e)),
    }
}

/// A number left open until the whole file is read, and where its observation is.
struct Pending {
    table: usize,
    at: RowAt,
    row: u64,
    column: usize,
    written: crate::document::number::Written,
    culprit: Culprit,
}

/// The unit of a table's values as read: as its column says, else as asked, else counts.
fn unit_of(table: &ParsedTable, options: &ImportOptions) -> Unit {
    table.unit.or(options.unit).unwrap_or(Unit::Count)
}

/// Checks an observation as read: its numbers fit the column's unit, and it can become the
/// indicator's.
fn check_row(
    o: &Observation,
    table: &ParsedTable,
    options: &ImportOptions,
) -> Result<(), (Culprit, String)> {
    check_values(o, unit_of(table, options))?;
    table.conversion.map_or(Ok(()), |c| c.check(o))
}

fn culprit_error(
    plan: &ColumnPlan,
    row: u64,
    value: usize,
    (culprit, problem): (Culprit, String),
) -> RowError {
    let column = match culprit {
        Culprit::Value => value,
        Culprit::Denominator => plan.denominator.unwrap_or(value),
    };
    bad_cell(plan, row, column, problem)
}

/// Decides the numbers left open by the conventions of the whole file, checks their
/// observations, and takes out (and reports) the ones that cannot be read or are impossible.
fn settle(
    parsed: &mut Parsed,
    plan: &ColumnPlan,
    options: &ImportOptions,
    numbers: &Conventions,
    pending: Vec<Pending>,
    errors: &mut Vec<RowError>,
) {
    if pending.is_empty() {
        return;
    }
    // Per table, the rows to take out.
    let mut drop: Vec<BTreeSet<RowAt>> = vec![BTreeSet::new(); parsed.tables.len()];
    let mut touched: Vec<(usize, RowAt, u64, usize)> = Vec::new();
    for p in &pending {
        match numbers.settle(p.column, p.written) {
            Ok(v) => {
                let rows = &mut parsed.tables[p.table].rows;
                match p.culprit {
                    Culprit::Value => rows.set_value(p.at, v),
                    Culprit::Denominator => rows.set_denominator(p.at, v),
                }
                let value_column = match (p.culprit, plan.measure) {
                    (Culprit::Value, _) => p.column,
                    (Culprit::Denominator, Some(_)) => plan.values[0].index,
                    (Culprit::Denominator, None) => plan.values[p.table].index,
                };
                touched.push((p.table, p.at, p.row, value_column));
            }
            Err(problem) => {
                if drop[p.table].insert(p.at) {
                    errors.push(bad_cell(plan, p.row, p.column, problem));
                }
            }
        }
    }
    for (table, at, row, column) in touched {
        if drop[table].contains(&at) {
            continue;
        }
        let t = &parsed.tables[table];
        let Some(o) = t.rows.get(at) else { continue };
        if let Err(e) = check_row(&o, t, options) {
            drop[table].insert(at);
            errors.push(culprit_error(plan, row, column, e));
        }
    }
    for (table, places) in parsed.tables.iter_mut().zip(&drop) {
        if !places.is_empty() {
            table.rows.remove(places);
        }
    }
    errors.sort_by_key(|e| e.row);
}

/// Everything of a row but its value: area, period, denominator, status, breakdown and note.
fn read_common(
    plan: &ColumnPlan,
    record: &csv::StringRecord,
    row: u64,
    seen: &mut Seen,
    options: &ImportOptions,
    numbers: &mut Conventions,
) -> Result<(Observation, Option<Number>), RowError> {
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
        .area(cell(plan.area), &options.areas)
        .map_err(|e| bad(plan.area, e))?;
    let (period, marked) =
        Period::parse_marked(cell(plan.period)).map_err(|e| bad(plan.period, e.to_string()))?;
    check_period(period, options.current_year).map_err(|e| bad(plan.period, e))?;
    let denominator = match plan.denominator {
        None => None,
        Some(i) => match parse_cell(cell(i)).map_err(|e| bad(i, e))? {
            Cell::Number(w) => Some(numbers.read(i, row, w).map_err(|e| bad(i, e))?),
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
    let breakdown = match seen.recent.get(seen.key.as_str()) {
        Some(b) => b.clone(),
        None => {
            let b = match seen.breakdowns.get(seen.key.as_str()) {
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
            seen.recent.put(seen.key.clone(), b.clone());
            b
        }
    };
    let note = match plan.note {
        Some(i) => Some(text(i, cell(i))?).filter(|n| !n.is_empty()),
        None => None,
    };
    let o = Observation {
        area,
        period,
        breakdown,
        value: None,
        denominator: None,
        status: if marked { Status::Voorlopig } else { status },
        note,
    };
    Ok((o, denominator))
}

/// Whether a breakdown category is the total: `Totaal`, `Totaal mannen en vrouwen`, or an OData
/// total key such as `T001038`.
fn is_total_category(category: &str) -> bool {
    let c = category.trim();
    c.to_lowercase().starts_with("totaal")
        || (c.len() == 7 && c.starts_with('T') && c[1..].bytes().all(|b| b.is_ascii_digit()))
}
