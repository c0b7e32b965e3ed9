//! The pure reducer: the state of an instance from its definition, facts, documents and "now".
//!
//! Facts form a set. They are replayed in one total order ([`Fact::order_key`]) and grouped by
//! step, so the outcome depends only on which facts exist, never on the order they arrived in.

use std::collections::{BTreeMap, BTreeSet};

use super::fact::{DocHeads, Fact, FactBody};
use super::state::{
    Conflict, DocSnapshot, Due, HeldMoment, Ignored, InstanceState, Member, Participant, Refusal,
    Round, ScheduleStatus, Step, TransitionStatus, Urgency, VerdictStatus, Via,
};
use crate::definition::{Approval, ConflictRule, Definition, Guard, Phase, Recurrence, Schedule};
use crate::document::DocId;
use crate::time::Timestamp;

/// Everything the reducer looks at.
pub struct Input<'a> {
    /// The definition in force for the instance (see [`super::effective_body`]).
    pub definition: &'a Definition,
    /// When the instance was started.
    pub created: Timestamp,
    /// All facts, in any order, verified.
    pub facts: &'a [Fact],
    /// The live documents the instance may work on, by id (more than it works on is fine:
    /// see `owns_documents`).
    pub documents: &'a BTreeMap<DocId, DocSnapshot>,
    /// Whether the instance works only on the documents linked to it by its facts (every
    /// instance started since instances own documents), rather than on all of `documents`.
    pub owns_documents: bool,
    /// The moment to compute due dates against.
    pub now: Timestamp,
    /// The workspace's current members, when the replica belongs to a workspace. Without them,
    /// approvals are counted over the organisations that joined the instance.
    pub members: Option<&'a [Member]>,
}

/// The role a participant needs to count as coordinator.
pub const COORDINATOR: &str = "coordinator";

