//! `kompas figures ...`: indicators, their figures, benchmarks, charts and the stories beside them.

mod compare;
// The demo's figures; the web app's tests use part of them too, also without the demo.
#[cfg(any(feature = "demo", test))]
#[cfg_attr(not(feature = "demo"), allow(dead_code))]
pub(crate) mod demo;
pub(crate) mod format;
pub(crate) mod import;
mod show;

use std::fmt::Write as _;

use kompas_engine::document::Assignment;
use kompas_engine::figures::storage::{Figures, IndicatorFields};
use kompas_engine::figures::{AreaCode, SuppressionPolicy};

use crate::args::{FiguresCommand, Global, IndicatorArgs};
use crate::context::{now, open_global, random};
use crate::output::emit;

pub fn run(global: &Global, cmd: FiguresCommand) -> anyhow::Result<()> {
    let opened = open_global(global)?;
    let replica = &opened.replica;
    let figures = Figures::new(replica);
    match cmd {
        FiguresCommand::Define { name, fields } => {
            let ind = figures.define(&name, &indicator_fields(&fields), now(), random())?;
            emit(global.json, &ind, show::render_indicator)
        }
        FiguresCommand::Import {
            file,
            indicator,
            mapping,
            metadata,
            waarde,
            alle,
            proef,
            skip_bad_rows,
            fields,
        } => import::run(
            global,
            &figures,
            import::Request {
                file,
                indicator,
                mapping,
                metadata,
                value: waarde,
                all_values: alle,
                dry_run: proef,
                skip_bad_rows,
                fields: indicator_fields(&fields),
            },
        ),
        FiguresCommand::Areas { file } => import::areas(global, &figures, &file),
        FiguresCommand::List => {
            let all = figures.indicators()?;
            emit(global.json, &all, |all| {
                if all.is_empty() {
                    return "Nog geen indicatoren; lees cijfers in met `kompas figures import`."
                        .into();
                }
                let mut out = String::new();
                for i in all {
                    let _ = writeln!(
                        out,
                        "{:<28} {}  ({}, {})",
                        i.name,
                        i.title,
                        i.unit.name(),
                        i.source
                    );
                }
                out
            })
        }
        FiguresCommand::Show {
            name,
            area,
            period,
            years,
        } => show::run(
            global,
            &figures,
            &name,
            area.as_deref(),
            period.as_deref(),
            years,
        ),
        FiguresCommand::Compare(args) => compare::compare(global, &figures, &args),
        FiguresCommand::Chart { compare: args, out } => {
            compare::chart(global, &figures, &args, &out)
        }
        FiguresCommand::Story {
            name,
            kind,
            title,
            text,
            area,
            young_people,
        } => {
            let ind = figures.indicator(&name)?;
            if let Some(a) = &area {
                AreaCode::parse(a)?;
            }
            let mut set = vec![
                ("soort", kind),
                ("titel", title),
                ("tekst", crate::long_value::resolve(&text, "--text")?),
                ("indicator", ind.name.clone()),
            ];
            set.extend(area.map(|a| ("gebied", a.trim().to_uppercase())));
            set.extend(young_people.map(|n| ("aantal-jongeren", n)));
            let assignments: Vec<Assignment> = set
                .into_iter()
                .map(|(f, v)| Assignment {
                    field: f.into(),
                    value: v,
                })
                .collect();
            let id = super::doc::create(replica, "verhaal", &assignments)?;
            emit(
                global.json,
                &serde_json::json!({ "id": id, "indicator": ind.name }),
                |_| format!("Verhaal {id} staat nu naast indicator {}.", ind.name),
            )
        }
        FiguresCommand::Policy {
            threshold,
            round,
            secondary,
        } => {
            let mut policy = figures.policy()?;
            if threshold.is_some() || round.is_some() || secondary.is_some() {
                policy = SuppressionPolicy {
                    threshold: threshold.unwrap_or(policy.threshold),
                    round_to: round.unwrap_or(policy.round_to),
                    secondary: secondary.map_or(policy.secondary, |s| s == "ja"),
                };
                figures.set_policy(&policy, now(), random())?;
            }
            emit(global.json, &policy, |p| {
                format!(
                    "Aantallen van 0 tot en met {} zijn geheim; getoonde aantallen worden afgerond op {}; secundaire onderdrukking staat {}.",
                    format::number(p.threshold),
                    format::number(p.round_to),
                    if p.secondary { "aan" } else { "uit" }
                )
            })
        }
        FiguresCommand::Floor { threshold, round } => {
            let mut floor = figures.floor()?;
            if threshold.is_some() || round.is_some() {
                let raised = SuppressionPolicy {
                    threshold: threshold.unwrap_or(floor.threshold),
                    round_to: round.unwrap_or(floor.round_to),
                    secondary: true,
                };
                floor = figures.set_floor(&raised, now(), random())?;
            }
            emit(global.json, &floor, |f| {
                format!(
                    "Ondergrens van de samenwerking: aantallen van 0 tot en met {} zijn altijd geheim, afronden op ten minste {}, secundaire onderdrukking {}. Een coördinator kan haar alleen verhogen.",
                    format::number(f.threshold),
                    format::number(f.round_to),
                    if f.secondary {
                        "altijd aan"
                    } else {
                        "naar keuze"
                    }
                )
            })
        }
    }
}

fn indicator_fields(args: &IndicatorArgs) -> IndicatorFields {
    IndicatorFields {
        title: args.title.clone(),
        definition: args.definition.clone(),
        unit: args.unit.clone(),
        better: args.better.clone(),
        source: args.source.clone(),
    }
}
