//! `kompas figures import` and `kompas figures areas`: CSV files into shared documents.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use kompas_engine::SledStore;
use kompas_engine::figures::Protection;
use kompas_engine::figures::import::{
    ColumnMapping, ImportOptions, ImportProgress, RowError, read_areas, read_csv,
};
use kompas_engine::figures::storage::{Figures, IndicatorFields};

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
    pub skip_bad_rows: bool,
    pub fields: IndicatorFields,
}

/// What an import did.
#[derive(serde::Serialize)]
pub(crate) struct Report {
    pub indicator: String,
    file: String,
    rows_read: u64,
    pub observations: usize,
    stored: usize,
    without_value: u64,
    bad_rows: Vec<RowError>,
    ignored_columns: Vec<String>,
    protection: Protection,
}

pub fn run(global: &Global, figures: &Figures<'_, SledStore>, req: Request) -> anyhow::Result<()> {
    let mapping = match &req.mapping {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("kan koppelingsbestand {} niet lezen", path.display()))?;
            Some(ColumnMapping::from_json(&text).with_context(|| path.display().to_string())?)
        }
        None => None,
    };
    let file = std::fs::File::open(&req.file)
        .with_context(|| format!("kan {} niet openen", req.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let options = ImportOptions {
        mapping,
        skip_bad_rows: req.skip_bad_rows,
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
    let report = import_from(
        figures,
        std::io::BufReader::new(file),
        &options,
        &req.indicator,
        &req.fields,
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

/// Reads CSV from `input` and stores it under the indicator `name` (created if new). Nothing is
/// written unless the whole input is read and checked.
pub(crate) fn import_from(
    figures: &Figures<'_, SledStore>,
    input: impl std::io::Read,
    options: &ImportOptions,
    name: &str,
    fields: &IndicatorFields,
    progress: &mut dyn FnMut(ImportProgress),
) -> anyhow::Result<Report> {
    let parsed = read_csv(input, options, progress)?;
    let indicator = figures.define(name, fields, now(), random())?;
    let observations = parsed.rows.len();
    let stored = figures.store_observations(&indicator, parsed.rows, now(), random())?;
    Ok(Report {
        indicator: indicator.name,
        file: String::new(),
        rows_read: parsed.read,
        observations,
        stored: stored.rows,
        without_value: parsed.without_value,
        bad_rows: parsed.bad_rows,
        ignored_columns: parsed.ignored_columns,
        protection: stored.protection,
    })
}

fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} rijen gelezen uit {}; {} waarnemingen bij indicator {} opgeslagen.",
        thousands(r.rows_read),
        r.file,
        thousands(r.observations as u64),
        r.indicator
    );
    if r.without_value > 0 {
        let _ = writeln!(
            out,
            "{} rijen zonder waarde overgeslagen.",
            thousands(r.without_value)
        );
    }
    let p = &r.protection;
    if p.primary + p.secondary > 0 {
        let _ = writeln!(
            out,
            "Beschermd: {} kleine aantallen geheim, {} cellen extra geheim zodat niets terug te rekenen is.",
            p.primary, p.secondary
        );
    }
    if !r.ignored_columns.is_empty() {
        let _ = writeln!(
            out,
            "Niet gebruikte kolommen: {}.",
            r.ignored_columns.join(", ")
        );
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
