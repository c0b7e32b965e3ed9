//! The relay protocol against an in-process relay on 127.0.0.1:0: members push, pull and
//! subscribe; every kind of bad input gets a typed error and the relay stays up; invites and
//! removals are enforced; load is shed; shutdown is graceful; one relay mirrors another.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use kompas_engine::Timestamp;
use kompas_engine::sync::membership::{InviteToken, OpBody, Role};
use kompas_engine::sync::wire::{
    Access, ErrorCode, Message, OrgKey, PROTOCOL_VERSION, WorkspaceId, encode_frame,
    verify_relay_proof,
};
use kompas_relay::RelayConfig;
use kompas_relay::client::{ClientError, RelayClient};
use kompas_tests::relay::{InProcessRelay, Org, TestWorkspace, now, open_sealed, refused, within};

const WS: WorkspaceId = WorkspaceId([7; 16]);

async fn relay(dir: &tempfile::TempDir) -> InProcessRelay {
    InProcessRelay::start(RelayConfig::new(dir.path().join("relay"))).await
}

/// The key the relay storing its data in `dir` has (created now if it has none yet).
fn key_of_relay_in(dir: &std::path::Path) -> OrgKey {
    kompas_relay::RelayState::open(
        RelayConfig::new(dir.to_path_buf()),
        kompas_relay::state::random(),
    )
    .unwrap()
    .relay_key()
}

/// Waits until `relay` holds workspace `id`.
async fn until_known(relay: &InProcessRelay, id: WorkspaceId) {
    let mut added = relay.state.watch_workspaces();
    within("the workspace reaches the relay", async {
        while relay.state.workspace(&id).is_none() {
            added.changed().await.unwrap();
        }
    })
    .await;
}

