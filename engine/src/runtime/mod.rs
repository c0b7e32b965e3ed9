//! Workflow instances: Automerge documents holding signed facts, and the pure reducer over them.
//!
//! An instance pins the exact definition it started with (name, version, BLAKE3 hash and body).
//! Its state is never stored: [`reducer::state`] computes it from the definition, the facts,
//! the documents' current heads and "now", so every replica with the same facts agrees.

mod actions;
mod archive;
mod carry;
mod fact;
mod flows;
mod guidance;
mod instance;
mod reducer;
mod rounds;
mod state;
mod todo;

pub use actions::{ActionDue, ActionFresh, Agreement, MadeAction, Origin};
pub use carry::Carried;
pub use fact::{DocHeads, Fact, FactBody, FactError, SignedFact};
pub use flows::{FlowError, Flows, Fresh, Status, parse_pinned};
pub use guidance::{
    ChoiceGuide, DocumentGuide, FieldGuide, Guidance, TaskGuide, TransitionGuide, guidance,
};
pub use instance::{
    Instance, InstanceError, Pinned, append_fact, check_incoming, owned, read_instance,
    write_instance,
};
pub use reducer::{COORDINATOR, Input, docs_of, documents_in, may_act, moments_around, state};
pub use rounds::{RoundArchive, RoundDocument, RoundVerdict};
pub use state::{
    Conflict, DocSnapshot, Due, HeldMoment, Ignored, InstanceState, Member, Participant, Refusal,
    Round, RoundDoc, ScheduleStatus, Step, TransitionStatus, Urgency, VerdictStatus, Via,
};
pub use todo::{Todo, todo};

/// The kind of instance documents; no definition may use it for its own kinds.
pub const INSTANCE_KIND: &str = crate::kinds::INSTANCE;

#[cfg(test)]
mod tests;
