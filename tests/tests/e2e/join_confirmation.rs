//! Joins that a coordinator must confirm: real `kompas` and `kompas-relay` processes on
//! 127.0.0.1. An invite made with `--confirm` carries no key; its joiner is pending, reads
//! nothing and holds no key until the coordinator, having compared fingerprints, confirms it;
//! then it reads and writes like any member. A refused joiner never gets a key and is turned
//! away. A partner's forged confirmation and a pending joiner's pushes are refused by the relay
//! with their typed errors, and the replicas keep the joiner pending.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use kompas_engine::seal::KeyRing;
use kompas_engine::sync::membership::{InviteToken, MemberKeys, OpBody, SealedNames};
use kompas_engine::sync::replication::{InviteCode, WorkspaceState};
use kompas_engine::sync::wire::{Access, ErrorCode, Message, WorkspaceId};
use kompas_relay::client::ClientError;
use kompas_tests::relay::{Org, RelayProcess, refused, runtime};
use kompas_tests::{Kompas, open_data_dir, sync_until};
use serde_json::Value;
use tempfile::TempDir;

const GEMEENTE: &str = "Gemeente Zeewolde";
const SWV: &str = "Samenwerkingsverband Flevoland Zuid";
const AANBIEDER: &str = "Jeugdzorg De Haven";

/// The key ring this organisation's replica holds (read from its store, no command running).
fn ring_of(k: &Kompas) -> KeyRing {
    let data = open_data_dir(k.data());
    let store = data.sole_store().unwrap();
    WorkspaceState::load(&store).unwrap().unwrap().ring
}

/// A code from `kompas workspace invite --confirm`, checked to carry no key.
fn confirm_invite(k: &Kompas) -> String {
    let out = k.json(&["workspace", "invite", "--confirm"]);
    assert_eq!(out["confirm"], true, "{out}");
    let code = out["code"].as_str().unwrap().to_string();
    let decoded = InviteCode::decode(&code).unwrap();
    assert!(
        decoded.ring.is_empty(),
        "a code that needs confirmation carries no workspace key"
    );
    code
}

/// The start of `kompas whoami`'s fingerprint: what the joiner reads out by telephone.
fn own_fingerprint(k: &Kompas) -> String {
    let whoami = k.json(&["whoami"]);
    let full = whoami["fingerprint"].as_str().unwrap();
    full.split(' ').take(4).collect::<Vec<_>>().join(" ")
}

