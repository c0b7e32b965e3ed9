//! The core driven without sockets or disks: a member creates a workspace, pushes a bundle
//! twice and pulls it; a stranger learns nothing; a subscriber is sent what it missed.

use std::collections::HashMap;

use ed25519_dalek::SigningKey;
use kompas_engine::Timestamp;
use kompas_engine::identity::OrgType;
use kompas_engine::sync::membership::{MemberProfile, OpBody, SignedOp};
use kompas_engine::sync::wire::{
    Access, DocRef, ErrorCode, KxKey, Message, NONCE_LEN, OrgKey, PROTOCOL_VERSION, SealedBundle,
    WorkspaceId, sign_auth,
};

use super::quota::{QuotaBook, Quotas};
use super::{Action, MemoryLog, Rules, Session, WorkspaceCore};

const NOW: Timestamp = Timestamp(1_800_000_000_000);
const WS: WorkspaceId = WorkspaceId([4; 16]);

fn rules() -> Rules {
    Rules::new(
        SigningKey::from_bytes(&[100; 32]),
        QuotaBook::new(Quotas::default(), HashMap::new()),
    )
}

/// Hello and Auth for `key`; returns the session and what it was identified as.
fn authenticated(rules: &Rules, key: &SigningKey) -> (Session, Action) {
    let mut session = Session::new([7; 32]);
    let hello = Message::Hello {
        min_version: PROTOCOL_VERSION,
        max_version: PROTOCOL_VERSION,
        agent: "test".into(),
        nonce: [8; 32],
    };
    let none: Option<&WorkspaceCore<MemoryLog>> = None;
    let Ok(Action::Send(Message::Challenge { relay, nonce, .. })) =
        session.handle(rules, none, NOW, hello)
    else {
        panic!("no challenge");
    };
    let auth = Message::Auth {
        workspace: WS,
        key: OrgKey::of(key),
        signature: sign_auth(&relay, &nonce, &WS, key),
    };
    let identified = session.handle(rules, none, NOW, auth).expect("auth");
    (session, identified)
}

fn create_op(key: &SigningKey) -> SignedOp {
    let coordinator = MemberProfile {
        key: OrgKey::of(key),
        name: "org".into(),
        org_type: OrgType::Gemeente,
        kx: KxKey([1; 32]),
    };
    SignedOp::sign(
        WS,
        None,
        NOW,
        OpBody::Create {
            name: "s".into(),
            coordinator,
        },
        key,
    )
}

/// A workspace created through a session, committed as a durable log would be.
fn created(rules: &Rules, key: &SigningKey) -> (Session, WorkspaceCore<MemoryLog>) {
    let (mut session, identified) = authenticated(rules, key);
    assert!(matches!(
        identified,
        Action::Identified { mirror: false, .. }
    ));
    let none: Option<&WorkspaceCore<MemoryLog>> = None;
    session.admit(none, NOW).expect("welcome");
    let append = Message::MembershipAppend { op: create_op(key) };
    let Ok(Action::Create { op, arrival }) = session.handle(rules, none, NOW, append) else {
        panic!("no creation");
    };
    let (ws, ack) = WorkspaceCore::create(MemoryLog::default(), &op, arrival).expect("create");
    assert!(matches!(ack, Message::MembershipAck { index: 0, .. }));
    (session, ws)
}

fn bundle(key: &SigningKey) -> SealedBundle {
    SealedBundle::sign(WS, 0, DocRef([3; 32]), [5; NONCE_LEN], vec![9; 40], key)
}

#[test]
fn a_member_pushes_once_acknowledged_twice_and_pulls_it_back() {
    let rules = rules();
    let key = SigningKey::from_bytes(&[1; 32]);
    let (mut session, mut ws) = created(&rules, &key);
    let push = || Message::Push {
        bundle: bundle(&key),
    };
    let mut acks = Vec::new();
    for _ in 0..2 {
        let Ok(Action::Push(admitted)) = session.handle(&rules, Some(&ws), NOW, push()) else {
            panic!("push refused");
        };
        let checked = admitted.verify().expect("signed");
        let stored = ws.stage_bundle(&checked).expect("stage");
        // Not durable yet: readers do not see it.
        assert!(ws.range(0, 10, usize::MAX).expect("range").len() <= usize::from(stored.duplicate));
        ws.commit_bundle(&stored);
        acks.push(stored.ack());
    }
    assert!(matches!(
        acks[0],
        Message::Ack {
            seq: 1,
            duplicate: false,
            ..
        }
    ));
    assert!(matches!(
        acks[1],
        Message::Ack {
            seq: 1,
            duplicate: true,
            ..
        }
    ));
    let pull = Message::Pull {
        after: 0,
        limit: 10,
    };
    let Ok(Action::Send(Message::Bundles { items, head })) =
        session.handle(&rules, Some(&ws), NOW, pull)
    else {
        panic!("pull refused");
    };
    assert_eq!((items.len(), head), (1, 1));
}

