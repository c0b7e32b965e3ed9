//! Tests of the membership fold: invites, redeeming, revoking, removing and key epochs.

use ed25519_dalek::SigningKey;

use super::*;
use crate::base::{Encoded, KxKey, OrgKey, WorkspaceId};
use crate::identity::OrgType;
use crate::time::Timestamp;

const WS: WorkspaceId = WorkspaceId([9; 16]);

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn profile(seed: u8, name: &str) -> MemberProfile {
    MemberProfile {
        key: OrgKey::of(&key(seed)),
        name: name.into(),
        org_type: OrgType::Gemeente,
        kx: KxKey([seed; 32]),
    }
}

/// A redeem of invite `token` by organisation `joiner`, with the invite key's proof.
fn redeem_body(token: u8, joiner: u8) -> OpBody {
    let profile = profile(joiner, "Aanbieder");
    let token = InviteToken([token; 32]);
    OpBody::Redeem {
        invite_key: token.public(),
        proof: token.prove(&WS, &profile.key, &profile.kx),
        profile,
    }
}

/// A log under construction, signing each operation onto the current head.
struct Log {
    set: MemberSet,
    ops: Vec<SignedOp>,
}

impl Log {
    fn created() -> Log {
        let mut log = Log {
            set: MemberSet::default(),
            ops: Vec::new(),
        };
        log.append(
            1,
            0,
            OpBody::Create {
                name: "Samen Zwolle".into(),
                coordinator: profile(1, "Gemeente Zwolle"),
            },
        )
        .unwrap();
        log
    }

    fn sign(&self, signer: u8, at: i64, body: OpBody) -> SignedOp {
        SignedOp::sign(WS, self.set.head(), Timestamp(at), body, &key(signer))
    }

    fn append(&mut self, signer: u8, at: i64, body: OpBody) -> Result<(), MembershipError> {
        let op = self.sign(signer, at, body);
        self.set.apply(&op)?;
        self.ops.push(op);
        Ok(())
    }

    fn invite(&mut self, token: u8, role: Role, expires: i64) {
        self.append(
            1,
            10,
            OpBody::Invite {
                invite_key: InviteToken([token; 32]).public(),
                role,
                expires: Timestamp(expires),
            },
        )
        .unwrap();
    }

    fn redeem(&mut self, token: u8, joiner: u8, at: i64) -> Result<(), MembershipError> {
        self.append(joiner, at, redeem_body(token, joiner))
    }
}

#[test]
fn a_redeemed_invite_makes_a_member_with_its_role() {
    let mut log = Log::created();
    log.invite(7, Role::Partner, 1000);
    log.redeem(7, 2, 500).unwrap();
    let joiner = OrgKey::of(&key(2));
    assert_eq!(log.set.role_of(&joiner), Some(Role::Partner));
    assert_eq!(log.set.members().count(), 2);
    assert_eq!(log.set.name(), "Samen Zwolle");
    assert_eq!(
        log.set.invites()[&InviteToken([7; 32]).public()].state,
        InviteState::Used { by: joiner }
    );
    assert_eq!(MemberSet::from_log(&log.ops).unwrap(), log.set);
}

#[test]
fn used_expired_revoked_and_unknown_invites_are_refused_with_their_reason() {
    let mut log = Log::created();
    log.invite(7, Role::Partner, 1000);
    log.redeem(7, 2, 500).unwrap();
    assert_eq!(
        log.redeem(7, 3, 600),
        Err(MembershipError::InviteUsed {
            by: OrgKey::of(&key(2))
        })
    );
    log.invite(8, Role::Partner, 1000);
    assert_eq!(
        log.redeem(8, 3, 1001),
        Err(MembershipError::InviteExpired {
            expires: Timestamp(1000)
        })
    );
    log.append(
        1,
        20,
        OpBody::RevokeInvite {
            invite_key: InviteToken([8; 32]).public(),
        },
    )
    .unwrap();
    assert_eq!(log.redeem(8, 3, 30), Err(MembershipError::InviteRevoked));
    assert_eq!(log.redeem(99, 3, 30), Err(MembershipError::UnknownInvite));
    let err = log.redeem(8, 3, 30).unwrap_err();
    assert_eq!(err.to_string(), "deze uitnodiging is ingetrokken");
}

