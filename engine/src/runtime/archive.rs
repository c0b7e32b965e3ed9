//! Which documents belong to each round, and which version of each a closed round keeps.
//!
//! A round's documents are the ones linked in it. A round that has ended keeps each of them at
//! the heads its last judgement named (the latest approval, rejection or request to move on in
//! that round that covers it), so the archive of "ronde 2026" shows what the partners decided on,
//! whatever happens to the document afterwards.

use std::collections::BTreeMap;

use super::fact::{Fact, FactBody};
use super::state::{DocSnapshot, Round, RoundDoc};
use crate::document::DocId;

/// Fills in the documents of every round. `facts` are in replay order; `documents` are the
/// live documents with their current heads.
pub(super) fn round_documents(
    facts: &[&Fact],
    rounds: &mut [Round],
    documents: &BTreeMap<DocId, DocSnapshot>,
) {
    let bounds: Vec<(u32, Option<u32>)> = rounds
        .iter()
        .enumerate()
        .map(|(i, r)| (r.first_step, rounds.get(i + 1).map(|n| n.first_step)))
        .collect();
    let last = rounds.len().saturating_sub(1);
    for (i, round) in rounds.iter_mut().enumerate() {
        let mut docs: Vec<RoundDoc> = Vec::new();
        for f in facts {
            if let FactBody::Link {
                doc,
                round: r,
                from,
            } = &f.body
                && *r == round.number
                && !docs.iter().any(|d| &d.id == doc)
            {
                docs.push(RoundDoc {
                    id: doc.clone(),
                    from: from.clone(),
                    carried_to: None,
                    kept: Vec::new(),
                    changed_since: false,
                });
            }
        }
        if i < last {
            let (first, next) = bounds[i];
            let in_round = |step: u32| step >= first && next.is_none_or(|n| step < n);
            for f in facts {
                let judged = match &f.body {
                    FactBody::Verdict { step, docs, .. } if in_round(*step) => docs,
                    FactBody::Request { step, based_on, .. } if in_round(*step) => based_on,
                    _ => continue,
                };
                for d in docs.iter_mut() {
                    if let Some(heads) = judged.get(&d.id) {
                        d.kept = heads.clone();
                    }
                }
            }
            for d in docs.iter_mut() {
                d.changed_since = !d.kept.is_empty()
                    && documents.get(&d.id).is_some_and(|now| now.heads != d.kept);
            }
        }
        round.documents = docs;
    }
    // A document carried into a later round points at its new version.
    let carried: Vec<(u32, DocId, DocId)> = rounds
        .iter()
        .flat_map(|r| {
            r.documents
                .iter()
                .filter_map(|d| d.from.clone().map(|from| (r.number, from, d.id.clone())))
        })
        .collect();
    for (number, from, to) in carried {
        if let Some(earlier) = rounds.iter_mut().find(|r| r.number + 1 == number)
            && let Some(d) = earlier.documents.iter_mut().find(|d| d.id == from)
            && d.carried_to.is_none()
        {
            d.carried_to = Some(to);
        }
    }
}