#[tokio::test]
async fn members_push_pull_subscribe_and_replays_are_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(&dir).await;
    let url = relay.url();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let aanbieder = Org::new(2, "Jeugdhulp Noord");
    let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;
    let mut partner = ws.add_partner(&url, &gemeente, &aanbieder, 9).await;
    ws.coordinator
        .send(&Message::Subscribe { after: 0 })
        .await
        .unwrap();

    let first = aanbieder.seal(WS, 0, 1, b"doel: minder thuiszitters", [1; 24]);
    let ack = partner.push(first.clone()).await.unwrap();
    assert_eq!((ack.seq, ack.duplicate, ack.hash), (1, false, first.hash()));
    let replay = partner.push(first.clone()).await.unwrap();
    assert_eq!((replay.seq, replay.duplicate), (1, true));
    let second = gemeente.seal(WS, 0, 2, b"resultaat", [2; 24]);
    let (mut other, welcome) = gemeente.connect(&url, WS).await;
    assert_eq!(welcome.access, Access::Member(Role::Coordinator));
    assert_eq!(welcome.head, 1);
    assert_eq!(other.push(second.clone()).await.unwrap().seq, 2);

    let mut pushed = Vec::new();
    within("the subscriber receives both bundles", async {
        while pushed.len() < 2 {
            match ws.coordinator.recv().await.unwrap() {
                Message::Pushed { item } => pushed.push(item),
                Message::MembershipOps { .. } => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await;
    assert_eq!(pushed[0].bundle, first);
    assert_eq!(pushed[1].bundle, second);
    let all = partner.pull_all(0).await.unwrap();
    assert_eq!(all.iter().map(|i| i.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(
        open_sealed(&all[0].bundle).unwrap(),
        b"doel: minder thuiszitters"
    );
    let (page, head) = partner.pull(1, 10).await.unwrap();
    assert_eq!((page.len(), head), (1, 2));
    assert_eq!(relay.state.metrics.bundles_duplicate.get(), 1);
    relay.stop().await;
}

#[tokio::test]
async fn bad_input_gets_typed_errors_and_the_relay_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(&dir).await;
    let url = relay.url();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let buiten = Org::new(3, "Buitenstaander");
    let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;

    // A non-member may authenticate (to redeem an invite) but not push or pull.
    let (mut stranger, welcome) = buiten.connect(&url, WS).await;
    assert_eq!(welcome.access, Access::Candidate);
    let theirs = buiten.seal(WS, 0, 1, b"x", [1; 24]);
    assert_eq!(
        refused(stranger.push(theirs.clone()).await),
        ErrorCode::NotMember
    );
    assert_eq!(refused(stranger.pull(0, 10).await), ErrorCode::NotMember);
    // ... nor forward it through a member's connection.
    assert_eq!(
        refused(ws.coordinator.push(theirs).await),
        ErrorCode::NotMember
    );

    // Tampered: the ciphertext changed after signing.
    let mut tampered = gemeente.seal(WS, 0, 1, b"x", [2; 24]);
    tampered.ciphertext[0] ^= 0xff;
    assert_eq!(
        refused(ws.coordinator.push(tampered).await),
        ErrorCode::BadBundle
    );
    // Another workspace's bundle on this connection, and a key epoch not reached yet.
    let elsewhere = gemeente.seal(WorkspaceId([8; 16]), 0, 1, b"x", [3; 24]);
    assert_eq!(
        refused(ws.coordinator.push(elsewhere).await),
        ErrorCode::WrongWorkspace
    );
    let future = gemeente.seal(WS, 4, 1, b"x", [4; 24]);
    assert_eq!(
        refused(ws.coordinator.push(future).await),
        ErrorCode::UnknownEpoch
    );

    // Oversized frame, garbage bytes, a frame in a future version, a text message.
    let mut oversized = encode_frame(&Message::Subscribe { after: 0 });
    oversized.resize(relay.state.config.max_frame + 10, 0);
    oversized[..4].copy_from_slice(&((relay.state.config.max_frame + 6) as u32).to_be_bytes());
    ws.coordinator.send_bytes(oversized).await.unwrap();
    assert_eq!(
        refused(next_error(&mut ws.coordinator).await),
        ErrorCode::FrameTooLarge
    );
    ws.coordinator
        .send_bytes(b"\x00\x00\x00\x03garbage".to_vec())
        .await
        .unwrap();
    assert_eq!(
        refused(next_error(&mut ws.coordinator).await),
        ErrorCode::Malformed
    );
    // The connection survived all of that: a real push still works and nothing bad was stored.
    let good = gemeente.seal(WS, 0, 1, b"x", [5; 24]);
    assert_eq!(ws.coordinator.push(good).await.unwrap().seq, 1);
    // A frame in a version the relay does not speak ends the conversation.
    let mut future_version = encode_frame(&Message::Pull { after: 0, limit: 1 });
    future_version[4] = PROTOCOL_VERSION + 1;
    ws.coordinator.send_bytes(future_version).await.unwrap();
    assert_eq!(
        refused(next_error(&mut ws.coordinator).await),
        ErrorCode::UnsupportedVersion
    );
    assert!(matches!(
        ws.coordinator.recv().await,
        Err(ClientError::Closed)
    ));

    // Garbage before the handshake: a typed error, then the connection is closed.
    let mut raw = RelayClient::open(&url).await.unwrap();
    raw.send_bytes(vec![0, 0, 0, 5, PROTOCOL_VERSION, 1, 0xff, 0xff, 0xff])
        .await
        .unwrap();
    assert_eq!(refused(next_error(&mut raw).await), ErrorCode::Malformed);
    assert!(matches!(raw.recv().await, Err(ClientError::Closed)));
    // A version 1 client (whose relays did not prove their key) is told the versions differ.
    let mut first_version = RelayClient::open(&url).await.unwrap();
    let mut hello = encode_frame(&Message::Hello {
        min_version: 1,
        max_version: 1,
        agent: "oud".into(),
        nonce: [0; 32],
    });
    hello[4] = 1;
    first_version.send_bytes(hello).await.unwrap();
    assert_eq!(
        refused(next_error(&mut first_version).await),
        ErrorCode::UnsupportedVersion
    );
    // A request before authenticating.
    let mut early = RelayClient::open(&url).await.unwrap();
    assert_eq!(
        refused(early.request(&Message::Pull { after: 0, limit: 1 }).await),
        ErrorCode::UnexpectedMessage
    );
    // An answer to the challenge signed by another key than the one claimed.
    let mut forger = RelayClient::open(&url).await.unwrap();
    let challenge = forger
        .request(&Message::Hello {
            min_version: PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
            agent: "test".into(),
            nonce: [0x42; 32],
        })
        .await
        .unwrap();
    let Message::Challenge {
        relay: relay_key,
        nonce,
        proof,
        ..
    } = challenge
    else {
        panic!("expected a challenge, got {challenge:?}");
    };
    // The relay proves its key over this connection's nonce, and only over it.
    assert_eq!(relay_key, relay.state.relay_key());
    assert!(verify_relay_proof(&[0x42; 32], &relay_key, &nonce, &proof));
    assert!(!verify_relay_proof(&[0x43; 32], &relay_key, &nonce, &proof));
    let signature = kompas_engine::sync::wire::sign_auth(&relay_key, &nonce, &WS, &buiten.key);
    let auth = Message::Auth {
        workspace: WS,
        key: gemeente.public(),
        signature,
    };
    assert_eq!(refused(forger.request(&auth).await), ErrorCode::AuthFailed);
    // A client speaking only a version the relay does not.
    let mut old = RelayClient::open(&url).await.unwrap();
    let hello = Message::Hello {
        min_version: 7,
        max_version: 9,
        agent: "toekomst".into(),
        nonce: [0; 32],
    };
    assert_eq!(
        refused(old.request(&hello).await),
        ErrorCode::UnsupportedVersion
    );

    // Still up: a new member connection reads exactly the one good bundle.
    let (mut fresh, _) = gemeente.connect(&url, WS).await;
    assert_eq!(fresh.pull_all(0).await.unwrap().len(), 1);
    let metrics = relay.state.render_metrics();
    for code in [
        "not_member",
        "bad_bundle",
        "frame_too_large",
        "malformed",
        "auth_failed",
    ] {
        assert!(
            metrics.contains(&format!("kompas_relay_errors_total{{code=\"{code}\"}}")),
            "{code} missing from\n{metrics}"
        );
    }
    relay.stop().await;
}

/// Receives until an error frame arrives, returned as an error.
async fn next_error(client: &mut RelayClient) -> Result<Message, ClientError> {
    match client.recv().await? {
        Message::Error { code, message } => Err(ClientError::Refused { code, message }),
        other => Ok(other),
    }
}

#[tokio::test]
async fn used_expired_and_revoked_invites_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(&dir).await;
    let url = relay.url();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let school = Org::new(2, "Samenwerkingsverband");
    let ouders = Org::new(3, "Ouderplatform");
    let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;
    ws.add_partner(&url, &gemeente, &school, 1).await;

    let try_redeem = |joiner: &'static Org, token: u8| {
        let url = url.clone();
        async move {
            let (mut client, _) = joiner.connect(&url, WS).await;
            // The holder of a used, expired or revoked invite is told so when it proves it.
            client
                .candidacy(&InviteToken([token; 32]), &joiner.key)
                .await?;
            let ops = client.membership(0).await.unwrap();
            let op = joiner.op(WS, ops.last().map(|o| o.hash()), joiner.redeem(WS, token));
            client.append(op).await
        }
    };
    let ouders: &'static Org = Box::leak(Box::new(ouders));
    let used = try_redeem(ouders, 1).await.unwrap_err();
    assert_eq!(used.code(), Some(ErrorCode::MembershipRefused));
    assert!(used.to_string().contains("al gebruikt"), "{used}");

    ws.invite(&gemeente, 2, Role::Partner, Timestamp(now().millis() - 1))
        .await;
    let expired = try_redeem(ouders, 2).await.unwrap_err();
    assert!(expired.to_string().contains("verlopen"), "{expired}");

    ws.invite(
        &gemeente,
        3,
        Role::Partner,
        Timestamp(now().millis() + 60_000),
    )
    .await;
    ws.append(
        &gemeente,
        OpBody::RevokeInvite {
            invite_key: InviteToken([3; 32]).public(),
        },
    )
    .await;
    let revoked = try_redeem(ouders, 3).await.unwrap_err();
    assert!(revoked.to_string().contains("ingetrokken"), "{revoked}");

    // Back-dating an operation (to slip past an expiry) is refused by the relay's clock.
    ws.invite(
        &gemeente,
        4,
        Role::Partner,
        Timestamp(now().millis() + 60_000),
    )
    .await;
    let (mut client, _) = ouders.connect(&url, WS).await;
    client
        .candidacy(&InviteToken([4; 32]), &ouders.key)
        .await
        .unwrap();
    let prev = client.membership(0).await.unwrap().last().map(|o| o.hash());
    // Dated just before an expiry that has passed by the relay's clock: within the allowed
    // clock difference, yet refused, because the relay checks the expiry against its own clock.
    ws.invite(
        &gemeente,
        6,
        Role::Partner,
        Timestamp(now().millis() - 60_000),
    )
    .await;
    let prev_six = client.membership(0).await.unwrap().last().map(|o| o.hash());
    let just_before = kompas_engine::sync::membership::SignedOp::sign(
        WS,
        prev_six,
        Timestamp(now().millis() - 120_000),
        ouders.redeem(WS, 6),
        &ouders.key,
    );
    let late = client.append(just_before).await.unwrap_err();
    assert_eq!(late.code(), Some(ErrorCode::MembershipRefused));
    assert!(late.to_string().contains("klok van de relay"), "{late}");
    let prev = prev_six.or(prev);
    let backdated = kompas_engine::sync::membership::SignedOp::sign(
        WS,
        prev,
        Timestamp(now().millis() - 3_600_000),
        ouders.redeem(WS, 4),
        &ouders.key,
    );
    assert_eq!(
        refused(client.append(backdated).await),
        ErrorCode::ClockSkew
    );
    // A partner may not invite.
    let (mut partner, _) = school.connect(&url, WS).await;
    let op = school.op(
        WS,
        partner
            .membership(0)
            .await
            .unwrap()
            .last()
            .map(|o| o.hash()),
        OpBody::Invite {
            invite_key: InviteToken([5; 32]).public(),
            role: Role::Coordinator,
            expires: Timestamp(now().millis() + 60_000),
        },
    );
    let err = partner.append(op).await.unwrap_err();
    assert!(err.to_string().contains("coördinator"), "{err}");
    relay.stop().await;
}

#[tokio::test]
async fn a_removed_member_is_cut_off_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(&dir).await;
    let url = relay.url();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let aanbieder = Org::new(2, "Jeugdhulp Noord");
    let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;
    let mut partner = ws.add_partner(&url, &gemeente, &aanbieder, 9).await;
    partner
        .send(&Message::Subscribe { after: 0 })
        .await
        .unwrap();
    let before = aanbieder.seal(WS, 0, 1, b"voor", [1; 24]);
    ws.coordinator.push(before.clone()).await.unwrap();
    assert!(matches!(
        partner.recv().await.unwrap(),
        Message::Pushed { .. }
    ));

    ws.append(
        &gemeente,
        OpBody::Remove {
            member: aanbieder.public(),
            cutoff: None,
        },
    )
    .await;
    // The open connection is told and closed, without it asking anything.
    let mut told = None;
    within("the removed member's connection closes", async {
        loop {
            match partner.recv().await {
                Ok(Message::Error { code, .. }) => told = Some(code),
                Ok(_) => {}
                Err(ClientError::Closed) => break,
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await;
    assert_eq!(told, Some(ErrorCode::Removed));
    // It cannot come back, and its bundles are not accepted from anyone.
    let mut again = RelayClient::open(&url).await.unwrap();
    assert_eq!(
        refused(again.authenticate(WS, &aanbieder.key).await),
        ErrorCode::Removed
    );
    let after = aanbieder.seal(WS, 0, 2, b"na", [2; 24]);
    assert_eq!(
        refused(ws.coordinator.push(after).await),
        ErrorCode::NotMember
    );
    // The key epoch moves on; bundles from before removal stay readable for members.
    ws.append(
        &gemeente,
        OpBody::KeyEpoch {
            epoch: 1,
            wrapped: vec![],
        },
    )
    .await;
    let (mut fresh, welcome) = gemeente.connect(&url, WS).await;
    assert_eq!(welcome.epoch, 1);
    assert_eq!(fresh.pull_all(0).await.unwrap()[0].bundle, before);
    relay.stop().await;
}

#[tokio::test]
async fn too_many_connections_are_shed_with_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new(dir.path().join("relay"));
    config.max_connections = 2;
    let relay = InProcessRelay::start(config).await;
    let url = relay.url();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let _ws = TestWorkspace::create(&url, WS, &gemeente).await;
    let (_second, _) = gemeente.connect(&url, WS).await;
    let mut third = RelayClient::open(&url).await.unwrap();
    assert_eq!(refused(next_error(&mut third).await), ErrorCode::Overloaded);
    assert!(matches!(third.recv().await, Err(ClientError::Closed)));
    assert_eq!(relay.state.metrics.errors_of(ErrorCode::Overloaded), 1);
    relay.stop().await;
}

#[tokio::test]
async fn writes_beyond_the_limit_are_shed_and_reads_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new(dir.path().join("relay"));
    config.max_concurrent_writes = 1;
    let relay = InProcessRelay::start(config).await;
    let url = relay.url();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;
    // Hold the only write permit, as a slow write would.
    let busy = relay.state.writes.try_acquire().unwrap();
    let bundle = gemeente.seal(WS, 0, 1, b"x", [1; 24]);
    assert_eq!(
        refused(ws.coordinator.push(bundle.clone()).await),
        ErrorCode::Overloaded
    );
    assert!(ErrorCode::Overloaded.is_transient());
    assert_eq!(ws.coordinator.pull(0, 10).await.unwrap().1, 0);
    drop(busy);
    assert_eq!(ws.coordinator.push(bundle).await.unwrap().seq, 1);
    relay.stop().await;
}

#[tokio::test]
async fn a_connection_that_does_not_authenticate_in_time_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new(dir.path().join("relay"));
    config.handshake_timeout = std::time::Duration::from_millis(200);
    let relay = InProcessRelay::start(config).await;
    let mut silent = RelayClient::open(&relay.url()).await.unwrap();
    let err = next_error(&mut silent).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::UnexpectedMessage));
    assert!(err.to_string().contains("duurde te lang"), "{err}");
    assert!(matches!(silent.recv().await, Err(ClientError::Closed)));
    relay.stop().await;
}

