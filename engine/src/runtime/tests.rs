//! Tests of the reducer and of instance documents: unit cases and order-independence properties.

use std::collections::{BTreeMap, BTreeSet};

use automerge::AutoCommit;
use proptest::prelude::*;

use super::*;
use crate::definition::{Definition, check};
use crate::document::DocId;
use crate::identity::{Identity, OrgType};
use crate::time::Timestamp;

const FLOW: &str = r#"
naam: proef
versie: 1.0.0
titel: Proef
soorten:
  - naam: ambitie
    label: Ambitie
    velden:
      - {naam: titel, type: tekst, verplicht: true}
      - {naam: toelichting, type: lange-tekst}
fasen:
  - naam: a
    titel: A
    soorten: [ambitie]
    wie: [coordinator]
    termijn: P14D
    herinnering: P3D
    naar:
      - fase: b
        vereist: {verplichte-velden: true, goedkeuring: iedere-partner}
      - fase: c
  - naam: b
    titel: B
    naar: [{fase: d}]
  - naam: c
    titel: C
    naar: [{fase: d}]
  - naam: d
    titel: D
    eind: true
planning:
  - {naam: evaluatie, fase: d, herhaal: P1M, herinnering: P7D}
"#;

fn def(src: &str) -> Definition {
    let c = check("proef.yaml", src);
    c.definition
        .unwrap_or_else(|| panic!("{:#?}", c.diagnostics))
}

const DAY: i64 = 86_400_000;
const T0: i64 = 1_780_000_000_000;

fn fact(org: &str, at: i64, id: &str, body: FactBody) -> Fact {
    Fact {
        id: id.to_string(),
        org_id: org.to_string(),
        org: format!("Org {org}"),
        org_type: OrgType::Gemeente,
        at: Timestamp(at),
        body,
    }
}

fn join(org: &str, role: &str, at: i64) -> Fact {
    fact(
        org,
        at,
        &format!("join-{org}"),
        FactBody::Join { role: role.into() },
    )
}

fn doc_id(n: u8) -> DocId {
    DocId::generate([n; 8])
}

fn docs(titel: bool, head: &str) -> BTreeMap<DocId, DocSnapshot> {
    let mut filled = BTreeSet::new();
    if titel {
        filled.insert("titel".to_string());
    }
    BTreeMap::from([(
        doc_id(1),
        DocSnapshot {
            kind: "ambitie".into(),
            heads: vec![head.into()],
            filled,
            title: "Meer kinderen sporten".into(),
        },
    )])
}

fn heads(head: &str) -> DocHeads {
    BTreeMap::from([(doc_id(1), vec![head.to_string()])])
}

fn verdict(org: &str, at: i64, approve: bool, head: &str) -> Fact {
    fact(
        org,
        at,
        &format!("v-{org}-{at}"),
        FactBody::Verdict {
            step: 0,
            phase: "a".into(),
            approve,
            reason: if approve {
                String::new()
            } else {
                "te vaag".into()
            },
            docs: heads(head),
        },
    )
}

fn request(org: &str, at: i64, step: u32, from: &str, to: &str, head: &str) -> Fact {
    fact(
        org,
        at,
        &format!("r-{org}-{at}-{to}"),
        FactBody::Request {
            step,
            from: from.into(),
            to: to.into(),
            based_on: heads(head),
            decides: false,
        },
    )
}

fn run(
    d: &Definition,
    facts: &[Fact],
    documents: &BTreeMap<DocId, DocSnapshot>,
    now: i64,
) -> InstanceState {
    state(&Input {
        definition: d,
        created: Timestamp(T0),
        facts,
        documents,
        now: Timestamp(now),
        members: None,
        owns_documents: false,
    })
}

fn team() -> Vec<Fact> {
    vec![
        join("g", "coordinator", T0),
        join("s", "partner", T0 + 1),
        join("j", "partner", T0 + 2),
    ]
}

#[test]
fn refusals_name_the_empty_field_and_the_missing_approvals() {
    let d = def(FLOW);
    let st = run(&d, &team(), &docs(false, "h1"), T0 + DAY);
    assert_eq!(st.phase, "a");
    let to_b = st.transitions.iter().find(|t| t.to == "b").unwrap();
    let text: Vec<String> = to_b.refusals.iter().map(ToString::to_string).collect();
    assert!(
        text[0].ends_with("is nog leeg in ‘Meer kinderen sporten’"),
        "{text:?}"
    );
    assert_eq!(text[1], "instemming ontbreekt van Org g, Org j, Org s");
    assert!(
        st.transitions
            .iter()
            .find(|t| t.to == "c")
            .unwrap()
            .allowed()
    );
    assert!(
        st.turn
            .iter()
            .any(|(o, w)| o == "Org g" && w.contains("afronden"))
    );
}

