//! One module per top-level command; `run` dispatches to them.

pub mod agenda;
mod completions;
#[cfg(feature = "demo")]
mod demo;
mod doc;
pub(crate) mod figures;
mod flow;
mod herinneringen;
mod init;
pub mod rapport;
mod samenwerkingen;
pub mod sync;
mod whoami;
pub mod workflow;
pub mod workspace;

use std::process::ExitCode;

use crate::args::{Cli, Command};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init(args) => init::run(&cli.global, args),
        Command::Doc(cmd) => doc::run(&cli.global, cmd),
        Command::Figures(cmd) => figures::run(&cli.global, cmd),
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::run(&cli.global, args),
        Command::Whoami => whoami::run(&cli.global),
        Command::Samenwerkingen => samenwerkingen::run(&cli.global),
        Command::Workspace(cmd) => workspace::run(&cli.global, cmd),
        Command::Sync(args) => sync::run(&cli.global, args),
        Command::Workflow(cmd) => return workflow::run(&cli.global, cmd),
        Command::Flow(cmd) => flow::run(&cli.global, cmd),
        Command::Rapport(cmd) => rapport::run(&cli.global, cmd),
        Command::Agenda(args) => agenda::run(&cli.global, args),
        Command::Serve(args) => crate::serve::run(&cli.global, args),
        Command::Completions(args) => completions::run(&args),
        Command::Herinneringen(args) => return herinneringen::run(&cli.global, &args),
    }?;
    Ok(ExitCode::SUCCESS)
}