#[tokio::test]
async fn shutdown_tells_connected_clients_and_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(&dir).await;
    let url = relay.url();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;
    let bundle = gemeente.seal(WS, 0, 1, b"x", [1; 24]);
    ws.coordinator.push(bundle.clone()).await.unwrap();
    let stopping = tokio::spawn(relay.stop());
    assert_eq!(
        refused(next_error(&mut ws.coordinator).await),
        ErrorCode::ShuttingDown
    );
    stopping.await.unwrap();

    let again = InProcessRelay::start(RelayConfig::new(dir.path().join("relay"))).await;
    let (mut client, welcome) = gemeente.connect(&again.url(), WS).await;
    assert_eq!(welcome.access, Access::Member(Role::Coordinator));
    assert_eq!(client.pull_all(0).await.unwrap()[0].bundle, bundle);
    again.stop().await;
}

#[tokio::test]
async fn an_organisation_on_each_of_two_mirrored_relays_sees_the_others_bundles() {
    let dir = tempfile::tempdir().unwrap();
    // The mirroring relay's key must be known to the upstream before it starts.
    let downstream_dir = dir.path().join("b");
    let downstream_key = key_of_relay_in(&downstream_dir);
    let mut upstream_config = RelayConfig::new(dir.path().join("a"));
    upstream_config.allow_mirror = vec![downstream_key];
    let upstream = InProcessRelay::start(upstream_config).await;
    let mut downstream_config = RelayConfig::new(downstream_dir);
    downstream_config.mirror = Some(upstream.url());
    let downstream = InProcessRelay::start(downstream_config).await;

    let gemeente = Org::new(1, "Gemeente Zwolle");
    let school = Org::new(2, "Samenwerkingsverband");
    let mut ws = TestWorkspace::create(&upstream.url(), WS, &gemeente).await;
    ws.invite(
        &gemeente,
        5,
        Role::Partner,
        Timestamp(now().millis() + 60_000),
    )
    .await;
    // The partner only knows the mirror; it fetches the workspace from upstream on demand.
    let mut partner = ws.join(&downstream.url(), &school, 5).await;
    partner
        .send(&Message::Subscribe { after: 0 })
        .await
        .unwrap();
    ws.coordinator
        .send(&Message::Subscribe { after: 0 })
        .await
        .unwrap();

    let from_gemeente = gemeente.seal(WS, 0, 1, b"van de gemeente", [1; 24]);
    let from_school = school.seal(WS, 0, 1, b"van de school", [2; 24]);
    ws.coordinator
        .send(&Message::Push {
            bundle: from_gemeente.clone(),
        })
        .await
        .unwrap();
    partner
        .send(&Message::Push {
            bundle: from_school.clone(),
        })
        .await
        .unwrap();

    for client in [&mut ws.coordinator, &mut partner] {
        let mut seen = Vec::new();
        within("both bundles reach both organisations", async {
            while seen.len() < 2 {
                match client.recv().await.unwrap() {
                    Message::Pushed { item } => seen.push(open_sealed(&item.bundle).unwrap()),
                    Message::Ack { .. } | Message::MembershipOps { .. } => {}
                    other => panic!("unexpected {other:?}"),
                }
            }
        })
        .await;
        seen.sort();
        assert_eq!(
            seen,
            [b"van de gemeente".to_vec(), b"van de school".to_vec()]
        );
    }
    // The mirror got the membership log too: the partner's redeem reached upstream.
    let (_, welcome) = school.connect(&upstream.url(), WS).await;
    assert_eq!(welcome.access, Access::Member(Role::Partner));
    downstream.stop().await;
    upstream.stop().await;
}

