//! Helpers for relay tests: a real `kompas-relay` process, an in-process relay, organisations
//! with keys, and the membership operations and sealed bundles they send.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use ed25519_dalek::SigningKey;
use kompas_engine::Timestamp;
use kompas_engine::identity::OrgType;
use kompas_engine::sync::membership::{InviteToken, MemberProfile, OpBody, Role, SignedOp};
use kompas_engine::sync::wire::{
    DocRef, ErrorCode, Hash32, KxKey, NONCE_LEN, OrgKey, SealedBundle, WorkspaceId,
};
use kompas_relay::client::{ClientError, RelayClient, Welcome};
use kompas_relay::{RelayConfig, RelayState};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::binary;

/// A `kompas-relay` process on 127.0.0.1 with an OS-chosen port. Killed when dropped.
pub struct RelayProcess {
    child: Child,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its own key (hex), as it prints it on start.
    pub key: String,
    /// Held so the relay's standard output stays open while it runs.
    _stdout: BufReader<ChildStdout>,
}

impl RelayProcess {
    /// Starts a relay on `data` with extra arguments, and waits until it prints its address.
    pub fn start(data: &Path, extra: &[&str]) -> RelayProcess {
        RelayProcess::launch(data, extra, &Launch::default())
    }

    /// Starts a relay as `launch` says.
    pub fn launch(data: &Path, extra: &[&str], launch: &Launch) -> RelayProcess {
        let relay = binary("kompas-relay");
        let mut command = match launch.file_limit {
            // The shell lowers its own soft limit and becomes the relay, keeping the pid.
            Some(limit) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(relay);
                c
            }
            None => Command::new(relay),
        };
        let stderr = match &launch.stderr {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("log file")),
            None => Stdio::inherit(),
        };
        command.env_clear().args(["--listen", "127.0.0.1:0"]);
        match &launch.store {
            Some(url) => command.args(["--store", url]),
            None => command.arg("--data").arg(data),
        };
        let mut child = command
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start kompas-relay: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("relay prints its address");
        let addr = line
            .trim()
            .strip_prefix("kompas-relay luistert op ")
            .unwrap_or_else(|| panic!("unexpected first line from the relay: {line:?}"))
            .parse()
            .expect("a socket address");
        let mut line = String::new();
        stdout.read_line(&mut line).expect("relay prints its key");
        let key = line
            .trim()
            .strip_prefix("relaysleutel ")
            .unwrap_or_else(|| panic!("unexpected second line from the relay: {line:?}"))
            .to_string();
        RelayProcess {
            child,
            addr,
            key,
            _stdout: stdout,
        }
    }

    /// Starts a relay node keeping its logs in the PostgreSQL database at `url`.
    pub fn on_postgres(url: &str, extra: &[&str]) -> RelayProcess {
        let launch = Launch {
            store: Some(url.to_string()),
            ..Launch::default()
        };
        RelayProcess::launch(Path::new(""), extra, &launch)
    }

    /// The relay URL clients use.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The resident memory of the process in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS")
    }

    /// The most resident memory the process has held so far, in KiB (VmHWM).
    pub fn peak_kib(&self) -> u64 {
        self.status_kib("VmHWM")
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the relay's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} in /proc status"))
    }

    /// The body of an HTTP GET of `path` with its status code.
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path)
    }

    /// Kills the process with SIGKILL and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the process; returns its exit code.
    pub fn terminate(mut self) -> Option<i32> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        self.child.wait().ok().and_then(|s| s.code())
    }

    /// The process id (to stop and continue it with signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to start a relay process beyond its arguments.
#[derive(Debug, Default)]
pub struct Launch {
    /// A lower soft limit of open files for the process.
    pub file_limit: Option<u64>,
    /// Where its standard error goes (inherited if `None`).
    pub stderr: Option<PathBuf>,
    /// Keep the logs in this PostgreSQL database (`--store`) instead of the data directory.
    pub store: Option<String>,
}

