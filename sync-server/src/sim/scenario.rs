//! Written scenarios for the simulation: a short script of partitions, edits, restarts, healing
//! and expectations, run step by step, beside the random sweep of `tests.rs`.
//!
//! One command per line; `#` starts a comment. The first command is `world REPLICAS RELAYS
//! [seed N]`. Then, in any order:
//!
//! - `faults on|off`: duplicate and reorder messages, or not;
//! - `cut I R` / `mend I R`: break or restore the line between replica I and relay R;
//! - `edit I [N]`: replica I edits N times (once if not given);
//! - `deliver [N]`: deliver N messages in flight (all of them if not given);
//! - `advance MS`: let the clock run MS milliseconds;
//! - `restart replica I` / `restart relay R`;
//! - `remove I J`: coordinator I removes organisation J;
//! - `heal`: no more cuts or faults, run until nothing moves;
//! - `expect converged`: every replica holds the same documents and heads, nothing queued, no
//!   refusals;
//! - `expect same I J` / `expect different I J`: replicas I and J hold (or do not hold) the same
//!   documents at the same heads;
//! - `expect queued I > 0` / `expect queued I = N`; `expect documents I = N`;
//!   `expect fewer-documents I J`: replica I holds fewer documents than replica J.
//!
//! A script error or a failed expectation names the file and the line.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::world::World;

/// One step of a script, with the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Faults(bool),
    Cut(usize, usize),
    Mend(usize, usize),
    Edit(usize, usize),
    Deliver(Option<usize>),
    Advance(i64),
    RestartReplica(usize),
    RestartRelay(usize),
    Remove(usize, usize),
    Heal,
    Expect(Expectation),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expectation {
    Converged,
    Same(usize, usize),
    Different(usize, usize),
    QueuedSome(usize),
    Queued(usize, usize),
    Documents(usize, usize),
    FewerDocuments(usize, usize),
}

/// A parsed script: the world to build and its steps.
#[derive(Debug)]
pub(super) struct Scenario {
    replicas: usize,
    relays: usize,
    seed: u64,
    steps: Vec<(usize, Step)>,
}

/// A script that cannot be read, or an expectation that did not hold.
#[derive(Debug)]
pub(super) struct ScenarioError {
    line: usize,
    message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn error(line: usize, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        line,
        message: message.into(),
    }
}

fn number<T: std::str::FromStr>(
    line: usize,
    word: Option<&str>,
    what: &str,
) -> Result<T, ScenarioError> {
    let word = word.ok_or_else(|| error(line, format!("{what} is missing")))?;
    word.parse()
        .map_err(|_| error(line, format!("{what} must be a number, not {word:?}")))
}

fn end(line: usize, mut words: std::str::SplitWhitespace<'_>) -> Result<(), ScenarioError> {
    match words.next() {
        None => Ok(()),
        Some(extra) => Err(error(line, format!("unexpected {extra:?} at the end"))),
    }
}

