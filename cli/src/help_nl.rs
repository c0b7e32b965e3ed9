//! Dutch help for the whole command tree: clap's headings, help and version flags, usage lines
//! and the notes it adds after a help line, set once here for every command and argument.
//!
//! clap has no translations of its own texts: some it lets us replace (the template, the
//! headings of commands, the help and version flags), the rest we hide and write ourselves
//! (possible values, defaults, environment variables, aliases). Only `[OPTIONS]` in a usage
//! line cannot be configured; it is replaced in the usage clap renders, which then overrides it.

use clap::builder::StyledStr;
use clap::{Arg, ArgAction, Command, CommandFactory};

use crate::args::Cli;

/// The layout of every help page (clap's default, with Dutch words).
const TEMPLATE: &str = "\
{before-help}{about-with-newline}
Gebruik: {usage}

{all-args}{after-help}";

/// The heading above a command's subcommands.
pub const COMMANDS: &str = "Opdrachten";
/// The heading above positional arguments.
pub const ARGUMENTS: &str = "Argumenten";
/// The heading above options.
pub const OPTIONS: &str = "Opties";

/// The full command line grammar, with Dutch help everywhere; parse with this, never with
/// `Cli::parse`.
pub fn command() -> Command {
    let mut cmd = localise(Cli::command())
        // Usage lines name the program itself, however it was started (the tests start a copy).
        .bin_name("kompas")
        .disable_version_flag(true)
        .arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .alias("versie")
                .action(ArgAction::Version)
                .help("Toon de versie van kompas"),
        )
        .mut_arg("version", |arg| localise_arg(arg).display_order(usize::MAX));
    cmd.build();
    dutch_usage(&mut cmd);
    cmd
}

/// Dutch chrome for one command and, recursively, all its subcommands.
fn localise(cmd: Command) -> Command {
    cmd.help_template(TEMPLATE)
        .subcommand_help_heading(COMMANDS)
        .subcommand_value_name("OPDRACHT")
        .disable_help_subcommand(true)
        .disable_help_flag(true)
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .alias("hulp")
                .action(ArgAction::Help)
                .help("Toon deze hulp"),
        )
        .mut_args(in_order())
        .mut_subcommands(localise)
}

/// Localises each argument and keeps the order in which they are declared, the global options
/// last (under a heading of its own, clap would sort them by name).
fn in_order() -> impl FnMut(Arg) -> Arg {
    let mut position = 0;
    move |arg| {
        position += 1;
        // Options every command takes come after the command's own.
        let order = if arg.is_global_set() {
            1000 + position
        } else {
            position
        };
        localise_arg(arg).display_order(order)
    }
}

/// Puts an argument under a Dutch heading and writes clap's notes (possible values, default,
/// environment variable, aliases) in Dutch after its help line.
fn localise_arg(arg: Arg) -> Arg {
    let heading = if arg.is_positional() {
        ARGUMENTS
    } else {
        OPTIONS
    };
    let notes = notes(&arg);
    let with_notes = |help: &StyledStr| {
        if notes.is_empty() {
            help.clone()
        } else {
            StyledStr::from(format!("{help} [{}]", notes.join("; ")))
        }
    };
    let help = arg.get_help().map(with_notes);
    let long_help = arg.get_long_help().map(with_notes);
    let takes_values = arg.get_action().takes_values();
    let mut arg = arg.help_heading(heading).hide_env(true);
    if takes_values {
        arg = arg.hide_possible_values(true).hide_default_value(true);
    }
    if let Some(help) = help {
        arg = arg.help(help);
    }
    if let Some(long_help) = long_help {
        arg = arg.long_help(long_help);
    }
    arg
}

/// What clap would add after the help line of `arg`, in Dutch.
fn notes(arg: &Arg) -> Vec<String> {
    let mut notes = Vec::new();
    let takes_values = arg.get_action().takes_values();
    if takes_values && !arg.is_hide_possible_values_set() {
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .collect();
        if !values.is_empty() {
            notes.push(format!("mogelijke waarden: {}", values.join(", ")));
        }
    }
    let defaults = arg.get_default_values();
    if takes_values && !defaults.is_empty() && !arg.is_hide_default_value_set() {
        let shown: Vec<String> = defaults
            .iter()
            .map(|d| d.to_string_lossy().into_owned())
            .collect();
        notes.push(format!("standaard: {}", shown.join(",")));
    }
    if let Some(env) = arg.get_env()
        && !arg.is_hide_env_set()
    {
        notes.push(format!("of omgevingsvariabele {}", env.to_string_lossy()));
    }
    if let Some(aliases) = arg.get_all_aliases() {
        let shown: Vec<String> = aliases.iter().map(|a| format!("--{a}")).collect();
        notes.push(format!("ook: {}", shown.join(", ")));
    }
    notes
}