/// The pending joiners in `kompas --json workspace members`.
fn pending(k: &Kompas) -> Vec<Value> {
    k.json(&["workspace", "members"])["pending"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_join_waits_for_the_coordinator_and_only_then_gets_keys() {
    let dir = TempDir::new().unwrap();
    let relay_data = dir.path().join("relay");
    let relay = RelayProcess::start(&relay_data, &[]);
    let gemeente = Kompas::organisation(dir.path(), "gemeente", GEMEENTE, "gemeente");
    let swv = Kompas::organisation(dir.path(), "swv", SWV, "samenwerkingsverband");
    let aanbieder = Kompas::organisation(dir.path(), "aanbieder", AANBIEDER, "aanbieder");
    let created = gemeente.json(&[
        "workspace",
        "create",
        "Zeewolde groeit",
        "--relay",
        &relay.url(),
    ]);
    let ws: WorkspaceId = created["workspace"].as_str().unwrap().parse().unwrap();
    gemeente.ok(&["doc", "new", "ambitie", "--set", "titel=Voor de leden"]);
    gemeente.ok(&["sync"]);

    // The joiner redeems, is told it waits, and shows the fingerprint whoami shows.
    let joined = swv.json(&["workspace", "join", &confirm_invite(&gemeente)]);
    assert_eq!(joined["pending"], true, "{joined}");
    let swv_print = own_fingerprint(&swv);
    assert_eq!(joined["fingerprint"], swv_print.as_str());
    let text = swv.ok(&["workspace", "members"]);
    assert!(text.contains("wacht op bevestiging"), "{text}");
    assert!(text.contains("via de telefoon"), "{text}");

    // Pending: no key in its store, nothing readable, however often it syncs.
    swv.ok(&["sync"]);
    gemeente.ok(&["sync"]);
    swv.ok(&["sync"]);
    assert!(ring_of(&swv).is_empty(), "a pending joiner holds no key");
    assert!(swv.titles().is_empty(), "a pending joiner reads nothing");

    // The coordinator sees the joiner's name and the same fingerprint, and confirms.
    let waiting = pending(&gemeente);
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0]["name"], SWV);
    assert_eq!(waiting[0]["fingerprint"], swv_print.as_str());
    let listed = gemeente.ok(&["workspace", "members"]);
    assert!(listed.contains(&swv_print), "{listed}");
    assert!(listed.contains("via de telefoon"), "{listed}");
    let swv_id = waiting[0]["org_id"].as_str().unwrap().to_string();
    let confirmed = gemeente.json(&["workspace", "confirm", &swv_print]);
    assert_eq!(confirmed["confirmed"], swv_id.as_str(), "{confirmed}");

    // Now the keys arrive: the joiner reads what was there and writes for the others.
    sync_until(&[&swv], "the confirmed joiner reads the document", |k| {
        k.titles() == ["Voor de leden"]
    });
    assert!(!ring_of(&swv).is_empty());
    let members = gemeente.json(&["workspace", "members"]);
    let names: Vec<&str> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert!(names.contains(&SWV), "{members}");
    assert!(pending(&gemeente).is_empty());
    swv.ok(&[
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Van het samenwerkingsverband",
    ]);
    sync_until(
        &[&swv, &gemeente],
        "the coordinator receives the new member's document",
        |k| k.titles().len() == 2,
    );
    // The other members read the confirmed member's name too (sealed by the confirmation).
    let seen = swv.json(&["workspace", "members"]);
    assert!(seen.to_string().contains(SWV), "{seen}");

    // A second joiner is refused: no key ever, and turned away.
    let joined = aanbieder.json(&["workspace", "join", &confirm_invite(&gemeente)]);
    assert_eq!(joined["pending"], true, "{joined}");
    gemeente.ok(&["sync"]);
    // A partner may not confirm, and is told so before anything is signed.
    let err = swv.fails(3, &["workspace", "confirm", AANBIEDER]);
    assert!(err.contains("coördinator"), "{err}");
    let refused_join = gemeente.json(&["workspace", "refuse", AANBIEDER]);
    assert!(refused_join["refused"].is_string(), "{refused_join}");
    let run = aanbieder.run(&["sync"]);
    assert_ne!(run.code, 0, "a refused joiner's sync fails: {}", run.stdout);
    assert!(run.stderr.contains("verwijderd"), "{}", run.stderr);
    assert!(
        ring_of(&aanbieder).is_empty(),
        "a refused joiner holds no key"
    );
    assert!(aanbieder.titles().is_empty());
    assert!(pending(&gemeente).is_empty());

    // On the wire: a pending joiner reads the log, nothing else, and cannot push; a partner's
    // forged confirmation is refused.
    let rt = runtime();
    let url = relay.url();
    let pending_org = Org::new(0x41, "Stichting In Afwachting");
    let partner = Org::new(0x42, "Partner met een vervalsing");
    let waiting_code = InviteCode::decode(&confirm_invite(&gemeente)).unwrap();
    let partner_code = InviteCode::decode(&gemeente.invite()).unwrap();
    rt.block_on(async {
        let waiting_token = InviteToken(waiting_code.token);
        let (mut client, welcome) = pending_org.connect(&url, ws).await;
        assert_eq!(welcome.access, Access::Candidate);
        client
            .candidacy(&waiting_token, &pending_org.key)
            .await
            .unwrap();
        let log = client.membership(0).await.unwrap();
        let keys = MemberKeys {
            key: pending_org.public(),
            kx: pending_org.profile().kx,
        };
        let redeem = OpBody::RedeemPending {
            invite_key: waiting_token.public(),
            proof: waiting_token.prove(&ws, &keys.key, &keys.kx),
            joiner: keys,
            boxes: Vec::new(),
        };
        let head = log.last().map(|op| op.hash());
        client
            .append(pending_org.op(ws, head, redeem))
            .await
            .unwrap();
        let bundle = pending_org.seal(ws, 0, 7, b"ongevraagd", [3; 24]);
        assert_eq!(refused(client.push(bundle).await), ErrorCode::NotMember);
        assert_eq!(refused(client.pull(0, 10).await), ErrorCode::NotMember);
        // Another connection: the redeemed invite still proves the pending joiner, which may
        // read the log again (to learn of a confirmation), but not subscribe to bundles.
        let (mut again, _) = pending_org.connect(&url, ws).await;
        let second = again
            .candidacy(&waiting_token, &pending_org.key)
            .await
            .unwrap();
        assert!(second.membership_len > 0);
        assert!(!again.membership(0).await.unwrap().is_empty());
        let answer = again.request(&Message::Subscribe { after: 0 }).await;
        assert!(
            matches!(
                answer,
                Err(ClientError::Refused {
                    code: ErrorCode::NotMember,
                    ..
                })
            ),
            "{answer:?}"
        );

        // The partner joins with an ordinary invite, then forges a confirmation.
        let partner_token = InviteToken(partner_code.token);
        let (mut p, _) = partner.connect(&url, ws).await;
        p.candidacy(&partner_token, &partner.key).await.unwrap();
        let log = p.membership(0).await.unwrap();
        let profile = partner.profile();
        let redeem = OpBody::Redeem {
            invite_key: partner_token.public(),
            proof: partner_token.prove(&ws, &profile.key, &profile.kx),
            profile,
        };
        p.append(partner.op(ws, log.last().map(|op| op.hash()), redeem))
            .await
            .unwrap();
        let (mut p, welcome) = partner.connect(&url, ws).await;
        assert!(matches!(welcome.access, Access::Member(_)), "{welcome:?}");
        let log = p.membership(0).await.unwrap();
        let forged = OpBody::Confirm {
            member: pending_org.public(),
            names: SealedNames {
                epoch: 0,
                nonce: [0; 24],
                ciphertext: vec![0; 144],
            },
        };
        let answer = p
            .append(partner.op(ws, log.last().map(|op| op.hash()), forged))
            .await;
        let Err(ClientError::Refused { code, message }) = answer else {
            panic!("a partner's confirmation was accepted: {answer:?}");
        };
        assert_eq!(code, ErrorCode::MembershipRefused);
        assert!(message.contains("coördinator"), "{message}");
    });
    // Every replica still holds that joiner as pending, and no key was shared with it.
    gemeente.ok(&["sync"]);
    swv.ok(&["sync"]);
    let pending_id = pending_org.public().org_id();
    for k in [&gemeente, &swv] {
        let waiting = pending(k);
        assert!(
            waiting.iter().any(|p| p["org_id"] == pending_id.as_str()),
            "{waiting:?}"
        );
    }
}
