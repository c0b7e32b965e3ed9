//! Exit codes, documented in `kompas --help` and the README, and how errors map onto them.

use kompas_engine::ReplicaError;
use kompas_engine::composition::InitError;
use kompas_engine::document::{AssignmentError, DocIdError};
use kompas_engine::figures::import::ImportError;
use kompas_engine::figures::storage::FiguresError;
use kompas_engine::figures::{AreaCodeError, PeriodError};
use kompas_engine::privacy::PrivacyError;
use kompas_engine::published::PublishError;
use kompas_engine::report::ReportError;
use kompas_engine::runtime::FlowError;
use kompas_engine::store::{DataDirError, StoreError};
use kompas_engine::sync::replication::{InviteCodeError, SyncError};

use crate::reminders::config::ConfigError;
use crate::reminders::mailer::SendError;

/// Something went wrong that is not covered by a more specific code.
pub const FAILURE: u8 = 1;
/// The command line itself was wrong (unknown command, missing argument).
pub const USAGE: u8 = 2;
/// The input was refused: a bad value, an unknown kind or field, a bad file.
pub const INVALID_INPUT: u8 = 3;
/// The thing asked for does not exist.
pub const NOT_FOUND: u8 = 4;
/// The data directory cannot be used: missing, not ours, or in use by another process.
pub const DATA_DIR: u8 = 5;
/// A workflow step is not allowed yet: a field is empty or an approval is missing.
pub const REFUSED: u8 = 6;
/// Sync did not complete: a relay could not be reached, or refused this organisation.
pub const SYNC_INCOMPLETE: u8 = 7;
/// Ctrl-C or SIGTERM stopped a command before its work was done.
pub const INTERRUPTED: u8 = 8;
/// Reminder mail did not all go out: the mail server could not be reached or refused a message.
pub const MAIL_INCOMPLETE: u8 = 9;

/// The name of an exit code in `--json` errors.
pub fn kind_name(code: u8) -> &'static str {
    match code {
        0 => "success",
        USAGE => "usage",
        INVALID_INPUT => "invalid-input",
        NOT_FOUND => "not-found",
        DATA_DIR => "data-directory",
        REFUSED => "step-refused",
        SYNC_INCOMPLETE => "sync-incomplete",
        INTERRUPTED => "interrupted",
        MAIL_INCOMPLETE => "mail-incomplete",
        _ => "failure",
    }
}

/// The text shown under `kompas --help`.
pub const HELP: &str = "Afsluitcodes: 0 gelukt, 1 onverwachte fout, 2 verkeerd gebruik van de opdracht, \
3 invoer geweigerd, 4 niet gevonden, 5 kompas-map niet bruikbaar (ontbreekt, is niet van kompas of is in gebruik), \
6 stap in de werkstroom (nog) niet toegestaan, \
7 synchronisatie onvolledig (relay onbereikbaar of toegang geweigerd), \
8 onderbroken (Ctrl-C of SIGTERM), \
9 herinneringen niet allemaal verstuurd (mailserver onbereikbaar of weigerde).";

/// An error that already knows its exit code (for failures found by the CLI itself).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    pub message: String,
    pub code: u8,
}

impl Refused {
    /// Sync that could not complete.
    pub fn sync(message: impl Into<String>) -> anyhow::Error {
        Refused {
            message: message.into(),
            code: SYNC_INCOMPLETE,
        }
        .into()
    }

    /// Reminder mail that did not all go out.
    pub fn mail(message: impl Into<String>) -> anyhow::Error {
        Refused {
            message: message.into(),
            code: MAIL_INCOMPLETE,
        }
        .into()
    }

    /// Invalid input found by the CLI.
    pub fn input(message: impl Into<String>) -> anyhow::Error {
        Refused {
            message: message.into(),
            code: INVALID_INPUT,
        }
        .into()
    }
}

