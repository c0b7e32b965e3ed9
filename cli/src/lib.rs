//! The `kompas` command line: parses arguments, calls the engine, prints results, maps errors to exit codes.
//!
//! The program is [`main`]; the `kompas` binary is only its caller, so that the end-to-end tests can
//! build the same program as a binary of their own package.

mod args;
mod commands;
mod context;
mod driver;
mod exit;
mod failure;
mod help_nl;
mod lending;
mod long_value;
mod machine_work;
mod output;
mod partnerships;
mod reminders;
mod render;
mod serve;
mod stop;
mod usage_error;
mod watcher;
mod workflows;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::FromArgMatches;

use crate::output::Verbosity;
use crate::usage_error::Dutch;

/// Runs the command line given to this process and returns its exit code.
pub fn main() -> ExitCode {
    let raw: Vec<OsString> = std::env::args_os().collect();
    // Asked before parsing, so that a usage error is JSON too when `--json` was given.
    let json = raw
        .iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json");
    let parsed = help_nl::command()
        .try_get_matches_from(&raw)
        .and_then(|matches| args::Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(err) => {
            let err = err.apply::<Dutch>();
            if !err.use_stderr() {
                // Help and version: printing can only fail when the reader is gone.
                let _ = err.print();
                return ExitCode::SUCCESS;
            }
            return failure::report_usage(&usage_error::message(&err), &err.to_string(), json);
        }
    };
    let verbosity = if cli.global.quiet {
        Verbosity::Quiet
    } else if cli.global.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    output::set_verbosity(verbosity);
    let json = cli.global.json;
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => failure::report(&err, json, verbosity),
    }
}
