//! How a failed command is reported: its chain of causes in Dutch (system errors translated),
//! as a line of text or, with `--json`, as one JSON object on standard error; and a closed
//! pipe, which is no failure at all.

use std::io::{self, ErrorKind, Write};
use std::process::ExitCode;

use crate::exit;
use crate::output::Verbosity;

/// Reports `err` on standard error and picks the exit code.
pub fn report(err: &anyhow::Error, json: bool, verbosity: Verbosity) -> ExitCode {
    if closed_pipe(err) {
        return ExitCode::SUCCESS;
    }
    let code = exit::classify(err);
    print(code, &describe(err), json, verbosity);
    ExitCode::from(code)
}

/// Reports a command-line (usage) error: `message` is the error alone, `full` the text with
/// usage and the pointer to `--help`.
pub fn report_usage(message: &str, full: &str, json: bool) -> ExitCode {
    if json {
        print(exit::USAGE, message, true, Verbosity::Normal);
    } else {
        // Standard error itself may be gone; there is nobody left to tell then.
        let _ = io::stderr().write_all(full.as_bytes());
    }
    ExitCode::from(exit::USAGE)
}

fn print(code: u8, message: &str, json: bool, verbosity: Verbosity) {
    let mut err = io::stderr().lock();
    // Standard error itself may be gone; there is nobody left to tell then.
    if json {
        let value = serde_json::json!({
            "error": {
                "code": code,
                "kind": exit::kind_name(code),
                "message": message,
            }
        });
        let _ = writeln!(err, "{value}");
    } else {
        let _ = writeln!(err, "kompas: {message}");
        if verbosity == Verbosity::Verbose {
            let _ = writeln!(
                err,
                "kompas: afsluitcode {code} ({})",
                exit::kind_name(code)
            );
        }
    }
}

/// Whether the error is only that the reader of standard output went away (`| head -1`):
/// the command ends quietly and successfully, as the reader wanted.
pub fn closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe)
    })
}

/// The chain of causes as one line, each system error in Dutch.
pub fn describe(err: &anyhow::Error) -> String {
    err.chain()
        .map(|cause| match cause.downcast_ref::<io::Error>() {
            Some(io) => io_nl(io),
            None => cause.to_string(),
        })
        .collect::<Vec<_>>()
        .join(": ")
}

/// A system error in Dutch words.
pub fn io_nl(e: &io::Error) -> String {
    let text = match e.kind() {
        ErrorKind::NotFound => "bestaat niet",
        ErrorKind::PermissionDenied => "geen toestemming",
        ErrorKind::AlreadyExists => "bestaat al",
        ErrorKind::IsADirectory => "is een map, geen bestand",
        ErrorKind::NotADirectory => "is geen map",
        ErrorKind::InvalidData => "bevat geen geldige tekst (UTF-8)",
        ErrorKind::StorageFull => "de schijf is vol",
        ErrorKind::ReadOnlyFilesystem => "het bestandssysteem is alleen-lezen",
        ErrorKind::ConnectionRefused => "verbinding geweigerd",
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => "verbinding verbroken",
        ErrorKind::TimedOut => "duurde te lang",
        ErrorKind::Interrupted => "onderbroken",
        ErrorKind::UnexpectedEof => "houdt te vroeg op",
        ErrorKind::FileTooLarge => "is te groot",
        _ => return format!("systeemfout ({e})"),
    };
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn system_errors_read_in_dutch_and_a_closed_pipe_is_no_failure() {
        let missing = std::fs::read("/bestaat/echt/niet.txt")
            .context("kan /bestaat/echt/niet.txt niet lezen")
            .unwrap_err();
        assert_eq!(
            describe(&missing),
            "kan /bestaat/echt/niet.txt niet lezen: bestaat niet"
        );
        assert_eq!(exit::classify(&missing), exit::NOT_FOUND);
        assert!(!closed_pipe(&missing));
        let pipe = anyhow::Error::from(io::Error::from(ErrorKind::BrokenPipe)).context("uitvoer");
        assert!(closed_pipe(&pipe));
    }
}