#[test]
fn only_coordinators_invite_remove_and_rotate() {
    let mut log = Log::created();
    log.invite(7, Role::Partner, 1000);
    log.redeem(7, 2, 5).unwrap();
    let partner = OrgKey::of(&key(2));
    let invite = OpBody::Invite {
        invite_key: InviteToken([5; 32]).public(),
        role: Role::Coordinator,
        expires: Timestamp(100),
    };
    assert_eq!(
        log.append(2, 6, invite),
        Err(MembershipError::NotCoordinator(partner))
    );
    assert_eq!(
        log.append(
            3,
            6,
            OpBody::Remove {
                member: partner,
                cutoff: None
            }
        ),
        Err(MembershipError::NotMember(OrgKey::of(&key(3))))
    );
    assert_eq!(
        log.append(
            1,
            7,
            OpBody::Remove {
                member: OrgKey::of(&key(1)),
                cutoff: None,
            }
        ),
        Err(MembershipError::LastCoordinator)
    );
}

#[test]
fn a_removed_member_is_out_and_cannot_rejoin_and_the_epoch_moves_on() {
    let mut log = Log::created();
    log.invite(7, Role::Partner, 1000);
    log.redeem(7, 2, 5).unwrap();
    let partner = OrgKey::of(&key(2));
    log.append(
        1,
        8,
        OpBody::Remove {
            member: partner,
            cutoff: None,
        },
    )
    .unwrap();
    assert!(!log.set.is_member(&partner));
    assert!(log.set.was_removed(&partner));
    log.invite(6, Role::Partner, 1000);
    assert_eq!(log.redeem(6, 2, 9), Err(MembershipError::Removed(partner)));
    assert_eq!(
        log.append(
            1,
            9,
            OpBody::KeyEpoch {
                epoch: 5,
                wrapped: vec![]
            }
        ),
        Err(MembershipError::EpochNotNext {
            current: 0,
            found: 5
        })
    );
    let coordinator = OrgKey::of(&key(1));
    log.append(
        1,
        9,
        OpBody::KeyEpoch {
            epoch: 1,
            wrapped: vec![WrappedKey {
                member: coordinator,
                sealed: vec![1, 2],
            }],
        },
    )
    .unwrap();
    assert_eq!(log.set.epoch(), 1);
    assert_eq!(log.set.grants_for(&coordinator).count(), 1);
    assert_eq!(log.set.grants_for(&partner).count(), 0);
}

#[test]
fn the_log_must_be_a_signed_chain_of_one_workspace() {
    let mut log = Log::created();
    let stale = SignedOp::sign(
        WS,
        None,
        Timestamp(1),
        OpBody::RevokeInvite {
            invite_key: InviteToken([1; 32]).public(),
        },
        &key(1),
    );
    assert!(matches!(
        log.set.apply(&stale),
        Err(MembershipError::NotChained { .. })
    ));
    let mut forged = log.sign(
        1,
        1,
        OpBody::Invite {
            invite_key: InviteToken([1; 32]).public(),
            role: Role::Partner,
            expires: Timestamp(9),
        },
    );
    forged.op.at = Timestamp(2);
    assert_eq!(log.set.apply(&forged), Err(MembershipError::BadSignature));
    let elsewhere = SignedOp::sign(
        WorkspaceId([1; 16]),
        log.set.head(),
        Timestamp(1),
        OpBody::Remove {
            member: OrgKey([0; 32]),
            cutoff: None,
        },
        &key(1),
    );
    assert!(matches!(
        log.set.apply(&elsewhere),
        Err(MembershipError::WrongWorkspace { .. })
    ));
    let before = log.set.clone();
    assert_eq!(log.redeem(42, 4, 1), Err(MembershipError::UnknownInvite));
    assert_eq!(log.set, before, "a refused operation changes nothing");
    let mut broken = log.ops.clone();
    broken.push(forged);
    assert_eq!(MemberSet::from_log(&broken).unwrap_err().index, 1);
}

