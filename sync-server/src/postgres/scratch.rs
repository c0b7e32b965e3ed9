//! A throwaway PostgreSQL server in a temporary directory, on a free port of 127.0.0.1: for the
//! store's tests, the end-to-end tests, the benchmark and load runs. It uses the machine's own
//! PostgreSQL programs (`initdb`, `pg_ctl`; Debian's `postgresql` package), run as the
//! `postgres` user when the caller is root, since PostgreSQL refuses to run as root. The
//! server stops, and its directory is removed, when the value is dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running scratch server.
pub struct ScratchPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// The port it listens on.
    pub port: u16,
    run_as: Option<String>,
}

/// Why a scratch server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    /// The PostgreSQL programs are not installed.
    #[error(
        "PostgreSQL is not installed (no initdb on the PATH nor under /usr/lib/postgresql): \
         apt-get install -y --no-install-recommends postgresql"
    )]
    NotInstalled,
    /// A program failed.
    #[error("{program} failed: {output}")]
    Failed {
        /// Which program.
        program: &'static str,
        /// What it printed.
        output: String,
    },
    /// Input or output failed.
    #[error("scratch PostgreSQL: {0}")]
    Io(#[from] std::io::Error),
}

/// The directory holding `initdb` and `pg_ctl`.
fn binaries() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    });
    if on_path.is_some() {
        return on_path;
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    // The owner of this process's own /proc entry is its effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    })
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl ScratchPostgres {
    /// Creates a cluster in a new temporary directory and starts it.
    pub fn start() -> Result<ScratchPostgres, ScratchError> {
        let bin = binaries().ok_or(ScratchError::NotInstalled)?;
        let dir = tempfile::Builder::new().prefix("kompas-pg-").tempdir()?;
        let run_as = is_root().then(|| "postgres".to_string());
        if let Some(user) = &run_as {
            chown(dir.path(), user)?;
        }
        let port = free_port()?;
        let server = ScratchPostgres {
            dir,
            bin,
            port,
            run_as,
        };
        let data = server.data();
        server.run(
            "initdb",
            &[
                "-D",
                path_str(&data),
                "-U",
                "kompas",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        server.pg_ctl_start()?;
        Ok(server)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The connection string for the `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://kompas@127.0.0.1:{}/postgres", self.port)
    }

    /// Creates database `name` (letters, digits and `_`) and returns its connection string.
    pub async fn database(&self, name: &str) -> Result<String, ScratchError> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ScratchError::Failed {
                program: "CREATE DATABASE",
                output: format!("{name:?} is no plain database name"),
            });
        }
        self.on_postgres("CREATE DATABASE", |client| async move {
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
        })
        .await?;
        Ok(format!("postgres://kompas@127.0.0.1:{}/{name}", self.port))
    }

    /// The number the query `sql` returns in its first row and column (a `bigint`), asked of
    /// the `postgres` database.
    pub async fn number(&self, sql: &str) -> Result<i64, ScratchError> {
        self.on_postgres("a query", |client| async move {
            client.query_one(sql, &[]).await?.try_get::<_, i64>(0)
        })
        .await
    }

    /// Runs `work` on a connection of its own to the `postgres` database; `program` names it
    /// in an error.
    async fn on_postgres<T, F>(
        &self,
        program: &'static str,
        work: impl FnOnce(tokio_postgres::Client) -> F,
    ) -> Result<T, ScratchError>
    where
        F: std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let failed = |e: tokio_postgres::Error| ScratchError::Failed {
            program,
            output: e.to_string(),
        };
        let (client, connection) = tokio_postgres::connect(&self.url(), tokio_postgres::NoTls)
            .await
            .map_err(failed)?;
        let driver = tokio::spawn(connection);
        let outcome = work(client).await.map_err(failed);
        let _ = driver.await;
        outcome
    }

    /// What the server logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Stops the server (fast shutdown: open connections are ended).
    pub fn stop(&self) -> Result<(), ScratchError> {
        let data = self.data();
        self.run(
            "pg_ctl",
            &["-D", path_str(&data), "-m", "fast", "-w", "stop"],
        )
    }

    /// Starts a stopped server again, on the same port.
    pub fn restart(&self) -> Result<(), ScratchError> {
        self.pg_ctl_start()
    }

    /// Turns TLS on with the certificate and key in the PEM files `cert` and `key` (clients
    /// may then ask for it; those that do not still connect without), restarting the server.
    pub fn enable_tls(&self, cert: &Path, key: &Path) -> Result<(), ScratchError> {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let data = self.data();
        for (from, name) in [(cert, "server.crt"), (key, "server.key")] {
            let to = data.join(name);
            std::fs::copy(from, &to)?;
            // PostgreSQL refuses a key that others may read.
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))?;
            if let Some(user) = &self.run_as {
                chown(&to, user)?;
            }
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))?
            .write_all(
                b"\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n",
            )?;
        self.stop()?;
        self.pg_ctl_start()
    }

    /// Starts the server on its port, logging to `server.log`, and waits until it accepts.
    fn pg_ctl_start(&self) -> Result<(), ScratchError> {
        let data = self.data();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories='' \
             -c max_connections=200 -c fsync=on",
            self.port
        );
        let log = self.dir.path().join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data),
                "-l",
                path_str(&log),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
    }

    fn run(&self, program: &'static str, args: &[&str]) -> Result<(), ScratchError> {
        let exe = self.bin.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let output = command.args(args).current_dir(self.dir.path()).output()?;
        if output.status.success() {
            return Ok(());
        }
        Err(ScratchError::Failed {
            program,
            output: format!(
                "{}{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                self.log()
            ),
        })
    }
}

impl Drop for ScratchPostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.run(
            "pg_ctl",
            &["-D", path_str(&data), "-m", "immediate", "-w", "stop"],
        );
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

fn chown(path: &Path, user: &str) -> Result<(), ScratchError> {
    let output = Command::new("chown").arg(user).arg(path).output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ScratchError::Failed {
            program: "chown",
            output: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}
