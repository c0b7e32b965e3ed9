//! The reminder rounds of `kompas serve`: one right after the start and then every five
//! minutes, on a thread of their own, over every samenwerking of the opened data directory the
//! server shares with its sync. Without `herinneringen.toml` a round does nothing, so adding the file later is enough.
//! The environment variable `KOMPAS_HERINNERINGEN_INTERVAL` (whole seconds) sets another time
//! between rounds, for tests and for trying things out.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::config::{self, ConfigError};
use super::round;
use crate::context::{Opened, now};
use crate::lending::{Held, Lending};

/// The time between two rounds.
pub const EVERY: Duration = Duration::from_secs(300);
/// The environment variable that sets another time between rounds, in whole seconds.
pub const INTERVAL_VAR: &str = "KOMPAS_HERINNERINGEN_INTERVAL";
/// How long a round waits for the data directory while another command has borrowed it.
const PATIENCE: Duration = Duration::from_secs(60);
/// How often the waiting thread looks whether the server stops.
const TICK: Duration = Duration::from_millis(500);

/// The running rounds; they end when this is stopped or dropped.
pub struct Schedule {
    stop: Arc<AtomicBool>,
}

/// Starts the rounds on `lending`'s data directory.
pub fn start(lending: Arc<Lending>) -> std::io::Result<Schedule> {
    let every = match std::env::var(INTERVAL_VAR) {
        Err(_) => EVERY,
        Ok(text) => interval(&text).unwrap_or_else(|problem| {
            eprintln!(
                "kompas serve: {INTERVAL_VAR}: {problem}; herinneringen gaan elke vijf minuten"
            );
            EVERY
        }),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::Builder::new()
        .name("kompas-herinneringen".into())
        .spawn(move || {
            let mut last_problem = String::new();
            while !stopped.load(Ordering::SeqCst) {
                if let Some(held) = lending.all(PATIENCE) {
                    let problem = round_over(&held);
                    // The same problem is told once, not every round.
                    if !problem.is_empty() && problem != last_problem {
                        eprintln!("kompas serve: herinneringen: {problem}");
                    }
                    last_problem = problem;
                }
                let until = Instant::now() + every;
                while Instant::now() < until && !stopped.load(Ordering::SeqCst) {
                    std::thread::sleep(TICK);
                }
            }
        })?;
    Ok(Schedule { stop })
}

/// One round over every samenwerking of the data directory, each with its own record of what
/// was sent; the first problem met, or nothing.
fn round_over(held: &Held) -> String {
    let Some(first) = held.first() else {
        return String::new();
    };
    let config = match config::load(first.dir.root()) {
        Err(ConfigError::Missing(_)) => return String::new(),
        Err(e) => return e.to_string(),
        Ok(config) => config,
    };
    let all: Vec<&Opened> = held.iter().map(|o| o.as_ref()).collect();
    let (outcome, failed) = round::run_every(&all, all.len() > 1, &config, now(), false);
    if !outcome.sent.is_empty() {
        eprintln!(
            "kompas serve: {} herinneringsmail(s) verstuurd",
            outcome.sent.len()
        );
    }
    let problems = failed.iter().map(|e| format!("{e:#}")).chain(
        outcome
            .later
            .iter()
            .chain(&outcome.refused)
            .filter_map(|s| s.error.clone()),
    );
    problems.take(1).next().unwrap_or_default()
}

/// The time between rounds written as whole seconds (1 to a day).
fn interval(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if (1..=86_400).contains(&n) => Ok(Duration::from_secs(n)),
        _ => Err(format!(
            "{:?} is geen aantal seconden van 1 tot en met 86400",
            text.trim()
        )),
    }
}

impl Drop for Schedule {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_whole_seconds_up_to_a_day() {
        assert_eq!(interval("2"), Ok(Duration::from_secs(2)));
        assert_eq!(interval(" 600 "), Ok(Duration::from_secs(600)));
        for bad in ["0", "-5", "1.5", "vijf", "", "86401"] {
            assert!(interval(bad).is_err(), "{bad}");
        }
    }
}