#[tokio::test]
async fn with_an_allow_list_only_listed_organisations_create_workspaces() {
    let dir = tempfile::tempdir().unwrap();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let buiten = Org::new(3, "Buitenstaander");
    let mut config = RelayConfig::new(dir.path().join("relay"));
    config.allow_create = vec![gemeente.public()];
    let relay = InProcessRelay::start(config).await;
    let url = relay.url();

    // An organisation that is not listed may not create a workspace; it is told what to do.
    const OTHER: WorkspaceId = WorkspaceId([8; 16]);
    let (mut stranger, welcome) = buiten.connect(&url, OTHER).await;
    assert_eq!(welcome.access, Access::Candidate);
    let create = buiten.op(
        OTHER,
        None,
        OpBody::Create {
            name: "Eigen club".into(),
            coordinator: buiten.profile(),
        },
    );
    let err = stranger.append(create).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::MembershipRefused), "{err}");
    let text = err.to_string();
    for part in [
        "--allow-create",
        "kompas whoami",
        &buiten.public().to_string(),
    ] {
        assert!(text.contains(part), "{part:?} missing from {text}");
    }
    assert!(relay.state.workspace(&OTHER).is_none());
    assert_eq!(
        relay.state.metrics.errors_of(ErrorCode::MembershipRefused),
        1
    );
    // The connection and the relay go on serving.
    assert_eq!(refused(stranger.membership(0).await), ErrorCode::NotMember);

    // A listed organisation creates one; an organisation that is not listed joins it by invite
    // and works in it as a member.
    let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;
    let mut partner = ws.add_partner(&url, &gemeente, &buiten, 9).await;
    let bundle = buiten.seal(WS, 0, 1, b"plan van aanpak", [1; 24]);
    assert_eq!(partner.push(bundle).await.unwrap().seq, 1);
    let (_, welcome) = buiten.connect(&url, WS).await;
    assert_eq!(welcome.access, Access::Member(Role::Partner));
    relay.stop().await;
}

