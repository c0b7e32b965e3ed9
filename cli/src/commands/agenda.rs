//! `kompas agenda`: the partnership's deadlines and planned moments as an iCalendar file.

use kompas_engine::Timestamp;
use kompas_engine::report::{self, AgendaItem};

use crate::args::{AgendaArgs, Global};
use crate::context::{Opened, now, open_global};
use crate::output::emit;
use crate::render::{ics, write_output};

pub fn run(global: &Global, args: AgendaArgs) -> anyhow::Result<()> {
    let opened = open_global(global)?;
    let (items, text) = calendar(&opened, now())?;
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

/// The agenda items and the iCalendar text, its texts checked for personal data (the command
/// and the web app's download both use it).
pub fn calendar(opened: &Opened, at: Timestamp) -> anyhow::Result<(Vec<AgendaItem>, String)> {
    let items = report::agenda_of(&opened.replica, &opened.registry, at)?;
    let name = format!("kompas: {}", opened.replica.identity().profile.name);
    report::check_agenda(&name, &items)?;
    let text = ics::calendar(&name, &items, at)?;
    Ok((items, text))
}
