//! `kompas agenda`: the partnership's deadlines and planned moments as an iCalendar file.

use kompas_engine::report;

use crate::args::{AgendaArgs, Global};
use crate::context::{now, open_global};
use crate::output::emit;
use crate::render::{ics, write_output};

pub fn run(global: &Global, args: AgendaArgs) -> anyhow::Result<()> {
    let opened = open_global(global)?;
    let at = now();
    let items = report::agenda_of(&opened.replica, &opened.registry, at)?;
    let name = format!("kompas: {}", opened.replica.identity().profile.name);
    let text = ics::calendar(&name, &items, at)?;
    report::check_output("agenda", &text)?;
    match &args.out {
        Some(path) => {
            write_output(path, text.as_bytes())?;
            emit(global.json, &items, |items| {
                format!(
                    "{} afspraken en deadlines geschreven naar {}; importeer het bestand opnieuw om ze bij te werken.",
                    items.len(),
                    path.display()
                )
            })
        }
        None => emit(global.json, &items, |_| text.clone()),
    }
}