/// Replaces the English `[OPTIONS]` in the usage line of every command, as clap renders it.
fn dutch_usage(cmd: &mut Command) {
    let rendered = cmd.render_usage().to_string();
    let usage = rendered
        .strip_prefix("Usage: ")
        .unwrap_or(&rendered)
        .replace("[OPTIONS]", "[OPTIES]");
    *cmd = std::mem::take(cmd).override_usage(usage);
    for sub in cmd.get_subcommands_mut() {
        dutch_usage(sub);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words clap writes in English; none may appear in any help page.
    const ENGLISH: &[&str] = &[
        "Usage",
        "Options",
        "Arguments",
        "Commands",
        "Print help",
        "Print version",
        "possible values",
        "[default",
        "[env",
        "[alias",
        "[OPTIONS]",
        "COMMAND",
        "subcommand",
    ];

    /// Placeholders clap makes from English field names; every placeholder must be Dutch.
    const ENGLISH_PLACEHOLDERS: &[&str] = &[
        "FILE",
        "FILES",
        "KIND",
        "NAME",
        "DIR",
        "PATH",
        "PATHS",
        "TEXT",
        "TITLE",
        "ROLE",
        "REASON",
        "TO",
        "PORT",
        "TIMEOUT",
        "UNIT",
        "BETTER",
        "SECONDARY",
        "ORG",
        "DEFINITION",
        "DOCUMENTS",
        "ASSIGNMENTS",
        "EXPIRES",
        "VALUE",
        "COUNT",
        "SET",
        "AREA",
        "PERIOD",
        "YEARS",
        "WITH",
        "PEERS",
        "OUT",
        "THRESHOLD",
        "ROUND",
        "SOURCE",
        "DURATION",
        "KEY",
        "LIST",
        "WORKSPACE",
        "RELAY",
        "RELAYS",
        "FLOW",
        "SHELL_NAME",
        "COMMAND",
        "VERSION",
        "PHASE",
        "DATE",
        "TIME",
        "HOST",
        "ADDRESS",
        "USER",
        "PASSWORD",
        "RECIPIENT",
        "LIMIT",
    ];

    /// Every command in the tree, each with its full name, depth first.
    fn walk<'a>(cmd: &'a Command, path: String, out: &mut Vec<(String, &'a Command)>) {
        for sub in cmd.get_subcommands() {
            walk(sub, format!("{path} {}", sub.get_name()), out);
        }
        out.push((path, cmd));
    }

    #[test]
    fn every_help_page_is_dutch_and_every_argument_has_help() {
        let root = command();
        let mut all = Vec::new();
        walk(&root, "kompas".into(), &mut all);
        assert!(all.len() > 40, "only {} commands found", all.len());
        for (path, cmd) in all {
            let mut cmd = cmd.clone();
            for page in [cmd.render_help(), cmd.render_long_help()] {
                let page = page.to_string();
                for word in ENGLISH {
                    assert!(
                        !page.contains(word),
                        "`{path} --help` contains {word:?}:\n{page}"
                    );
                }
                assert!(page.contains("Gebruik: "), "`{path} --help`:\n{page}");
            }
            assert!(cmd.get_about().is_some(), "`{path}` has no description");
            for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                assert!(
                    arg.get_help()
                        .is_some_and(|h| !h.to_string().trim().is_empty()),
                    "argument {} of `{path}` has no help line",
                    arg.get_id()
                );
                for name in arg.get_value_names().unwrap_or_default() {
                    assert!(
                        !ENGLISH_PLACEHOLDERS.contains(&name.as_str()),
                        "argument {} of `{path}` has the English placeholder <{name}>",
                        arg.get_id()
                    );
                }
            }
        }
    }
}
