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
    /// Something went wrong inside the relay (e.g. its storage).
    Internal,
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
            ErrorCode::Internal => 50,
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
            50 => ErrorCode::Internal,
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
            ErrorCode::Internal => "internal",
            ErrorCode::Other(_) => "other",
        }
    }

    /// Whether the client may retry the same request later with a chance of success.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorCode::Overloaded | ErrorCode::ShuttingDown | ErrorCode::Internal
        )
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
