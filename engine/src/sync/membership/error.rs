//! Why a membership operation is refused.

use crate::base::{Hash32, OrgKey, WorkspaceId};
use crate::time::Timestamp;

/// A refused operation, with the reason a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    /// The signature is not the author's.
    #[error("de handtekening onder de wijziging van de ledenlijst klopt niet")]
    BadSignature,
    /// The operation is for another workspace.
    #[error("de operatie hoort bij samenwerking {found}, niet bij {expected}")]
    WrongWorkspace {
        /// The workspace of this log.
        expected: WorkspaceId,
        /// The workspace named by the operation.
        found: WorkspaceId,
    },
    /// The operation does not follow the last one in the log.
    #[error(
        "de operatie sluit niet aan op de laatste operatie van het logboek (het logboek staat op {}, de operatie volgt op {})",
        log_position(expected),
        log_position(found)
    )]
    NotChained {
        /// The current head of the log.
        expected: Option<Hash32>,
        /// The `prev` the operation named.
        found: Option<Hash32>,
    },
    /// Anything but `Create` on an empty log.
    #[error("de samenwerking bestaat nog niet")]
    NotCreated,
    /// `Create` on a log that has one.
    #[error("de samenwerking bestaat al")]
    AlreadyCreated,
    /// `Create` signed by someone else than the named coordinator.
    #[error("de samenwerking moet worden aangemaakt door de coördinator zelf")]
    CreatorMismatch,
    /// The author is not a member.
    #[error("organisatie {0} is geen lid van deze samenwerking")]
    NotMember(OrgKey),
    /// The author is a member but not a coordinator.
    #[error("alleen een coördinator mag dit doen (organisatie {0} is partner)")]
    NotCoordinator(OrgKey),
    /// An invite with this token hash exists already.
    #[error("er bestaat al een uitnodiging met deze code")]
    DuplicateInvite,
    /// The invite does not exist.
    #[error("deze uitnodiging is onbekend in deze samenwerking")]
    UnknownInvite,
    /// The invite was redeemed before.
    #[error("deze uitnodiging is al gebruikt door organisatie {by}")]
    InviteUsed {
        /// Who redeemed it.
        by: OrgKey,
    },
    /// The invite expired.
    #[error("deze uitnodiging is verlopen op {expires}")]
    InviteExpired {
        /// When it expired.
        expires: Timestamp,
    },
    /// The invite was revoked.
    #[error("deze uitnodiging is ingetrokken")]
    InviteRevoked,
    /// A redeem signed by someone else than the joiner it names.
    #[error("een uitnodiging moet worden ingewisseld door de organisatie die lid wordt")]
    RedeemerMismatch,
    /// The joiner is a member already.
    #[error("organisatie {0} is al lid van deze samenwerking")]
    AlreadyMember(OrgKey),
    /// The key was removed from the workspace and may not return.
    #[error("organisatie {0} is uit deze samenwerking verwijderd")]
    Removed(OrgKey),
    /// A plain redeem of an invite that needs a coordinator's confirmation.
    #[error(
        "deze uitnodiging vraagt om bevestiging door een coördinator; zo'n aanmelding moet daarop wachten"
    )]
    ConfirmationRequired,
    /// A redeem that waits for confirmation, of an invite that does not ask for it.
    #[error("deze uitnodiging vraagt niet om bevestiging")]
    NoConfirmationAsked,
    /// The joiner already waits for confirmation.
    #[error("organisatie {0} wacht al op bevestiging")]
    AlreadyPending(OrgKey),
    /// A confirmation of a key that is not waiting for one.
    #[error("organisatie {0} wacht niet op bevestiging")]
    NotPending(OrgKey),
    /// Removing this member would leave the workspace without a coordinator.
    #[error("de laatste coördinator kan niet worden verwijderd")]
    LastCoordinator,
    /// The redeem's proof is not the invite key's signature over the joiner's keys.
    #[error("het bewijs bij het inwisselen van de uitnodiging klopt niet voor deze organisatie")]
    BadInviteProof,
    /// An operation, or a part of it, above its size limit.
    #[error("{what} van {size} bytes is groter dan de grens van {limit} bytes")]
    TooLarge {
        /// Which part.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A member already received as many key shares as allowed.
    #[error("organisatie {member} heeft al {limit} keer sleutels gedeeld gekregen")]
    TooManyShares {
        /// The receiving member.
        member: OrgKey,
        /// The limit.
        limit: usize,
    },
    /// A key epoch that is not the next one.
    #[error("sleutelgeneratie {found} volgt niet op de huidige generatie {current}")]
    EpochNotNext {
        /// The current epoch.
        current: u64,
        /// The epoch named.
        found: u64,
    },
}

/// A log that does not fold: which entry failed and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lidmaatschapslogboek, operatie {index}: {error}")]
pub struct LogError {
    /// Zero-based position in the log.
    pub index: usize,
    /// The reason.
    pub error: MembershipError,
}

/// A place in the membership log as an operator reads it: the start, or the operation's hash.
fn log_position(head: &Option<Hash32>) -> String {
    match head {
        None => "het begin".to_string(),
        Some(hash) => format!("operatie {hash}"),
    }
}