#[test]
fn create_is_first_once_and_by_the_coordinator_itself() {
    let empty = MemberSet::default();
    let invite = SignedOp::sign(
        WS,
        None,
        Timestamp(0),
        OpBody::RevokeInvite {
            invite_key: InviteToken([1; 32]).public(),
        },
        &key(1),
    );
    assert_eq!(
        empty.clone().apply(&invite),
        Err(MembershipError::NotCreated)
    );
    let by_other = SignedOp::sign(
        WS,
        None,
        Timestamp(0),
        OpBody::Create {
            name: "x".into(),
            coordinator: profile(1, "x"),
        },
        &key(2),
    );
    assert_eq!(
        empty.clone().apply(&by_other),
        Err(MembershipError::CreatorMismatch)
    );
    let mut log = Log::created();
    assert_eq!(
        log.append(
            1,
            0,
            OpBody::Create {
                name: "y".into(),
                coordinator: profile(1, "x"),
            }
        ),
        Err(MembershipError::AlreadyCreated)
    );
}

#[test]
fn a_redeem_seen_on_the_wire_cannot_be_replayed_or_redirected() {
    let mut log = Log::created();
    log.invite(7, Role::Partner, 1000);
    let seen = log.sign(2, 5, redeem_body(7, 2));
    // Someone who saw the redeem signs its own with the proof it carries: refused.
    let OpBody::Redeem {
        invite_key, proof, ..
    } = seen.op.body.clone()
    else {
        unreachable!("a redeem")
    };
    let redirected = OpBody::Redeem {
        invite_key,
        proof,
        profile: profile(3, "Indringer"),
    };
    assert_eq!(
        log.append(3, 5, redirected),
        Err(MembershipError::BadInviteProof)
    );
    // Keeping the key but wrapping keys to another exchange key is refused too.
    let mut other_kx = profile(2, "Aanbieder");
    other_kx.kx = KxKey([0xee; 32]);
    let swapped = OpBody::Redeem {
        invite_key,
        proof,
        profile: other_kx,
    };
    assert_eq!(
        log.append(2, 5, swapped),
        Err(MembershipError::BadInviteProof)
    );
    // The genuine redeem makes the genuine joiner a member; replaying it changes nothing more.
    log.set.apply(&seen).unwrap();
    log.ops.push(seen.clone());
    let before = log.set.clone();
    assert!(log.set.apply(&seen).is_err());
    assert_eq!(log.set, before);
    assert!(log.set.is_member(&OrgKey::of(&key(2))));
    assert!(!log.set.is_member(&OrgKey::of(&key(3))));
    // Nothing in the log reveals the token.
    let token = [7u8; 32];
    for op in &log.ops {
        let bytes = crate::base::Encoded::to_bytes(op);
        assert!(!bytes.windows(32).any(|w| w == token));
    }
}

#[test]
fn oversized_operations_and_floods_of_shares_are_refused_and_leave_the_set_unchanged() {
    let mut log = Log::created();
    log.invite(7, Role::Partner, 1000);
    log.redeem(7, 2, 5).unwrap();
    let partner = OrgKey::of(&key(2));
    let coordinator = OrgKey::of(&key(1));
    let before = log.set.clone();
    let huge = OpBody::ShareKeys {
        member: coordinator,
        sealed: vec![0; MAX_OP_BYTES],
    };
    assert!(matches!(
        log.append(2, 6, huge),
        Err(MembershipError::TooLarge {
            what: "operatie",
            ..
        })
    ));
    let wide = OpBody::ShareKeys {
        member: coordinator,
        sealed: vec![0; MAX_WRAPPED_BYTES + 1],
    };
    assert!(matches!(
        log.append(2, 6, wide),
        Err(MembershipError::TooLarge {
            what: "sleutelmateriaal",
            ..
        })
    ));
    assert_eq!(log.set, before);
    for _ in 0..MAX_SHARES_PER_MEMBER {
        log.append(
            2,
            6,
            OpBody::ShareKeys {
                member: coordinator,
                sealed: vec![1; 64],
            },
        )
        .unwrap();
    }
    let before = log.set.clone();
    assert_eq!(
        log.append(
            2,
            7,
            OpBody::ShareKeys {
                member: coordinator,
                sealed: vec![1; 64],
            },
        ),
        Err(MembershipError::TooManyShares {
            member: coordinator,
            limit: MAX_SHARES_PER_MEMBER,
        })
    );
    assert_eq!(log.set, before);
    // The coordinator can still remove the culprit.
    log.append(
        1,
        8,
        OpBody::Remove {
            member: partner,
            cutoff: None,
        },
    )
    .unwrap();
    assert!(log.set.was_removed(&partner));
    assert_eq!(MemberSet::from_log(&log.ops).unwrap(), log.set);
}

