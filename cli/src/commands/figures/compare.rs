//! `kompas figures compare` and `kompas figures chart`: an area against its references.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use kompas_engine::SledStore;
use kompas_engine::figures::benchmark::{
    Comparison, PeerGroup, Reference, compare as compare_area, measure_unit,
};
use kompas_engine::figures::chart::{chart_data, render_png, render_svg};
use kompas_engine::figures::storage::Figures;
use kompas_engine::figures::targets::IndicatorTargets;
use kompas_engine::figures::{AreaCode, AreaRegistry, Direction, Indicator, Period};

use super::format::{dutch_date, signed, value};
use crate::args::{CompareArgs, Global};
use crate::context::now;
use crate::exit::Refused;
use crate::output::emit;

fn references(args: &CompareArgs) -> anyhow::Result<(AreaCode, Vec<Reference>, PeerGroup)> {
    let area = AreaCode::parse(&args.area)?;
    let refs = args
        .with
        .iter()
        .map(|w| {
            Reference::parse(w).ok_or_else(|| {
                Refused::input(format!(
                    "onbekende vergelijking {w:?}; kies uit national, region, peers"
                ))
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let peers = if args.peers.is_empty() {
        PeerGroup::SizeClass
    } else {
        PeerGroup::Areas(
            args.peers
                .iter()
                .map(|p| AreaCode::parse(p))
                .collect::<Result<_, _>>()?,
        )
    };
    Ok((area, refs, peers))
}

pub fn compare(
    global: &Global,
    figures: &Figures<'_, SledStore>,
    args: &CompareArgs,
) -> anyhow::Result<()> {
    let (area, refs, peers) = references(args)?;
    let indicator = figures.indicator(&args.name)?;
    let (table, registry) = figures.shown_observations(&indicator)?;
    let period = match &args.period {
        Some(p) => Period::parse(p)?,
        None => table
            .latest_period(area)
            .ok_or_else(|| no_figures(&registry, area, &indicator))?,
    };
    // Rounded as it is written, for people and in JSON alike.
    let comparison = compare_area(&indicator, &table, &registry, area, period, &refs, &peers)
        .rounded(measure_unit(&indicator, &table));
    let targets = figures
        .targets(&indicator, &table, area, Some(period), now())?
        .rounded();
    let compared = Compared {
        comparison,
        targets,
    };
    emit(global.json, &compared, |c| {
        let mut out = render(&c.comparison);
        render_targets(&mut out, &c.targets);
        out
    })
}

/// A comparison with the results measured by the indicator beside it.
#[derive(serde::Serialize)]
struct Compared {
    #[serde(flatten)]
    comparison: Comparison,
    targets: IndicatorTargets,
}

/// The baseline, target and course of each result, in the indicator's own unit.
fn render_targets(out: &mut String, targets: &IndicatorTargets) {
    let unit = targets.unit.label();
    for r in &targets.results {
        let _ = write!(out, "  Resultaat {:?}:", r.title);
        let mut parts = Vec::new();
        if let Some(b) = r.baseline {
            parts.push(format!("nulmeting {} {unit}", value(Some(b))));
        }
        if let Some(t) = r.target {
            let by = r
                .target_date
                .as_deref()
                .map(|d| format!(" uiterlijk {}", dutch_date(d)))
                .unwrap_or_default();
            parts.push(format!("streefwaarde {} {unit}{by}", value(Some(t))));
        }
        if let Some(l) = &r.latest {
            parts.push(format!(
                "laatste cijfer {} ({}{})",
                l.value.map_or("geheim".to_string(), |v| value(Some(v))),
                l.period.label(),
                if l.provisional { ", voorlopig" } else { "" }
            ));
        }
        let _ = writeln!(
            out,
            " {}: {} ({}).",
            parts.join(", "),
            r.course.label(),
            r.course_note
        );
    }
}

/// The refusal when an area has no figures for an indicator (`show`, `compare` and `chart`).
pub(super) fn no_figures(
    registry: &AreaRegistry,
    area: AreaCode,
    indicator: &Indicator,
) -> anyhow::Error {
    Refused::input(format!(
        "er zijn geen cijfers van {} bij indicator {}",
        registry.label(area),
        indicator.name
    ))
}

fn render(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}, {} ({}): {}",
        c.label,
        c.period.label(),
        c.measure,
        match (c.value, c.value_missing) {
            (Some(v), _) => value(Some(v)),
            (None, Some(why)) => why.label().to_string(),
            (None, None) => value(None),
        }
    );
    for r in &c.references {
        let _ = write!(
            out,
            "  {:<44} {:>10}",
            r.label,
            r.value.map_or("-".to_string(), |v| value(Some(v)))
        );
        if let (Some(d), Some(j)) = (r.difference, r.judgement) {
            let _ = write!(out, "   verschil {} ({})", signed(d), j.label());
        }
        // Computed national and regional figures say so in their label.
        if r.areas > 0 && r.reference == Reference::Peers {
            let _ = write!(out, "   uit {} gebieden", r.areas);
        }
        if let Some(why) = &r.missing {
            let _ = write!(out, "   {why}");
        }
        out.push('\n');
    }
    if let Some((place, of)) = c.rank {
        let meaning = match c.better {
            Direction::Neutral => "1 = hoogste",
            _ => "1 = de beste",
        };
        let _ = writeln!(
            out,
            "  Plaats onder vergelijkbare gemeenten: {place} van {of} ({meaning})."
        );
    }
    out
}

pub fn chart(
    global: &Global,
    figures: &Figures<'_, SledStore>,
    args: &CompareArgs,
    out: &Path,
) -> anyhow::Result<()> {
    let (area, refs, peers) = references(args)?;
    let indicator = figures.indicator(&args.name)?;
    let (table, registry) = figures.shown_observations(&indicator)?;
    let mut data = chart_data(&indicator, &table, &registry, area, &refs, &peers)
        .map_err(|e| Refused::input(e.to_string()))?
        .with_targets(&figures.targets(&indicator, &table, area, None, now())?)
        .rounded();
    data.made_on = now().local_date().map(kompas_engine::time::dutch_date);
    // A PNG for pasting into documents when the file is named so; SVG otherwise.
    let png = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let bytes = if png {
        render_png(&data)?
    } else {
        render_svg(&data)?.into_bytes()
    };
    std::fs::write(out, bytes).with_context(|| format!("kan {} niet schrijven", out.display()))?;
    emit(global.json, &data, |d| {
        format!(
            "Grafiek van {} met {} lijnen over {} perioden geschreven naar {}.",
            indicator.name,
            d.series.len(),
            d.periods.len(),
            out.display()
        )
    })
}
