//! The `kompas-relay` binary. Not built yet: it only says so and exits with an error.
use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("kompas-relay: de relay is nog niet gebouwd");
    ExitCode::from(1)
}
