//! Output: every command builds one result value and prints it either as JSON or for people;
//! notes and progress for people go to standard error, as `-q` and `-v` allow.

use std::io::Write;
use std::sync::OnceLock;

use serde::Serialize;

/// How much a command tells on standard error besides its result and its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// `-q`: results and errors only.
    Quiet,
    /// Results, errors, notes and progress.
    #[default]
    Normal,
    /// `-v`: also details (the data directory in use, every step of a sync, exit codes).
    Verbose,
}

static VERBOSITY: OnceLock<Verbosity> = OnceLock::new();

/// Sets the verbosity for this process (once, from the command line).
pub fn set_verbosity(verbosity: Verbosity) {
    let _ = VERBOSITY.set(verbosity);
}

/// The verbosity of this process.
pub fn verbosity() -> Verbosity {
    VERBOSITY.get().copied().unwrap_or_default()
}

/// A note or a progress line for people on standard error, unless `-q`.
pub fn note(text: &str) {
    if verbosity() != Verbosity::Quiet {
        // A closed standard error leaves nobody to tell.
        let _ = writeln!(std::io::stderr(), "{text}");
    }
}

/// A detail on standard error, only with `-v`.
pub fn detail(text: &str) {
    if verbosity() == Verbosity::Verbose {
        let _ = writeln!(std::io::stderr(), "{text}");
    }
}

/// Prints `value` as pretty JSON when `json` is set, and otherwise the text `human` makes of it.
pub fn emit<T: Serialize>(
    json: bool,
    value: &T,
    human: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    let text = if json {
        serde_json::to_string_pretty(value)?
    } else {
        human(value)
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", text.trim_end())?;
    out.flush()?;
    Ok(())
}
