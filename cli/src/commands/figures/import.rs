//! `kompas figures import` and `kompas figures areas`: CSV files into shared documents.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use kompas_engine::SledStore;
use kompas_engine::figures::import::{
    ColumnMapping, ImportOptions, ImportProgress, RowError, TableMetadata, read_areas, read_csv,
};
use kompas_engine::figures::storage::{Figures, FiguresError, IndicatorFields};
use kompas_engine::figures::{Protection, Unit};

use super::format::thousands;
use crate::args::Global;
use crate::context::{now, random};
use crate::output::emit;

/// Files smaller than this get no progress bar.
const PROGRESS_FROM_BYTES: u64 = 4 << 20;

/// What to import.
pub struct Request {
    pub file: PathBuf,
    pub indicator: String,
    pub mapping: Option<PathBuf>,
    pub metadata: Option<PathBuf>,
    pub value: Option<String>,
    pub all_values: bool,
    pub dry_run: bool,
    pub skip_bad_rows: bool,
    pub fields: IndicatorFields,
}

/// What an import did (or, as a try-out, would do).
#[derive(serde::Serialize)]
pub(crate) struct Report {
    pub(crate) file: String,
    pub(crate) dry_run: bool,
    pub(crate) rows_read: u64,
    pub(crate) observations: usize,
    pub(crate) without_value: u64,
    pub(crate) bad_rows: Vec<RowError>,
    pub(crate) columns: Vec<ColumnRole>,
    pub(crate) ignored_columns: Vec<String>,
    pub(crate) warnings: Vec<String>,
    pub(crate) indicators: Vec<TableReport>,
}

/// What a used column is for.
#[derive(serde::Serialize)]
pub(crate) struct ColumnRole {
    pub(crate) column: String,
    pub(crate) role: String,
}

/// One value column (or measure) and the indicator it goes to.
#[derive(serde::Serialize)]
pub(crate) struct TableReport {
    pub(crate) indicator: String,
    pub(crate) source: String,
    pub(crate) title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) unit: Option<&'static str>,
    /// The unit of the column when its values were turned into the indicator's (`unit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) converted_from: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) denominator: Option<String>,
    pub(crate) observations: usize,
    pub(crate) areas: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) periods: Option<(String, String)>,
    pub(crate) stored: usize,
    pub(crate) protection: Protection,
}