#[tokio::test]
async fn mirroring_copies_workspaces_whatever_either_relays_allow_list() {
    let dir = tempfile::tempdir().unwrap();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let regio = Org::new(4, "Regio IJssel");
    let downstream_dir = dir.path().join("b");
    let mut upstream_config = RelayConfig::new(dir.path().join("a"));
    upstream_config.allow_mirror = vec![key_of_relay_in(&downstream_dir)];
    upstream_config.allow_create = vec![regio.public()];
    let upstream = InProcessRelay::start(upstream_config).await;
    let mut downstream_config = RelayConfig::new(downstream_dir);
    downstream_config.mirror = Some(upstream.url());
    downstream_config.allow_create = vec![gemeente.public()];
    let downstream = InProcessRelay::start(downstream_config).await;

    // Created on the mirror, where it is listed: the mirror copies it upstream, where it is not.
    let _ws = TestWorkspace::create(&downstream.url(), WS, &gemeente).await;
    until_known(&upstream, WS).await;
    let (_, welcome) = gemeente.connect(&upstream.url(), WS).await;
    assert_eq!(welcome.access, Access::Member(Role::Coordinator));

    // Created upstream by an organisation the mirror does not list: the mirror fetches it.
    const REGIO: WorkspaceId = WorkspaceId([9; 16]);
    let _regional = TestWorkspace::create(&upstream.url(), REGIO, &regio).await;
    let (_, welcome) = regio.connect(&downstream.url(), REGIO).await;
    assert_eq!(welcome.access, Access::Member(Role::Coordinator));
    downstream.stop().await;
    upstream.stop().await;
}

