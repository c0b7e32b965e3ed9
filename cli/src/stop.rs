//! The one stop of a process: Ctrl-C or a service manager's SIGTERM, caught from the first time
//! a command asks for it until the process ends, and kept once it happened.
//!
//! A tokio `Signal` only hears signals that arrive while it exists, and only a runtime that is
//! being driven delivers them. A long-running command (a watching sync, the web app with its
//! sync thread) makes runtimes, rounds and reopened data directories one after the other, and
//! spends moments outside any of them; a listener per round misses a signal that arrives in
//! between, and the process keeps running. So the signals are caught once per process, on a
//! thread of their own that does nothing else, and turned into a flag that stays raised: every
//! round, every reopened directory and every samenwerking watcher asks the same [`Stop`], and a
//! signal that came while nobody was waiting is seen by the next one who asks.

use std::sync::{Arc, OnceLock};

use tokio::sync::watch;

/// A stop that is raised once and stays raised; clones share it.
#[derive(Clone, Debug)]
pub struct Stop {
    raised: Arc<watch::Sender<bool>>,
}

impl Default for Stop {
    /// A stop nobody has raised yet, raised only by [`Stop::raise`].
    fn default() -> Stop {
        Stop {
            raised: Arc::new(watch::Sender::new(false)),
        }
    }
}

impl Stop {
    /// The stop of this process, raised by Ctrl-C or SIGTERM from the moment the first caller
    /// got it on. The signals are caught (and no longer end the process at once) from then on.
    pub fn process() -> std::io::Result<Stop> {
        static PROCESS: OnceLock<Result<Stop, String>> = OnceLock::new();
        PROCESS
            .get_or_init(|| catch_signals().map_err(|e| e.to_string()))
            .clone()
            .map_err(std::io::Error::other)
    }

    /// Raises the stop: everyone waiting wakes, and everyone who asks later hears it.
    pub fn raise(&self) {
        self.raised.send_replace(true);
    }

    /// Whether the stop was raised.
    pub fn is_raised(&self) -> bool {
        *self.raised.borrow()
    }

    /// Waits until the stop is raised; at once when it already was.
    pub async fn raised(&self) {
        let mut seen = self.raised.subscribe();
        // The sender lives in `self`, so waiting can only end by the stop being raised.
        let _ = seen.wait_for(|raised| *raised).await;
    }
}

/// Starts the thread that catches the signals, and returns once they are caught.
fn catch_signals() -> std::io::Result<Stop> {
    let stop = Stop::default();
    let raise = stop.clone();
    let (ready, listening) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("kompas-stop".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            };
            runtime.block_on(async {
                match Signals::new() {
                    Ok(mut signals) => {
                        let _ = ready.send(Ok(()));
                        signals.wait().await;
                        raise.raise();
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            });
        })?;
    listening
        .recv()
        .map_err(|_| std::io::Error::other("de signaalafhandeling startte niet"))??;
    Ok(stop)
}

/// Ctrl-C and SIGTERM, caught from the moment this is made (inside a tokio runtime) on.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    async fn wait(&mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stop_raised_before_anyone_waits_is_still_heard() {
        let stop = Stop::default();
        assert!(!stop.is_raised());
        stop.clone().raise();
        assert!(stop.is_raised());
        // Raised while nobody waited: a waiter that comes later returns at once.
        tokio::time::timeout(std::time::Duration::from_secs(5), stop.raised())
            .await
            .expect("the raised stop is heard");
    }

    #[test]
    fn a_waiter_in_another_runtime_wakes_when_the_stop_is_raised() {
        let stop = Stop::default();
        let waiting = stop.clone();
        let waiter = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(async {
                    tokio::time::timeout(std::time::Duration::from_secs(10), waiting.raised())
                        .await
                        .is_ok()
                })
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        stop.raise();
        assert!(
            waiter.join().expect("the waiter ends"),
            "woken by the raise"
        );
    }
}
