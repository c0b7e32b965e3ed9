//! The `kompas` command line: parses arguments, calls the engine, prints results, maps errors to exit codes.

mod args;
mod commands;
mod context;
mod driver;
mod exit;
mod lending;
mod machine_work;
mod output;
mod render;
mod serve;
mod watcher;
mod workflows;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let usage = err.use_stderr();
            // Printing help or a usage error can only fail if the terminal is gone.
            let _ = err.print();
            return if usage {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "kompas: {err:#}");
            exit::code_for(&err)
        }
    }
}