#[test]
fn a_stranger_is_welcomed_with_zeros_and_refused_every_read() {
    let rules = rules();
    let member = SigningKey::from_bytes(&[1; 32]);
    let (_, ws) = created(&rules, &member);
    let stranger = SigningKey::from_bytes(&[2; 32]);
    let (mut session, _) = authenticated(&rules, &stranger);
    let welcome = session.admit(Some(&ws), NOW).expect("welcome");
    assert_eq!(
        welcome,
        Message::Welcome {
            access: Access::Candidate,
            head: 0,
            membership_len: 0,
            epoch: 0
        }
    );
    for request in [
        Message::Pull { after: 0, limit: 1 },
        Message::MembershipPull { after: 0 },
        Message::Subscribe { after: 0 },
    ] {
        let refused = session
            .handle(&rules, Some(&ws), NOW, request)
            .expect_err("read");
        assert_eq!(refused.code, ErrorCode::NotMember);
    }
    let late = NOW.millis() + 31_000;
    let overstayed = session.overstayed(Some(&ws), Timestamp(late), 30_000);
    assert_eq!(overstayed.map(|r| r.code), Some(ErrorCode::TimedOut));
}

#[test]
fn a_membership_pull_beyond_the_log_gets_an_empty_page_at_the_log_s_end() {
    let rules = rules();
    let key = SigningKey::from_bytes(&[1; 32]);
    let (mut session, ws) = created(&rules, &key);
    let len = ws.ops_len();
    assert!(len > 0, "the log holds the creation");
    let answer = session
        .handle(
            &rules,
            Some(&ws),
            NOW,
            Message::MembershipPull { after: len + 5 },
        )
        .expect("pull");
    let Action::Send(Message::MembershipOps { start, ops }) = answer else {
        panic!("not a page of operations: {answer:?}");
    };
    assert_eq!((start, ops.len()), (len, 0));
    let answer = session
        .handle(&rules, Some(&ws), NOW, Message::MembershipPull { after: 0 })
        .expect("pull");
    let Action::Send(Message::MembershipOps { start, ops }) = answer else {
        panic!("not a page of operations: {answer:?}");
    };
    assert_eq!((start, ops.len() as u64), (0, len));
}

#[test]
fn a_subscriber_is_sent_what_it_missed_batch_by_batch() {
    let mut rules = rules();
    rules.answers.push_batch = 2;
    let key = SigningKey::from_bytes(&[1; 32]);
    let (mut session, mut ws) = created(&rules, &key);
    for i in 0..5u8 {
        let sealed = SealedBundle::sign(WS, 0, DocRef([i; 32]), [i; NONCE_LEN], vec![i; 8], &key);
        let checked = super::Checked::new(sealed, WS).expect("checked");
        let stored = ws.stage_bundle(&checked).expect("stage");
        ws.commit_bundle(&stored);
    }
    let subscribe = Message::Subscribe { after: 1 };
    assert!(matches!(
        session.handle(&rules, Some(&ws), NOW, subscribe),
        Ok(Action::Subscribed)
    ));
    let mut seqs = Vec::new();
    while session.catching_up(Some(&ws)) {
        let frames = session.pending(&rules, Some(&ws)).expect("pending");
        assert!(frames.len() <= 2);
        for frame in frames {
            let Message::Pushed { item } = frame else {
                panic!("not a bundle");
            };
            seqs.push(item.seq);
        }
    }
    assert_eq!(seqs, vec![2, 3, 4, 5]);
}

#[test]
fn signatures_checked_together_give_each_bundle_the_answer_it_gets_alone() {
    use super::Admitted;
    use kompas_engine::sync::wire::Sig;
    let key = SigningKey::from_bytes(&[1; 32]);
    let other = SigningKey::from_bytes(&[2; 32]);
    let signed: Vec<SealedBundle> = (0..8u8)
        .map(|i| {
            let signer = if i % 2 == 0 { &key } else { &other };
            SealedBundle::sign(WS, 0, DocRef([i; 32]), [i; NONCE_LEN], vec![i; 64], signer)
        })
        .collect();
    let admit = |bundles: &[SealedBundle]| -> Vec<Admitted> {
        bundles
            .iter()
            .map(|b| Admitted::new(b.clone(), WS).expect("admitted"))
            .collect()
    };
    let verdicts = |bundles: &[SealedBundle]| -> Vec<Option<ErrorCode>> {
        Admitted::verify_all(admit(bundles))
            .into_iter()
            .map(|answer| answer.err().map(|refusal| refusal.code))
            .collect()
    };
    let alone = |bundles: &[SealedBundle]| -> Vec<Option<ErrorCode>> {
        admit(bundles)
            .into_iter()
            .map(|a| a.verify().err().map(|refusal| refusal.code))
            .collect()
    };
    assert_eq!(verdicts(&signed), vec![None; 8]);
    // One changed byte, one signature of another key, and one whose point is of small order
    // (the identity, with s = 0, which the batch equation alone would not catch by itself).
    let mut damaged = signed.clone();
    damaged[1].ciphertext[0] ^= 1;
    damaged[4].author = OrgKey::of(&other);
    let mut small = [0u8; 64];
    small[0] = 1;
    damaged[6].signature = Sig(small);
    let expected = alone(&damaged);
    assert_eq!(
        expected,
        [1, 4, 6].iter().fold(vec![None; 8], |mut v, &i| {
            v[i] = Some(ErrorCode::BadBundle);
            v
        })
    );
    assert_eq!(verdicts(&damaged), expected);
    // With only the small-order signature wrong the batch is not even tried.
    let mut only_small = signed.clone();
    only_small[3].signature = Sig(small);
    assert_eq!(verdicts(&only_small), alone(&only_small));
    assert_eq!(verdicts(&only_small)[3], Some(ErrorCode::BadBundle));
}
