//! A typed refusal: the error code and message a request is answered with.

use kompas_engine::sync::membership::MembershipError;
use kompas_engine::sync::wire::{ErrorCode, Message};

use super::quota::Exceeded;

/// Why the relay refuses a request; becomes an `Error` frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refusal {
    /// The code the client acts on.
    pub code: ErrorCode,
    /// The explanation for people.
    pub message: String,
    /// The quota the request would exceed, when that is why (for the metrics).
    pub quota: Option<&'static str>,
}

impl Refusal {
    /// A refusal with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
            quota: None,
        }
    }

    /// The error frame.
    pub fn to_message(&self) -> Message {
        Message::error(self.code, self.message.clone())
    }

    /// Whether the relay closes the connection after sending it.
    pub fn closes(&self) -> bool {
        matches!(
            self.code,
            ErrorCode::UnsupportedVersion
                | ErrorCode::AuthFailed
                | ErrorCode::Removed
                | ErrorCode::ShuttingDown
                | ErrorCode::TimedOut
                | ErrorCode::Banned
        )
    }
}

impl From<MembershipError> for Refusal {
    fn from(e: MembershipError) -> Refusal {
        Refusal::new(ErrorCode::MembershipRefused, e.to_string())
    }
}

impl From<Exceeded> for Refusal {
    fn from(e: Exceeded) -> Refusal {
        Refusal {
            quota: Some(e.quota),
            ..e.refusal
        }
    }
}