/// Replicas ping a relay they have not heard from for a while and give the connection up if
/// nothing comes back; the relay must answer pings at any point, also before authentication.
#[tokio::test]
async fn the_relay_answers_pings() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as WsMessage;

    let dir = tempfile::tempdir().unwrap();
    let relay = relay(&dir).await;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(kompas_relay::client::endpoint(&relay.url()))
            .await
            .unwrap();
    ws.send(WsMessage::Ping(b"leef je nog".to_vec().into()))
        .await
        .unwrap();
    let pong = within("a pong from the relay", async {
        loop {
            match ws.next().await {
                Some(Ok(WsMessage::Pong(payload))) => return payload,
                Some(Ok(_)) => {}
                other => panic!("no pong: {other:?}"),
            }
        }
    })
    .await;
    assert_eq!(&pong[..], b"leef je nog");
    drop(ws);
    relay.stop().await;
}

/// Sends a push of each of `bundles` without waiting for any answer.
async fn push_all(client: &mut RelayClient, bundles: &[kompas_engine::sync::wire::SealedBundle]) {
    for bundle in bundles {
        client
            .send(&Message::Push {
                bundle: bundle.clone(),
            })
            .await
            .unwrap();
    }
}

/// The next answer, which must be the acknowledgement of `bundle` at `seq`.
async fn expect_ack(
    client: &mut RelayClient,
    bundle: &kompas_engine::sync::wire::SealedBundle,
    seq: u64,
    duplicate: bool,
) {
    match client.recv().await.unwrap() {
        Message::Ack {
            seq: acked,
            hash,
            duplicate: dup,
        } => assert_eq!((acked, hash, dup), (seq, bundle.hash(), duplicate)),
        other => panic!("expected the ack of bundle {seq}, got {other:?}"),
    }
}

