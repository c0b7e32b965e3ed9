//! The rounds of a cycle as an archive. A transition marked `nieuwe-ronde` starts a new round:
//! from then on the instance's phases work on the documents linked in that round, and each
//! earlier round stays readable with its documents (each as the round last judged it, see
//! `archive.rs`), its steps and the approvals given in it.

use std::collections::BTreeMap;

use super::fact::FactBody;
use super::flows::{FlowError, Flows, parse_pinned};
use super::instance::read_instance;
use super::state::{Round, RoundDoc, Step};
use crate::definition::Definition;
use crate::document::{DocId, FieldValue};
use crate::replica::ReplicaError;
use crate::store::Store;
use crate::time::Timestamp;

/// One round with what belongs to it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RoundArchive {
    /// The round.
    #[serde(flatten)]
    pub round: Round,
    /// Whether the instance is in it now.
    pub current: bool,
    /// The documents linked in it, in the order they were linked.
    pub documents: Vec<RoundDocument>,
    /// The steps made in it.
    pub steps: Vec<Step>,
    /// The approvals and rejections given in it, oldest first.
    pub verdicts: Vec<RoundVerdict>,
}

/// A document of a round, as the round's archive shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RoundDocument {
    /// Its id.
    pub id: DocId,
    /// Its kind.
    pub kind: String,
    /// The kind's label.
    pub kind_label: String,
    /// Its title in the version shown (empty when it has none, or has not arrived).
    pub title: String,
    /// Whether it is deleted, or has not arrived on this replica.
    pub missing: bool,
    /// The document of the previous round it is a new version of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<DocId>,
    /// Its new version in the next round, when it was carried over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carried_to: Option<DocId>,
    /// The heads of the version shown: for a closed round the ones it last judged, else the
    /// current ones.
    pub heads: Vec<String>,
    /// Whether the document changed after the version a closed round keeps.
    pub changed_since: bool,
    /// Its fields in the version shown.
    pub fields: BTreeMap<String, FieldValue>,
}

/// An approval or rejection given in a round.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RoundVerdict {
    /// The phase it was about.
    pub phase: String,
    /// That phase's title.
    pub phase_title: String,
    /// Who gave it.
    pub org: String,
    /// Whether it approved.
    pub approve: bool,
    /// Why not.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

impl<S: Store> Flows<'_, S> {
    /// The rounds of instance `id` (only round `only` when given), oldest first.
    pub fn rounds(
        &self,
        id: &DocId,
        only: Option<u32>,
        now: Timestamp,
    ) -> Result<Vec<RoundArchive>, FlowError> {
        let status = self.status(id, now)?;
        let st = &status.state;
        if let Some(n) = only
            && !st.rounds.iter().any(|r| r.number == n)
        {
            return Err(FlowError::NotNow(format!(
                "werkstroom {id} heeft geen ronde {n}; rondes: 1 tot en met {}",
                st.round
            )));
        }
        let mut loaded = self.replica().load(id)?;
        let instance = read_instance(&mut loaded.doc)?;
        let def = parse_pinned(&instance)?;
        let mut facts: Vec<_> = instance.facts.iter().collect();
        facts.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        let mut out = Vec::new();
        for (i, round) in st.rounds.iter().enumerate() {
            if only.is_some_and(|n| n != round.number) {
                continue;
            }
            let next = st.rounds.get(i + 1).map(|r| r.first_step);
            let in_round = |step: u32| step >= round.first_step && next.is_none_or(|n| step < n);
            let documents = round
                .documents
                .iter()
                .map(|d| self.round_document(&def, d))
                .collect::<Result<Vec<_>, _>>()?;
            let verdicts = facts
                .iter()
                .filter_map(|f| match &f.body {
                    FactBody::Verdict {
                        step,
                        phase,
                        approve,
                        reason,
                        ..
                    } if in_round(*step) => Some(RoundVerdict {
                        phase: phase.clone(),
                        phase_title: def.phase_title(phase),
                        org: f.org.clone(),
                        approve: *approve,
                        reason: reason.clone(),
                        at: f.at,
                    }),
                    _ => None,
                })
                .collect();
            out.push(RoundArchive {
                // Its documents are shown in full below.
                round: Round {
                    documents: Vec::new(),
                    ..round.clone()
                },
                current: round.number == st.round,
                documents,
                steps: st
                    .history
                    .iter()
                    .filter(|s| in_round(s.step))
                    .cloned()
                    .collect(),
                verdicts,
            });
        }
        Ok(out)
    }

    /// A round's document in the version its archive shows: the kept heads when the round kept
    /// some and the document still holds them, else as it is now.
    fn round_document(&self, def: &Definition, d: &RoundDoc) -> Result<RoundDocument, FlowError> {
        let replica = self.replica();
        let view = match replica.view_at(&d.id, &d.kept) {
            Ok(v) => Some(v),
            Err(ReplicaError::NotFound(_)) => None,
            Err(ReplicaError::UnknownVersion(_)) => Some(replica.get(&d.id)?),
            Err(e) => return Err(e.into()),
        };
        let kind = view.as_ref().map(|v| v.kind.clone()).unwrap_or_default();
        Ok(RoundDocument {
            id: d.id.clone(),
            kind_label: def.kind_label(&kind),
            title: view
                .as_ref()
                .and_then(|v| super::flows::doc_title(replica.catalog(), v))
                .unwrap_or_default(),
            missing: view.as_ref().is_none_or(|v| v.deleted.is_some()),
            kind,
            from: d.from.clone(),
            carried_to: d.carried_to.clone(),
            heads: view.as_ref().map(|v| v.heads.clone()).unwrap_or_default(),
            changed_since: d.changed_since,
            fields: view.map(|v| v.fields).unwrap_or_default(),
        })
    }
}