#[test]
fn approvals_of_changed_documents_are_stale() {
    let d = def(FLOW);
    let mut facts = team();
    for org in ["g", "s", "j"] {
        facts.push(verdict(org, T0 + 10, true, "h1"));
    }
    let fresh = run(&d, &facts, &docs(true, "h1"), T0 + DAY);
    assert!(fresh.transitions.iter().all(TransitionStatus::allowed));
    assert!(fresh.verdicts.iter().all(|v| !v.stale));
    let edited = run(&d, &facts, &docs(true, "h2"), T0 + DAY);
    assert!(edited.verdicts.iter().all(|v| v.stale));
    let to_b = edited.transitions.iter().find(|t| t.to == "b").unwrap();
    assert_eq!(
        to_b.refusals,
        vec![Refusal::ApprovalMissing {
            orgs: vec!["Org g".into(), "Org j".into(), "Org s".into()]
        }]
    );
}

#[test]
fn a_rejection_blocks_until_the_organisation_approves_again() {
    let d = def(FLOW);
    let mut facts = team();
    facts.push(verdict("g", T0 + 10, true, "h1"));
    facts.push(verdict("s", T0 + 10, true, "h1"));
    facts.push(verdict("j", T0 + 10, false, "h1"));
    let st = run(&d, &facts, &docs(true, "h1"), T0 + DAY);
    let to_b = st.transitions.iter().find(|t| t.to == "b").unwrap();
    assert_eq!(to_b.refusals[0].to_string(), "Org j wees af: te vaag");
    facts.push(verdict("j", T0 + 20, true, "h1"));
    let st = run(&d, &facts, &docs(true, "h1"), T0 + DAY);
    assert!(
        st.transitions
            .iter()
            .find(|t| t.to == "b")
            .unwrap()
            .allowed()
    );
}

#[test]
fn requests_replay_into_history_and_ignore_the_unauthorised() {
    let d = def(FLOW);
    let mut facts = team();
    facts.push(request("s", T0 + 5, 0, "a", "c", "h1")); // a partner may not move phase a on
    facts.push(request("g", T0 + 6, 0, "a", "c", "h1"));
    facts.push(request("s", T0 + 7, 1, "c", "d", "h1"));
    let st = run(&d, &facts, &docs(true, "h1"), T0 + DAY);
    assert_eq!(st.phase, "d");
    assert!(st.finished);
    assert_eq!(st.history.len(), 2);
    assert_eq!(st.history[0].by, vec!["Org g".to_string()]);
    assert_eq!(st.ignored.len(), 1, "{:?}", st.ignored);
    assert!(
        st.ignored[0]
            .reason
            .contains("mag fase a niet verder zetten")
    );
}

#[test]
fn a_request_without_the_approvals_it_needs_takes_no_effect() {
    let d = def(FLOW);
    let mut facts = team();
    facts.push(verdict("g", T0 + 3, true, "h1"));
    facts.push(request("g", T0 + 5, 0, "a", "b", "h1"));
    let st = run(&d, &facts, &docs(true, "h1"), T0 + DAY);
    assert_eq!(st.phase, "a");
    assert!(
        st.ignored[0]
            .reason
            .contains("instemming ontbreekt van Org j, Org s")
    );
}

#[test]
fn conflicts_surface_or_resolve_by_precedence_or_decision() {
    let surface = def(FLOW);
    let mut facts = team();
    for org in ["g", "s", "j"] {
        facts.push(verdict(org, T0 + 3, true, "h1"));
    }
    facts.push(join("x", "coordinator", T0 + 4));
    facts.push(request("g", T0 + 5, 0, "a", "b", "h1"));
    facts.push(request("x", T0 + 5, 0, "a", "c", "h1"));
    let docs = docs(true, "h1");
    // "x" joined after the verdicts, so "iedere partner" now needs x too: b is not valid.
    let st = run(&surface, &facts, &docs, T0 + DAY);
    assert_eq!(st.phase, "c");
    facts.push(verdict("x", T0 + 4, true, "h1"));
    let st = run(&surface, &facts, &docs, T0 + DAY);
    assert_eq!(st.phase, "a");
    let c = st.conflict.as_ref().unwrap();
    assert_eq!(c.candidates.len(), 2);
    assert!(st.turn.iter().all(|(_, w)| w.contains("beslissen")));

    let ranked = def(&format!(
        "{FLOW}conflicten: {{regel: voorrang, voorrang: [c, b]}}\n"
    ));
    let st = run(&ranked, &facts, &docs, T0 + DAY);
    assert_eq!(st.phase, "c");
    assert_eq!(st.history[0].via, Via::Precedence);

    let mut decided = facts.clone();
    let mut decision = request("g", T0 + 50, 0, "a", "b", "h1");
    if let FactBody::Request { decides, .. } = &mut decision.body {
        *decides = true;
    }
    decided.push(decision);
    let st = run(&surface, &decided, &docs, T0 + DAY);
    assert_eq!(st.phase, "b");
    assert_eq!(st.history[0].via, Via::Decision);
}