pub fn run(global: &Global, figures: &Figures<'_, SledStore>, req: Request) -> anyhow::Result<()> {
    let read = |path: &PathBuf, what: &str| {
        std::fs::read_to_string(path)
            .with_context(|| format!("kan {what} {} niet lezen", path.display()))
    };
    let mapping = match &req.mapping {
        Some(path) => Some(
            ColumnMapping::from_json(&read(path, "koppelingsbestand")?)
                .with_context(|| path.display().to_string())?,
        ),
        None => None,
    };
    let metadata = match &req.metadata {
        Some(path) => Some(
            TableMetadata::from_json(&read(path, "metadatabestand")?)
                .with_context(|| path.display().to_string())?,
        ),
        None => None,
    };
    let file = std::fs::File::open(&req.file)
        .with_context(|| format!("kan {} niet openen", req.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let options = ImportOptions {
        mapping,
        skip_bad_rows: req.skip_bad_rows,
        value: req.value.clone(),
        all_values: req.all_values,
        metadata,
        ..options_for(figures, &req.indicator, req.fields.unit.as_deref())?
    };
    let show_progress = size >= PROGRESS_FROM_BYTES && std::io::stderr().is_terminal();
    let mut progress = |p: ImportProgress| {
        if show_progress {
            let pct = p.bytes.saturating_mul(100) / size.max(1);
            let filled = usize::try_from(pct / 4).unwrap_or(25).min(25);
            let _ = write!(
                std::io::stderr(),
                "\r  inlezen [{}{}] {pct:>3}%  {} rijen",
                "#".repeat(filled),
                " ".repeat(25 - filled),
                thousands(p.rows)
            );
        }
    };
    let target = Target {
        name: &req.indicator,
        fields: &req.fields,
        dry_run: req.dry_run,
    };
    let report = import_from(
        figures,
        std::io::BufReader::new(file),
        &options,
        &target,
        &mut progress,
    )
    .with_context(|| format!("{} is niet ingelezen", req.file.display()));
    if show_progress {
        let _ = writeln!(std::io::stderr());
    }
    let report = Report {
        file: req.file.display().to_string(),
        ..report?
    };
    emit(global.json, &report, render)
}

/// The options every import into `indicator` starts from: the partnership's area registry,
/// this year, and the unit given, else the existing indicator's.
pub(crate) fn options_for(
    figures: &Figures<'_, SledStore>,
    indicator: &str,
    unit: Option<&str>,
) -> Result<ImportOptions, FiguresError> {
    Ok(ImportOptions {
        areas: figures.registry()?,
        unit: match unit {
            Some(unit) => Unit::parse(unit),
            None => figures.indicator(indicator).ok().map(|i| i.unit),
        },
        current_year: now().year(),
        ..ImportOptions::default()
    })
}

/// Where read figures go: the indicator's name (with `-column` appended when a file gives
/// several tables), its description, and whether to store at all.
pub(crate) struct Target<'a> {
    pub name: &'a str,
    pub fields: &'a IndicatorFields,
    pub dry_run: bool,
}

/// Reads CSV from `input` and stores each of its tables under an indicator (created if new).
/// Nothing is written unless the whole input is read and checked, or at all for a try-out.
pub(crate) fn import_from(
    figures: &Figures<'_, SledStore>,
    input: impl std::io::Read,
    options: &ImportOptions,
    target: &Target<'_>,
    progress: &mut dyn FnMut(ImportProgress),
) -> anyhow::Result<Report> {
    // A file for an existing indicator is most often one table for it: its document is loaded
    // before the file is read, so that loading and the file's rows do not take memory at the
    // same time (see `Figures::prepare_store`). Not when its fields are to change first.
    let mut prepared = match figures.indicator(target.name) {
        Ok(existing) if !target.dry_run && target.fields.is_empty() => {
            Some(figures.prepare_store(&existing)?)
        }
        _ => None,
    };
    let parsed = read_csv(input, options, progress)?;
    let observations = parsed.observations();
    let several = parsed.tables.len() > 1;
    let mut indicators = Vec::new();
    for table in parsed.tables {
        let name = if several {
            format!("{}-{}", target.name, slug(&table.source))
        } else {
            target.name.to_string()
        };
        let mut report = TableReport {
            indicator: name.clone(),
            source: table.source.clone(),
            title: table.title.clone(),
            unit: table.unit.map(|u| u.name()),
            converted_from: table.conversion.map(|c| c.from.name()),
            denominator: table.denominator.clone(),
            observations: table.rows.len(),
            areas: table.rows.area_count(),
            periods: table
                .rows
                .periods()
                .next()
                .zip(table.rows.periods().last())
                .map(|(a, b)| (a.to_string(), b.to_string())),
            stored: 0,
            protection: Protection::default(),
        };
        if !target.dry_run {
            let mut fields = target.fields.clone();
            if matches!(
                figures.indicator(&name),
                Err(FiguresError::UnknownIndicator { .. })
            ) {
                fields.title = fields.title.or(Some(table.title.clone()));
                fields.unit = fields.unit.or(table.unit.map(|u| u.name().to_string()));
            }
            let indicator = figures.define(&name, &fields, now(), random())?;
            let stored = match prepared.take() {
                Some(p) if p.indicator().id == indicator.id => {
                    p.store(table.rows, now(), random())?
                }
                _ => figures.store_rows(&indicator, table.rows, now(), random())?,
            };
            report.stored = stored.rows;
            report.protection = stored.protection;
        }
        indicators.push(report);
    }
    Ok(Report {
        file: String::new(),
        dry_run: target.dry_run,
        rows_read: parsed.read,
        observations,
        without_value: parsed.without_value,
        bad_rows: parsed.bad_rows,
        columns: parsed
            .columns
            .into_iter()
            .map(|(column, role)| ColumnRole { column, role })
            .collect(),
        ignored_columns: parsed.ignored_columns,
        warnings: parsed.warnings,
        indicators,
    })
}

/// A column title or measure code as part of an indicator name: `Jongeren (%)` becomes
/// `jongeren-pct`.
fn slug(source: &str) -> String {
    let mut out = String::new();
    for c in source.replace('%', " pct ").chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn render(r: &Report) -> String {
    let mut out = String::new();
    if r.dry_run {
        let _ = writeln!(
            out,
            "Proef: er is niets opgeslagen. {} rijen gelezen uit {}.",
            thousands(r.rows_read),
            r.file
        );
        let _ = writeln!(out, "Kolommen:");
        for c in &r.columns {
            let _ = writeln!(out, "  {:<40} {}", c.column, c.role);
        }
    } else {
        let _ = writeln!(
            out,
            "{} rijen gelezen uit {}; {} waarnemingen opgeslagen.",
            thousands(r.rows_read),
            r.file,
            thousands(r.observations as u64),
        );
    }
    for t in &r.indicators {
        let unit = match (t.converted_from, t.unit) {
            (Some(from), Some(to)) => format!(", {from} omgerekend naar {to} met de noemer"),
            (None, Some(unit)) => format!(", {unit}"),
            _ => String::new(),
        };
        let denominator = t
            .denominator
            .as_ref()
            .map(|d| format!(", noemer uit {d:?}"))
            .unwrap_or_default();
        let periods = t
            .periods
            .as_ref()
            .map(|(a, b)| format!(", {a} tot en met {b}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "Indicator {}: {} waarnemingen uit {:?}{unit}{denominator}; {} gebieden{periods}.",
            t.indicator,
            thousands(t.observations as u64),
            t.source,
            t.areas,
        );
        let p = &t.protection;
        if p.primary + p.secondary > 0 {
            let _ = writeln!(
                out,
                "  Beschermd: {} kleine aantallen geheim, {} cellen extra geheim zodat niets terug te rekenen is.",
                p.primary, p.secondary
            );
        }
    }
    if r.without_value > 0 {
        let _ = writeln!(
            out,
            "{} rijen zonder waarde overgeslagen.",
            thousands(r.without_value)
        );
    }
    if !r.ignored_columns.is_empty() {
        let _ = writeln!(
            out,
            "Niet gebruikte kolommen: {}.",
            r.ignored_columns.join(", ")
        );
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(out, "Let op, uitsplitsingen groter dan hun totaal:");
        for w in &r.warnings {
            let _ = writeln!(out, "  {w}");
        }
    }
    if !r.bad_rows.is_empty() {
        let _ = writeln!(out, "{} foute rijen overgeslagen:", r.bad_rows.len());
        for e in &r.bad_rows {
            let _ = writeln!(out, "  {e}");
        }
    }
    out
}

pub fn areas(global: &Global, figures: &Figures<'_, SledStore>, file: &Path) -> anyhow::Result<()> {
    let input =
        std::fs::File::open(file).with_context(|| format!("kan {} niet openen", file.display()))?;
    let registry = read_areas(std::io::BufReader::new(input))
        .with_context(|| format!("{} is niet ingelezen", file.display()))?;
    let id = figures.store_registry(&registry, now(), random())?;
    emit(
        global.json,
        &serde_json::json!({ "document": id, "areas": registry.len() }),
        |_| {
            format!(
                "Gebiedsindeling bijgewerkt met {} gebieden.",
                registry.len()
            )
        },
    )
}
