//! A running `kompas serve` for the end-to-end tests and the page benchmark: started on a free
//! port, its login link read from its output, and stopped with SIGTERM. [`Serve::stop`] checks
//! that it ends within [`STOP_PATIENCE`] with exit code 0; a server dropped without it is
//! stopped the same way, and one that does not end makes the test fail.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::Kompas;
use crate::lines::Lines;

/// How long a server may take to end after SIGTERM.
pub const STOP_PATIENCE: Duration = Duration::from_secs(10);

/// A running `kompas serve` and the login link it printed.
pub struct Serve {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The one-time login link.
    pub login: String,
    /// The server's standard error, when it was started with [`Serve::start_watched`].
    stderr: Option<Lines>,
}

impl Serve {
    /// Starts `kompas serve --port 0` on `k`'s data directory.
    pub fn start(k: &Kompas) -> Serve {
        Serve::start_with_env(k, &[])
    }

    /// Starts `kompas serve --port 0` on `k`'s data directory with more environment variables.
    pub fn start_with_env(k: &Kompas, env: &[(&str, &str)]) -> Serve {
        Serve::spawn(k, &["serve", "--port", "0"], env, false)
    }

    /// Starts `kompas -v serve --port 0` and keeps its standard error for [`Serve::stderr`]
    /// (every line is also passed on to the test's own standard error).
    pub fn start_watched(k: &Kompas) -> Serve {
        Serve::spawn(k, &["-v", "serve", "--port", "0"], &[], true)
    }

    fn spawn(k: &Kompas, args: &[&str], env: &[(&str, &str)], watched: bool) -> Serve {
        let mut child = k
            .command(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(if watched {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .expect("kompas serve starts");
        let stderr = child
            .stderr
            .take()
            .map(|stderr| Lines::read(stderr, "kompas serve"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let login = loop {
            let line = lines
                .next()
                .expect("kompas serve prints its login link")
                .expect("readable output");
            if let Some(at) = line.find("http://127.0.0.1:")
                && line[at..].contains("/login?token=")
            {
                break line[at..].trim().to_string();
            }
        };
        // Keep reading so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let base = login[..login.find("/login").expect("a login path")].to_string();
        Serve {
            child: Some(child),
            base,
            login,
            stderr,
        }
    }

    /// The server's standard error, line by line (only for [`Serve::start_watched`]).
    pub fn stderr(&self) -> &Lines {
        self.stderr
            .as_ref()
            .expect("a server started with Serve::start_watched")
    }

    /// Sends SIGTERM and waits for the end. Panics (failing the test) when the server is still
    /// running after [`STOP_PATIENCE`] (it is then killed) or ends with another code than 0.
    pub fn stop(mut self) -> Duration {
        let (took, status) = self.end();
        match status {
            Some(status) => {
                assert_eq!(
                    status.code(),
                    Some(0),
                    "kompas serve ended with {status} after SIGTERM"
                );
                took
            }
            None => panic!(
                "kompas serve did not end within {STOP_PATIENCE:?} of SIGTERM (it was killed)"
            ),
        }
    }

    /// The resident memory of the server now and at its peak, in KiB (VmRSS, VmHWM).
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("the server's /proc status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .expect("a memory figure in /proc status")
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or_default()
    }

    /// Sends SIGTERM and waits up to [`STOP_PATIENCE`]: how long it took and how the server
    /// ended, or `None` when it had to be killed.
    fn end(&mut self) -> (Duration, Option<ExitStatus>) {
        let Some(mut child) = self.child.take() else {
            return (Duration::ZERO, None);
        };
        let sent = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        while sent.elapsed() < STOP_PATIENCE {
            if let Ok(Some(status)) = child.try_wait() {
                return (sent.elapsed(), Some(status));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        (sent.elapsed(), None)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.child.is_none() {
            return;
        }
        let (_, status) = self.end();
        // A test that is failing already keeps its own message.
        if status.is_none() && !std::thread::panicking() {
            panic!("kompas serve did not end within {STOP_PATIENCE:?} of SIGTERM (it was killed)");
        }
    }
}
