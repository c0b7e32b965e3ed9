//! Tests of sealed names (operation tags 9 and 10): what the relay's fold sees, what members
//! open, placeholders without the epoch's key, and candidacy proofs.

use ed25519_dalek::SigningKey;

use super::*;
use crate::base::{CHALLENGE_LEN, Encoded, KxKey, OrgKey, WorkspaceId};
use crate::identity::OrgType;
use crate::seal::{Epoch, KeyRing, WorkspaceKey};
use crate::time::Timestamp;

const WS: WorkspaceId = WorkspaceId([4; 16]);

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn keys(seed: u8) -> MemberKeys {
    MemberKeys {
        key: OrgKey::of(&key(seed)),
        kx: KxKey([seed; 32]),
    }
}

fn ring(epochs: &[u64]) -> KeyRing {
    let mut ring = KeyRing::default();
    for e in epochs {
        ring.insert(Epoch(*e), WorkspaceKey::from_bytes([*e as u8 + 40; 32]));
    }
    ring
}

fn names(workspace: Option<&str>, name: &str, org_type: OrgType) -> Names {
    Names {
        workspace: workspace.map(str::to_string),
        name: name.to_string(),
        org_type,
    }
}

/// A log created with sealed names under epoch 0, with an open partner invite of token 7.
fn sealed_log(with: &KeyRing) -> (MemberSet, Vec<SignedOp>) {
    let coordinator = keys(1);
    let sealed = SealedNames::seal(
        with,
        &WS,
        &coordinator.key,
        &names(
            Some("Samen Deventer"),
            "Gemeente Deventer",
            OrgType::Gemeente,
        ),
    )
    .unwrap();
    let mut set = MemberSet::default();
    let mut ops = Vec::new();
    for body in [
        OpBody::CreateSealed {
            coordinator,
            names: sealed,
        },
        OpBody::Invite {
            invite_key: InviteToken([7; 32]).public(),
            role: Role::Partner,
            expires: Timestamp(1_000),
        },
    ] {
        let op = SignedOp::sign(WS, set.head(), Timestamp(1), body, &key(1));
        set.apply(&op).unwrap();
        ops.push(op);
    }
    (set, ops)
}

/// A redeem of invite 7 by organisation `joiner`, carrying `sealed` as its names.
fn redeem_carrying(set: &MemberSet, joiner: u8, sealed: SealedNames) -> SignedOp {
    let who = keys(joiner);
    let token = InviteToken([7; 32]);
    SignedOp::sign(
        WS,
        set.head(),
        Timestamp(2),
        OpBody::RedeemSealed {
            invite_key: token.public(),
            proof: token.prove(&WS, &who.key, &who.kx),
            joiner: who,
            names: sealed,
        },
        &key(joiner),
    )
}

fn sealed_redeem(set: &MemberSet, joiner: u8, with: &KeyRing, name: &str) -> SignedOp {
    let names = names(None, name, OrgType::Aanbieder);
    let sealed = SealedNames::seal(with, &WS, &keys(joiner).key, &names).unwrap();
    redeem_carrying(set, joiner, sealed)
}

#[test]
fn the_relay_folds_keys_and_roles_and_members_open_the_names() {
    let keys0 = ring(&[0]);
    let (mut relay_view, mut ops) = sealed_log(&keys0);
    let redeem = sealed_redeem(&relay_view, 2, &keys0, "Jeugdzorg Oost");
    relay_view.apply(&redeem).unwrap();
    ops.push(redeem);

    // Without keys: roles and keys, placeholders for every name.
    assert_eq!(relay_view.name(), UNREADABLE_WORKSPACE_NAME);
    assert_eq!(relay_view.role_of(&keys(1).key), Some(Role::Coordinator));
    assert_eq!(relay_view.role_of(&keys(2).key), Some(Role::Partner));
    assert!(
        relay_view
            .members()
            .all(|m| m.profile.name == UNREADABLE_NAME)
    );
    assert!(relay_view.has_unopened_names());
    // Nothing of the names is in the bytes of the log.
    let bytes: Vec<u8> = ops.iter().flat_map(|op| op.to_bytes()).collect();
    for name in ["Samen Deventer", "Gemeente Deventer", "Jeugdzorg Oost"] {
        assert!(
            !bytes.windows(name.len()).any(|w| w == name.as_bytes()),
            "{name} is readable in the log"
        );
    }

    // A member opens them all.
    let mut member_view = MemberSet::from_log(&ops).unwrap();
    member_view.open_names(&keys0);
    assert_eq!(member_view.name(), "Samen Deventer");
    let joiner = member_view.member(&keys(2).key).unwrap();
    assert_eq!(joiner.profile.name, "Jeugdzorg Oost");
    assert_eq!(joiner.profile.org_type, OrgType::Aanbieder);
    assert_eq!(
        member_view.member(&keys(1).key).unwrap().profile.org_type,
        OrgType::Gemeente
    );
    assert!(!member_view.has_unopened_names());
    // Apart from the names, both views are the same fold.
    assert_eq!(member_view.len(), relay_view.len());
    assert_eq!(member_view.head(), relay_view.head());
}