#[test]
fn deadlines_and_schedules_come_out_of_now() {
    let d = def(FLOW);
    let facts = team();
    let docs = docs(true, "h1");
    let urgency = |now: i64| run(&d, &facts, &docs, now).due.unwrap().urgency;
    assert_eq!(urgency(T0 + DAY), Urgency::OnTime);
    assert_eq!(urgency(T0 + 12 * DAY), Urgency::Soon);
    assert_eq!(urgency(T0 + 15 * DAY), Urgency::Overdue);
    // The monthly evaluation belongs to phase d; in phase a, a passed moment is not missed.
    let st = run(&d, &facts, &docs, T0 + 40 * DAY);
    let eval = &st.schedules[0];
    assert_eq!(eval.missed, None, "{eval:?}");
    assert!(eval.next.unwrap().millis() > T0 + 40 * DAY);
}

#[test]
fn only_its_own_phase_misses_a_planned_moment_and_a_held_one_is_not_missed() {
    let d = def(&FLOW.replace("fase: d, herhaal", "fase: a, herhaal"));
    let mut facts = team();
    let docs = docs(true, "h1");
    let st = run(&d, &facts, &docs, T0 + 40 * DAY);
    let eval = &st.schedules[0];
    assert_eq!(eval.urgency, Urgency::Overdue, "{eval:?}");
    let missed = eval.missed.unwrap();
    assert!(missed.millis() > T0 && eval.next.unwrap().millis() > T0 + 40 * DAY);

    // Recorded as held: no longer missed, and the record is shown.
    facts.push(fact(
        "s",
        T0 + 39 * DAY,
        "held-1",
        FactBody::Held {
            schedule: "evaluatie".into(),
            moment: missed,
            date: "2026-06-28".into(),
            participants: vec!["Org g".into(), "Org s".into()],
            note: "goed gesprek".into(),
        },
    ));
    let st = run(&d, &facts, &docs, T0 + 40 * DAY);
    let eval = &st.schedules[0];
    assert_eq!(eval.missed, None, "{eval:?}");
    assert_eq!(eval.held.len(), 1);
    assert_eq!(eval.held[0].recorded_by, "Org s");
    // A record for a moment that is not the missed one does not cover it.
    let other = T0 + 2 * DAY;
    if let FactBody::Held { moment, .. } = &mut facts.last_mut().unwrap().body {
        *moment = Timestamp(other);
    }
    assert!(
        run(&d, &facts, &docs, T0 + 40 * DAY).schedules[0]
            .missed
            .is_some()
    );
}

