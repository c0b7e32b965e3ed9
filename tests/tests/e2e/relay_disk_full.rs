//! A real full disk under the real `kompas-relay` process: the test mounts a small tmpfs, fills
//! it until writing fails, frees a little, lets members push until the relay's reserve is
//! reached, and then frees space again. Pushes are refused with `StorageFault` meanwhile, `/healthz` and `/readyz` say so, members keep reading, and once
//! there is room the relay stores again without a restart, with every acknowledged bundle kept
//! (also after a restart at the end).
//!
//! Mounting needs root, which CI has; without it the test fails and says why rather than
//! skipping.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kompas_engine::sync::wire::{ErrorCode, SealedBundle, WorkspaceId};
use kompas_relay::client::ClientError;
use kompas_tests::relay::{Org, RelayProcess, TestWorkspace, runtime, within};

const WS: WorkspaceId = WorkspaceId([0x0d; 16]);
/// The size of the file system the relay writes to.
const DISK_MIB: u64 = 24;
/// What each pushed bundle carries.
const BUNDLE_BYTES: usize = 200 * 1024;
/// What the relay keeps free (`--min-free-bytes`).
const RESERVE: &str = "2097152";

/// A tmpfs mounted for the test, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(path: &Path, mib: u64) -> SmallDisk {
        std::fs::create_dir_all(path).unwrap();
        let output = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0700"),
                "tmpfs",
            ])
            .arg(path)
            .output()
            .unwrap_or_else(|e| panic!("cannot run mount: {e}"));
        assert!(
            output.status.success(),
            "this test mounts a {mib} MiB tmpfs at {} to fill it up for real, which needs root \
             (CI runs the tests as root; run them as root, or in a container with CAP_SYS_ADMIN): \
             mount said {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        SmallDisk {
            path: path.to_path_buf(),
        }
    }

    /// Fills the disk with a file until writing fails; returns the file.
    fn fill(&self, name: &str) -> PathBuf {
        use std::io::Write;
        let path = self.path.join(name);
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0xffu8; 64 * 1024];
        while file
            .write_all(&block)
            .and_then(|()| file.sync_all())
            .is_ok()
        {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn body(n: u32) -> Vec<u8> {
    let mut body = vec![(n % 251) as u8; BUNDLE_BYTES];
    body[..4].copy_from_slice(&n.to_be_bytes());
    body
}

fn nonce(n: u32) -> [u8; 24] {
    let mut nonce = [0u8; 24];
    nonce[..4].copy_from_slice(&n.to_be_bytes());
    nonce
}

fn health(relay: &RelayProcess) -> [(u16, String); 2] {
    [relay.get("/healthz"), relay.get("/readyz")]
}

#[test]
fn a_full_disk_refuses_writes_typed_and_the_relay_stores_again_once_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(&dir.path().join("schijf"), DISK_MIB);
    let data = disk.path.join("relay");
    let relay = RelayProcess::start(&data, &["--max-per-ip", "0", "--min-free-bytes", RESERVE]);
    let rt = runtime();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let aanbieder = Org::new(2, "Jeugdhulp Oost");
    let url = relay.url();
    let (mut ws, mut partner) = rt.block_on(async {
        let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;
        let partner = ws.add_partner(&url, &gemeente, &aanbieder, 1).await;
        (ws, partner)
    });
    let mut acked: Vec<(u64, SealedBundle)> = Vec::new();
    let mut n = 0u32;
    // Room for a few bundles only, then the coordinator pushes until the disk is full.
    let ballast = disk.fill("ballast");
    let full = std::fs::metadata(&ballast).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&ballast)
        .and_then(|f| f.set_len(full.saturating_sub(4 << 20)))
        .unwrap();
    let (refused, code) = rt.block_on(within("pushing until the disk is full", async {
        loop {
            n += 1;
            assert!(n < 400, "the disk never filled up");
            let bundle = gemeente.seal(WS, 0, (n % 200) as u8, &body(n), nonce(n));
            match ws.coordinator.push(bundle.clone()).await {
                Ok(ack) => acked.push((ack.seq, bundle)),
                Err(ClientError::Refused { code, .. }) => return (bundle, code),
                Err(e) => panic!("push {n} failed without a typed refusal: {e}"),
            }
        }
    }));
    assert_eq!(code, ErrorCode::StorageFault);
    assert!(!acked.is_empty(), "some bundles fit before the disk filled");
    for (status, text) in health(&relay) {
        assert_eq!(status, 503, "{text}");
        assert!(text.starts_with("opslagfout"), "{text}");
    }
    rt.block_on(async {
        // Still full: another push is refused the same way, and members keep reading.
        let again = gemeente.seal(WS, 0, 201, &body(100_000), nonce(100_000));
        match ws.coordinator.push(again).await {
            Err(ClientError::Refused { code, .. }) => assert_eq!(code, ErrorCode::StorageFault),
            other => panic!("a push on a full disk was not refused: {other:?}"),
        }
        let read = partner.pull_all(0).await.unwrap();
        assert_eq!(read.len(), acked.len());
    });
    // Space returns: health turns by itself, and the same connection stores again.
    std::fs::remove_file(&ballast).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while health(&relay).iter().any(|(status, _)| *status != 200) {
        assert!(
            Instant::now() < deadline,
            "still unhealthy with room on the disk: {:?}",
            health(&relay)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    rt.block_on(within("storing again without a restart", async {
        let ack = ws.coordinator.push(refused.clone()).await.unwrap();
        acked.push((ack.seq, refused.clone()));
        for m in 0..5 {
            n += 1;
            let bundle = gemeente.seal(WS, 0, m, &body(n), nonce(n));
            let ack = ws.coordinator.push(bundle.clone()).await.unwrap();
            acked.push((ack.seq, bundle));
        }
        let all = partner.pull_all(0).await.unwrap();
        assert_every_acknowledged_bundle_is_there(&acked, &all);
    }));
    for (status, text) in health(&relay) {
        assert_eq!(status, 200, "{text}");
    }
    // Nothing acknowledged is lost, also across a restart.
    assert_eq!(relay.terminate(), Some(0));
    let relay = RelayProcess::start(&data, &["--min-free-bytes", RESERVE]);
    rt.block_on(async {
        let (mut client, _) = aanbieder.connect(&relay.url(), WS).await;
        let all = client.pull_all(0).await.unwrap();
        assert_every_acknowledged_bundle_is_there(&acked, &all);
    });
}

fn assert_every_acknowledged_bundle_is_there(
    acked: &[(u64, SealedBundle)],
    stored: &[kompas_engine::sync::wire::Sequenced],
) {
    for (seq, bundle) in acked {
        let found = stored.iter().find(|s| s.seq == *seq);
        assert_eq!(
            found.map(|s| &s.bundle),
            Some(bundle),
            "acknowledged bundle {seq} is missing or changed"
        );
    }
}