#[tokio::test]
async fn pushes_sent_without_waiting_are_answered_in_order_and_a_refusal_keeps_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(&dir).await;
    let url = relay.url();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;
    let bundles: Vec<_> = (0..120u8)
        .map(|i| gemeente.seal(WS, 0, i % 7, &[i; 300], [i; 24]))
        .collect();
    let mut forged = gemeente.seal(WS, 0, 1, b"vervalst", [200; 24]);
    forged.ciphertext[0] ^= 1;
    // Sixty pushes, a forged one, sixty more, a replay of the first and a pull, all sent
    // before any answer is read.
    let client = &mut ws.coordinator;
    push_all(client, &bundles[..60]).await;
    push_all(client, std::slice::from_ref(&forged)).await;
    push_all(client, &bundles[60..]).await;
    push_all(client, &bundles[..1]).await;
    client
        .send(&Message::Pull {
            after: 0,
            limit: 512,
        })
        .await
        .unwrap();
    within("every push and the pull are answered, in order", async {
        for (i, bundle) in bundles[..60].iter().enumerate() {
            expect_ack(client, bundle, i as u64 + 1, false).await;
        }
        assert_eq!(refused(next_error(client).await), ErrorCode::BadBundle);
        for (i, bundle) in bundles[60..].iter().enumerate() {
            expect_ack(client, bundle, i as u64 + 61, false).await;
        }
        expect_ack(client, &bundles[0], 1, true).await;
        // The pull after the pushes sees every one of them.
        match client.recv().await.unwrap() {
            Message::Bundles { items, head } => {
                assert_eq!(head, 120);
                let pulled: Vec<_> = items.into_iter().map(|item| item.bundle).collect();
                assert_eq!(pulled, bundles);
            }
            other => panic!("expected the pulled bundles, got {other:?}"),
        }
    })
    .await;
    assert_eq!(relay.state.metrics.errors_of(ErrorCode::BadBundle), 1);
    relay.stop().await;
}

#[tokio::test]
async fn pushes_sent_without_waiting_are_not_acknowledged_while_the_store_cannot_flush() {
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(&dir).await;
    let url = relay.url();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;
    let bundles: Vec<_> = (0..40u8)
        .map(|i| gemeente.seal(WS, 0, i % 7, &[i; 100], [i; 24]))
        .collect();
    let sled = relay.state.store.as_sled().expect("a sled relay");
    sled.inject_fault(true);
    let client = &mut ws.coordinator;
    push_all(client, &bundles).await;
    within("every push is refused, none acknowledged", async {
        for _ in &bundles {
            assert_eq!(refused(next_error(client).await), ErrorCode::StorageFault);
        }
    })
    .await;
    assert_eq!(relay.state.metrics.bundles_stored.get(), 0);
    // Once the store flushes again, the same pushes are acknowledged where they were written.
    sled.inject_fault(false);
    push_all(client, &bundles).await;
    within("the pushes sent again are acknowledged in order", async {
        for (i, bundle) in bundles.iter().enumerate() {
            expect_ack(client, bundle, i as u64 + 1, true).await;
        }
    })
    .await;
    assert_eq!(client.pull_all(0).await.unwrap().len(), bundles.len());
    relay.stop().await;
}
