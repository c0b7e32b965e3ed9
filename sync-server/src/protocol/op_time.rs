//! Whether the time on a membership operation is acceptable to this relay.
//!
//! The relay compares an operation's time with its own clock to keep joiners from back-dating a
//! `Redeem` past an invite's expiry, the one rule of the member-list fold that depends on time.
//! History that is already signed and chained must load on a new or rebuilt relay however old
//! it is, so the rules look at what an old time could gain:
//!
//! - no operation may be dated more than [`MAX_CLOCK_SKEW_MS`] ahead of the relay's clock
//!   (history is never from the future);
//! - a `Redeem` offered by anyone but a current coordinator (normally the joiner itself) must be
//!   dated within that difference, and its invite must not have expired by the relay's clock;
//! - anything else, including a `Redeem` carried by a coordinator (who could invite that
//!   organisation again at any time) and every operation a coordinator copies to a new relay, is
//!   accepted whatever its age: an old time on those decides nothing.
//!
//! Differences are computed in 128 bits, so no time on the wire can overflow them.

use kompas_engine::Timestamp;
use kompas_engine::sync::membership::{MemberSet, Role, SignedOp};
use kompas_engine::sync::wire::{ErrorCode, OrgKey};

use super::refusal::Refusal;

/// How far the time on a new membership operation may be from the relay's clock.
pub const MAX_CLOCK_SKEW_MS: i64 = 10 * 60 * 1000;

/// Who brought an operation to the relay, and when.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    /// The relay's clock.
    pub now: Timestamp,
    /// The key of the connection that appended it.
    pub carrier: OrgKey,
}

/// Refuses an operation whose time this relay cannot accept, see the module documentation.
pub fn check(members: &MemberSet, op: &SignedOp, arrival: &Arrival) -> Result<(), Refusal> {
    let ahead = i128::from(op.op.at.millis()) - i128::from(arrival.now.millis());
    if ahead > i128::from(MAX_CLOCK_SKEW_MS) {
        return Err(skew(op, arrival.now, "loopt meer dan 10 minuten voor op"));
    }
    let Some(invite_key) = op.op.body.redeemed_invite() else {
        return Ok(());
    };
    if members.role_of(&arrival.carrier) == Some(Role::Coordinator) {
        return Ok(());
    }
    if -ahead > i128::from(MAX_CLOCK_SKEW_MS) {
        return Err(skew(op, arrival.now, "ligt meer dan 10 minuten achter op"));
    }
    match members.invites().get(invite_key) {
        Some(invite) if invite.expires < arrival.now => Err(Refusal::new(
            ErrorCode::MembershipRefused,
            format!(
                "de uitnodiging is verlopen op {} (volgens de klok van de relay); vraag de coördinator om een nieuwe",
                invite.expires
            ),
        )),
        _ => Ok(()),
    }
}

fn skew(op: &SignedOp, now: Timestamp, how: &str) -> Refusal {
    Refusal::new(
        ErrorCode::ClockSkew,
        format!(
            "de tijd op de operatie ({}) {how} de klok van de relay ({now})",
            op.op.at
        ),
    )
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use kompas_engine::identity::OrgType;
    use kompas_engine::sync::membership::{InviteToken, MemberProfile};
    use kompas_engine::sync::wire::{KxKey, WorkspaceId};

    use super::*;
    use kompas_engine::sync::membership::OpBody;

    const MIN: i64 = 60 * 1000;

    fn org(seed: u8) -> (SigningKey, MemberProfile) {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let profile = MemberProfile {
            key: OrgKey::of(&key),
            name: format!("org {seed}"),
            org_type: OrgType::Gemeente,
            kx: KxKey([seed; 32]),
        };
        (key, profile)
    }

    /// A workspace created and an invite registered at `t`, and a redeem of it dated `at`.
    fn log_and_redeem(t: i64, at: i64, expires: i64) -> (MemberSet, SignedOp) {
        let ws = WorkspaceId([4; 16]);
        let (ck, coordinator) = org(1);
        let (jk, joiner) = org(2);
        let token = InviteToken([9; 32]);
        let mut set = MemberSet::default();
        let create = SignedOp::sign(
            ws,
            None,
            Timestamp(t),
            OpBody::Create {
                name: "s".into(),
                coordinator,
            },
            &ck,
        );
        set.apply(&create).unwrap();
        let invite = SignedOp::sign(
            ws,
            set.head(),
            Timestamp(t),
            OpBody::Invite {
                invite_key: token.public(),
                role: Role::Partner,
                expires: Timestamp(expires),
            },
            &ck,
        );
        set.apply(&invite).unwrap();
        let redeem = SignedOp::sign(
            ws,
            set.head(),
            Timestamp(at),
            OpBody::Redeem {
                invite_key: token.public(),
                proof: token.prove(&ws, &joiner.key, &joiner.kx),
                profile: joiner,
            },
            &jk,
        );
        (set, redeem)
    }

    fn arrival(now: i64, carrier: u8) -> Arrival {
        Arrival {
            now: Timestamp(now),
            carrier: OrgKey::of(&SigningKey::from_bytes(&[carrier; 32])),
        }
    }

    #[test]
    fn history_of_any_age_is_accepted_but_nothing_from_the_future() {
        let now = 1_000_000 * MIN;
        let (set, redeem) = log_and_redeem(now - 11 * MIN, now - 11 * MIN, now + 60 * MIN);
        // Copied by the coordinator: history.
        assert!(check(&set, &redeem, &arrival(now, 1)).is_ok());
        // Offered by the joiner itself, eleven minutes old: back-dated.
        assert_eq!(
            check(&set, &redeem, &arrival(now, 2)).unwrap_err().code,
            ErrorCode::ClockSkew
        );
        // Within ten minutes from the joiner: fine.
        assert!(check(&set, &redeem, &arrival(now - 2 * MIN, 2)).is_ok());
        // From the future, whoever carries it.
        let (set, ahead) = log_and_redeem(now, now + 11 * MIN, now + 60 * MIN);
        for carrier in [1, 2] {
            assert_eq!(
                check(&set, &ahead, &arrival(now, carrier))
                    .unwrap_err()
                    .code,
                ErrorCode::ClockSkew
            );
        }
    }

    #[test]
    fn an_invite_expired_by_the_relay_clock_is_refused_unless_a_coordinator_carries_it() {
        let now = 1_000_000 * MIN;
        let (set, redeem) = log_and_redeem(now - 20 * MIN, now - MIN, now - MIN / 2);
        assert_eq!(
            check(&set, &redeem, &arrival(now, 2)).unwrap_err().code,
            ErrorCode::MembershipRefused
        );
        assert!(check(&set, &redeem, &arrival(now, 1)).is_ok());
    }

    #[test]
    fn extreme_times_do_not_overflow() {
        for (at, now) in [
            (i64::MIN, i64::MAX),
            (i64::MAX, i64::MIN),
            (i64::MIN, 0),
            (i64::MAX, 0),
            (0, i64::MIN),
        ] {
            let (set, redeem) = log_and_redeem(0, at, i64::MAX);
            let refused = check(&set, &redeem, &arrival(now, 2));
            assert_eq!(
                refused.unwrap_err().code,
                ErrorCode::ClockSkew,
                "{at} {now}"
            );
        }
        let (set, redeem) = log_and_redeem(0, i64::MIN, i64::MAX);
        assert!(check(&set, &redeem, &arrival(i64::MIN, 2)).is_ok());
    }
}