impl Scenario {
    pub(super) fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        let mut world = None;
        let mut steps = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.split('#').next().unwrap_or_default();
            let mut words = content.split_whitespace();
            let Some(command) = words.next() else {
                continue;
            };
            if command == "world" {
                if world.is_some() {
                    return Err(error(line, "a script has one `world`"));
                }
                let replicas: usize = number(line, words.next(), "the number of replicas")?;
                let relays: usize = number(line, words.next(), "the number of relays")?;
                let seed = match words.next() {
                    None => 0,
                    Some("seed") => number(line, words.next(), "the seed")?,
                    Some(other) => {
                        return Err(error(line, format!("expected `seed`, not {other:?}")));
                    }
                };
                end(line, words)?;
                if replicas < 2 || relays < 1 {
                    return Err(error(line, "a world needs at least 2 replicas and 1 relay"));
                }
                world = Some((replicas, relays, seed));
                continue;
            }
            let Some((replicas, relays, _)) = world else {
                return Err(error(
                    line,
                    "the script must start with `world REPLICAS RELAYS`",
                ));
            };
            let replica = |word: Option<&str>| -> Result<usize, ScenarioError> {
                let i: usize = number(line, word, "the replica")?;
                if i >= replicas {
                    return Err(error(
                        line,
                        format!("there is no replica {i} (0 to {})", replicas - 1),
                    ));
                }
                Ok(i)
            };
            let relay = |word: Option<&str>| -> Result<usize, ScenarioError> {
                let r: usize = number(line, word, "the relay")?;
                if r >= relays {
                    return Err(error(
                        line,
                        format!("there is no relay {r} (0 to {})", relays - 1),
                    ));
                }
                Ok(r)
            };
            let step = match command {
                "faults" => match words.next() {
                    Some("on") => Step::Faults(true),
                    Some("off") => Step::Faults(false),
                    _ => return Err(error(line, "`faults` takes `on` or `off`")),
                },
                "cut" => Step::Cut(replica(words.next())?, relay(words.next())?),
                "mend" => Step::Mend(replica(words.next())?, relay(words.next())?),
                "edit" => {
                    let i = replica(words.next())?;
                    let times = match words.next() {
                        None => 1,
                        some => number(line, some, "the number of edits")?,
                    };
                    Step::Edit(i, times)
                }
                "deliver" => match words.next() {
                    None => Step::Deliver(None),
                    some => Step::Deliver(Some(number(line, some, "the number of messages")?)),
                },
                "advance" => Step::Advance(number(line, words.next(), "the milliseconds")?),
                "restart" => match words.next() {
                    Some("replica") => Step::RestartReplica(replica(words.next())?),
                    Some("relay") => Step::RestartRelay(relay(words.next())?),
                    _ => return Err(error(line, "`restart` takes `replica I` or `relay R`")),
                },
                "remove" => Step::Remove(replica(words.next())?, replica(words.next())?),
                "heal" => Step::Heal,
                "expect" => Step::Expect(match words.next() {
                    Some("converged") => Expectation::Converged,
                    Some("queued") => {
                        let i = replica(words.next())?;
                        match words.next() {
                            Some(">") if words.clone().next() == Some("0") => {
                                words.next();
                                Expectation::QueuedSome(i)
                            }
                            Some("=") => {
                                Expectation::Queued(i, number(line, words.next(), "the count")?)
                            }
                            _ => {
                                return Err(error(
                                    line,
                                    "write `expect queued I > 0` or `expect queued I = N`",
                                ));
                            }
                        }
                    }
                    Some("documents") => {
                        let i = replica(words.next())?;
                        if words.next() != Some("=") {
                            return Err(error(line, "write `expect documents I = N`"));
                        }
                        Expectation::Documents(i, number(line, words.next(), "the count")?)
                    }
                    Some("same") => {
                        Expectation::Same(replica(words.next())?, replica(words.next())?)
                    }
                    Some("different") => {
                        Expectation::Different(replica(words.next())?, replica(words.next())?)
                    }
                    Some("fewer-documents") => {
                        Expectation::FewerDocuments(replica(words.next())?, replica(words.next())?)
                    }
                    _ => return Err(error(line, "unknown expectation")),
                }),
                other => return Err(error(line, format!("unknown command {other:?}"))),
            };
            end(line, words)?;
            steps.push((line, step));
        }
        let (replicas, relays, seed) =
            world.ok_or_else(|| error(1, "the script has no `world`"))?;
        Ok(Scenario {
            replicas,
            relays,
            seed,
            steps,
        })
    }

    /// Runs every step; the first expectation that fails ends the run.
    pub(super) fn run(&self) -> Result<World, ScenarioError> {
        let mut w = World::new(self.seed, self.replicas, self.relays);
        for (line, step) in &self.steps {
            match step {
                Step::Faults(on) => w.faults = *on,
                Step::Cut(i, r) => {
                    if !w.is_cut(*i, *r) {
                        w.toggle_partition(*i, *r);
                    }
                }
                Step::Mend(i, r) => {
                    if w.is_cut(*i, *r) {
                        w.toggle_partition(*i, *r);
                    }
                }
                Step::Edit(i, times) => {
                    for _ in 0..*times {
                        w.edit(*i);
                    }
                }
                Step::Deliver(count) => match count {
                    Some(n) => {
                        for _ in 0..*n {
                            w.deliver_one();
                        }
                    }
                    None => while w.deliver_one() {},
                },
                Step::Advance(ms) => w.advance(*ms),
                Step::RestartReplica(i) => w.restart_replica(*i),
                Step::RestartRelay(r) => w.restart_relay(*r),
                Step::Remove(i, j) => w.remove(*i, *j),
                Step::Heal => w.heal_and_settle(),
                Step::Expect(expectation) => {
                    check(&w, expectation).map_err(|message| error(*line, message))?;
                }
            }
        }
        Ok(w)
    }
}

