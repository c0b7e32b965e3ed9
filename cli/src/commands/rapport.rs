//! `kompas rapport ...`: the report of a round (HTML, PDF or its data as JSON), recording a
//! joint evaluation, and the minutes of a conversation about figures.

use std::fmt::Write as _;
use std::path::Path;

use kompas_engine::DocId;
use kompas_engine::figures::AreaCode;
use kompas_engine::report::{self, Options, RoundReport};
use kompas_engine::runtime::Flows;

use crate::args::{Global, RapportCommand};
use crate::context::{Opened, now, open_global, random};
use crate::exit::Refused;
use crate::output::emit;
use crate::render::html::{self, MinutesHeader};
use crate::render::{pdf, view, write_output};

/// The definition whose instances are rounds of the cycle.
pub const ROUND_DEFINITION: &str = "kwaliteitskompas";

pub fn run(global: &Global, cmd: RapportCommand) -> anyhow::Result<()> {
    let opened = open_global(global)?;
    match cmd {
        RapportCommand::Ronde {
            flow,
            out,
            gebied,
            ronde,
        } => {
            let round = round_id(&opened, flow.as_deref())?;
            let area = gebied.as_deref().map(AreaCode::parse).transpose()?;
            let report = make(&opened, &round, &Options { area, round: ronde })?;
            if let Some(path) = &out {
                write_report(&report, path)?;
            }
            emit(global.json, &report, |r| summary(r, out.as_deref()))
        }
        RapportCommand::Vastleggen { flow } => {
            let round = round_id(&opened, flow.as_deref())?;
            let recorded = report::record_evaluation(
                &opened.replica,
                &opened.registry,
                &round,
                now(),
                random(),
            )?;
            emit(global.json, &recorded, |r| {
                format!(
                    "Evaluatie vastgelegd voor werkstroom {} (fase {}): {} documenten, versie {}.\nHet volgende rapport laat zien wat sindsdien veranderde.",
                    r.round, r.phase, r.documents, r.data_version
                )
            })
        }
        RapportCommand::Gesprek { id, out } => {
            let id = DocId::parse(&id)?;
            let conversation = report::conversation(&opened.replica, &id)?;
            let header = MinutesHeader {
                partnership: partnership(&opened)?,
                made: view::moment(now()),
                made_by: opened.replica.identity().profile.name.clone(),
            };
            let html = out
                .as_deref()
                .is_some_and(|p| extension(p).as_deref() == Some("html"));
            let text = html::minutes(&conversation, &header, html)?;
            report::check_output("verslag", &text)?;
            match &out {
                Some(path) => {
                    write_output(path, text.as_bytes())?;
                    emit(global.json, &conversation, |c| {
                        format!(
                            "Verslag van {} geschreven naar {}.",
                            c.title,
                            path.display()
                        )
                    })
                }
                None => emit(global.json, &conversation, |_| text.clone()),
            }
        }
    }
}

/// Gathers and builds the report, and checks it for personal data.
pub fn make(opened: &Opened, round: &DocId, options: &Options) -> anyhow::Result<RoundReport> {
    let input = report::gather(&opened.replica, &opened.registry, round, options, now())?;
    let report = report::build(&input);
    report::check_report(&report)?;
    Ok(report)
}

/// Renders the report in the format the file's extension names, checks the output and writes it.
pub fn write_report(report: &RoundReport, path: &Path) -> anyhow::Result<()> {
    let bytes = match extension(path).as_deref() {
        Some("html" | "htm") => {
            let page = html::round(report)?;
            report::check_output("rapport", &page)?;
            page.into_bytes()
        }
        Some("pdf") => pdf::round(report)?,
        _ => {
            return Err(Refused::input(format!(
                "{}: kies een bestand dat eindigt op .html of .pdf",
                path.display()
            )));
        }
    };
    write_output(path, &bytes)
}

fn extension(path: &Path) -> Option<String> {
    path.extension().map(|e| e.to_string_lossy().to_lowercase())
}

/// The round asked for, or the latest Kwaliteitskompas instance.
fn round_id(opened: &Opened, flow: Option<&str>) -> anyhow::Result<DocId> {
    if let Some(id) = flow {
        return Ok(DocId::parse(id)?);
    }
    let all = Flows::new(&opened.replica, &opened.registry).list(now())?;
    all.iter()
        .filter(|s| s.definition.name == ROUND_DEFINITION)
        .max_by_key(|s| (s.created, s.id.clone()))
        .map(|s| s.id.clone())
        .ok_or_else(|| {
            Refused::input(
                "er loopt nog geen Kwaliteitskompas; start er een met `kompas flow start kwaliteitskompas`",
            )
        })
}

/// The partnership's name, from its `samenwerking` document.
pub fn partnership(opened: &Opened) -> anyhow::Result<String> {
    let found = report::partnership_name(&opened.replica)?;
    Ok(found.unwrap_or_else(|| "Samenwerking".into()))
}

fn summary(r: &RoundReport, out: Option<&Path>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}: {}", r.partnership, r.title);
    let _ = writeln!(
        s,
        "  {} bouwstenen met {} documenten, {} resultaten, {} cijfers, {} gesprekken, {} verbeteracties, {} open punten",
        r.blocks.len(),
        r.blocks.iter().map(|b| b.documents.len()).sum::<usize>(),
        r.results.len(),
        r.figures.len(),
        r.conversations.len(),
        r.actions.len(),
        r.open.len()
    );
    for x in &r.results {
        let _ = writeln!(s, "  {}: {}", x.title, x.course.label());
    }
    if let Some(c) = &r.changes {
        let _ = writeln!(
            s,
            "  Sinds de evaluatie van {}: {} documenten gewijzigd of nieuw.",
            view::moment(c.recorded_at),
            c.documents.len()
        );
    }
    match out {
        Some(p) => {
            let _ = writeln!(s, "Geschreven naar {}.", p.display());
        }
        None => {
            let _ = writeln!(
                s,
                "Schrijf het rapport met --out rapport.html of --out rapport.pdf."
            );
        }
    }
    s
}
