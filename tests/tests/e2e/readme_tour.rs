//! The README's tour, run as written: every shell line of the code blocks under "A short tour"
//! (and its subsections) runs in order through `bash` against the real binaries, in a
//! temporary folder that looks like the repository root, with a relay of its own on port 0.
//! Editing the README changes this test; a line that fails fails the test with its output.
//!
//! `ID`, `CODE` and `ORG` in a line are replaced by the id the last `doc new` or `flow start`
//! printed, the code the last `workspace invite` printed, and the name of the organisation
//! initialised last. The few lines that cannot run as one-off commands are listed in
//! [`SPECIAL`], each with what the test does instead and why.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kompas_tests::relay::RelayProcess;
use kompas_tests::{binary, workspace_root};

/// How a line that cannot run as a one-off command is handled.
enum Handling {
    /// Not run; the reason says why and where it is tested instead.
    Skip(&'static str),
    /// The relay: started once before the tour on 127.0.0.1 port 0; the address the line
    /// gives is replaced by the real one in every other line.
    Relay,
    /// Run, and it must exit with this code (the README says it is refused).
    Refused(i32),
}

/// Lines (by how they start) that are not run as plain one-off commands.
const SPECIAL: &[(&str, Handling)] = &[
    (
        "alias kompas=",
        Handling::Skip("the test puts the built `kompas` on PATH instead of `cargo run`"),
    ),
    ("kompas-relay ", Handling::Relay),
    (
        "kompas sync --watch",
        Handling::Skip("stays connected until stopped; sync_replicas tests it"),
    ),
    (
        "kompas workflow watch",
        Handling::Skip("runs until Ctrl-C; the watcher has tests of its own"),
    ),
    (
        "kompas serve",
        Handling::Skip("a web server that runs until stopped; tested by its own tests"),
    ),
    (
        "kompas flow advance",
        Handling::Refused(6), // The README says so: fields and approvals are missing.
    ),
];

/// How long one line may take before the test fails it.
const LINE_LIMIT: Duration = Duration::from_secs(180);

/// The shell lines of the tour, continuation lines joined, in order.
fn tour_lines(readme: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_tour = false;
    let mut in_block = false;
    let mut pending = String::new();
    for line in readme.lines() {
        if line.starts_with("## ") {
            in_tour = line.trim() == "## A short tour";
            continue;
        }
        if !in_tour {
            continue;
        }
        if line.starts_with("```") {
            in_block = !in_block && line.trim() == "```sh";
            continue;
        }
        if !in_block {
            continue;
        }
        let trimmed = line.trim();
        if let Some(start) = trimmed.strip_suffix('\\') {
            pending.push_str(start);
            continue;
        }
        pending.push_str(trimmed);
        let full = std::mem::take(&mut pending);
        if !full.is_empty() && !full.starts_with('#') {
            lines.push(full);
        }
    }
    lines
}

fn special(line: &str) -> Option<&'static Handling> {
    SPECIAL
        .iter()
        .find(|(start, _)| line.starts_with(start))
        .map(|(_, h)| h)
}

/// Replaces the placeholder words of a line.
fn substitute(line: &str, words: &[(&str, &str)]) -> String {
    line.split(' ')
        .map(|w| {
            words
                .iter()
                .find(|(name, _)| *name == w)
                .map_or(w.to_string(), |(_, value)| value.to_string())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The value of `--listen` in the relay line.
fn listen_address(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    words.find(|w| *w == "--listen")?;
    words.next().map(str::to_string)
}

/// The name after `--org` in an init line, without its quotes.
fn org_name(line: &str) -> Option<String> {
    let rest = line.split("--org ").nth(1)?;
    let rest = rest.strip_prefix('"')?;
    rest.split('"').next().map(str::to_string)
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs one line through bash in `cwd`, with the binaries first on PATH, within the limit.
fn run_line(line: &str, cwd: &Path, path: &str, home: &Path) -> Outcome {
    let mut child = Command::new("bash")
        .args(["-c", line])
        .current_dir(cwd)
        .env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("bash is needed to run the README tour: {e}"));
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > LINE_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "README tour line ran longer than {LINE_LIMIT:?}; if it runs until stopped, add it to SPECIAL: {line}"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A word of 12 lowercase letters and digits at the start of the output: a document id.
fn printed_id(stdout: &str) -> Option<String> {
    let word = stdout.split_whitespace().next()?;
    (word.len() == 12
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
    .then(|| word.to_string())
}

#[test]
fn the_readme_tour_runs_as_written() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let lines = tour_lines(&readme);
    assert!(
        lines.iter().any(|l| l.starts_with("kompas init")),
        "no tour found in the README: {lines:?}"
    );

    // A folder that looks like the repository root, with the files the tour names.
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("kompas");
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    for dir in ["workflows", "docs", "cli"] {
        std::os::unix::fs::symlink(workspace_root().join(dir), repo.join(dir)).unwrap();
    }
    for name in ["kompas", "kompas-relay"] {
        std::os::unix::fs::symlink(binary(name), bin.join(name)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut relay = None;
    let mut address_in_readme = None;
    if let Some(line) = lines.iter().find(|l| l.starts_with("kompas-relay ")) {
        address_in_readme = listen_address(line);
        relay = Some(RelayProcess::start(&tmp.path().join("relay-data"), &[]));
    }

    let mut id = String::from("ID");
    let mut code = String::from("CODE");
    let mut org = String::from("ORG");
    let mut skipped = Vec::new();
    for line in &lines {
        let expected = match special(line) {
            Some(Handling::Skip(why)) => {
                skipped.push(format!("{line}  ({why})"));
                continue;
            }
            Some(Handling::Relay) => continue,
            Some(Handling::Refused(code)) => *code,
            None => 0,
        };
        let mut command = substitute(line, &[("ID", &id), ("CODE", &code), ("ORG", &org)]);
        if let (Some(relay), Some(address)) = (&relay, &address_in_readme) {
            command = command.replace(&format!("ws://{address}"), &relay.url());
        }
        let out = run_line(&command, &repo, &path, tmp.path());
        assert_eq!(
            out.code, expected,
            "README tour line failed (exit {}, expected {expected}):\n  {command}\n--- stdout\n{}--- stderr\n{}",
            out.code, out.stdout, out.stderr
        );
        assert!(
            !out.stderr.contains("panicked"),
            "README tour line panicked:\n  {command}\n{}",
            out.stderr
        );
        if line.contains(" doc new ") || line.contains(" flow start ") {
            id = printed_id(&out.stdout)
                .unwrap_or_else(|| panic!("{command} printed no id:\n{}", out.stdout));
        }
        if line.contains(" workspace invite") {
            code = out.stdout.trim().to_string();
            assert!(
                code.starts_with("kompas1-") && !code.contains('\n'),
                "`workspace invite` must print the code alone on stdout:\n{}",
                out.stdout
            );
        }
        if line.contains(" init ")
            && let Some(name) = org_name(line)
        {
            org = format!("\"{name}\"");
        }
    }
    eprintln!(
        "README tour: {} lines run; not run:",
        lines.len() - skipped.len()
    );
    for s in &skipped {
        eprintln!("  {s}");
    }
    // What the tour promises, checked at its end.
    assert!(repo.join("ambitie.automerge").is_file());
    assert!(repo.join("jeugdhulp.svg").is_file());
}