/// Computes the state of an instance.
pub fn state(input: &Input<'_>) -> InstanceState {
    let def = input.definition;
    let mut facts: Vec<&Fact> = input.facts.iter().collect();
    // Two different facts with one id (only a broken or hostile writer makes them) are told apart
    // by their content, so even then every replica keeps the same one.
    facts.sort_by(|a, b| {
        a.order_key().cmp(&b.order_key()).then_with(|| {
            let text = |f: &Fact| serde_json::to_string(f).unwrap_or_default();
            text(a).cmp(&text(b))
        })
    });
    facts.dedup_by(|a, b| a.id == b.id);

    let mut ignored = Vec::new();
    let participants = participants(def, &facts, &mut ignored);
    let migration = facts
        .iter()
        .filter_map(|f| match &f.body {
            FactBody::Migration {
                step, phase, round, ..
            } => Some((*step, f.order_key(), phase, f.at, *round)),
            _ => None,
        })
        .max_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let (mut phase_name, mut step, mut entered, mut round) = match migration {
        Some((step, _, phase, at, round)) => (phase.clone(), step, at, round),
        None => (def.start.clone(), 0, input.created, 1),
    };
    let mut rounds = vec![Round {
        number: round,
        started: entered,
        first_step: step,
        label: String::new(),
        documents: Vec::new(),
    }];
    let first_step = step;

    let mut requests: BTreeMap<u32, Vec<&Fact>> = BTreeMap::new();
    let mut verdicts: BTreeMap<(u32, &str), BTreeMap<&str, &Fact>> = BTreeMap::new();
    for f in &facts {
        match &f.body {
            FactBody::Request { step: s, .. } => requests.entry(*s).or_default().push(f),
            FactBody::Verdict { step: s, phase, .. } => {
                // Later facts replace earlier ones from the same organisation.
                verdicts
                    .entry((*s, phase.as_str()))
                    .or_default()
                    .insert(&f.org_id, f);
            }
            _ => {}
        }
    }

    let mut history = Vec::new();
    let mut conflict = None;
    while let Some(phase) = def.phase(&phase_name) {
        let no_verdicts = BTreeMap::new();
        let step_verdicts = verdicts
            .get(&(step, phase_name.as_str()))
            .unwrap_or(&no_verdicts);
        let mut valid: Vec<(&Fact, &str, bool)> = Vec::new();
        for f in requests.get(&step).into_iter().flatten() {
            let FactBody::Request {
                from,
                to,
                based_on,
                decides,
                ..
            } = &f.body
            else {
                continue;
            };
            let reason = if from != &phase_name {
                Some(format!(
                    "vroeg vanuit fase {from}, maar de doorloop was in {phase_name}"
                ))
            } else if let Some(t) = phase.transition(to) {
                if !may_act(phase, &participants, &f.org_id) {
                    Some(format!(
                        "{} mag fase {phase_name} niet verder zetten",
                        f.org
                    ))
                } else {
                    let voters = Voters {
                        definition: def,
                        participants: &participants,
                        members: input.members,
                        at: f.at,
                    };
                    let refusals = voters.refusals(&t.guard, step_verdicts, based_on);
                    (!refusals.is_empty()).then(|| {
                        let why: Vec<String> = refusals.iter().map(ToString::to_string).collect();
                        format!("voorwaarde niet vervuld: {}", why.join("; "))
                    })
                }
            } else {
                Some(format!("geen overgang van {phase_name} naar {to}"))
            };
            match reason {
                Some(reason) => ignored.push(Ignored {
                    id: f.id.clone(),
                    reason,
                }),
                None => valid.push((f, to.as_str(), *decides)),
            }
        }
        if valid.is_empty() {
            break;
        }
        let deciding: Vec<_> = valid.iter().filter(|v| v.2).cloned().collect();
        let pool = if deciding.is_empty() {
            &valid
        } else {
            &deciding
        };
        let targets: BTreeSet<&str> = pool.iter().map(|v| v.1).collect();
        let all_targets: BTreeSet<&str> = valid.iter().map(|v| v.1).collect();
        let (target, via) = if targets.len() == 1 {
            let t = targets.iter().next().copied().unwrap_or_default();
            let via = if all_targets.len() > 1 {
                Via::Decision
            } else {
                Via::Request
            };
            (t.to_string(), via)
        } else {
            match &def.conflicts {
                ConflictRule::Precedence(order) => {
                    let rank = |t: &str| order.iter().position(|p| p == t).unwrap_or(usize::MAX);
                    let t = targets
                        .iter()
                        .min_by_key(|t| (rank(t), **t))
                        .copied()
                        .unwrap_or_default();
                    (t.to_string(), Via::Precedence)
                }
                ConflictRule::Surface => {
                    conflict = Some(Conflict {
                        step,
                        candidates: targets
                            .iter()
                            .map(|t| {
                                let orgs = pool
                                    .iter()
                                    .filter(|v| v.1 == *t)
                                    .map(|v| v.0.org.clone())
                                    .collect();
                                (t.to_string(), orgs)
                            })
                            .collect(),
                    });
                    break;
                }
            }
        };
        let winners: Vec<&&Fact> = pool
            .iter()
            .filter(|v| v.1 == target)
            .map(|v| &v.0)
            .collect();
        let at = winners.iter().map(|f| f.at).min().unwrap_or(entered);
        let mut by: Vec<String> = winners.iter().map(|f| f.org.clone()).collect();
        by.dedup();
        for (f, to, _) in &valid {
            if *to != target {
                ignored.push(Ignored {
                    id: f.id.clone(),
                    reason: format!("verloor van de overgang naar {target}"),
                });
            }
        }
        history.push(Step {
            step,
            from: phase_name.clone(),
            to: target.clone(),
            from_title: def.phase_title(&phase_name),
            to_title: def.phase_title(&target),
            at,
            by,
            via,
        });
        if phase.transition(&target).is_some_and(|t| t.new_round) {
            round += 1;
            rounds.push(Round {
                number: round,
                started: at,
                first_step: step + 1,
                label: String::new(),
                documents: Vec::new(),
            });
        }
        phase_name = target;
        step += 1;
        entered = at;
    }
    for (s, fs) in &requests {
        if *s < first_step || *s > step {
            for f in fs {
                ignored.push(Ignored {
                    id: f.id.clone(),
                    reason: format!("hoort bij stap {s}, die niet (meer) aan de orde is"),
                });
            }
        }
    }

    let current = def.phase(&phase_name);
    let owned;
    let documents = if input.owns_documents {
        owned = documents_in(input.facts, input.documents, round);
        &owned
    } else {
        input.documents
    };
    let phase_docs = current.map(|p| docs_of(p, documents)).unwrap_or_default();
    let no_verdicts = BTreeMap::new();
    let current_verdicts = verdicts
        .get(&(step, phase_name.as_str()))
        .unwrap_or(&no_verdicts);
    let verdict_list = current_verdicts
        .values()
        .filter_map(|f| match &f.body {
            FactBody::Verdict {
                approve,
                reason,
                docs,
                ..
            } => Some(VerdictStatus {
                org: f.org.clone(),
                org_id: f.org_id.clone(),
                approve: *approve,
                reason: reason.clone(),
                at: f.at,
                stale: docs != &phase_docs,
            }),
            _ => None,
        })
        .collect();
    let transitions: Vec<TransitionStatus> = match (current, &conflict) {
        (Some(p), None) => p
            .transitions
            .iter()
            .map(|t| {
                let mut refusals = field_refusals(def, &t.guard, p, documents);
                let voters = Voters {
                    definition: def,
                    participants: &participants,
                    members: input.members,
                    at: input.now,
                };
                refusals.extend(voters.refusals(&t.guard, current_verdicts, &phase_docs));
                TransitionStatus {
                    to: t.to.clone(),
                    to_title: def.phase_title(&t.to),
                    label: t.label.clone(),
                    refusals,
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    let finished = current.is_some_and(|p| p.is_final);
    let due = current.and_then(|p| due(def, p, entered, input.now));
    let schedules = schedules(def, input, &facts, &phase_name, entered);
    let turn = turn(
        current,
        &participants,
        input.members,
        &transitions,
        conflict.is_some(),
        finished,
    );
    ignored.sort_by(|a, b| a.id.cmp(&b.id));
    label_rounds(&mut rounds);
    super::archive::round_documents(&facts, &mut rounds, input.documents);
    InstanceState {
        phase_title: def.phase_title(&phase_name),
        phase: phase_name,
        step,
        entered,
        finished,
        participants,
        history,
        conflict,
        verdicts: verdict_list,
        transitions,
        due,
        schedules,
        turn,
        ignored,
        round,
        rounds,
    }
}

/// Names each round after the year it started ("ronde 2027"), numbered when a year has more.
fn label_rounds(rounds: &mut [Round]) {
    let years: Vec<Option<i16>> = rounds.iter().map(|r| r.started.year()).collect();
    for (i, r) in rounds.iter_mut().enumerate() {
        let year = years[i];
        r.label = match year {
            Some(y) if years.iter().filter(|o| **o == year).count() > 1 => {
                format!("ronde {y} ({})", r.number)
            }
            Some(y) => format!("ronde {y}"),
            None => format!("ronde {}", r.number),
        };
    }
}

/// Each organisation's first valid join decides its role. A join with a role the definition does
/// not have, or for an organisation type the role does not allow, takes no effect.
fn participants(def: &Definition, facts: &[&Fact], ignored: &mut Vec<Ignored>) -> Vec<Participant> {
    let mut out: BTreeMap<&str, Participant> = BTreeMap::new();
    for f in facts {
        if let FactBody::Join { role } = &f.body {
            let allowed = def
                .roles
                .iter()
                .find(|r| &r.name == role)
                .map(|r| r.org_types.is_empty() || r.org_types.contains(&f.org_type));
            let reason = match allowed {
                None => Some(format!("werkwijze {} kent geen rol {role}", def.name)),
                Some(false) => Some(format!("de rol {role} past niet bij een {}", f.org_type)),
                Some(true) => None,
            };
            if let Some(reason) = reason {
                ignored.push(Ignored {
                    id: f.id.clone(),
                    reason,
                });
                continue;
            }
            out.entry(&f.org_id).or_insert_with(|| Participant {
                org_id: f.org_id.clone(),
                name: f.org.clone(),
                org_type: f.org_type,
                role: role.clone(),
            });
        }
    }
    let mut v: Vec<Participant> = out.into_values().collect();
    v.sort_by(|a, b| (&a.name, &a.org_id).cmp(&(&b.name, &b.org_id)));
    v
}

/// The documents of `all` that `facts` link to the instance in round `round`.
pub fn documents_in(
    facts: &[Fact],
    all: &BTreeMap<DocId, DocSnapshot>,
    round: u32,
) -> BTreeMap<DocId, DocSnapshot> {
    let linked: BTreeSet<&DocId> = facts
        .iter()
        .filter_map(|f| match &f.body {
            FactBody::Link { doc, round: r, .. } if *r == round => Some(doc),
            _ => None,
        })
        .collect();
    all.iter()
        .filter(|(id, _)| linked.contains(id))
        .map(|(id, d)| (id.clone(), d.clone()))
        .collect()
}

/// Whether `org_id` takes part with a role that may move `phase` on.
pub fn may_act(phase: &Phase, participants: &[Participant], org_id: &str) -> bool {
    participants
        .iter()
        .any(|p| p.org_id == org_id && (phase.actors.is_empty() || phase.actors.contains(&p.role)))
}

/// The current heads of the live documents of the phase's kinds.
pub fn docs_of(phase: &Phase, documents: &BTreeMap<DocId, DocSnapshot>) -> DocHeads {
    documents
        .iter()
        .filter(|(_, d)| phase.kinds.contains(&d.kind))
        .map(|(id, d)| (id.clone(), d.heads.clone()))
        .collect()
}

fn field_refusals(
    def: &Definition,
    guard: &Guard,
    phase: &Phase,
    documents: &BTreeMap<DocId, DocSnapshot>,
) -> Vec<Refusal> {
    let mut needed: Vec<(String, String)> = guard.fields.clone();
    if guard.required_fields {
        // The kinds' required fields come from the catalog the caller gave the definition.
        needed.extend(phase.required.iter().cloned());
    }
    let mut out = Vec::new();
    let any_filled = guard.any_of.iter().any(|(kind, field)| {
        documents
            .values()
            .any(|d| &d.kind == kind && d.filled.contains(field))
    });
    if !guard.any_of.is_empty() && !any_filled {
        out.push(Refusal::NoneFilled {
            fields: guard
                .any_of
                .iter()
                .map(|(k, f)| format!("{k}.{f}"))
                .collect(),
            labels: guard
                .any_of
                .iter()
                .map(|(k, f)| def.field_label(k, f))
                .collect(),
        });
    }
    let mut kinds_without_docs = BTreeSet::new();
    for (kind, field) in &needed {
        let docs: Vec<_> = documents.iter().filter(|(_, d)| &d.kind == kind).collect();
        if docs.is_empty() {
            if kinds_without_docs.insert(kind.clone()) {
                out.push(Refusal::NoDocument {
                    kind: kind.clone(),
                    kind_label: def.kind_label(kind),
                });
            }
            continue;
        }
        for (id, d) in docs {
            if !d.filled.contains(field) {
                out.push(Refusal::EmptyField {
                    kind: kind.clone(),
                    field: field.clone(),
                    doc: id.clone(),
                    field_label: def.field_label(kind, field),
                    doc_title: if d.title.is_empty() {
                        def.kind_label(kind)
                    } else {
                        d.title.clone()
                    },
                });
            }
        }
    }
    out.dedup();
    out
}

/// The organisations whose approval counts at one moment: the workspace's members at that
/// moment when there is a workspace, otherwise the instance's participants.
struct Voters<'a> {
    definition: &'a Definition,
    participants: &'a [Participant],
    members: Option<&'a [Member]>,
    at: Timestamp,
}

impl Voters<'_> {
    /// `(org_id, name)` of everyone "iedere partner" and a quorum count.
    fn everyone(&self) -> Vec<(String, String)> {
        match self.members {
            Some(members) if !members.is_empty() => members
                .iter()
                .filter(|m| m.since <= self.at)
                .map(|m| (m.org_id.clone(), m.name.clone()))
                .collect(),
            _ => self
                .participants
                .iter()
                .map(|p| (p.org_id.clone(), p.name.clone()))
                .collect(),
        }
    }

    /// Every organisation holding `role`: participants that joined with it, and members whose
    /// type the role is for (a role open to every type is held only by joining).
    fn holders(&self, role: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .participants
            .iter()
            .filter(|p| p.role == role)
            .map(|p| (p.org_id.clone(), p.name.clone()))
            .collect();
        let types = self
            .definition
            .roles
            .iter()
            .find(|r| r.name == role)
            .map(|r| r.org_types.as_slice())
            .unwrap_or_default();
        if !types.is_empty() {
            for m in self.members.unwrap_or_default() {
                if m.since <= self.at
                    && types.contains(&m.org_type)
                    && !out.iter().any(|(id, _)| id == &m.org_id)
                {
                    out.push((m.org_id.clone(), m.name.clone()));
                }
            }
        }
        out
    }

    /// What blocks the guard's approval rules, given the verdicts and the documents they must
    /// match.
    fn refusals(
        &self,
        guard: &Guard,
        verdicts: &BTreeMap<&str, &Fact>,
        docs: &DocHeads,
    ) -> Vec<Refusal> {
        let fresh = |org_id: &str| -> Option<(bool, &str)> {
            match &verdicts.get(org_id)?.body {
                FactBody::Verdict {
                    approve,
                    reason,
                    docs: judged,
                    ..
                } if judged == docs => Some((*approve, reason.as_str())),
                _ => None,
            }
        };
        let mut out = Vec::new();
        let mut required: Vec<(String, String)> = Vec::new();
        match guard.approval {
            None => {}
            Some(Approval::EveryPartner) => {
                required = self.everyone();
                if required.is_empty() {
                    out.push(Refusal::NoCoordinator);
                }
            }
            Some(Approval::Coordinator) => {
                required = self
                    .participants
                    .iter()
                    .filter(|p| p.role == COORDINATOR)
                    .map(|p| (p.org_id.clone(), p.name.clone()))
                    .collect();
                if required.is_empty() {
                    out.push(Refusal::NoCoordinator);
                }
            }
            Some(Approval::Quorum(need)) => {
                let have = self
                    .everyone()
                    .iter()
                    .filter(|(id, _)| matches!(fresh(id), Some((true, _))))
                    .count();
                let have = u32::try_from(have).unwrap_or(u32::MAX);
                if have < need {
                    out.push(Refusal::QuorumShort { have, need });
                }
            }
        }
        for role in &guard.role_approvals {
            for holder in self.holders(role) {
                if !required.iter().any(|(id, _)| id == &holder.0) {
                    required.push(holder);
                }
            }
        }
        required.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
        let mut missing = Vec::new();
        for (id, name) in required {
            match fresh(&id) {
                Some((true, _)) => {}
                Some((false, reason)) => out.push(Refusal::Rejected {
                    org: name,
                    reason: reason.to_string(),
                }),
                None => missing.push(name),
            }
        }
        if !missing.is_empty() {
            out.insert(0, Refusal::ApprovalMissing { orgs: missing });
        }
        out
    }
}

fn due(def: &Definition, phase: &Phase, entered: Timestamp, now: Timestamp) -> Option<Due> {
    let tz = def.tz();
    let deadline = phase.deadline.as_ref()?.after(entered, &tz)?;
    let remind_from = phase
        .reminder
        .as_ref()
        .and_then(|r| r.before(deadline, &tz));
    Some(Due {
        deadline,
        remind_from,
        urgency: urgency(now, deadline, remind_from),
    })
}

fn urgency(now: Timestamp, deadline: Timestamp, remind_from: Option<Timestamp>) -> Urgency {
    if now > deadline {
        Urgency::Overdue
    } else if remind_from.is_some_and(|r| now >= r) {
        Urgency::Soon
    } else {
        Urgency::OnTime
    }
}

/// The largest number of periods looked through before giving up (a century of months).
const MAX_OCCURRENCES: i64 = 1200;

fn schedules(
    def: &Definition,
    input: &Input<'_>,
    facts: &[&Fact],
    current: &str,
    entered: Timestamp,
) -> Vec<ScheduleStatus> {
    let tz = def.tz();
    let now = input.now;
    def.schedules
        .iter()
        .map(|s| {
            let (last, next) = moments_around(s, input.created, now, &tz);
            let held: Vec<HeldMoment> = facts
                .iter()
                .filter_map(|f| match &f.body {
                    FactBody::Held {
                        schedule,
                        moment,
                        date,
                        participants,
                        note,
                    } if schedule == &s.name => Some(HeldMoment {
                        moment: *moment,
                        date: date.clone(),
                        participants: participants.clone(),
                        note: note.clone(),
                        recorded_by: f.org.clone(),
                    }),
                    _ => None,
                })
                .collect();
            let was_held = |t: Timestamp| held.iter().any(|h| h.moment == t);
            // Only the phase a moment belongs to misses it: a moment that passed while the
            // instance was there, and that nobody recorded as held.
            let missed = last.filter(|t| current == s.phase && *t >= entered && !was_held(*t));
            let remind_from = match (next, &s.reminder) {
                (Some(n), Some(r)) if !was_held(n) => r.before(n, &tz),
                _ => None,
            };
            let urgency = if missed.is_some() {
                Urgency::Overdue
            } else if remind_from.is_some_and(|r| now >= r) {
                Urgency::Soon
            } else {
                Urgency::OnTime
            };
            ScheduleStatus {
                name: s.name.clone(),
                title: if s.title.is_empty() {
                    s.name.clone()
                } else {
                    s.title.clone()
                },
                phase: s.phase.clone(),
                phase_title: def.phase_title(&s.phase),
                next,
                urgency,
                missed,
                held,
            }
        })
        .collect()
}

/// The last moment of `schedule` at or before `at` (not before the instance started at
/// `created`) and the first one after it.
pub fn moments_around(
    schedule: &Schedule,
    created: Timestamp,
    at: Timestamp,
    tz: &jiff::tz::TimeZone,
) -> (Option<Timestamp>, Option<Timestamp>) {
    match &schedule.recurrence {
        Recurrence::Every(p) => {
            let mut last = None;
            let mut next = None;
            for k in 1..=MAX_OCCURRENCES {
                match p.after_times(created, tz, k) {
                    Some(t) if t <= at => last = Some(t),
                    Some(t) => {
                        next = Some(t);
                        break;
                    }
                    None => break,
                }
            }
            (last, next)
        }
        Recurrence::Cron(c) => (
            c.previous_at_or_before(at, tz).filter(|t| *t >= created),
            c.next_after(at, tz),
        ),
    }
}

fn title_of(phase: &Phase) -> &str {
    if phase.title.is_empty() {
        &phase.name
    } else {
        &phase.title
    }
}

fn turn(
    phase: Option<&Phase>,
    participants: &[Participant],
    members: Option<&[Member]>,
    transitions: &[TransitionStatus],
    conflict: bool,
    finished: bool,
) -> Vec<(String, String)> {
    let Some(phase) = phase else {
        return Vec::new();
    };
    if finished {
        return Vec::new();
    }
    let actors = || {
        participants
            .iter()
            .filter(|p| phase.actors.is_empty() || phase.actors.contains(&p.role))
            .map(|p| p.name.clone())
    };
    if conflict {
        return actors()
            .map(|n| (n, "beslissen welke overgang doorgaat".to_string()))
            .collect();
    }
    if transitions.iter().any(TransitionStatus::allowed) {
        return actors()
            .map(|n| (n, format!("fase ‘{}’ afronden", title_of(phase))))
            .collect();
    }
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |name: String, what: &str| {
        if !out.iter().any(|(n, w)| n == &name && w == what) {
            out.push((name, what.to_string()));
        }
    };
    for t in transitions {
        for r in &t.refusals {
            match r {
                Refusal::ApprovalMissing { orgs } => {
                    for o in orgs {
                        push(o.clone(), "instemmen");
                    }
                }
                Refusal::Rejected { org, .. } => push(org.clone(), "afwijzing heroverwegen"),
                Refusal::QuorumShort { .. } => {
                    for p in participants {
                        push(p.name.clone(), "instemmen");
                    }
                    for m in members.unwrap_or_default() {
                        push(m.name.clone(), "instemmen");
                    }
                }
                Refusal::NoDocument { .. }
                | Refusal::EmptyField { .. }
                | Refusal::NoneFilled { .. } => {
                    for n in actors() {
                        push(n, "documenten aanvullen");
                    }
                }
                Refusal::NoCoordinator => {}
            }
        }
    }
    out
}
