//! The approvals of every member per phase of the round, from its verdict facts; an approval whose
//! documents changed since is stale.

use std::collections::BTreeMap;

use crate::runtime::FactBody;

use super::input::ReportInput;
use super::model::{MemberVerdict, PhaseApprovals};

/// Per step the round went through (and the current one), the verdicts given in it; phases
/// whose way out needs approval are listed even without verdicts, with who is missing.
pub(super) fn approvals(input: &ReportInput) -> Vec<PhaseApprovals> {
    let state = &input.round.state;
    let heads: BTreeMap<&str, &Vec<String>> = input
        .documents
        .iter()
        .map(|d| (d.view.id.as_str(), &d.view.heads))
        .collect();
    // (step, phase) -> org id -> the latest verdict fact.
    let mut given: BTreeMap<(u32, &str), BTreeMap<&str, &crate::runtime::Fact>> = BTreeMap::new();
    let mut facts: Vec<_> = input.facts.iter().collect();
    facts.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    for f in facts {
        if let FactBody::Verdict { step, phase, .. } = &f.body {
            given
                .entry((*step, phase.as_str()))
                .or_default()
                .insert(&f.org_id, f);
        }
    }
    let mut steps: Vec<(u32, String)> = state
        .history
        .iter()
        .filter(|h| input.part.has_step(h.step))
        .map(|h| (h.step, h.from.clone()))
        .collect();
    if !state.finished && input.part.current() {
        steps.push((state.step, state.phase.clone()));
    }
    let mut out = Vec::new();
    for (step, phase_name) in steps {
        let phase = input.definition.phase(&phase_name);
        let needs_approval =
            phase.is_some_and(|p| p.transitions.iter().any(|t| t.guard.approval.is_some()));
        let verdicts_here = given.get(&(step, phase_name.as_str()));
        if !needs_approval && verdicts_here.is_none() {
            continue;
        }
        let verdicts: Vec<MemberVerdict> = verdicts_here
            .into_iter()
            .flat_map(|m| m.values())
            .filter_map(|f| match &f.body {
                FactBody::Verdict {
                    approve,
                    reason,
                    docs,
                    ..
                } => Some(MemberVerdict {
                    org: f.org.clone(),
                    approve: *approve,
                    reason: reason.clone(),
                    at: f.at,
                    stale: docs
                        .iter()
                        .any(|(id, h)| heads.get(id.as_str()) != Some(&h)),
                }),
                _ => None,
            })
            .collect();
        let missing = state
            .participants
            .iter()
            .filter(|p| !verdicts.iter().any(|v| v.org == p.name))
            .map(|p| p.name.clone())
            .collect();
        out.push(PhaseApprovals {
            step,
            title: phase.map_or_else(|| phase_name.clone(), |p| p.title.clone()),
            phase: phase_name,
            verdicts,
            missing,
        });
    }
    out
}
