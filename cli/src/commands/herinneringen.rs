//! `kompas herinneringen`: one round of reminder mail (`--verstuur`), or what it would send
//! (`--proef`), at the system clock or at the moment given with `--nu`; and
//! `kompas herinneringen instellen`, which writes the configuration.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use kompas_engine::Timestamp;

use crate::args::{Global, HerinneringenArgs, HerinneringenCommand, InstellenArgs};
use std::sync::Arc;

use crate::context::{Opened, lock, now, open_every};
use crate::exit::Refused;
use crate::output::emit;
use crate::reminders::config;
use crate::reminders::round::{self, Outcome, Shown};
use crate::reminders::setup::{self, Settings, SetupError};
use crate::workflows;

pub fn run(global: &Global, args: &HerinneringenArgs) -> anyhow::Result<ExitCode> {
    if let Some(HerinneringenCommand::Instellen(given)) = &args.instellen {
        return set_up(global, given);
    }
    let at = match &args.nu {
        Some(text) => moment(text)?,
        None => now(),
    };
    // Every samenwerking of the data directory, or the one `--samenwerking` names.
    let data = Arc::new(lock(&global.data)?);
    let config = config::load(data.root())?;
    let folder = workflows::folder(global);
    let several = data.stores()?.len() > 1;
    let held = open_every(data, global.samenwerking.as_deref(), folder.as_deref())?;
    let all: Vec<&Opened> = held.iter().collect();
    let (outcome, failed) = round::run_every(&all, several, &config, at, args.proef);
    let try_out = args.proef;
    emit(global.json, &outcome, |o| render(o, try_out))?;
    if let Some(first) = failed.into_iter().next() {
        return Err(first);
    }
    if outcome.complete() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Refused::mail(format!(
            "{} van de {} berichten niet verstuurd; wat de mailserver nog niet aannam, gaat de volgende keer opnieuw mee",
            outcome.later.len() + outcome.refused.len(),
            outcome.sent.len() + outcome.later.len() + outcome.refused.len(),
        )))
    }
}

/// Writes `herinneringen.toml` from the flags, asking in a terminal for what a working file
/// needs and was not given.
fn set_up(global: &Global, given: &InstellenArgs) -> anyhow::Result<ExitCode> {
    if !global.data.is_dir() {
        return Err(Refused::input(format!(
            "{} is geen kompas-map; maak er eerst een met `kompas init`",
            global.data.display()
        )));
    }
    let mut settings = Settings {
        server: given.server.clone(),
        port: given.poort,
        security: given.beveiliging.clone(),
        sender: given.afzender.clone(),
        user: given.gebruiker.clone(),
        password_variable: given.wachtwoord_variabele.clone(),
        password_file: given.wachtwoord_bestand.clone(),
        ca_file: given.ca_bestand.as_deref().map(ca_file).transpose()?,
        everyone: given.iedereen.clone(),
        per_role: given.rol.clone(),
    };
    if !global.json && setup::can_ask() {
        setup::ask_missing(&mut settings, &mut std::io::stdin().lock())?;
    }
    let written = setup::write(&global.data, &settings).map_err(|e| match e {
        SetupError::Answer(_) | SetupError::Write(_) => anyhow::Error::new(e),
        e => Refused::input(e.to_string()),
    })?;
    let path = config::path(&global.data);
    #[derive(serde::Serialize)]
    struct Written {
        file: String,
        server: String,
        port: u16,
        recipients: usize,
    }
    let shown = Written {
        file: path.display().to_string(),
        server: written.smtp.host.clone(),
        port: written.smtp.port,
        recipients: written.recipients.everyone.len()
            + written
                .recipients
                .per_role
                .values()
                .map(Vec::len)
                .sum::<usize>(),
    };
    emit(global.json, &shown, |w| {
        format!(
            "{} geschreven: mail via {} (poort {}) naar {} adres(sen). Probeer het met `kompas herinneringen --proef`.",
            w.file, w.server, w.port, w.recipients
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `--nu`: an RFC 3339 moment.
fn moment(text: &str) -> anyhow::Result<Timestamp> {
    let parsed: jiff::Timestamp = text.trim().parse().map_err(|_| {
        Refused::input(format!(
            "--nu: \"{text}\" is geen moment; schrijf het zoals 2027-03-01T09:00:00Z"
        ))
    })?;
    Ok(Timestamp(parsed.as_millisecond()))
}

fn render(o: &Outcome, try_out: bool) -> String {
    let mut out = String::new();
    if o.sent.is_empty() && o.later.is_empty() && o.refused.is_empty() {
        return "Geen nieuwe herinneringen om te versturen.".into();
    }
    let line = |out: &mut String, s: &Shown| {
        let again = if s.again { " (opnieuw)" } else { "" };
        let _ = writeln!(
            out,
            "  {}: {} ({} herinnering{}){again}",
            s.to,
            s.subject,
            s.reminders,
            if s.reminders == 1 { "" } else { "en" }
        );
        if let Some(e) = &s.error {
            let _ = writeln!(out, "    {e}");
        }
    };
    if try_out {
        let _ = writeln!(
            out,
            "Proef: dit zou er nu verstuurd worden (er is niets verstuurd):"
        );
        for s in &o.sent {
            line(&mut out, s);
        }
        for s in o.sent.iter().filter(|s| s.body.is_some()) {
            let _ = write!(
                out,
                "\n--- aan {}: {}\n{}",
                s.to,
                s.subject,
                s.body.as_deref().unwrap_or_default()
            );
        }
        return out;
    }
    for (list, heading) in [
        (&o.sent, "Verstuurd"),
        (
            &o.later,
            "Nog niet verstuurd (gaat de volgende keer opnieuw)",
        ),
        (
            &o.refused,
            "Geweigerd door de mailserver (gaat niet opnieuw)",
        ),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{heading}:");
        for s in list {
            line(&mut out, s);
        }
    }
    out
}

/// The CA file given on the command line as the configuration names it: a relative path is
/// taken from the current directory (where the person typed it) and written in full, since the
/// file reads relative paths from the data directory.
fn ca_file(given: &Path) -> anyhow::Result<String> {
    let full = std::path::absolute(given)
        .map_err(|e| Refused::input(format!("--ca-bestand {}: {e}", given.display())))?;
    full.to_str().map(str::to_string).ok_or_else(|| {
        Refused::input(format!(
            "--ca-bestand {}: het pad is geen geldige tekst (UTF-8)",
            given.display()
        ))
    })
}
