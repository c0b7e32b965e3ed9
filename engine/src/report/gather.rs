//! Reading what a report needs from the replica: one pass over the documents (each loaded once,
//! its authors and its change since the last evaluation taken from its history), the round's
//! instance and facts, and the figures as they may be shown.

use std::collections::{BTreeMap, BTreeSet};

use automerge::AutoCommit;

use crate::Replica;
use crate::definition::Registry;
use crate::document::{self, DocId, DocView, changes_between};
use crate::figures::AreaCode;
use crate::figures::storage::Figures;
use crate::runtime::{FactBody, Flows, parse_pinned, read_instance};
use crate::store::Store;
use crate::time::Timestamp;

use super::build::{CONVERSATION_KIND, Docs};
use super::input::{IndicatorFigures, RecordedChanges, ReportInput, SourceDoc};
use super::model::{Authorship, Conversation};
use super::scope::RoundScope;
use super::{PARTNERSHIP_KIND, ReportError, changes, is_report_kind};

/// What the caller chooses about a report.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The area whose figures are shown (default: see [`super::choose_area`]).
    pub area: Option<AreaCode>,
    /// The round of the cycle, from 1 (default: the current one).
    pub round: Option<u32>,
}

/// Reads everything the report of `round` is computed from.
pub fn gather<S: Store>(
    replica: &Replica<S>,
    registry: &Registry,
    round: &DocId,
    options: &Options,
    now: Timestamp,
) -> Result<ReportInput, ReportError> {
    let status = Flows::new(replica, registry).status(round, now)?;
    let mut loaded = replica.load(round)?;
    let instance = read_instance(&mut loaded.doc)?;
    let definition = parse_pinned(&instance)?;
    let scope = RoundScope::new(
        &instance,
        &definition,
        &status.state.rounds,
        options.round.unwrap_or(status.state.round),
    )?;
    // The latest evaluation recorded before the round ended.
    let last = instance
        .facts
        .iter()
        .filter_map(|f| match &f.body {
            FactBody::Evaluation { covered, step, .. } if scope.not_after(*step) => {
                Some((f, covered))
            }
            _ => None,
        })
        .max_by(|a, b| a.0.order_key().cmp(&b.0.order_key()));

    let mut documents = Vec::new();
    let mut deltas = BTreeMap::new();
    let mut unchanged = 0;
    for raw in replica
        .store()
        .ids()
        .map_err(crate::replica::ReplicaError::from)?
    {
        let Ok(id) = DocId::parse(&raw) else { continue };
        let mut doc = replica.load(&id)?.doc;
        let view = document::read_view(&mut doc).map_err(|source| ReportError::Layout {
            id: raw.clone(),
            source,
        })?;
        if !is_report_kind(replica.kinds(), &view.kind) || !scope.covers(&view) {
            continue;
        }
        if let Some((_, covered)) = last {
            let before = covered.get(&view.id);
            if view.deleted.is_none() || before.is_some() {
                match changes::delta(&mut doc, &view, before) {
                    Some(d) => {
                        deltas.insert(view.id.clone(), d);
                    }
                    None => unchanged += 1,
                }
            }
        }
        if view.deleted.is_none() {
            let authors = authors(&mut doc);
            documents.push(SourceDoc { view, authors });
        }
    }
    documents.sort_by(|a, b| (a.view.created, &a.view.id).cmp(&(b.view.created, &b.view.id)));

    let figures = Figures::new(replica);
    let mut indicators = Vec::new();
    let mut registry_out = None;
    for indicator in figures.indicators()? {
        let (table, areas) = figures.shown_observations(&indicator)?;
        let stories = figures.stories(&indicator)?;
        registry_out = Some(areas);
        indicators.push(IndicatorFigures {
            indicator,
            table,
            stories,
        });
    }
    let registry_areas = match registry_out {
        Some(r) => r,
        None => figures.registry()?,
    };
    Ok(ReportInput {
        now,
        made_by: replica.identity().profile.name.clone(),
        partnership: partnership_name(replica)?,
        round: status,
        part: scope.part,
        facts: instance.facts.clone(),
        definition,
        catalog: replica.catalog().clone(),
        documents,
        indicators,
        registry: registry_areas,
        policy: figures.policy()?,
        area: options.area,
        since: last.map(|(f, _)| RecordedChanges {
            at: f.at,
            by: f.org.clone(),
            documents: deltas,
            unchanged,
        }),
    })
}

/// Per organisation, the fields it wrote in the document, from the change notes and what each
/// change did.
fn authors(doc: &mut AutoCommit) -> Vec<Authorship> {
    let mut by_org: BTreeMap<String, (BTreeSet<String>, bool)> = BTreeMap::new();
    for change in doc.get_changes(&[]) {
        let Some(note) = document::ChangeNote::from_message(change.message()) else {
            continue;
        };
        let done = changes_between(doc, change.deps(), &[change.hash()]);
        let entry = by_org.entry(note.org).or_default();
        entry.0.extend(done.fields.into_keys());
        entry.1 |= done.created_as.is_some();
    }
    by_org
        .into_iter()
        .map(|(org, (fields, created))| Authorship {
            org,
            fields: fields.into_iter().collect(),
            created,
        })
        .collect()
}

/// The minutes of one conversation about figures, read from the replica.
pub fn conversation<S: Store>(
    replica: &Replica<S>,
    id: &DocId,
) -> Result<Conversation, ReportError> {
    let view: DocView = replica.get(id)?;
    if view.kind != CONVERSATION_KIND || view.deleted.is_some() {
        return Err(ReportError::NotAConversation(id.to_string()));
    }
    let indicators: Vec<IndicatorFigures> = Figures::new(replica)
        .indicators()?
        .into_iter()
        .map(|indicator| IndicatorFigures {
            indicator,
            table: Default::default(),
            stories: Vec::new(),
        })
        .collect();
    let documents = [SourceDoc {
        view: view.clone(),
        authors: Vec::new(),
    }];
    let docs = Docs::new(replica.catalog(), &documents, &indicators);
    Ok(super::actions::conversation(&docs, &view))
}

/// The calendar of every running instance and every document of this replica.
pub fn agenda_of<S: Store>(
    replica: &Replica<S>,
    registry: &Registry,
    now: Timestamp,
) -> Result<Vec<super::AgendaItem>, ReportError> {
    let statuses = Flows::new(replica, registry).list(now)?;
    let views = replica.list(None, false)?;
    Ok(super::agenda(&statuses, &views))
}

/// The partnership's name, from its `samenwerking` document (whichever round it belongs to).
pub fn partnership_name<S: Store>(replica: &Replica<S>) -> Result<Option<String>, ReportError> {
    Ok(replica
        .list(Some(PARTNERSHIP_KIND), false)?
        .into_iter()
        .find_map(|v| super::build::text(&v, "naam")))
}