/// The kinds of fact the property tests draw from.
fn arb_fact() -> impl Strategy<Value = Fact> {
    let org = prop::sample::select(vec!["g", "s", "j"]);
    let phase = prop::sample::select(vec!["a", "b", "c", "d"]);
    let head = prop::sample::select(vec!["h1", "h2"]);
    (
        org,
        0i64..40,
        0u32..3,
        phase.clone(),
        phase,
        head,
        any::<bool>(),
        0u8..4,
    )
        .prop_map(|(org, t, step, from, to, head, yes, kind)| {
            let at = T0 + t;
            match kind {
                0 => join(org, if yes { "coordinator" } else { "partner" }, at),
                1 => {
                    let mut f = verdict(org, at, yes, head);
                    if let FactBody::Verdict { step: s, phase, .. } = &mut f.body {
                        *s = step;
                        *phase = from.to_string();
                    }
                    f
                }
                _ => {
                    let mut f = request(org, at, step, from, to, head);
                    if let FactBody::Request { decides, .. } = &mut f.body {
                        *decides = yes && kind == 3;
                    }
                    f
                }
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_arrival_order_gives_the_same_state(
        (facts, shuffled) in prop::collection::vec(arb_fact(), 0..24)
            .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        precedence in any::<bool>(),
    ) {
        let src = if precedence {
            format!("{FLOW}conflicten: {{regel: voorrang, voorrang: [d, c, b]}}\n")
        } else {
            FLOW.to_string()
        };
        let d = def(&src);
        let docs = docs(true, "h1");
        let expected = run(&d, &facts, &docs, T0 + DAY);
        prop_assert_eq!(&run(&d, &shuffled, &docs, T0 + DAY), &expected);
        let mut doubled = shuffled.clone();
        doubled.extend(facts.iter().cloned());
        prop_assert_eq!(&run(&d, &doubled, &docs, T0 + DAY), &expected);
    }
}

fn identity(n: u8, name: &str) -> Identity {
    Identity::new(name, OrgType::Gemeente, [n; 32], [n; 16])
}

fn signed(who: &Identity, f: &Fact) -> SignedFact {
    let mut f = f.clone();
    f.org_id = who.profile.org_id.clone();
    f.org = who.profile.name.clone();
    SignedFact::sign(who, f).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Three replicas append facts to their own copy of an instance; merging the copies in any
    /// order gives documents with the same facts and therefore the same state.
    #[test]
    fn merged_replicas_agree_whatever_the_merge_order(
        batches in prop::collection::vec(prop::collection::vec(arb_fact(), 0..5), 3),
        order in Just([0usize, 1, 2]).prop_shuffle(),
    ) {
        let d = def(FLOW);
        let orgs = [identity(1, "Gemeente"), identity(2, "School"), identity(3, "Zorg")];
        let mut base = AutoCommit::new();
        let pinned = Pinned { name: "proef".into(), version: "1.0.0".into(), hash: "x".into(), body: FLOW.into() };
        write_instance(&mut base, &doc_id(9), "Proef", &pinned, Timestamp(T0)).unwrap();
        base.commit();
        let mut copies: Vec<AutoCommit> = (0..3u8)
            .map(|i| base.fork().with_actor(automerge::ActorId::from([i + 1; 16])))
            .collect();
        for (i, batch) in batches.iter().enumerate() {
            for f in batch {
                append_fact(&mut copies[i], &signed(&orgs[i], f)).unwrap();
            }
            copies[i].commit();
        }
        let mut forward = copies[0].fork();
        forward.merge(&mut copies[1].clone()).unwrap();
        forward.merge(&mut copies[2].clone()).unwrap();
        let mut shuffled = copies[order[0]].fork();
        shuffled.merge(&mut copies[order[1]].clone()).unwrap();
        shuffled.merge(&mut copies[order[2]].clone()).unwrap();
        let a = read_instance(&mut forward).unwrap();
        let b = read_instance(&mut shuffled).unwrap();
        prop_assert!(a.rejected.is_empty());
        let docs = docs(true, "h1");
        prop_assert_eq!(
            run(&d, &a.facts, &docs, T0 + DAY),
            run(&d, &b.facts, &docs, T0 + DAY)
        );
    }
}

#[test]
fn tampered_facts_are_set_aside() {
    let who = identity(1, "Gemeente");
    let good = signed(&who, &join("g", "coordinator", T0));
    assert!(SignedFact::from_entry(&good.to_entry()).is_ok());
    let mut forged = good.clone();
    forged.fact.body = FactBody::Join {
        role: "partner".into(),
    };
    assert!(matches!(
        SignedFact::from_entry(&forged.to_entry()),
        Err(FactError::BadSignature(_))
    ));
    let mut stolen = good.clone();
    stolen.fact.org_id = "0000000000000000".into();
    assert!(SignedFact::from_entry(&stolen.to_entry()).is_err());
}

#[test]
fn joins_with_unknown_roles_or_the_wrong_organisation_type_take_no_effect() {
    let src = FLOW.replace(
        "soorten:\n",
        "rollen:\n  - naam: coordinator\n  - naam: partner\n  - naam: jongeren\n    organisaties: [jongeren]\nsoorten:\n",
    );
    let d = def(&src);
    let mut facts = team();
    facts.push(join("x", "wethouder", T0 + 3));
    facts.push(join("y", "jongeren", T0 + 4));
    let st = run(&d, &facts, &docs(true, "h1"), T0 + DAY);
    assert_eq!(st.participants.len(), 3);
    let reasons: Vec<&str> = st.ignored.iter().map(|i| i.reason.as_str()).collect();
    assert!(
        reasons.contains(&"werkwijze proef kent geen rol wethouder"),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"de rol jongeren past niet bij een gemeente"),
        "{reasons:?}"
    );
}