/// One step of a random membership history: who signs, and what.
#[derive(Debug, Clone)]
enum Step {
    Invite {
        token: u8,
        partner: bool,
        expires: i64,
    },
    Redeem {
        token: u8,
        joiner: u8,
        at: i64,
    },
    Revoke {
        token: u8,
    },
    Remove {
        member: u8,
    },
    Epoch {
        skip: bool,
    },
}

fn arb_step() -> impl proptest::strategy::Strategy<Value = (u8, Step)> {
    use proptest::prelude::*;
    let step = prop_oneof![
        (0u8..4, any::<bool>(), 0i64..100).prop_map(|(token, partner, expires)| Step::Invite {
            token,
            partner,
            expires
        }),
        (0u8..4, 1u8..6, 0i64..100).prop_map(|(token, joiner, at)| Step::Redeem {
            token,
            joiner,
            at
        }),
        (0u8..4).prop_map(|token| Step::Revoke { token }),
        (1u8..6).prop_map(|member| Step::Remove { member }),
        any::<bool>().prop_map(|skip| Step::Epoch { skip }),
    ];
    (1u8..6, step)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Whatever operations are tried, by whoever: a refused one changes nothing, the accepted
    /// ones fold to the same set from scratch, a coordinator always remains, and nobody who was
    /// removed is a member.
    #[test]
    fn random_histories_keep_the_member_set_consistent(steps in proptest::collection::vec(arb_step(), 1..20)) {
        let mut log = Log::created();
        for (signer, step) in steps {
            let before = log.set.clone();
            let body = match step {
                Step::Invite { token, partner, expires } => OpBody::Invite {
                    invite_key: InviteToken([token; 32]).public(),
                    role: if partner { Role::Partner } else { Role::Coordinator },
                    expires: Timestamp(expires),
                },
                Step::Redeem { token, joiner, at } => {
                    let result = log.redeem(token, joiner, at);
                    if result.is_err() {
                        proptest::prop_assert_eq!(&log.set, &before);
                    }
                    continue;
                }
                Step::Revoke { token } => OpBody::RevokeInvite {
                    invite_key: InviteToken([token; 32]).public(),
                },
                Step::Remove { member } => OpBody::Remove { member: OrgKey::of(&key(member)), cutoff: Some(u64::from(member)) },
                Step::Epoch { skip } => OpBody::KeyEpoch {
                    epoch: log.set.epoch() + if skip { 2 } else { 1 },
                    wrapped: vec![],
                },
            };
            if log.append(signer, 50, body).is_err() {
                proptest::prop_assert_eq!(&log.set, &before);
            }
        }
        proptest::prop_assert_eq!(&MemberSet::from_log(&log.ops).unwrap(), &log.set);
        proptest::prop_assert!(log.set.members().any(|m| m.role == Role::Coordinator));
        for m in log.set.members() {
            proptest::prop_assert!(!log.set.was_removed(&m.profile.key));
        }
        proptest::prop_assert_eq!(log.set.len(), log.ops.len() as u64);
    }
}

