//! The store contract, run against every log the relay can keep (memory, sled, PostgreSQL),
//! and what only a shared log must do: refuse stale writes, number concurrent writers' bundles
//! densely, hold the totals for every node together, and let a core catch up with another.
//!
//! The PostgreSQL tests start their own scratch server (`scratch.rs`); without PostgreSQL
//! installed they fail and say how to install it.

use std::collections::HashSet;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use kompas_engine::Timestamp;
use kompas_engine::identity::OrgType;
use kompas_engine::sync::membership::{MemberProfile, OpBody, SignedOp};
use kompas_engine::sync::wire::{
    DocRef, ErrorCode, KxKey, NONCE_LEN, OrgKey, SealedBundle, WorkspaceId,
};

use super::scratch::ScratchPostgres;
use super::{PgLog, PgStore};
use crate::protocol::log::{Appended, MemoryLog, OpWritten, WorkspaceLog};
use crate::protocol::quota::Quotas;
use crate::protocol::{Checked, WorkspaceCore};
use crate::store::RelayStore;

const WS: WorkspaceId = WorkspaceId([4; 16]);
const NOW: Timestamp = Timestamp(1_800_000_000_000);

fn coordinator() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

fn create_op(key: &SigningKey) -> SignedOp {
    let profile = MemberProfile {
        key: OrgKey::of(key),
        name: "gemeente".into(),
        org_type: OrgType::Gemeente,
        kx: KxKey([1; 32]),
    };
    SignedOp::sign(
        WS,
        None,
        NOW,
        OpBody::Create {
            name: "samenwerking".into(),
            coordinator: profile,
        },
        key,
    )
}

/// A membership operation after `prev` (a share of keys to the coordinator itself).
fn share_op(key: &SigningKey, prev: &SignedOp, n: u8) -> SignedOp {
    SignedOp::sign(
        WS,
        Some(prev.hash()),
        NOW,
        OpBody::ShareKeys {
            member: OrgKey::of(key),
            sealed: vec![n; 40],
        },
        key,
    )
}

fn bundle(key: &SigningKey, i: u32, size: usize) -> SealedBundle {
    let mut doc = [0u8; 32];
    doc[..4].copy_from_slice(&i.to_be_bytes());
    SealedBundle::sign(WS, 0, DocRef(doc), [1; NONCE_LEN], vec![7; size], key)
}

