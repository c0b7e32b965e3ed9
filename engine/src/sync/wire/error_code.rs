//! Typed error frames: the codes a relay answers with, stable across versions.

use std::fmt;

/// Why a request was refused. The number is what travels; unknown numbers decode as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The bytes were not a valid frame or message.
    Malformed,
    /// A frame was larger than the limit.
    FrameTooLarge,
    /// No protocol version in common.
    UnsupportedVersion,
    /// A message that does not fit the conversation at this point (e.g. before authentication).
    UnexpectedMessage,
    /// The challenge signature was wrong.
    AuthFailed,
    /// The key is not a member of the workspace.
    NotMember,
    /// The key was removed from the workspace; the connection is closed.
    Removed,
    /// A bundle or operation for another workspace than the connection's.
    WrongWorkspace,
    /// The workspace does not exist on this relay.
    UnknownWorkspace,
    /// A bundle whose signature does not verify.
    BadBundle,
    /// A bundle sealed with a key epoch the workspace has not reached.
    UnknownEpoch,
    /// A membership operation the log refuses, or a `Create` the relay does not allow from this
    /// key (the message says why).
    MembershipRefused,
    /// A membership operation whose time is too far from the relay's clock.
    ClockSkew,
    /// The relay is too busy; try again later.
    Overloaded,
    /// The relay is shutting down.
    ShuttingDown,
    /// The connection was silent too long, a frame took too long to arrive, or a key that is
    /// not a member stayed too long; the connection is closed.
    TimedOut,
    /// Something went wrong inside the relay.
    Internal,
    /// The relay's storage failed (e.g. its disk is full); nothing was stored, try again later.
    StorageFault,
    /// The key or the workspace used up one of the relay's quotas (the message says which).
    QuotaExceeded,
    /// The relay's operator froze the workspace: it can be read, not written.
    Frozen,
    /// The relay's operator banned the key; the connection is closed.
    Banned,
    /// A code this side does not know.
    Other(u16),
}

impl ErrorCode {
    /// The code's number on the wire.
    pub fn to_u16(self) -> u16 {
        match self {
            ErrorCode::Malformed => 1,
            ErrorCode::FrameTooLarge => 2,
            ErrorCode::UnsupportedVersion => 3,
            ErrorCode::UnexpectedMessage => 4,
            ErrorCode::AuthFailed => 10,
            ErrorCode::NotMember => 11,
            ErrorCode::Removed => 12,
            ErrorCode::WrongWorkspace => 13,
            ErrorCode::UnknownWorkspace => 14,
            ErrorCode::BadBundle => 20,
            ErrorCode::UnknownEpoch => 21,
            ErrorCode::MembershipRefused => 30,
            ErrorCode::ClockSkew => 31,
            ErrorCode::Overloaded => 40,
            ErrorCode::ShuttingDown => 41,
            ErrorCode::TimedOut => 42,
            ErrorCode::Internal => 50,
            ErrorCode::StorageFault => 51,
            ErrorCode::QuotaExceeded => 60,
            ErrorCode::Frozen => 61,
            ErrorCode::Banned => 62,
            ErrorCode::Other(n) => n,
        }
    }

    /// The code for a number.
    pub fn from_u16(n: u16) -> ErrorCode {
        match n {
            1 => ErrorCode::Malformed,
            2 => ErrorCode::FrameTooLarge,
            3 => ErrorCode::UnsupportedVersion,
            4 => ErrorCode::UnexpectedMessage,
            10 => ErrorCode::AuthFailed,
            11 => ErrorCode::NotMember,
            12 => ErrorCode::Removed,
            13 => ErrorCode::WrongWorkspace,
            14 => ErrorCode::UnknownWorkspace,
            20 => ErrorCode::BadBundle,
            21 => ErrorCode::UnknownEpoch,
            30 => ErrorCode::MembershipRefused,
            31 => ErrorCode::ClockSkew,
            40 => ErrorCode::Overloaded,
            41 => ErrorCode::ShuttingDown,
            42 => ErrorCode::TimedOut,
            50 => ErrorCode::Internal,
            51 => ErrorCode::StorageFault,
            60 => ErrorCode::QuotaExceeded,
            61 => ErrorCode::Frozen,
            62 => ErrorCode::Banned,
            n => ErrorCode::Other(n),
        }
    }