/// A redeem of confirmation invite `token` by organisation `joiner`, waiting to be confirmed.
fn pending_body(token: u8, joiner: u8, boxes: Vec<WrappedKey>) -> OpBody {
    let profile = profile(joiner, "Aanbieder");
    let token = InviteToken([token; 32]);
    OpBody::RedeemPending {
        invite_key: token.public(),
        proof: token.prove(&WS, &profile.key, &profile.kx),
        joiner: MemberKeys {
            key: profile.key,
            kx: profile.kx,
        },
        boxes,
    }
}

fn confirm_body(joiner: u8) -> OpBody {
    OpBody::Confirm {
        member: OrgKey::of(&key(joiner)),
        names: SealedNames {
            epoch: 0,
            nonce: [0; 24],
            ciphertext: vec![0; 144],
        },
    }
}

impl Log {
    fn invite_confirmed(&mut self, token: u8) {
        self.append(
            1,
            10,
            OpBody::InviteConfirmed {
                invite_key: InviteToken([token; 32]).public(),
                role: Role::Partner,
                expires: Timestamp(1000),
            },
        )
        .unwrap();
    }
}

#[test]
fn a_confirmation_invite_makes_a_pending_joiner_that_only_a_coordinator_confirms() {
    let mut log = Log::created();
    log.invite(6, Role::Partner, 1000);
    log.redeem(6, 3, 20).unwrap();
    log.invite_confirmed(7);
    let joiner = OrgKey::of(&key(2));
    // The plain redeem would skip the confirmation: refused.
    assert_eq!(
        log.redeem(7, 2, 30),
        Err(MembershipError::ConfirmationRequired)
    );
    log.append(2, 30, pending_body(7, 2, Vec::new())).unwrap();
    assert!(log.set.is_pending(&joiner));
    assert!(!log.set.is_member(&joiner));
    assert_eq!(log.set.pending().count(), 1);
    // Nobody shares keys with a pending joiner, it cannot share, and it redeems only once.
    let share = |member: u8| OpBody::ShareKeys {
        member: OrgKey::of(&key(member)),
        sealed: vec![1; 32],
    };
    assert_eq!(
        log.append(1, 40, share(2)),
        Err(MembershipError::NotMember(joiner))
    );
    assert_eq!(
        log.append(2, 40, share(3)),
        Err(MembershipError::NotMember(joiner))
    );
    assert_eq!(
        log.append(2, 40, pending_body(7, 2, Vec::new())),
        Err(MembershipError::AlreadyPending(joiner))
    );
    // Neither a partner nor the joiner itself may confirm.
    assert_eq!(
        log.append(3, 50, confirm_body(2)),
        Err(MembershipError::NotCoordinator(OrgKey::of(&key(3))))
    );
    assert_eq!(
        log.append(2, 50, confirm_body(2)),
        Err(MembershipError::NotMember(joiner))
    );
    assert!(log.set.is_pending(&joiner));
    log.append(1, 60, confirm_body(2)).unwrap();
    let member = log.set.member(&joiner).unwrap();
    assert_eq!(member.role, Role::Partner);
    assert!(member.confirmed);
    assert_eq!(member.joined_at, Timestamp(30));
    assert!(!log.set.is_pending(&joiner));
    assert_eq!(
        log.append(1, 70, confirm_body(2)),
        Err(MembershipError::NotPending(joiner))
    );
    // Now keys may be shared with it; the whole log replays to the same set, and every new
    // operation survives its encoding.
    log.append(1, 80, share(2)).unwrap();
    assert_eq!(MemberSet::from_log(&log.ops).unwrap(), log.set);
    for op in &log.ops {
        assert_eq!(&SignedOp::from_bytes(&op.to_bytes()).unwrap(), op);
    }
}

#[test]
fn a_waiting_redeem_needs_an_invite_that_asks_for_confirmation() {
    let mut log = Log::created();
    log.invite(7, Role::Partner, 1000);
    assert_eq!(
        log.append(2, 30, pending_body(7, 2, Vec::new())),
        Err(MembershipError::NoConfirmationAsked)
    );
    log.invite_confirmed(8);
    assert_eq!(
        log.append(2, 1001, pending_body(8, 2, Vec::new())),
        Err(MembershipError::InviteExpired {
            expires: Timestamp(1000)
        })
    );
    // Signed by another key than the joiner it names: refused.
    assert_eq!(
        log.append(3, 30, pending_body(8, 2, Vec::new())),
        Err(MembershipError::RedeemerMismatch)
    );
}