/// What every log must do, whoever keeps it.
fn contract<L: WorkspaceLog>(mut log: L)
where
    L::Error: std::fmt::Debug,
{
    let key = coordinator();
    assert_eq!(log.head().unwrap(), 0);
    assert_eq!(log.ops_len().unwrap(), 0);
    assert_eq!(log.stored_bytes().unwrap(), 0);
    assert!(log.bundles(0, 10, 10, usize::MAX).unwrap().is_empty());

    let create = create_op(&key);
    assert_eq!(log.append_op(0, &create).unwrap(), OpWritten::Written);
    let share = share_op(&key, &create, 1);
    assert_eq!(log.append_op(1, &share).unwrap(), OpWritten::Written);
    assert_eq!(log.ops_len().unwrap(), 2);
    assert_eq!(
        log.ops(0, 2, usize::MAX).unwrap(),
        [create.clone(), share.clone()]
    );
    assert_eq!(
        log.ops(1, 2, usize::MAX).unwrap(),
        std::slice::from_ref(&share)
    );
    // A budget below one operation still gives one.
    assert_eq!(log.ops(0, 2, 1).unwrap(), [create]);

    let bundles: Vec<SealedBundle> = (0..5).map(|i| bundle(&key, i, 1000)).collect();
    let mut head = 0;
    for b in &bundles {
        match log.append(&b.hash(), b, head, 2).unwrap() {
            Appended::New(seq) => {
                assert_eq!(seq, head + 1, "sequence numbers are dense");
                head = seq;
            }
            other => panic!("a new bundle was stored as {other:?}"),
        }
    }
    assert_eq!(
        log.append(&bundles[2].hash(), &bundles[2], head, 2)
            .unwrap(),
        Appended::Duplicate(3)
    );
    assert_eq!(log.head().unwrap(), 5);
    let size = bundles[0].encoded_len();
    assert_eq!(log.stored_bytes().unwrap(), 5 * size as u64);
    let all = log.bundles(0, 5, 100, usize::MAX).unwrap();
    assert_eq!(
        all.iter().map(|s| s.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(all[2].bundle, bundles[2]);
    // Pages stop at the count, at the budget (at least one bundle), and at `upto`.
    assert_eq!(log.bundles(0, 5, 2, usize::MAX).unwrap().len(), 2);
    assert_eq!(log.bundles(0, 5, 100, size * 5 / 2).unwrap().len(), 2);
    assert_eq!(log.bundles(3, 5, 100, 10).unwrap()[0].seq, 4);
    assert_eq!(log.bundles(1, 3, 100, usize::MAX).unwrap().len(), 2);
    assert!(log.bundles(5, 5, 100, usize::MAX).unwrap().is_empty());
}

#[test]
fn the_memory_log_keeps_the_contract() {
    contract(MemoryLog::default());
}

#[tokio::test]
async fn the_sled_log_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = RelayStore::open(dir.path(), 1 << 20).unwrap();
    contract(store.log(&WS).unwrap());
}

fn scratch() -> ScratchPostgres {
    ScratchPostgres::start().unwrap_or_else(|e| panic!("{e}"))
}

async fn node(server: &ScratchPostgres, db: &str, quotas: &Quotas) -> PgStore {
    let url = match server.database(db).await {
        Ok(url) => url,
        // The first node created it.
        Err(_) => format!("postgres://kompas@127.0.0.1:{}/{db}", server.port),
    };
    PgStore::open(&url, quotas).expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_postgres_log_keeps_the_contract_and_refuses_stale_writes() {
    let server = scratch();
    let one = node(&server, "contract", &Quotas::default()).await;
    contract(one.log(&WS));
    // A second node on the same database, whose view is older than the log.
    let two = node(&server, "contract", &Quotas::default()).await;
    let mut log: PgLog = two.log(&WS);
    let key = coordinator();
    let b = bundle(&key, 99, 100);
    assert_eq!(log.append(&b.hash(), &b, 0, 1).unwrap(), Appended::Stale);
    let create = create_op(&key);
    assert_eq!(
        log.append_op(1, &share_op(&key, &create, 2)).unwrap(),
        OpWritten::Stale
    );
    // Against the current log the write goes in after the last bundle, whatever head it names.
    assert_eq!(log.append(&b.hash(), &b, 0, 2).unwrap(), Appended::New(6));
    // Both nodes share one relay key.
    let fresh_one = one.relay_key([1; 32]).await.unwrap();
    let fresh_two = two.relay_key([2; 32]).await.unwrap();
    assert_eq!(fresh_one.to_bytes(), fresh_two.to_bytes());
    // Migrations already applied are not applied again.
    let three = node(&server, "contract", &Quotas::default()).await;
    assert_eq!(three.log(&WS).head().unwrap(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_two_nodes_get_dense_unique_sequence_numbers() {
    let server = scratch();
    let one = node(&server, "dense", &Quotas::default()).await;
    let two = node(&server, "dense", &Quotas::default()).await;
    let key = Arc::new(coordinator());
    let create = create_op(&key);
    assert_eq!(
        one.log(&WS).append_member_op(0, &create).await.unwrap(),
        OpWritten::Written
    );
    let mut tasks = Vec::new();
    for writer in 0..8u32 {
        let store = if writer % 2 == 0 {
            one.clone()
        } else {
            two.clone()
        };
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let log = store.log(&WS);
            let mut seqs = Vec::new();
            for i in 0..25u32 {
                let b = bundle(&key, writer * 1000 + i, 200);
                match log.append_bundle(&b.hash(), &b, 1).await.unwrap() {
                    Appended::New(seq) => seqs.push(seq),
                    other => panic!("stored as {other:?}"),
                }
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let unique: HashSet<u64> = all.iter().copied().collect();
    assert_eq!(unique.len(), 200, "no sequence number given twice");
    assert_eq!(unique, (1..=200).collect(), "no gaps");
    let read = one.log(&WS).page(0, 200, 1000, usize::MAX).await.unwrap();
    assert_eq!(read.len(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn totals_hold_for_all_nodes_together() {
    let server = scratch();
    let key = coordinator();
    let size = bundle(&key, 0, 1000).encoded_len() as u64;
    let quotas = Quotas {
        workspace_bytes: size * 3,
        workspace_ops: 2,
        workspaces_per_key: 1,
        ..Quotas::default()
    };
    let one = node(&server, "totals", &quotas).await;
    let two = node(&server, "totals", &quotas).await;
    let create = create_op(&key);
    one.log(&WS).append_member_op(0, &create).await.unwrap();
    for (i, store) in [&one, &two, &one].into_iter().enumerate() {
        let b = bundle(&key, i as u32, 1000);
        assert!(matches!(
            store
                .log(&WS)
                .append_bundle(&b.hash(), &b, 1)
                .await
                .unwrap(),
            Appended::New(_)
        ));
    }
    let over = bundle(&key, 9, 1000);
    let refused = two
        .log(&WS)
        .append_bundle(&over.hash(), &over, 1)
        .await
        .unwrap_err();
    let refusal = crate::protocol::Refusal::from(refused);
    assert_eq!(refusal.code, ErrorCode::QuotaExceeded);
    assert_eq!(refusal.quota, Some("workspace_bytes"));
    // The membership log holds two operations at most.
    let share = share_op(&key, &create, 1);
    two.log(&WS).append_member_op(1, &share).await.unwrap();
    let third = share_op(&key, &share, 2);
    let refused = one.log(&WS).append_member_op(2, &third).await.unwrap_err();
    assert_eq!(
        crate::protocol::Refusal::from(refused).quota,
        Some("workspace_ops")
    );
    // One workspace per key, whichever node is asked.
    let other = WorkspaceId([5; 16]);
    let again = SignedOp::sign(other, None, NOW, create.op.body.clone(), &key);
    let refused = two
        .log(&other)
        .append_member_op(0, &again)
        .await
        .unwrap_err();
    assert_eq!(
        crate::protocol::Refusal::from(refused).quota,
        Some("workspaces_per_key")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_core_catches_up_with_what_another_node_wrote() {
    let server = scratch();
    let one = node(&server, "catchup", &Quotas::default()).await;
    let two = node(&server, "catchup", &Quotas::default()).await;
    let key = coordinator();
    let create = create_op(&key);
    let (mut core_one, _ack) = WorkspaceCore::create(one.log(&WS), &create, None).unwrap();
    let mut core_two = WorkspaceCore::load(WS, two.log(&WS)).unwrap();
    assert_eq!(core_two.ops_len(), 1);
    // Node one appends a membership operation; node two's view is now stale.
    let staged = core_one
        .stage_op(&share_op(&key, &create, 1), None)
        .unwrap();
    core_one.commit_op(staged);
    let first = Checked::new(bundle(&key, 1, 300), WS).unwrap();
    let stored = core_two.stage_bundle(&first).unwrap();
    assert_eq!(stored.seq, 1);
    assert_eq!(core_two.ops_len(), 2, "node two caught up before storing");
    core_two.commit_bundle(&stored);
    // Node one sees the bundle once it catches up.
    assert_eq!(core_one.head(), 0);
    let caught = core_one.catch_up().unwrap();
    assert!(caught.head && !caught.members);
    assert_eq!(core_one.range(0, 10, usize::MAX).unwrap().len(), 1);
    // Creating the same workspace on the other node is refused, not doubled.
    let Err(refused) = WorkspaceCore::create(two.log(&WS), &create, None) else {
        panic!("the workspace was created twice");
    };
    assert_eq!(refused.code, ErrorCode::Overloaded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn per_minute_quotas_hold_for_nodes_that_exchange_their_usage() {
    use crate::protocol::quota::QuotaBook;
    let server = scratch();
    let quotas = Quotas {
        key_bundles_per_minute: 10,
        ..Quotas::default()
    };
    let one = node(&server, "usage", &quotas).await;
    let two = node(&server, "usage", &quotas).await;
    assert_ne!(one.node(), two.node(), "each node draws its own number");
    let (book_one, book_two) = (
        QuotaBook::new(quotas.clone(), Default::default()),
        QuotaBook::new(quotas.clone(), Default::default()),
    );
    let key = OrgKey::of(&coordinator());
    for _ in 0..6 {
        book_one.charge_push(NOW, Some(key), WS, 1_000, 0).unwrap();
    }
    // A sweep of each node: one tells, two hears (and tells its own nothing).
    let heard_by_one = one
        .exchange_usage(one.node(), &book_one.usage(NOW))
        .await
        .unwrap();
    assert!(heard_by_one.keys.is_empty());
    let heard_by_two = two
        .exchange_usage(two.node(), &book_two.usage(NOW))
        .await
        .unwrap();
    assert_eq!(heard_by_two.keys[&key].bundles, 6);
    assert_eq!(heard_by_two.workspaces[&WS].bytes, 6_000);
    book_two.others_used(heard_by_two);
    // The key has four left on the second node, not ten.
    for _ in 0..4 {
        book_two.charge_push(NOW, Some(key), WS, 1_000, 0).unwrap();
    }
    let refused = book_two
        .charge_push(NOW, Some(key), WS, 1_000, 0)
        .unwrap_err();
    assert_eq!(refused.quota, "key_bundles_per_minute");
    // Rows of old minutes go at the next exchange.
    let later = Timestamp(NOW.0 + 3 * 60_000);
    one.exchange_usage(one.node(), &book_one.usage(later))
        .await
        .unwrap();
    let client = one.client().await.unwrap();
    let old: i64 = client
        .query_one(
            "SELECT count(*) FROM kompas.usage WHERE minute < $1",
            &[&(later.0 / 60_000 - 1)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(old, 0);
}
