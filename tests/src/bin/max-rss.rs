//! Runs one command and reports the most memory it held: `max-rss PROGRAM ARGS...` runs the
//! program with the same standard input, output and error, then prints `max-rss KIB` on standard
//! error (the peak resident set of its waited-for children, which is that one program) and exits
//! with the program's exit code.

use std::process::{Command, ExitCode};

use nix::sys::resource::{UsageWho, getrusage};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("max-rss: usage: max-rss PROGRAM ARGS...");
        return ExitCode::from(2);
    };
    let status = match Command::new(&program).args(args).status() {
        Ok(status) => status,
        Err(e) => {
            eprintln!("max-rss: cannot run {}: {e}", program.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    match getrusage(UsageWho::RUSAGE_CHILDREN) {
        // Linux reports the peak in kibibytes.
        Ok(usage) => eprintln!("max-rss {}", usage.max_rss()),
        Err(e) => {
            eprintln!("max-rss: getrusage failed: {e}");
            return ExitCode::from(2);
        }
    }
    let code = status.code().unwrap_or(1);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