#[test]
fn a_refused_joiner_is_out_for_good_without_a_key_change() {
    let mut log = Log::created();
    log.invite_confirmed(7);
    log.append(2, 30, pending_body(7, 2, Vec::new())).unwrap();
    let joiner = OrgKey::of(&key(2));
    log.append(
        1,
        40,
        OpBody::Remove {
            member: joiner,
            cutoff: Some(0),
        },
    )
    .unwrap();
    assert!(log.set.was_removed(&joiner));
    assert!(!log.set.is_pending(&joiner));
    assert_eq!(log.set.epoch(), 0);
    assert_eq!(
        log.append(1, 50, confirm_body(2)),
        Err(MembershipError::NotPending(joiner))
    );
    log.invite_confirmed(8);
    assert_eq!(
        log.append(2, 60, pending_body(8, 2, Vec::new())),
        Err(MembershipError::Removed(joiner))
    );
}

#[test]
fn boxed_names_are_bounded_in_number_and_size() {
    let mut log = Log::created();
    log.invite_confirmed(7);
    let boxed = |n: usize, size: usize| {
        (0..n)
            .map(|i| WrappedKey {
                member: OrgKey([i as u8; 32]),
                sealed: vec![0; size],
            })
            .collect::<Vec<_>>()
    };
    assert!(matches!(
        log.append(2, 30, pending_body(7, 2, boxed(MAX_NAME_BOXES + 1, 10))),
        Err(MembershipError::TooLarge { .. })
    ));
    assert!(matches!(
        log.append(
            2,
            30,
            pending_body(7, 2, boxed(1, MAX_BOXED_NAMES_BYTES + 1))
        ),
        Err(MembershipError::TooLarge { .. })
    ));
    log.append(
        2,
        30,
        pending_body(7, 2, boxed(MAX_NAME_BOXES, MAX_BOXED_NAMES_BYTES)),
    )
    .unwrap();
}

#[test]
fn boxed_names_open_only_for_their_coordinator_and_their_joiner() {
    use crate::seal::ExchangeSecret;
    let coordinator = ExchangeSecret::derive(&key(1));
    let other = ExchangeSecret::derive(&key(3));
    let joiner = OrgKey::of(&key(2));
    let names = Names {
        workspace: None,
        name: "Jeugdzorg De Haven".into(),
        org_type: OrgType::Aanbieder,
    };
    let boxed = NameBox::seal(
        &names,
        &WS,
        &joiner,
        &KxKey(coordinator.public().0),
        [5; 32],
        [6; 24],
    )
    .unwrap();
    assert_eq!(
        NameBox::open(&boxed, &WS, &joiner, &coordinator),
        Some(names)
    );
    assert_eq!(NameBox::open(&boxed, &WS, &joiner, &other), None);
    assert_eq!(
        NameBox::open(&boxed, &WS, &OrgKey::of(&key(4)), &coordinator),
        None
    );
    assert_eq!(
        NameBox::open(&boxed, &WorkspaceId([1; 16]), &joiner, &coordinator),
        None
    );
}

#[test]
fn the_confirmation_operations_have_the_tags_the_protocol_names() {
    // Workspace (16), no `prev` (1), author (32) and time (8) come before the tag.
    let tag = |body: OpBody| SignedOp::sign(WS, None, Timestamp(0), body, &key(1)).to_bytes()[57];
    assert_eq!(tag(confirm_body(2)), 11);
    let invite = OpBody::InviteConfirmed {
        invite_key: InviteToken([7; 32]).public(),
        role: Role::Partner,
        expires: Timestamp(1000),
    };
    assert_eq!(tag(invite), 12);
    assert_eq!(tag(pending_body(7, 2, Vec::new())), 13);
}