/// A plain HTTP/1.1 GET: the status code and the body.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect for GET");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send GET");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("read answer");
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The key a relay has (or gets) in `data`, as printed by `kompas-relay key`.
pub fn relay_key(data: &Path) -> String {
    let out = Command::new(binary("kompas-relay"))
        .arg("key")
        .arg("--data")
        .arg(data)
        .output()
        .expect("kompas-relay key runs");
    assert!(out.status.success(), "kompas-relay key failed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A relay running inside the test's tokio runtime.
pub struct InProcessRelay {
    /// Its shared state.
    pub state: Arc<RelayState>,
    /// The address it listens on.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl InProcessRelay {
    /// Starts a relay on 127.0.0.1:0 with `config`.
    pub async fn start(config: RelayConfig) -> InProcessRelay {
        let state = RelayState::open(config, rand_seed()).expect("relay store opens");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(kompas_relay::server::serve(
            listener,
            state.clone(),
            async {
                let _ = rx.await;
            },
        ));
        InProcessRelay {
            state,
            addr,
            stop: Some(tx),
            task,
        }
    }

    /// Starts a relay node keeping its logs in the PostgreSQL database at `url`.
    pub fn on_postgres(url: &str, extra: &[&str]) -> RelayProcess {
        let launch = Launch {
            store: Some(url.to_string()),
            ..Launch::default()
        };
        RelayProcess::launch(Path::new(""), extra, &launch)
    }

    /// The relay URL clients use.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Shuts the relay down gracefully and waits until it has.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.task)
            .await
            .expect("relay task")
            .expect("relay stops cleanly");
    }
}

fn rand_seed() -> [u8; 32] {
    kompas_relay::state::random()
}

/// An organisation with its keys.
pub struct Org {
    /// Its signing key.
    pub key: SigningKey,
    /// Its display name.
    pub name: String,
}

impl Org {
    /// An organisation whose keys derive from `seed`.
    pub fn new(seed: u8, name: &str) -> Org {
        Org {
            key: SigningKey::from_bytes(&[seed; 32]),
            name: name.into(),
        }
    }

    /// Its public key.
    pub fn public(&self) -> OrgKey {
        OrgKey::of(&self.key)
    }

    /// Its member profile.
    pub fn profile(&self) -> MemberProfile {
        MemberProfile {
            key: self.public(),
            name: self.name.clone(),
            org_type: OrgType::Gemeente,
            kx: KxKey(*blake3::hash(self.key.as_bytes()).as_bytes()),
        }
    }

    /// The redeem of invite `token` by this organisation, with the invite key's proof.
    pub fn redeem(&self, ws: WorkspaceId, token: u8) -> OpBody {
        let token = InviteToken([token; 32]);
        let profile = self.profile();
        OpBody::Redeem {
            invite_key: token.public(),
            proof: token.prove(&ws, &profile.key, &profile.kx),
            profile,
        }
    }

    /// Signs an operation onto `prev`.
    pub fn op(&self, ws: WorkspaceId, prev: Option<Hash32>, body: OpBody) -> SignedOp {
        SignedOp::sign(ws, prev, now(), body, &self.key)
    }

    /// Connects to a relay for `ws`.
    pub async fn connect(&self, url: &str, ws: WorkspaceId) -> (RelayClient, Welcome) {
        RelayClient::connect(url, ws, &self.key)
            .await
            .unwrap_or_else(|e| panic!("{} cannot connect: {e}", self.name))
    }

    /// Seals `plaintext` for document `doc` with the test workspace key of `epoch`.
    pub fn seal(
        &self,
        ws: WorkspaceId,
        epoch: u64,
        doc: u8,
        plaintext: &[u8],
        nonce: [u8; NONCE_LEN],
    ) -> SealedBundle {
        let doc = DocRef([doc; 32]);
        let aad = SealedBundle::associated_data(&ws, epoch, &self.public(), &doc);
        let cipher = XChaCha20Poly1305::new(&Key::from(workspace_key(ws, epoch)));
        let ciphertext = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("encryption");
        SealedBundle::sign(ws, epoch, doc, nonce, ciphertext, &self.key)
    }
}

/// The test's stand-in for a workspace key (the relay never sees it).
fn workspace_key(ws: WorkspaceId, epoch: u64) -> [u8; 32] {
    let mut input = ws.0.to_vec();
    input.extend_from_slice(&epoch.to_be_bytes());
    *blake3::hash(&input).as_bytes()
}

/// Opens a sealed test bundle again, proving it carries what was sealed.
pub fn open_sealed(bundle: &SealedBundle) -> Option<Vec<u8>> {
    let cipher = XChaCha20Poly1305::new(&Key::from(workspace_key(bundle.workspace, bundle.epoch)));
    cipher
        .decrypt(
            &XNonce::from(bundle.nonce),
            Payload {
                msg: &bundle.ciphertext,
                aad: &bundle.aad(),
            },
        )
        .ok()
}

/// A two-thread runtime for tests that drive relay processes.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The code of a typed refusal; panics on success or an untyped failure.
pub fn refused(result: Result<impl std::fmt::Debug, ClientError>) -> ErrorCode {
    match result {
        Err(e) => e
            .code()
            .unwrap_or_else(|| panic!("expected a typed refusal, got {e}")),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

/// The current time.
pub fn now() -> Timestamp {
    kompas_relay::state::now()
}

/// A workspace on a relay: its id and the coordinator's open connection.
pub struct TestWorkspace {
    /// The workspace id.
    pub id: WorkspaceId,
    /// The coordinator's connection.
    pub coordinator: RelayClient,
}

impl TestWorkspace {
    /// `coordinator` creates workspace `id` on the relay at `url`.
    pub async fn create(url: &str, id: WorkspaceId, coordinator: &Org) -> TestWorkspace {
        let (mut client, _) = coordinator.connect(url, id).await;
        let op = coordinator.op(
            id,
            None,
            OpBody::Create {
                name: "Samen Zwolle".into(),
                coordinator: coordinator.profile(),
            },
        );
        client.append(op).await.expect("create is accepted");
        TestWorkspace {
            id,
            coordinator: client,
        }
    }

    /// The current head of the membership log.
    pub async fn head(&mut self) -> Option<Hash32> {
        let ops = self
            .coordinator
            .membership(0)
            .await
            .expect("membership pull");
        ops.last().map(SignedOp::hash)
    }

    /// The coordinator appends an operation onto the current head.
    pub async fn append(&mut self, coordinator: &Org, body: OpBody) -> u64 {
        let prev = self.head().await;
        let op = coordinator.op(self.id, prev, body);
        self.coordinator
            .append(op)
            .await
            .expect("operation accepted")
    }

    /// The coordinator registers an invite with `token`.
    pub async fn invite(&mut self, coordinator: &Org, token: u8, role: Role, expires: Timestamp) {
        self.append(
            coordinator,
            OpBody::Invite {
                invite_key: InviteToken([token; 32]).public(),
                role,
                expires,
            },
        )
        .await;
    }

    /// `joiner` redeems the invite `token` over its own connection to `url`.
    pub async fn join(&mut self, url: &str, joiner: &Org, token: u8) -> RelayClient {
        let (mut client, _) = joiner.connect(url, self.id).await;
        client
            .candidacy(&InviteToken([token; 32]), &joiner.key)
            .await
            .expect("candidacy accepted");
        let ops = client.membership(0).await.expect("membership pull");
        let op = joiner.op(
            self.id,
            ops.last().map(SignedOp::hash),
            joiner.redeem(self.id, token),
        );
        client.append(op).await.expect("redeem accepted");
        client
    }

    /// Invites and joins `joiner` as a partner in one go.
    pub async fn add_partner(
        &mut self,
        url: &str,
        coordinator: &Org,
        joiner: &Org,
        token: u8,
    ) -> RelayClient {
        let expires = Timestamp(now().millis() + 3_600_000);
        self.invite(coordinator, token, Role::Partner, expires)
            .await;
        self.join(url, joiner, token).await
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Whether `needle` occurs anywhere in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Awaits `future`, failing the test instead of hanging if it takes more than a minute.
pub async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(std::time::Duration::from_secs(60), future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not happen within a minute"),
    }
}