    /// A stable lowercase name, used in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::Malformed => "malformed",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::UnexpectedMessage => "unexpected_message",
            ErrorCode::AuthFailed => "auth_failed",
            ErrorCode::NotMember => "not_member",
            ErrorCode::Removed => "removed",
            ErrorCode::WrongWorkspace => "wrong_workspace",
            ErrorCode::UnknownWorkspace => "unknown_workspace",
            ErrorCode::BadBundle => "bad_bundle",
            ErrorCode::UnknownEpoch => "unknown_epoch",
            ErrorCode::MembershipRefused => "membership_refused",
            ErrorCode::ClockSkew => "clock_skew",
            ErrorCode::Overloaded => "overloaded",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::TimedOut => "timed_out",
            ErrorCode::Internal => "internal",
            ErrorCode::StorageFault => "storage_fault",
            ErrorCode::QuotaExceeded => "quota_exceeded",
            ErrorCode::Frozen => "frozen",
            ErrorCode::Banned => "banned",
            ErrorCode::Other(_) => "other",
        }
    }

    /// Whether the client may retry the same request later with a chance of success.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorCode::Overloaded
                | ErrorCode::ShuttingDown
                | ErrorCode::TimedOut
                | ErrorCode::Internal
                | ErrorCode::StorageFault
        )
    }

    /// The shortest wait before a client asks again after this refusal, in milliseconds, for
    /// refusals that the same request would get again right away: a quota needs its window to
    /// pass, a frozen workspace its operator. Clients wait at least this long, so a watching
    /// replica does not keep knocking on a relay that keeps saying no.
    pub fn hold_millis(self) -> Option<i64> {
        match self {
            ErrorCode::QuotaExceeded => Some(60_000),
            ErrorCode::Frozen => Some(10 * 60_000),
            _ => None,
        }
    }

    /// Whether this refusal ends the conversation with the relay for good (until the user acts).
    pub fn is_final(self) -> bool {
        matches!(self, ErrorCode::Removed | ErrorCode::Banned)
    }

    /// What the refusal means for the user of a replica, in Dutch. The relay's own message
    /// (which names the quota, the key or the limit) comes beside it.
    pub fn explanation(self) -> &'static str {
        match self {
            ErrorCode::Malformed | ErrorCode::UnexpectedMessage => {
                "de relay begreep een bericht niet"
            }
            ErrorCode::FrameTooLarge => "een bericht was groter dan de relay toestaat",
            ErrorCode::UnsupportedVersion => {
                "deze versie van kompas en de relay spreken geen gemeenschappelijke protocolversie"
            }
            ErrorCode::AuthFailed => "de relay kon de aanmelding niet controleren",
            ErrorCode::NotMember => "de relay kent deze organisatie niet als lid",
            ErrorCode::Removed => "deze organisatie is uit de samenwerking verwijderd",
            ErrorCode::WrongWorkspace | ErrorCode::UnknownWorkspace => {
                "de relay kent deze samenwerking niet"
            }
            ErrorCode::BadBundle | ErrorCode::UnknownEpoch => {
                "de relay weigerde een wijziging waarvan de ondertekening of sleutel niet klopt"
            }
            ErrorCode::MembershipRefused | ErrorCode::ClockSkew => {
                "de relay weigerde een wijziging van de ledenlijst"
            }
            ErrorCode::Overloaded => {
                "de relay is op dit moment te druk; kompas probeert het later opnieuw"
            }
            ErrorCode::ShuttingDown => "de relay stopt; kompas probeert het later opnieuw",
            ErrorCode::TimedOut => "de relay verbrak een verbinding die te lang stil bleef",
            ErrorCode::Internal => {
                "er ging iets mis in de relay; kompas probeert het later opnieuw"
            }
            ErrorCode::StorageFault => {
                "de relay kan op dit moment niets opslaan (bijvoorbeeld omdat de schijf vol is); je wijzigingen blijven hier bewaard en gaan later mee"
            }
            ErrorCode::QuotaExceeded => {
                "deze organisatie of samenwerking heeft een grens van de relay bereikt; je wijzigingen blijven hier bewaard en kompas probeert het over een minuut opnieuw, of vraag de beheerder van de relay om een ruimere grens"
            }
            ErrorCode::Frozen => {
                "de beheerder van de relay heeft deze samenwerking bevroren: lezen kan, nieuwe wijzigingen neemt de relay niet aan; je wijzigingen blijven hier bewaard"
            }
            ErrorCode::Banned => {
                "de beheerder van de relay heeft de sleutel van deze organisatie geweerd; neem contact op met de beheerder"
            }
            ErrorCode::Other(_) => "de relay weigerde een verzoek",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Other(n) => write!(f, "other({n})"),
            code => f.write_str(code.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_keeps_its_number_and_the_refusals_a_retry_cannot_fix_hold_the_client_back() {
        for n in 0..=u16::from(u8::MAX) {
            let code = ErrorCode::from_u16(n);
            assert_eq!(code.to_u16(), n);
            if !matches!(code, ErrorCode::Other(_)) {
                assert_ne!(code.name(), "other", "{n}");
                assert!(!code.explanation().is_empty());
            }
        }
        for (n, code) in [
            (42, ErrorCode::TimedOut),
            (51, ErrorCode::StorageFault),
            (60, ErrorCode::QuotaExceeded),
            (61, ErrorCode::Frozen),
            (62, ErrorCode::Banned),
        ] {
            assert_eq!(ErrorCode::from_u16(n), code);
        }
        assert!(ErrorCode::StorageFault.is_transient());
        assert!(!ErrorCode::QuotaExceeded.is_transient());
        assert_eq!(ErrorCode::QuotaExceeded.hold_millis(), Some(60_000));
        assert!(ErrorCode::Frozen.hold_millis().is_some());
        assert!(ErrorCode::Banned.is_final() && ErrorCode::Removed.is_final());
        assert!(ErrorCode::Overloaded.hold_millis().is_none());
    }
}