/// Picks the exit code for an error by looking through its chain of causes.
pub fn classify(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(r) = cause.downcast_ref::<Refused>() {
            return r.code;
        }
        if cause.downcast_ref::<DataDirError>().is_some()
            || cause.downcast_ref::<StoreError>().is_some()
        {
            return DATA_DIR;
        }
        match cause.downcast_ref::<InitError>() {
            Some(InitError::DataDir(_)) => return DATA_DIR,
            Some(InitError::Replica(e)) => return replica_code(e),
            None => {}
        }
        if let Some(e) = cause.downcast_ref::<ReplicaError>() {
            return replica_code(e);
        }
        if let Some(e) = cause.downcast_ref::<FiguresError>() {
            return match e {
                FiguresError::Replica(inner) => replica_code(inner),
                FiguresError::UnknownIndicator { .. } => NOT_FOUND,
                e if e.is_input_error() => INVALID_INPUT,
                _ => FAILURE,
            };
        }
        if let Some(e) = cause.downcast_ref::<SyncError>() {
            return match e {
                SyncError::NoWorkspace
                | SyncError::AlreadyInWorkspace(_)
                | SyncError::NotCoordinator
                | SyncError::UnknownMember(_)
                | SyncError::AmbiguousMember(_)
                | SyncError::Relay(_)
                | SyncError::Membership(_) => INVALID_INPUT,
                _ => FAILURE,
            };
        }
        if let Some(e) = cause.downcast_ref::<ConfigError>() {
            return match e {
                ConfigError::Missing(_) => NOT_FOUND,
                _ => INVALID_INPUT,
            };
        }
        if let Some(e) = cause.downcast_ref::<SendError>() {
            return match e {
                SendError::Config(ConfigError::Missing(_)) => NOT_FOUND,
                SendError::Config(_) | SendError::Build { .. } => INVALID_INPUT,
                _ => MAIL_INCOMPLETE,
            };
        }
        if cause.downcast_ref::<InviteCodeError>().is_some() {
            return INVALID_INPUT;
        }
        if let Some(e) = cause.downcast_ref::<FlowError>() {
            return match e {
                FlowError::Replica(inner) => replica_code(inner),
                FlowError::UnknownDefinition { .. }
                | FlowError::UnknownVersion { .. }
                | FlowError::UnknownInstance(_) => NOT_FOUND,
                // A step the instance does not allow now, or not from this organisation.
                FlowError::Refused { .. } | FlowError::NotNow(_) => REFUSED,
                e if e.is_input_error() => INVALID_INPUT,
                _ => FAILURE,
            };
        }
        if let Some(e) = cause.downcast_ref::<ReportError>() {
            return match e {
                ReportError::Replica(inner) => replica_code(inner),
                ReportError::Flow(FlowError::Replica(inner)) => replica_code(inner),
                ReportError::NotAConversation(_) => NOT_FOUND,
                e if e.is_input_error() => INVALID_INPUT,
                _ => FAILURE,
            };
        }
        if let Some(e) = cause.downcast_ref::<PublishError>() {
            return match e {
                PublishError::Replica(inner) => replica_code(inner),
                e if e.is_input_error() => INVALID_INPUT,
                _ => FAILURE,
            };
        }
        if cause.downcast_ref::<ImportError>().is_some()
            || cause.downcast_ref::<AreaCodeError>().is_some()
            || cause.downcast_ref::<PeriodError>().is_some()
            || cause.downcast_ref::<PrivacyError>().is_some()
            || cause.downcast_ref::<AssignmentError>().is_some()
            || cause.downcast_ref::<DocIdError>().is_some()
        {
            return INVALID_INPUT;
        }
        // A file or folder named on the command line that is not there.
        if cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            return NOT_FOUND;
        }
    }
    FAILURE
}

/// The exit code for a replica error, wherever in the chain it sits.
fn replica_code(e: &ReplicaError) -> u8 {
    match e {
        ReplicaError::NotFound(_) => NOT_FOUND,
        // The store under the data directory cannot be read (cut short, damaged).
        ReplicaError::NotInitialised | ReplicaError::Store(_) => DATA_DIR,
        e if e.is_input_error() => INVALID_INPUT,
        _ => FAILURE,
    }
}
