//! A running `kompas serve` for the browser test and the page benchmark: started on a free
//! port, its login link read from its output, stopped with SIGTERM when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::Kompas;

/// A running `kompas serve` and the login link it printed.
pub struct Serve {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The one-time login link.
    pub login: String,
}

impl Serve {
    /// Starts `kompas serve --port 0` on `k`'s data directory.
    pub fn start(k: &Kompas) -> Serve {
        Serve::start_with_env(k, &[])
    }

    /// Starts `kompas serve --port 0` on `k`'s data directory with more environment variables.
    pub fn start_with_env(k: &Kompas, env: &[(&str, &str)]) -> Serve {
        let mut child = k
            .command(&["serve", "--port", "0"])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("kompas serve starts");
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
        Serve { child, base, login }
    }

    /// The resident memory of the server now and at its peak, in KiB (VmRSS, VmHWM).
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
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
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        // A server that does not end within its grace time is killed, so that a test run never
        // hangs on it (a known case: after a definition arrived by sync, docs/serve.md).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        eprintln!("kompas serve did not stop within 30 s of SIGTERM; killed");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