fn check(w: &World, expectation: &Expectation) -> Result<(), String> {
    let documents = |i: usize| w.snapshot(i).len();
    match *expectation {
        Expectation::Converged => {
            catch_unwind(AssertUnwindSafe(|| super::tests::assert_converged(0, w))).map_err(
                |panic| {
                    panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                        .unwrap_or_else(|| "the replicas did not converge".to_string())
                },
            )
        }
        Expectation::Same(i, j) if w.snapshot(i) != w.snapshot(j) => {
            Err(format!("replicas {i} and {j} hold different documents"))
        }
        Expectation::Different(i, j) if w.snapshot(i) == w.snapshot(j) => {
            Err(format!("replicas {i} and {j} hold the same documents"))
        }
        Expectation::QueuedSome(i) if w.queued(i) == 0 => {
            Err(format!("replica {i} has nothing queued"))
        }
        Expectation::Queued(i, n) if w.queued(i) != n => {
            Err(format!("replica {i} has {} queued, not {n}", w.queued(i)))
        }
        Expectation::Documents(i, n) if documents(i) != n => Err(format!(
            "replica {i} holds {} documents, not {n}",
            documents(i)
        )),
        Expectation::FewerDocuments(i, j) if documents(i) >= documents(j) => Err(format!(
            "replica {i} holds {} documents and replica {j} {}",
            documents(i),
            documents(j)
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_written_scenario_holds() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sim/scenarios");
        let mut files: Vec<_> = std::fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
            .map(|entry| entry.expect("entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "sim"))
            .collect();
        files.sort();
        assert!(
            files.len() >= 3,
            "expected the written scenarios in {}",
            folder.display()
        );
        for file in files {
            let text = std::fs::read_to_string(&file).expect("scenario");
            let name = file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let scenario = Scenario::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                scenario
                    .steps
                    .iter()
                    .any(|(_, s)| matches!(s, Step::Expect(_))),
                "{name} expects nothing"
            );
            if let Err(e) = scenario.run() {
                panic!("{name}: {e}");
            }
        }
    }

    #[test]
    fn a_failed_expectation_names_its_line() {
        let script = "world 2 1\nedit 0\n# nothing is delivered\nexpect documents 1 = 1\n";
        let e = Scenario::parse(script)
            .expect("parses")
            .run()
            .err()
            .expect("fails");
        assert_eq!(e.line, 4);
        assert!(e.message.contains("replica 1 holds 0 documents"), "{e}");
    }

    #[test]
    fn script_errors_name_their_line() {
        let cases = [
            ("edit 0\n", 1, "must start with `world"),
            ("world 2 1\n\nedit 5\n", 3, "no replica 5"),
            ("world 2 1\ncut 0 1\n", 2, "no relay 1"),
            ("world 2 1\nfly 0\n", 2, "unknown command"),
            ("world 2 1\nheal now\n", 2, "unexpected \"now\""),
            ("world 2 1\nexpect queued 0 > 3\n", 2, "expect queued I > 0"),
            ("world 2 1\nadvance soon\n", 2, "must be a number"),
        ];
        for (script, line, words) in cases {
            let e = Scenario::parse(script).expect_err(script);
            assert_eq!(e.line, line, "{script:?}: {e}");
            assert!(e.message.contains(words), "{script:?}: {e}");
        }
    }
}
