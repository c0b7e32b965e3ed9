//! `kompas figures show`: an indicator, an area's figures with trend and breakdowns, and stories.

use std::fmt::Write as _;

use kompas_engine::SledStore;
use kompas_engine::figures::benchmark::measure_unit;
use kompas_engine::figures::report::{AreaReport, Line, area_report};
use kompas_engine::figures::storage::Figures;
use kompas_engine::figures::story::Story;
use kompas_engine::figures::{AreaCode, Indicator, Period, Status};

use super::format::{number, optional, signed, thousands, value};
use crate::args::Global;
use crate::output::emit;

#[derive(serde::Serialize)]
struct Shown {
    indicator: Indicator,
    observations: usize,
    areas: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_period: Option<Period>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_period: Option<Period>,
    #[serde(skip_serializing_if = "Option::is_none")]
    area: Option<AreaReport>,
    stories: Vec<Story>,
}

pub fn run(
    global: &Global,
    figures: &Figures<'_, SledStore>,
    name: &str,
    area: Option<&str>,
    period: Option<&str>,
    years: i16,
) -> anyhow::Result<()> {
    let indicator = figures.indicator(name)?;
    let (table, registry) = figures.shown_observations(&indicator)?;
    let period = period.map(Period::parse).transpose()?;
    let area = area
        .map(|a| -> anyhow::Result<AreaReport> {
            let code = AreaCode::parse(a)?;
            if table.latest_period(code).is_none() {
                return Err(super::compare::no_figures(&registry, code, &indicator));
            }
            // Rounded as it is written, for people and in JSON alike.
            let measure = measure_unit(&indicator, &table);
            Ok(
                area_report(&indicator, &table, &registry, code, period, years)
                    .rounded(indicator.unit, measure),
            )
        })
        .transpose()?;
    let periods = table.periods();
    let shown = Shown {
        observations: table.len(),
        areas: table.areas().len(),
        first_period: periods.first().copied(),
        last_period: periods.last().copied(),
        area,
        stories: figures.stories(&indicator)?,
        indicator,
    };
    emit(global.json, &shown, render)
}

/// The description of an indicator, as people read it.
pub fn render_indicator(i: &Indicator) -> String {
    let mut out = format!("{} ({})\n", i.title, i.name);
    if !i.definition.is_empty() {
        let _ = writeln!(out, "  Definitie: {}", i.definition);
    }
    let _ = writeln!(
        out,
        "  Eenheid: {} · beter is: {} · bron: {}",
        i.unit.name(),
        i.better.name(),
        if i.source.is_empty() {
            "onbekend"
        } else {
            &i.source
        }
    );
    out
}

fn render(s: &Shown) -> String {
    let mut out = render_indicator(&s.indicator);
    match (s.first_period, s.last_period) {
        (Some(a), Some(b)) => {
            let _ = writeln!(
                out,
                "  {} waarnemingen over {} gebieden, {} tot en met {}.",
                thousands(s.observations as u64),
                s.areas,
                a.label(),
                b.label()
            );
        }
        _ => out.push_str("  Nog geen cijfers ingelezen.\n"),
    }
    if let Some(report) = &s.area {
        render_area(&mut out, report);
    }
    out.push('\n');
    if s.stories.is_empty() {
        out.push_str(
            "Nog geen verhalen bij deze indicator (voeg toe met `kompas figures story`).\n",
        );
    } else {
        out.push_str("Verhalen bij deze cijfers:\n");
        for story in &s.stories {
            let _ = write!(out, "  [{}] {}", story.soort, story.titel);
            let place = story.gebied.as_deref().unwrap_or("het gebied");
            if let Some(n) = story.aantal_jongeren {
                let _ = write!(out, " · {} jongeren zoals deze in {place}", number(n));
            } else if story.aantal_geheim {
                let _ = write!(
                    out,
                    " · het aantal jongeren zoals deze in {place} is geheim"
                );
            }
            let _ = writeln!(out, "  ({})", story.id);
            if !story.tekst.is_empty() {
                let _ = writeln!(out, "      {}", story.tekst.replace('\n', "\n      "));
            }
        }
    }
    out
}

fn render_area(out: &mut String, r: &AreaReport) {
    let _ = writeln!(out, "\n{}", r.label);
    if r.series.is_empty() {
        out.push_str("  Geen cijfers voor dit gebied.\n");
        return;
    }
    table(out, "periode", &r.series, |l| l.period.label());
    for (title, change) in [
        ("vorige periode", &r.change_previous),
        (&*format!("{} jaar eerder", r.years), &r.change_years),
    ] {
        if let Some(c) = change {
            let _ = write!(
                out,
                "  Verandering t.o.v. {title} ({}): {} {} ({}), {}",
                c.from.label(),
                signed(c.difference),
                r.measure,
                c.relative
                    .map_or(String::new(), |p| format!("{}%", signed(p))),
                c.judgement.label()
            );
            if let Some(note) = &c.population_note {
                let _ = write!(out, "\n    Let op: {note}.");
            }
            out.push('\n');
        }
    }
    if !r.breakdowns.is_empty() {
        let _ = writeln!(
            out,
            "  Uitsplitsing {}:",
            r.series.last().map_or(String::new(), |l| l.period.label())
        );
        table(out, "groep", &r.breakdowns, |l| l.label.clone());
    }
    if !r.parts.is_empty() {
        out.push_str("  Wijken en buurten:\n");
        table(out, "gebied", &r.parts, |l| l.label.clone());
    }
}

fn table(out: &mut String, first: &str, lines: &[Line], label: impl Fn(&Line) -> String) {
    let labels: Vec<String> = lines.iter().map(&label).collect();
    let width = labels
        .iter()
        .map(|l| l.chars().count())
        .chain([first.len()])
        .max()
        .unwrap_or(0)
        + 2;
    let _ = writeln!(
        out,
        "    {first:<width$} {:>10} {:>10} {:>8} {:>9}  status",
        "waarde", "noemer", "%", "per 1.000"
    );
    for (l, name) in lines.iter().zip(&labels) {
        let _ = write!(
            out,
            "    {name:<width$} {:>10} {:>10} {:>8} {:>9}  {}",
            value(l.value),
            optional(l.denominator),
            optional(l.percentage),
            optional(l.per_1000),
            match l.status {
                Status::Definitief => "definitief",
                Status::Voorlopig => "voorlopig",
            }
        );
        if let Some(note) = &l.note {
            let _ = write!(out, "  (trendbreuk: {note})");
        }
        out.push('\n');
    }
}