#[test]
fn a_name_under_a_missing_epoch_stays_a_placeholder_until_its_key_arrives() {
    let (mut set, _) = sealed_log(&ring(&[0]));
    // The joiner sealed under epoch 3, which this member does not hold yet.
    let redeem = sealed_redeem(&set, 2, &ring(&[0, 3]), "Ouders Salland");
    set.apply(&redeem).unwrap();
    set.open_names(&ring(&[0]));
    assert_eq!(set.name(), "Samen Deventer");
    assert_eq!(
        set.member(&keys(2).key).unwrap().profile.name,
        UNREADABLE_NAME
    );
    assert!(set.has_unopened_names());
    set.open_names(&ring(&[0, 3]));
    assert_eq!(
        set.member(&keys(2).key).unwrap().profile.name,
        "Ouders Salland"
    );
}

#[test]
fn names_sealed_for_another_member_do_not_open_for_this_one() {
    let keys0 = ring(&[0]);
    let (mut set, _) = sealed_log(&keys0);
    // A joiner copies another organisation's sealed names into its own redeem.
    let theirs = SealedNames::seal(
        &keys0,
        &WS,
        &keys(5).key,
        &names(None, "Gemeente Olst", OrgType::Gemeente),
    )
    .unwrap();
    let op = redeem_carrying(&set, 2, theirs);
    set.apply(&op).unwrap();
    set.open_names(&keys0);
    assert_eq!(
        set.member(&keys(2).key).unwrap().profile.name,
        UNREADABLE_NAME
    );
    // Tried once with the right key: it will never open, so it is not kept.
    assert!(!set.has_unopened_names());
}

#[test]
fn sealed_names_above_their_bound_are_refused_and_lengths_are_padded() {
    let keys0 = ring(&[0]);
    let short = SealedNames::seal(&keys0, &WS, &keys(1).key, &names(None, "A", OrgType::Ggd));
    let longer = SealedNames::seal(
        &keys0,
        &WS,
        &keys(1).key,
        &names(None, "Gemeentelijke Gezondheidsdienst", OrgType::Ggd),
    );
    assert_eq!(
        short.unwrap().ciphertext.len(),
        longer.unwrap().ciphertext.len()
    );
    let (mut set, _) = sealed_log(&keys0);
    let mut redeem = sealed_redeem(&set, 2, &keys0, "Jeugdzorg Oost");
    if let OpBody::RedeemSealed { names, .. } = &mut redeem.op.body {
        names.ciphertext = vec![0; MAX_SEALED_NAMES_BYTES + 1];
    }
    let before = set.clone();
    assert!(matches!(
        set.apply(&redeem),
        Err(MembershipError::TooLarge { .. })
    ));
    assert_eq!(set, before);
}

#[test]
fn a_candidacy_proof_holds_only_for_its_connection() {
    let token = InviteToken([7; 32]);
    let relay = OrgKey::of(&key(30));
    let challenge = [3; CHALLENGE_LEN];
    let joiner = keys(2).key;
    let proof = token.prove_candidacy(&relay, &challenge, &WS, &joiner);
    let invite = token.public();
    assert!(candidacy_holds(
        &invite, &proof, &relay, &challenge, &WS, &joiner
    ));
    assert!(!candidacy_holds(
        &invite,
        &proof,
        &relay,
        &[4; CHALLENGE_LEN],
        &WS,
        &joiner
    ));
    assert!(!candidacy_holds(
        &invite,
        &proof,
        &OrgKey::of(&key(31)),
        &challenge,
        &WS,
        &joiner
    ));
    assert!(!candidacy_holds(
        &invite,
        &proof,
        &relay,
        &challenge,
        &WorkspaceId([5; 16]),
        &joiner
    ));
    assert!(!candidacy_holds(
        &invite,
        &proof,
        &relay,
        &challenge,
        &WS,
        &keys(3).key
    ));
    assert!(!candidacy_holds(
        &InviteToken([8; 32]).public(),
        &proof,
        &relay,
        &challenge,
        &WS,
        &joiner
    ));
}
