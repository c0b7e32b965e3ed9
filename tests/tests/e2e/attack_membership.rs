//! Attacks on the membership log against the real `kompas-relay` binary on 127.0.0.1:0: a
//! redeem stolen by a man in the middle, a poisoned and flooded log, history older than the
//! allowed clock difference on a new relay, and times that would overflow the clock check.
//! Each test asserts the typed refusal and that a legitimate member keeps syncing meanwhile.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use kompas_engine::Timestamp;
use kompas_engine::sync::membership::{
    InviteToken, MAX_OP_BYTES, MAX_SHARES_PER_MEMBER, OpBody, Role, SignedOp, WrappedKey,
};
use kompas_engine::sync::wire::{
    ErrorCode, MAX_FRAME_BYTES, Message, OrgKey, WorkspaceId, decode_frame,
};
use kompas_relay::client::ClientError;
use kompas_tests::relay::{Org, RelayProcess, TestWorkspace, now, within};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const WS: WorkspaceId = WorkspaceId([0x5a; 16]);
const MINUTE: i64 = 60 * 1000;

fn refused(result: Result<impl std::fmt::Debug, ClientError>) -> (ErrorCode, String) {
    match result {
        Err(ClientError::Refused { code, message }) => (code, message),
        Err(e) => panic!("expected a typed refusal, got {e}"),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

/// `author` pushes a fresh bundle and `reader` finds it on the relay: the workspace works.
async fn keeps_syncing(url: &str, author: &Org, reader: &Org, doc: u8) {
    let (mut writer, _) = author.connect(url, WS).await;
    let bundle = author.seal(WS, 0, doc, b"gewoon doorwerken", [doc; 24]);
    let acked = writer.push(bundle.clone()).await.unwrap();
    assert!(!acked.duplicate);
    let (mut client, _) = reader.connect(url, WS).await;
    let all = client.pull_all(0).await.unwrap();
    assert!(
        all.iter().any(|s| s.bundle == bundle),
        "the member's bundle reached the others"
    );
}

/// The last operation's hash on the relay, as a member sees it.
async fn head(url: &str, org: &Org) -> Option<kompas_engine::sync::wire::Hash32> {
    let (mut client, _) = org.connect(url, WS).await;
    client
        .membership(0)
        .await
        .unwrap()
        .last()
        .map(SignedOp::hash)
}

/// A websocket proxy between clients and the relay that records every frame a client sends
/// and withholds the first `Redeem` it sees (a man in the middle that steals it).
struct Proxy {
    url: String,
    stolen: Arc<Mutex<Option<SignedOp>>>,
}

impl Proxy {
    async fn start(relay: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let stolen: Arc<Mutex<Option<SignedOp>>> = Arc::default();
        let keep = stolen.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let relay = relay.clone();
                let stolen = keep.clone();
                tokio::spawn(async move {
                    let Ok(client) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    let Ok((upstream, _)) =
                        tokio_tungstenite::connect_async(format!("{relay}/ws")).await
                    else {
                        return;
                    };
                    let (mut to_client, mut from_client) = client.split();
                    let (mut to_relay, mut from_relay) = upstream.split();
                    let down = async {
                        while let Some(Ok(m)) = from_relay.next().await {
                            if to_client.send(m).await.is_err() {
                                break;
                            }
                        }
                    };
                    let up = async {
                        while let Some(Ok(m)) = from_client.next().await {
                            if let WsMessage::Binary(bytes) = &m
                                && let Ok(Message::MembershipAppend { op }) =
                                    decode_frame(bytes, MAX_FRAME_BYTES)
                                && op.op.body.redeemed_invite().is_some()
                            {
                                *stolen.lock().unwrap() = Some(op);
                                break;
                            }
                            if to_relay.send(m).await.is_err() {
                                break;
                            }
                        }
                    };
                    tokio::select! {
                        () = down => {}
                        () = up => {}
                    }
                });
            }
        });
        Proxy { url, stolen }
    }

    fn stolen(&self) -> Option<SignedOp> {
        self.stolen.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn a_redeem_stolen_by_a_man_in_the_middle_gives_the_thief_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(&dir.path().join("relay"), &[]);
    let url = relay.url();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let school = Org::new(2, "Samenwerkingsverband Zwolle");
    let aanbieder = Org::new(3, "Jeugdhulp Noord");
    let thief = Org::new(4, "Onbekende partij");
    let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;
    ws.add_partner(&url, &gemeente, &school, 1).await;
    let expires = Timestamp(now().millis() + 60 * MINUTE);
    ws.invite(&gemeente, 2, Role::Partner, expires).await;

    // The joiner's connection runs through the proxy, which keeps its redeem.
    let proxy = Proxy::start(url.clone()).await;
    let (mut through, _) = aanbieder.connect(&proxy.url, WS).await;
    through
        .candidacy(&InviteToken([2; 32]), &aanbieder.key)
        .await
        .unwrap();
    let prev = through
        .membership(0)
        .await
        .unwrap()
        .last()
        .map(SignedOp::hash);
    let redeem = aanbieder.op(WS, prev, aanbieder.redeem(WS, 2));
    through
        .send(&Message::MembershipAppend { op: redeem.clone() })
        .await
        .unwrap();
    let stolen = within("the proxy catches the redeem", async {
        loop {
            if let Some(op) = proxy.stolen() {
                return op;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(stolen, redeem);

    // Redirected: the thief signs a redeem of its own with the proof it saw.
    let OpBody::Redeem {
        invite_key, proof, ..
    } = stolen.op.body.clone()
    else {
        panic!("the proxy kept a redeem")
    };
    let (mut attacker, _) = thief.connect(&url, WS).await;
    let redirected = thief.op(
        WS,
        prev,
        OpBody::Redeem {
            invite_key,
            proof,
            profile: thief.profile(),
        },
    );
    // The thief cannot prove it holds the invite, so the relay refuses before folding; the
    // fold would refuse the proof too (`BadInviteProof`, engine tests).
    let (code, _) = refused(attacker.append(redirected).await);
    assert_eq!(code, ErrorCode::NotMember);
    keeps_syncing(&url, &school, &gemeente, 10).await;

    // Replayed as it was by the thief: refused too, and the thief reads nothing.
    let (code, _) = refused(attacker.append(stolen.clone()).await);
    assert_eq!(code, ErrorCode::NotMember);
    let (code, _) = refused(attacker.pull(0, 10).await);
    assert_eq!(code, ErrorCode::NotMember);
    let (code, _) = refused(attacker.membership(0).await);
    assert_eq!(code, ErrorCode::NotMember);
    // The joiner itself, on a direct connection, proves its invite and redeems after all.
    let (mut direct, _) = aanbieder.connect(&url, WS).await;
    direct
        .candidacy(&InviteToken([2; 32]), &aanbieder.key)
        .await
        .unwrap();
    direct.append(stolen.clone()).await.unwrap();
    let (mut joined, welcome) = aanbieder.connect(&url, WS).await;
    assert!(
        matches!(
            welcome.access,
            kompas_engine::sync::wire::Access::Member(Role::Partner)
        ),
        "{welcome:?}"
    );
    joined.pull(0, 10).await.unwrap();
    // Replayed again, or replayed on another connection: refused, the log does not grow.
    let len = joined.membership(0).await.unwrap().len();
    let (code, _) = refused(attacker.append(stolen).await);
    assert_eq!(code, ErrorCode::NotMember);
    assert_eq!(joined.membership(0).await.unwrap().len(), len);
    // Nothing the relay or the proxy saw contains the invite's token.
    let token = [2u8; 32];
    for op in joined.membership(0).await.unwrap() {
        let bytes = kompas_engine::sync::wire::Encoded::to_bytes(&op);
        assert!(!bytes.windows(32).any(|w| w == token));
    }
    keeps_syncing(&url, &school, &gemeente, 11).await;
    keeps_syncing(&url, &aanbieder, &school, 12).await;
    relay.kill();
}

#[tokio::test]
async fn a_poisoned_log_stays_usable_and_the_coordinator_removes_the_culprit() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(&dir.path().join("relay"), &[]);
    let url = relay.url();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let school = Org::new(2, "Samenwerkingsverband Zwolle");
    let culprit = Org::new(3, "Kwaadwillende partner");
    let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;
    ws.add_partner(&url, &gemeente, &school, 1).await;
    let mut bad = ws.add_partner(&url, &gemeente, &culprit, 2).await;

    // One share of almost a frame: refused, the log does not grow.
    let before = head(&url, &gemeente).await;
    let huge = culprit.op(
        WS,
        before,
        OpBody::ShareKeys {
            member: gemeente.public(),
            sealed: vec![0x42; MAX_FRAME_BYTES - 64 * 1024],
        },
    );
    let (code, message) = refused(bad.append(huge).await);
    assert_eq!(code, ErrorCode::MembershipRefused);
    assert!(message.contains("groter dan de grens"), "{message}");
    assert_eq!(head(&url, &gemeente).await, before);
    keeps_syncing(&url, &school, &gemeente, 20).await;

    // A flood of shares: accepted up to the limit per member, then refused.
    let mut refusals = 0;
    for i in 0..MAX_SHARES_PER_MEMBER + 8 {
        let prev = head(&url, &culprit).await;
        let share = culprit.op(
            WS,
            prev,
            OpBody::ShareKeys {
                member: school.public(),
                sealed: vec![i as u8; 8 * 1024],
            },
        );
        if let Err(e) = bad.append(share).await {
            assert_eq!(e.code(), Some(ErrorCode::MembershipRefused), "{e}");
            assert!(e.to_string().contains("sleutels gedeeld"), "{e}");
            refusals += 1;
        }
    }
    assert_eq!(refusals, 8);
    keeps_syncing(&url, &school, &gemeente, 21).await;

    // Key changes with large wrapped lists make the log larger than one answer: it is paged.
    for epoch in 1..=6u64 {
        let prev = head(&url, &gemeente).await;
        let wrapped = (0..(MAX_OP_BYTES / (8 * 1024 + 40)) as u8)
            .map(|i| WrappedKey {
                member: OrgKey([i; 32]),
                sealed: vec![i; 8 * 1024],
            })
            .collect();
        ws.coordinator
            .append(gemeente.op(WS, prev, OpBody::KeyEpoch { epoch, wrapped }))
            .await
            .unwrap();
    }
    let (mut reader, welcome) = school.connect(&url, WS).await;
    let first = reader.membership_page(0).await.unwrap();
    assert!(
        (first.len() as u64) < welcome.membership_len,
        "one answer holds {} of {} operations",
        first.len(),
        welcome.membership_len
    );
    let all = reader.membership(0).await.unwrap();
    assert_eq!(all.len() as u64, welcome.membership_len);

    // The coordinator removes the culprit: its connection is closed, the others go on.
    let prev = all.last().map(SignedOp::hash);
    ws.coordinator
        .append(gemeente.op(
            WS,
            prev,
            OpBody::Remove {
                member: culprit.public(),
                cutoff: None,
            },
        ))
        .await
        .unwrap();
    let gone = within("the culprit is told", bad.recv()).await;
    assert!(
        matches!(
            gone,
            Ok(Message::Error {
                code: ErrorCode::Removed,
                ..
            })
        ),
        "{gone:?}"
    );
    keeps_syncing(&url, &school, &gemeente, 22).await;
    relay.kill();
}

#[tokio::test]
async fn a_new_relay_takes_a_workspace_created_eleven_minutes_ago() {
    let dir = tempfile::tempdir().unwrap();
    let old = RelayProcess::start(&dir.path().join("old"), &[]);
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let school = Org::new(2, "Samenwerkingsverband Zwolle");
    let ouders = Org::new(3, "Ouderplatform");
    // The history, signed by the harness's clock eleven minutes ago: create, invite, redeem.
    let then = Timestamp(now().millis() - 11 * MINUTE);
    let create = SignedOp::sign(
        WS,
        None,
        then,
        OpBody::Create {
            name: "Samen Zwolle".into(),
            coordinator: gemeente.profile(),
        },
        &gemeente.key,
    );
    let invite = SignedOp::sign(
        WS,
        Some(create.hash()),
        then,
        OpBody::Invite {
            invite_key: kompas_engine::sync::membership::InviteToken([1; 32]).public(),
            role: Role::Partner,
            expires: Timestamp(then.millis() + 5 * MINUTE),
        },
        &gemeente.key,
    );
    let redeem = SignedOp::sign(
        WS,
        Some(invite.hash()),
        Timestamp(then.millis() + MINUTE),
        school.redeem(WS, 1),
        &school.key,
    );
    let history = [create, invite, redeem];
    for url in [old.url()] {
        let (mut coordinator, _) = gemeente.connect(&url, WS).await;
        for op in &history {
            coordinator.append(op.clone()).await.unwrap();
        }
    }
    keeps_syncing(&old.url(), &school, &gemeente, 30).await;

    // A new relay, from scratch: the coordinator copies the chained history, whatever its age,
    // although the invite it used expired by now.
    let new = RelayProcess::start(&dir.path().join("new"), &[]);
    let (mut copier, _) = gemeente.connect(&new.url(), WS).await;
    for op in &history {
        copier.append(op.clone()).await.unwrap();
    }
    keeps_syncing(&new.url(), &school, &gemeente, 31).await;

    // New operations are still checked: a joiner's own back-dated redeem, and anything from
    // the future, are refused by the relay's clock.
    let mut ws = TestWorkspace {
        id: WS,
        coordinator: copier,
    };
    ws.invite(
        &gemeente,
        2,
        Role::Partner,
        Timestamp(now().millis() + 60 * MINUTE),
    )
    .await;
    let prev = head(&new.url(), &gemeente).await;
    let (mut joiner, _) = ouders.connect(&new.url(), WS).await;
    joiner
        .candidacy(&InviteToken([2; 32]), &ouders.key)
        .await
        .expect("candidacy accepted");
    let backdated = SignedOp::sign(WS, prev, then, ouders.redeem(WS, 2), &ouders.key);
    let (code, _) = refused(joiner.append(backdated).await);
    assert_eq!(code, ErrorCode::ClockSkew);
    let ahead = SignedOp::sign(
        WS,
        prev,
        Timestamp(now().millis() + 11 * MINUTE),
        OpBody::RevokeInvite {
            invite_key: kompas_engine::sync::membership::InviteToken([2; 32]).public(),
        },
        &gemeente.key,
    );
    let (code, _) = refused(ws.coordinator.append(ahead).await);
    assert_eq!(code, ErrorCode::ClockSkew);
    // Times at the ends of the range overflow nothing: typed refusals, the relay stays up.
    for at in [i64::MIN, i64::MAX] {
        let extreme = SignedOp::sign(WS, prev, Timestamp(at), ouders.redeem(WS, 2), &ouders.key);
        let (code, _) = refused(joiner.append(extreme).await);
        assert_eq!(code, ErrorCode::ClockSkew, "time {at}");
    }
    let fresh = ouders.op(WS, prev, ouders.redeem(WS, 2));
    joiner.append(fresh).await.unwrap();
    keeps_syncing(&new.url(), &ouders, &school, 32).await;
    keeps_syncing(&new.url(), &school, &gemeente, 33).await;
    old.kill();
    new.kill();
}
