//! The reminder rounds of `kompas serve`: one right after the start and then every five
//! minutes, on a thread of their own, on the opened data directory the server shares with its
//! sync. Without `herinneringen.toml` a round does nothing, so adding the file later is enough.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::config::{self, ConfigError};
use super::round;
use crate::context::now;
use crate::lending::Lending;

/// The time between two rounds.
pub const EVERY: Duration = Duration::from_secs(300);
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
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::Builder::new()
        .name("kompas-herinneringen".into())
        .spawn(move || {
            let mut last_problem = String::new();
            while !stopped.load(Ordering::SeqCst) {
                if let Some(opened) = lending.get(PATIENCE) {
                    let problem = match config::load(opened.dir.root()) {
                        Err(ConfigError::Missing(_)) => String::new(),
                        Err(e) => e.to_string(),
                        Ok(config) => match round::run(&opened, &config, now(), false) {
                            Ok(outcome) => {
                                if !outcome.sent.is_empty() {
                                    eprintln!(
                                        "kompas serve: {} herinneringsmail(s) verstuurd",
                                        outcome.sent.len()
                                    );
                                }
                                outcome
                                    .later
                                    .iter()
                                    .chain(&outcome.refused)
                                    .filter_map(|s| s.error.clone())
                                    .next()
                                    .unwrap_or_default()
                            }
                            Err(e) => format!("{e:#}"),
                        },
                    };
                    // The same problem is told once, not every round.
                    if !problem.is_empty() && problem != last_problem {
                        eprintln!("kompas serve: herinneringen: {problem}");
                    }
                    last_problem = problem;
                }
                let until = Instant::now() + EVERY;
                while Instant::now() < until && !stopped.load(Ordering::SeqCst) {
                    std::thread::sleep(TICK);
                }
            }
        })?;
    Ok(Schedule { stop })
}

impl Drop for Schedule {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
