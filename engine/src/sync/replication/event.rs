//! What goes into the sync machine (events) and what comes out (effects and reports).

use automerge::ChangeHash;

use super::relay_trust::RelayRefusal;
use crate::document::DocId;
use crate::replica::{Incoming, Landed};
use crate::store::MetaBatch;
use crate::sync::wire::{ErrorCode, Message, OrgKey};
use crate::time::Timestamp;

/// Something that happened, handed to [`super::Machine::handle`].
#[derive(Debug, Clone)]
pub enum Event {
    /// Begin: connect to every relay.
    Start,
    /// A timer asked for with [`Effect::WakeAt`] went off (or any later moment).
    Tick,
    /// Local documents may have changed: look for them (the machine asks for them with
    /// [`Step::read_local_edits`]).
    LocalChanges,
    /// The own changes of the documents edited here since they were last sealed, read by the
    /// driver when the machine asked for them: seal and send them.
    LocalEdits(Vec<LocalEdit>),
    /// What became of the pieces the machine asked to have applied with [`Step::deliver`], one
    /// per piece, in the same order.
    Delivered(Vec<Landed>),
    /// Every document this replica holds with its compact save, read by the driver when the
    /// machine asked for them with [`Step::snapshots_for`]: seal them for `relay`.
    Snapshots {
        relay: String,
        docs: Vec<(DocId, Vec<u8>)>,
    },
    /// The connection to a relay is open.
    Connected { relay: String },
    /// The connection to a relay is gone (or could not be opened).
    Disconnected { relay: String, reason: String },
    /// The relay's TLS certificate could not be trusted (expired, another host name, an unknown
    /// issuer); `reason` says what is wrong and what to do. Final for a one-off sync.
    Untrusted { relay: String, reason: String },
    /// A message arrived from a relay.
    Received {
        relay: String,
        message: Box<Message>,
    },
}

/// The own changes of one locally edited document, since the heads it was last sealed at
/// ([`super::Machine::sealed_since`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LocalEdit {
    /// The document.
    pub doc: DocId,
    /// This organisation's changes not sealed yet, each one change chunk, in causal order.
    pub changes: Vec<Vec<u8>>,
    /// The document's heads when they were read: where the next seal starts.
    pub heads: Vec<ChangeHash>,
}

/// What the machine asks for after one event, in the order the driver carries it out: first
/// `save`, durably; then `deliver`, durably, with the outcomes handed back; then the snapshots
/// and local edits it asked for; then `effects`. Nothing in `effects` may go out before `save`
/// is durable: it may depend on it (an acknowledged bundle, a moved cursor).
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    /// The writes that make the machine's state durable, as one atomic batch.
    pub save: Option<MetaBatch>,
    /// Apply these received pieces to these documents, durably, and hand back what became of
    /// each as [`Event::Delivered`]. While they are out, the machine handles no more received
    /// bundles (it keeps them until the outcomes are in).
    pub deliver: Vec<Delivery>,
    /// Read the documents edited here since they were last sealed and hand their own changes
    /// back as [`Event::LocalEdits`].
    pub read_local_edits: bool,
    /// Relays that lost what they had stored: read every document and hand them back as
    /// [`Event::Snapshots`], one event per relay.
    pub snapshots_for: Vec<String>,
    /// Connect, send, close, wake, report: in this order.
    pub effects: Vec<Effect>,
}

/// One received piece for one document (see [`Step::deliver`]). Pieces for the same document
/// may be applied together, in their order.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The document.
    pub doc: DocId,
    /// What arrived for it, and when it is applied.
    pub incoming: Incoming,
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Open a connection to the relay.
    Connect { relay: String },
    /// Send a message over the open connection.
    Send {
        relay: String,
        message: Box<Message>,
    },
    /// Close the connection.
    Close { relay: String },
    /// Deliver [`Event::Tick`] at (or after) this moment.
    WakeAt(Timestamp),
    /// Tell the user.
    Report(Report),
}

impl Effect {
    /// Sends `message` to `relay`.
    pub fn send(relay: &str, message: Message) -> Effect {
        Effect::Send {
            relay: relay.to_string(),
            message: Box::new(message),
        }
    }
}

/// Progress and problems, for people and logs.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// The relay accepted this replica.
    Connected { relay: String },
    /// A bundle was applied to a document.
    Applied {
        relay: String,
        doc: DocId,
        author: String,
    },
    /// A bundle was refused and not applied.
    Refused {
        relay: String,
        seq: u64,
        author: String,
        reason: String,
    },
    /// So many bundles wait for what they depend on that no more can be parked: reading from
    /// this relay stops before the bundle at `seq` until some of them can be applied.
    ParkedFull {
        relay: String,
        seq: u64,
        limit: usize,
    },
    /// The relay durably stored local changes.
    Stored { relay: String, seq: u64 },
    /// The member list changed.
    MembersChanged { operations: usize },
    /// New workspace keys arrived.
    KeysReceived { epoch: u64 },
    /// The relay refused something.
    RelayError {
        relay: String,
        code: ErrorCode,
        message: String,
    },
    /// The relay refused to create the workspace (the `RelayError` before this says why, e.g.
    /// its operator lists who may create workspaces there); it is not asked again.
    CreateRefused { relay: String },
    /// A member-list change signed here no longer applies and was dropped.
    OperationDropped { message: String },
    /// The connection dropped; the next attempt is at `retry_at`, if any.
    Disconnected {
        relay: String,
        reason: String,
        retry_at: Option<Timestamp>,
    },
    /// One-off sync with this relay is complete.
    Done { relay: String, cursor: u64 },
    /// One-off sync with this relay failed after several attempts.
    GaveUp { relay: String },
    /// One-off sync is complete with every relay (or given up).
    Finished,
    /// This organisation was removed from the workspace.
    Removed,
    /// The relay holds fewer bundles than this replica already read from it: it lost what it
    /// had acknowledged (rebuilt from an empty directory, say). It is read again from the start,
    /// and a snapshot of each of this replica's `documents` is queued for it.
    RelayLost { relay: String, documents: usize },
    /// The relay's key was met for the first time and is pinned from now on.
    KeyPinned { relay: String, key: OrgKey },
    /// The relay is not the one this replica pinned, or could not prove its key; nothing was
    /// exchanged and it is not asked again in this run.
    RelayRefused {
        relay: String,
        refusal: RelayRefusal,
    },
    /// The relay's TLS certificate could not be trusted (see [`Event::Untrusted`]).
    Untrusted { relay: String, reason: String },
}
