//! What the relay benchmarks share: signed bundles, member keys, building a workspace's
//! membership, serving an in-process node, starting a relay process and reading its memory and
//! CPU time from `/proc`.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use kompas_engine::Timestamp;
use kompas_engine::identity::OrgType;
use kompas_engine::sync::membership::{InviteToken, MemberProfile, OpBody, Role, SignedOp};
use kompas_engine::sync::wire::{DocRef, KxKey, OrgKey, SealedBundle, WorkspaceId};
use kompas_relay::RelayState;
use kompas_relay::client::RelayClient;
use tokio::net::TcpListener;

/// `n` bundles of `size` bytes of ciphertext for `ws`, signed with `key`, each with its own
/// nonce and one of 100 documents.
pub fn make_bundles(ws: WorkspaceId, key: &SigningKey, n: usize, size: usize) -> Vec<SealedBundle> {
    (0..n)
        .map(|i| {
            let mut nonce = [0u8; 24];
            nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let ciphertext: Vec<u8> = (0..size).map(|j| (i * 31 + j * 7) as u8).collect();
            SealedBundle::sign(ws, 0, DocRef([(i % 100) as u8; 32]), nonce, ciphertext, key)
        })
        .collect()
}

pub fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    )
}

/// The operation that creates `ws` with `key` as its coordinator.
pub fn create_op(ws: WorkspaceId, key: &SigningKey) -> SignedOp {
    SignedOp::sign(
        ws,
        None,
        now(),
        OpBody::Create {
            name: "Bank".into(),
            coordinator: MemberProfile {
                key: OrgKey::of(key),
                name: "Gemeente".into(),
                org_type: OrgType::Gemeente,
                kx: KxKey([0; 32]),
            },
        },
        key,
    )
}

/// The key of member `n` (not a coordinator's).
pub fn member_key(n: usize) -> SigningKey {
    let mut seed = [0x4d; 32];
    seed[..8].copy_from_slice(&(n as u64).to_be_bytes());
    SigningKey::from_bytes(&seed)
}

/// Registers an invite for each member (`n`, its key) of `ws` and redeems it with the member's
/// key, all appended through the coordinator's connection `admin`.
pub async fn add_members(
    admin: &mut RelayClient,
    ws: WorkspaceId,
    coordinator: &SigningKey,
    members: impl IntoIterator<Item = (usize, SigningKey)>,
) {
    let mut prev = admin
        .membership(0)
        .await
        .unwrap()
        .last()
        .map(SignedOp::hash);
    for (n, key) in members {
        let mut token = [0x17; 32];
        token[..8].copy_from_slice(&(n as u64).to_be_bytes());
        let token = InviteToken(token);
        let invite = OpBody::Invite {
            invite_key: token.public(),
            role: Role::Partner,
            expires: Timestamp(now().0 + 3_600_000),
        };
        let op = SignedOp::sign(ws, prev, now(), invite, coordinator);
        prev = Some(op.hash());
        admin.append(op).await.unwrap();
        let profile = MemberProfile {
            key: OrgKey::of(&key),
            name: format!("Organisatie {n}"),
            org_type: OrgType::Aanbieder,
            kx: KxKey([0; 32]),
        };
        let redeem = OpBody::Redeem {
            invite_key: token.public(),
            proof: token.prove(&ws, &profile.key, &profile.kx),
            profile,
        };
        let op = SignedOp::sign(ws, prev, now(), redeem, &key);
        prev = Some(op.hash());
        admin.append(op).await.unwrap();
    }
}

/// Serves `state` on a free port of 127.0.0.1 until the returned sender is dropped.
pub async fn serve_node(state: Arc<RelayState>) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(kompas_relay::server::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    (url, stop)
}

/// The value at fraction `q` of `sorted` (nearest rank); zero for no values.
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A relay process and its address.
pub struct Relay {
    child: Child,
    pub url: String,
}

impl Relay {
    /// Starts `kompas-relay` on a free port of 127.0.0.1 with `args` (the store and limits),
    /// logging warnings only, and waits until it says where it listens.
    pub fn start<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Relay {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kompas-relay"))
            .args(["--listen", "127.0.0.1:0", "--log-level", "warn"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line.trim().rsplit(' ').next().unwrap().to_string();
        assert!(!addr.is_empty(), "the relay stopped before it listened");
        Relay {
            child,
            url: format!("ws://{addr}"),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now.
    pub fn rss_kib(&self) -> u64 {
        status_kib(self.pid(), "VmRSS:")
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `kB` field (`VmRSS:`, `VmHWM:`) of process `pid`'s `/proc/<pid>/status`.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The CPU time process `pid` used (user and system), and with `children` also what its
/// waited-for children used; `None` once it has gone.
pub fn cpu_seconds(pid: u32, children: bool) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split(' ').collect();
    // utime, stime, cutime, cstime are fields 14 to 17 of the line, 12 to 15 after the name.
    let ticks: Vec<f64> = fields
        .get(11..15)?
        .iter()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    let used = if children {
        ticks.iter().sum()
    } else {
        ticks[0] + ticks[1]
    };
    Some(used / clock_ticks())
}

/// The parent's process id of `pid`.
pub fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.split(' ').nth(1)?.parse().ok()
}

/// Clock ticks per second, as `getconf CLK_TCK` says (100 if it cannot be asked).
fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The first three fields of `/proc/loadavg`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|e| format!("unreadable: {e}"))
}
