//! What the relay benches share: workspaces with members of their own keys, relay processes
//! and their memory, and percentiles.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use kompas_engine::Timestamp;
use kompas_engine::identity::OrgType;
use kompas_engine::sync::membership::{InviteToken, MemberProfile, OpBody, Role, SignedOp};
use kompas_engine::sync::wire::{KxKey, OrgKey, WorkspaceId};
use kompas_relay::client::RelayClient;

pub fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    )
}

/// The operation that creates workspace `ws` with `key` as its coordinator.
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

/// Registers an invite for each member in `members` (by number, see `member_key`) and redeems
/// it with the member's key, all appended to workspace `ws` through the coordinator's
/// connection.
pub async fn add_members(
    admin: &mut RelayClient,
    ws: WorkspaceId,
    coordinator: &SigningKey,
    members: std::ops::Range<usize>,
) {
    let mut prev = admin
        .membership(0)
        .await
        .unwrap()
        .last()
        .map(SignedOp::hash);
    for n in members {
        let key = member_key(n);
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
    pub child: Child,
    pub url: String,
}

impl Relay {
    /// Starts `kompas-relay` on a free port of 127.0.0.1 with `args` (its store), taking
    /// connections from one address without a per-address or per-key limit and with the
    /// quotas off, and waits until it listens. The benches register a thousand members and
    /// push thousands of bundles in seconds, far past what a partnership needs: they measure
    /// capacity, not the quotas.
    pub fn start<I, S>(args: I) -> Relay
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kompas-relay"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .args(["--max-per-key", "0", "--max-per-ip", "0"])
            .args(
                [
                    "creates-per-minute",
                    "key-ops-per-minute",
                    "workspace-ops",
                    "key-bundles-per-minute",
                    "key-bytes-per-minute",
                    "workspace-bundles-per-minute",
                    "workspace-bytes-per-minute",
                    "workspace-bytes",
                ]
                .iter()
                .flat_map(|quota| [format!("--quota-{quota}"), "0".to_string()]),
            )
            .args(["--log-level", "warn"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line.trim().rsplit(' ').next().unwrap().to_string();
        assert!(addr.contains(':'), "kompas-relay did not start: {line:?}");
        Relay {
            child,
            url: format!("ws://{addr}"),
        }
    }

    /// The process's resident memory now (`VmRSS`).
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// A memory figure in KiB from the process's `/proc/<pid>/status` (`VmRSS:`, `VmHWM:`).
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
