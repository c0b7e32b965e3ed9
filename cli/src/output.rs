//! Output: every command builds one result value and prints it either as JSON or for people.

use std::io::Write;

use serde::Serialize;

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
    Ok(())
}
