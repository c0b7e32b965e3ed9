//! Recording a joint evaluation: a signed fact on the round's instance that keeps the versions
//! (Automerge heads) of every document of the round the evaluation covered.
//!
//! A fact fits the runtime's model with the least coupling: it is signed and append-only like
//! every other fact, it syncs with the instance, and it changes no phase document (so it leaves
//! approvals alone). The reducer ignores it; [`super::gather`] reads the latest one.

use crate::document::{self, DocId};
use crate::runtime::{
    DocHeads, Fact, FactBody, Flows, SignedFact, append_fact, parse_pinned, read_instance,
};
use crate::store::Store;
use crate::time::Timestamp;
use crate::{Replica, definition::Registry};

use super::ReportError;
use super::scope::RoundScope;

/// What recording an evaluation kept.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Recorded {
    /// The round.
    pub round: DocId,
    /// When.
    pub at: Timestamp,
    /// The phase the round was in.
    pub phase: String,
    /// How many documents it covered.
    pub documents: usize,
    /// The data version code (see [`super::data_version`]).
    pub data_version: String,
}

/// Records, as this organisation, that the partners evaluated the round with the documents as
/// they are now. Only a participant of the round may do so.
pub fn record_evaluation<S: Store>(
    replica: &Replica<S>,
    registry: &Registry,
    round: &DocId,
    now: Timestamp,
    fact_id: [u8; 16],
) -> Result<Recorded, ReportError> {
    let status = Flows::new(replica, registry).status(round, now)?;
    let me = &replica.identity().profile;
    if !status
        .state
        .participants
        .iter()
        .any(|p| p.org_id == me.org_id)
    {
        return Err(ReportError::NotNow(format!(
            "{} doet niet mee aan werkstroom {round}; doe eerst mee met `kompas flow join {round}`",
            me.name
        )));
    }
    let mut loaded = replica.load(round)?;
    let instance = read_instance(&mut loaded.doc)?;
    let scope = RoundScope::new(
        &instance,
        &parse_pinned(&instance)?,
        &status.state.rounds,
        status.state.round,
    )?;
    let covered = current_heads(replica, &scope)?;
    let body = FactBody::Evaluation {
        step: status.state.step,
        phase: status.state.phase.clone(),
        covered: covered.clone(),
    };
    let fact = Fact::by(replica.identity(), body, now, fact_id);
    let signed = SignedFact::sign(replica.identity(), fact)?;
    append_fact(&mut loaded.doc, &signed)?;
    replica.commit(&mut loaded, "evaluatie vastgelegd", now)?;
    Ok(Recorded {
        round: round.clone(),
        at: now,
        phase: status.state.phase,
        documents: covered.len(),
        data_version: super::data_version(&covered),
    })
}

/// The heads of every live document of the round that a report covers.
fn current_heads<S: Store>(
    replica: &Replica<S>,
    scope: &RoundScope,
) -> Result<DocHeads, ReportError> {
    let mut out = DocHeads::new();
    for raw in replica
        .store()
        .ids()
        .map_err(crate::replica::ReplicaError::from)?
    {
        let Ok(id) = DocId::parse(&raw) else { continue };
        let mut loaded = replica.load(&id)?;
        let view = document::read_view(&mut loaded.doc).map_err(|source| ReportError::Layout {
            id: raw.clone(),
            source,
        })?;
        if view.deleted.is_none()
            && super::is_report_kind(replica.kinds(), &view.kind)
            && scope.covers(&view)
        {
            out.insert(view.id, view.heads);
        }
    }
    Ok(out)
}
