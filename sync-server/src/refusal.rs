//! A typed refusal: the error code and message a request is answered with.

use kompas_engine::sync::membership::MembershipError;
use kompas_engine::sync::wire::{ErrorCode, Message};

use crate::store::StoreError;

/// Why the relay refuses a request; becomes an `Error` frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refusal {
    /// The code the client acts on.
    pub code: ErrorCode,
    /// The explanation for people.
    pub message: String,
}

impl Refusal {
    /// A refusal with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
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

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Refusal {
        if e.is_fault() {
            Refusal::new(
                ErrorCode::StorageFault,
                format!("{e}; er is niets opgeslagen, probeer het later opnieuw"),
            )
        } else {
            Refusal::new(ErrorCode::Internal, e.to_string())
        }
    }
}

impl From<MembershipError> for Refusal {
    fn from(e: MembershipError) -> Refusal {
        Refusal::new(ErrorCode::MembershipRefused, e.to_string())
    }
}
