//! Helpers shared by the end-to-end tests: finding the real binaries and running them in a clean environment.

pub mod bomb;
pub mod lines;
pub mod raw_ws;
pub mod relay;
pub mod serve;
pub mod smtp;
pub mod tls;
pub mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The path of a program under test: `kompas`, `kompas-relay`, or one of this package's own
/// binaries (`crash-writer`, `max-rss`).
///
/// `kompas` and `kompas-relay` are this package's `e2e-kompas` and `e2e-kompas-relay` binaries,
/// which call the same entry points as the real ones; cargo builds a package's binaries before
/// its integration tests and benches run. Cargo tells where in `CARGO_BIN_EXE_<name>` while it
/// runs them; a test executable started by hand looks beside itself, where cargo put them.
pub fn binary(name: &str) -> PathBuf {
    let target = match name {
        "kompas" => "e2e-kompas",
        "kompas-relay" => "e2e-kompas-relay",
        own => own,
    };
    if let Some(path) = std::env::var_os(format!("CARGO_BIN_EXE_{target}")) {
        return path.into();
    }
    // Test executables live in `<target>/<profile>/deps/`, the binaries one level up.
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join(target)
}

/// Opens the data directory at `path` from a test, as its own process would.
///
/// A test process runs many tests on threads, and any of them may be starting a child process
/// at the moment another one closes a data directory: the child then holds a copy of the lock's
/// file descriptor from its fork until its exec closes it, and the lock stays taken for that
/// moment. This waits out such a moment (up to ten seconds) instead of failing with `InUse`;
/// any other error fails at once.
pub fn open_data_dir(path: &Path) -> kompas_engine::store::DataDir {
    use kompas_engine::store::{DataDir, DataDirError};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match DataDir::open(path) {
            Ok(dir) => return dir,
            Err(DataDirError::InUse(_)) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
}

/// A `kompas` binary bound to one data directory, run with a clean environment.
pub struct Kompas {
    data: PathBuf,
}

/// The outcome of one run, with its output decoded.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Kompas {
    /// An organisation's data directory `root/slug`, initialised with a name and a type.
    pub fn organisation(root: &Path, slug: &str, name: &str, org_type: &str) -> Kompas {
        let k = Kompas::new(root.join(slug));
        k.ok(&["init", "--org", name, "--type", org_type]);
        k
    }

    /// The titles of every document this organisation holds (`kompas doc list`), sorted.
    pub fn titles(&self) -> Vec<String> {
        self.titles_listed(&["doc", "list"])
    }

    /// The titles of every document this organisation holds in samenwerking `name`
    /// (`kompas --samenwerking NAME doc list`), sorted.
    pub fn titles_in(&self, name: &str) -> Vec<String> {
        self.titles_listed(&["--samenwerking", name, "doc", "list"])
    }

    fn titles_listed(&self, list: &[&str]) -> Vec<String> {
        let docs = self.json(list);
        let mut titles: Vec<String> = docs
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["fields"]["titel"].as_str().map(str::to_string))
            .collect();
        titles.sort();
        titles
    }

    /// A fresh invite code from this coordinator (`kompas workspace invite`).
    pub fn invite(&self) -> String {
        let out = self.json(&["workspace", "invite"]);
        match out["code"].as_str() {
            Some(code) => code.to_string(),
            None => panic!("workspace invite printed no code: {out}"),
        }
    }

    /// A runner for the data directory `data` (which need not exist yet).
    pub fn new(data: impl Into<PathBuf>) -> Kompas {
        Kompas { data: data.into() }
    }

    /// The data directory.
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// A command for `kompas ARGS` with `--data` set, in a clean environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(binary("kompas"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .arg("--data")
            .arg(&self.data)
            .args(args);
        if let Some(parent) = self.data.parent() {
            cmd.current_dir(parent);
        }
        cmd
    }

    /// Runs `kompas ARGS` and returns what happened.
    pub fn run(&self, args: &[&str]) -> Run {
        match self.command(args).output() {
            Ok(o) => o.into(),
            Err(e) => panic!("cannot start kompas: {e}"),
        }
    }

    /// Runs `kompas ARGS`, insists it succeeds, and returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(
            run.code, 0,
            "kompas {args:?} failed:\n{}{}",
            run.stdout, run.stderr
        );
        run.stdout
    }

    /// Runs `kompas --json ARGS`, insists it succeeds, and parses the JSON it prints.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("kompas {args:?} printed no JSON ({e}):\n{out}"))
    }

    /// Runs `kompas ARGS`, insists it fails with exit code `code`, and returns standard error.
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(
            run.code, code,
            "kompas {args:?} should exit {code}:\n{}{}",
            run.stdout, run.stderr
        );
        assert!(
            !run.stderr.contains("panicked"),
            "kompas {args:?} panicked:\n{}",
            run.stderr
        );
        run.stderr
    }
}

/// Syncs `orgs` in turn until `done` holds for each, or fails after 90 seconds saying `what`.
pub fn sync_until(orgs: &[&Kompas], what: &str, done: impl Fn(&Kompas) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        for k in orgs {
            k.ok(&["sync"]);
        }
        if orgs.iter().all(|k| done(k)) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never happened: {what}"
        );
    }
}
