//! Tests of the report: a round built in memory, the results table and its course, approvals
//! with stale marks, privacy of persona counts, and the property that "changed since" lists
//! exactly the documents whose heads differ from the recorded evaluation.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::definition::{self, Registry};
use crate::document::{Assignment, DocId};
use crate::identity::{Identity, OrgType};
use crate::runtime::{Flows, Fresh};
use crate::time::Timestamp;
use crate::{MemoryStore, Replica};

const T0: i64 = 1_780_000_000_000;
const DAY: i64 = 86_400_000;

struct Round {
    replica: Replica<MemoryStore>,
    registry: Registry,
    flow: DocId,
    seq: std::cell::Cell<u64>,
}

impl Round {
    fn new() -> Round {
        Round::of(
            definition::builtin_registry(),
            "kwaliteitskompas",
            "Cyclus 2027",
        )
    }

    /// A replica with the kinds of `registry` and an instance of `definition` started on it.
    fn of(registry: Registry, definition: &str, title: &str) -> Round {
        let replica = crate::composition::init_with(
            MemoryStore::default(),
            Identity::new("Gemeente Havenstad", OrgType::Gemeente, [3; 32], [3; 16]),
            &registry,
        )
        .expect("init");
        let flow = Flows::new(&replica, &registry)
            .start(
                definition,
                Some(title),
                &[],
                Timestamp(T0),
                Fresh {
                    doc: [9; 8],
                    fact: [9; 16],
                },
            )
            .expect("start");
        Round {
            replica,
            registry,
            flow,
            seq: std::cell::Cell::new(1),
        }
    }

    fn random(&self) -> [u8; 8] {
        let n = self.seq.get();
        self.seq.set(n + 1);
        n.to_be_bytes()
    }

    fn at(&self) -> Timestamp {
        Timestamp(T0 + self.seq.get() as i64 * 1000)
    }

    /// Creates a document and links it to the round's flow, as `doc new --werkstroom` does.
    fn create(&self, kind: &str, fields: &[(&str, &str)]) -> DocId {
        let set = assignments(fields);
        let at = self.at();
        let id = self
            .replica
            .create(kind, &set, at, self.random())
            .expect("create");
        let mut fact = [0; 16];
        fact[..8].copy_from_slice(&self.random());
        // Kinds this flow does not work on (actions, conversations) follow flows of their own.
        match Flows::new(&self.replica, &self.registry).link(&self.flow, &id, self.at(), fact) {
            Ok(_) | Err(crate::runtime::FlowError::NotNow(_)) => {}
            Err(e) => panic!("link: {e}"),
        }
        id
    }

    fn update(&self, id: &DocId, fields: &[(&str, &str)]) {
        let at = self.at();
        self.random();
        self.replica
            .update(id, &assignments(fields), at)
            .expect("update");
    }

    fn report(&self, now: Timestamp) -> RoundReport {
        let input = gather(
            &self.replica,
            &self.registry,
            &self.flow,
            &Options::default(),
            now,
        )
        .expect("gather");
        build(&input)
    }

    /// Defines the percentage indicator `sport`.
    fn define_sport(&self) -> crate::figures::Indicator {
        crate::figures::storage::Figures::new(&self.replica)
            .define(
                "sport",
                &crate::figures::storage::IndicatorFields {
                    title: Some("Sportdeelname".into()),
                    unit: Some("percentage".into()),
                    ..Default::default()
                },
                self.at(),
                self.random(),
            )
            .expect("define")
    }

    /// The percentage indicator `sport` with `values` per year for GM9901, and a result that
    /// measures it, with `fields` (baseline, target, date) beside its own.
    fn sport_result(&self, values: &[(i16, f64)], fields: &[(&str, &str)]) {
        let indicator = self.define_sport();
        let rows = values
            .iter()
            .map(|&(year, value)| crate::figures::Observation {
                area: crate::figures::AreaCode::parse("GM9901").expect("area"),
                period: crate::figures::Period::year(year),
                breakdown: crate::figures::Breakdown::total(),
                value: Some(value),
                denominator: None,
                status: crate::figures::Status::Definitief,
                note: None,
            })
            .collect();
        crate::figures::storage::Figures::new(&self.replica)
            .store_observations(&indicator, rows, self.at(), self.random())
            .expect("store");
        let amb = self.create("ambitie", &[("titel", "Meer kinderen sporten")]);
        let mut all = vec![
            ("titel", "Sportdeelname omhoog"),
            ("ambitie", amb.as_str()),
            ("indicator", "sport"),
        ];
        all.extend_from_slice(fields);
        self.create("maatschappelijk-resultaat", &all);
    }

    fn record(&self) {
        let at = self.at();
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&self.random());
        record_evaluation(&self.replica, &self.registry, &self.flow, at, id).expect("record");
    }
}

fn assignments(fields: &[(&str, &str)]) -> Vec<Assignment> {
    fields
        .iter()
        .map(|(f, v)| Assignment {
            field: (*f).into(),
            value: (*v).into(),
        })
        .collect()
}

#[test]
fn a_round_shows_its_blocks_results_actions_and_conversations() {
    let r = Round::new();
    r.define_sport();
    r.create("samenwerking", &[("naam", "Samen voor Havenstad")]);
    let amb = r.create("ambitie", &[("titel", "Meer kinderen sporten")]);
    r.create(
        "maatschappelijk-resultaat",
        &[
            ("titel", "Sportdeelname omhoog"),
            ("ambitie", amb.as_str()),
            ("indicator", "sport"),
            ("nulmeting", "60"),
            ("streefwaarde", "70"),
        ],
    );
    r.create(
        "verbeteractie",
        &[
            ("actie", "Sportclubs op school"),
            ("eigenaar", "Gemeente Havenstad"),
            ("deadline", "2026-01-01"),
        ],
    );
    r.create(
        "cijfergesprek",
        &[
            ("titel", "Sport in de wijk"),
            ("doel", "Begrijpen waarom minder kinderen sporten"),
            ("herkennen", "Ja, dat zien trainers ook."),
        ],
    );
    let report = r.report(Timestamp(T0 + 10 * DAY));
    assert_eq!(report.partnership, "Samen voor Havenstad");
    let ambitions = report
        .blocks
        .iter()
        .find(|b| b.phase == "ambities")
        .expect("block of ambitions");
    assert_eq!(ambitions.documents.len(), 1);
    assert_eq!(ambitions.documents[0].title, "Meer kinderen sporten");
    assert_eq!(ambitions.documents[0].authors[0].org, "Gemeente Havenstad");
    assert!(ambitions.documents[0].authors[0].created);
    let row = &report.results[0];
    assert_eq!(row.ambition, "Meer kinderen sporten");
    assert_eq!((row.baseline, row.target), (Some(60.0), Some(70.0)));
    assert_eq!(
        row.course,
        Course::Unknown,
        "no figures for the indicator here"
    );
    assert_eq!(report.actions.len(), 1);
    assert!(report.actions[0].overdue, "deadline passed and not done");
    assert!(
        report
            .open
            .iter()
            .any(|o| o.what.contains("Sportclubs op school") && o.what.contains("te laat"))
    );
    let talk = &report.conversations[0];
    assert_eq!(talk.answers.len(), 4);
    assert_eq!(talk.answers[0].answer, "Ja, dat zien trainers ook.");
    assert!(
        report
            .open
            .iter()
            .any(|o| o.what.contains("verklaren, waarderen, verbeteren"))
    );
    assert!(report.changes.is_none(), "no evaluation recorded yet");
    assert_eq!(report.colophon.documents, 5);
    check_report(&report).expect("no personal data");
}

#[test]
fn a_stale_approval_is_marked() {
    let r = Round::new();
    let flows = Flows::new(&r.replica, &r.registry);
    r.create("samenwerking", &[("naam", "Samen")]);
    flows
        .advance(&r.flow, None, r.at(), [1; 16])
        .expect("to state");
    r.create(
        "staat-van-de-jeugd",
        &[("titel", "Beeld"), ("signalen", "Meer verzuim gemeld")],
    );
    flows
        .advance(&r.flow, None, r.at(), [2; 16])
        .expect("to ambitions");
    let amb = r.create("ambitie", &[("titel", "Meer kinderen sporten")]);
    flows
        .verdict(&r.flow, true, "", r.at(), [[3; 16], [4; 16]])
        .expect("approve");
    let fresh = r.report(r.at());
    let phase = fresh
        .approvals
        .iter()
        .find(|a| a.phase == "ambities")
        .expect("ambitions approvals");
    assert_eq!(phase.verdicts.len(), 1);
    assert!(!phase.verdicts[0].stale);
    r.update(&amb, &[("toelichting", "Ook meisjes.")]);
    let later = r.report(r.at());
    let phase = later
        .approvals
        .iter()
        .find(|a| a.phase == "ambities")
        .expect("ambitions approvals");
    assert!(phase.verdicts[0].stale, "the ambition changed since");
}

#[test]
fn changes_since_name_text_fields_new_documents_and_finished_actions() {
    let r = Round::new();
    let amb = r.create(
        "ambitie",
        &[
            ("titel", "Meer kinderen sporten"),
            ("toelichting", "Samen met clubs."),
        ],
    );
    let act = r.create(
        "verbeteractie",
        &[
            ("actie", "Clubs op school"),
            ("eigenaar", "Gemeente Havenstad"),
            ("deadline", "2027-01-01"),
            ("status", "bezig"),
        ],
    );
    let same = r.create("ambitie", &[("titel", "Veilig thuis")]);
    r.record();
    r.update(&amb, &[("toelichting", "Samen met alle clubs.")]);
    r.update(&act, &[("status", "uitgevoerd")]);
    let new = r.create("ambitie", &[("titel", "Gezond opgroeien")]);
    let report = r.report(r.at());
    let since = report.changes.expect("an evaluation was recorded");
    let ids: BTreeSet<&DocId> = since.documents.iter().map(|d| &d.id).collect();
    assert_eq!(ids, BTreeSet::from([&amb, &act, &new]));
    assert!(!ids.contains(&same));
    assert_eq!(since.unchanged, 1);
    let by = |id: &DocId| {
        since
            .documents
            .iter()
            .find(|d| &d.id == id)
            .expect("listed")
    };
    assert_eq!(by(&new).change, ChangeKind::New);
    assert!(
        by(&amb)
            .lines
            .iter()
            .any(|l| l.starts_with("Toelichting: 5 tekens toegevoegd")),
        "{:?}",
        by(&amb).lines
    );
    assert!(by(&act).action_finished);
    assert!(!by(&amb).action_finished);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// For random documents and edits before and after a recorded evaluation, the section
    /// lists exactly the documents that are new or whose heads differ from the recorded ones.
    #[test]
    fn changed_since_lists_exactly_the_documents_whose_heads_differ(
        docs in 1usize..6,
        before in prop::collection::vec((0usize..6, "[a-z ]{0,8}"), 0..6),
        after in prop::collection::vec((0usize..6, "[a-z ]{0,8}"), 0..6),
        added in 0usize..3,
        deleted in prop::option::of(0usize..6),
    ) {
        let r = Round::new();
        let ids: Vec<DocId> = (0..docs)
            .map(|i| r.create("ambitie", &[("titel", &format!("Ambitie {i}"))]))
            .collect();
        for (i, text) in &before {
            r.update(&ids[i % docs], &[("toelichting", text)]);
        }
        r.record();
        let recorded = r.replica.list(None, false).expect("list");
        for (i, text) in &after {
            r.update(&ids[i % docs], &[("toelichting", text)]);
        }
        for i in 0..added {
            r.create("ambitie", &[("titel", &format!("Nieuw {i}"))]);
        }
        if let Some(d) = deleted {
            r.replica.delete(&ids[d % docs], r.at()).expect("delete");
        }
        let now = r.replica.list(None, true).expect("list");
        let expected: BTreeSet<DocId> = now
            .iter()
            .filter(|v| {
                let then = recorded.iter().find(|x| x.id == v.id);
                match then {
                    Some(then) => then.heads != v.heads,
                    None => v.deleted.is_none(),
                }
            })
            .map(|v| v.id.clone())
            .collect();
        let report = r.report(r.at());
        let since = report.changes.expect("recorded");
        let listed: BTreeSet<DocId> = since.documents.iter().map(|d| d.id.clone()).collect();
        prop_assert_eq!(&listed, &expected);
        let deleted_listed = since.documents.iter().filter(|d| d.change == ChangeKind::Deleted).count();
        prop_assert_eq!(deleted_listed, usize::from(deleted.is_some()));
    }
}

/// A cycle of two phases whose evaluation leads into a new round.
const CYCLE: &str = "naam: cyclus\nversie: 1.0.0\ntitel: Cyclus\nsoorten:\n  - naam: stand\n    label: Stand van de jeugd\n    velden:\n      - {naam: titel, label: Titel, type: tekst, verplicht: true}\nfasen:\n  - naam: staat\n    titel: Staat van de jeugd\n    soorten: [stand]\n    naar:\n      - fase: evaluatie\n        vereist: {goedkeuring: iedere-partner}\n  - naam: evaluatie\n    titel: Samen leren\n    naar:\n      - fase: staat\n        label: Nieuwe ronde\n        nieuwe-ronde: true\n      - fase: klaar\n  - naam: klaar\n    titel: Klaar\n    eind: true\n";

#[test]
fn each_round_reports_only_its_own_documents_and_approvals() {
    let mut registry = definition::builtin_registry();
    registry.insert(crate::definition::Loaded {
        definition: definition::check("cyclus.yaml", CYCLE)
            .definition
            .expect("the cycle checks clean"),
        body: CYCLE.into(),
        hash: definition::content_hash(CYCLE),
        source: crate::definition::Source::Builtin,
    });
    let r = Round::of(registry, "cyclus", "Cyclus Havenstad");
    let flows = Flows::new(&r.replica, &r.registry);
    let fact = |r: &Round| {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&r.random());
        id
    };
    // Round 1: a state of youth, a conversation, approved, then a new round.
    let first = r.create("stand", &[("titel", "Staat 2026")]);
    let talk1 = r.create("cijfergesprek", &[("titel", "Gesprek 2026")]);
    flows
        .verdict(&r.flow, true, "", r.at(), [fact(&r), fact(&r)])
        .expect("approve round 1");
    flows
        .advance(&r.flow, None, r.at(), fact(&r))
        .expect("to evaluation");
    r.record();
    flows
        .advance(&r.flow, Some("staat"), r.at(), fact(&r))
        .expect("new round");
    // Round 2: its own state of youth and conversation, approved by a later verdict.
    r.seq.set(r.seq.get() + 10);
    let second = r.create("stand", &[("titel", "Staat 2027")]);
    let talk2 = r.create("cijfergesprek", &[("titel", "Gesprek 2027")]);
    flows
        .verdict(&r.flow, true, "", r.at(), [fact(&r), fact(&r)])
        .expect("approve round 2");

    let report_of = |round: Option<u32>| {
        let input = gather(
            &r.replica,
            &r.registry,
            &r.flow,
            &Options { area: None, round },
            r.at(),
        )
        .expect("gather");
        build(&input)
    };
    let ids = |report: &RoundReport| -> BTreeSet<DocId> {
        report
            .blocks
            .iter()
            .flat_map(|b| b.documents.iter().map(|d| d.id.clone()))
            .collect()
    };
    let talks = |report: &RoundReport| -> Vec<String> {
        report
            .conversations
            .iter()
            .map(|c| c.title.clone())
            .collect()
    };
    let steps = |report: &RoundReport| -> Vec<u32> {
        report
            .approvals
            .iter()
            .filter(|a| !a.verdicts.is_empty())
            .map(|a| a.step)
            .collect()
    };

    let one = report_of(Some(1));
    assert_eq!(ids(&one), BTreeSet::from([first.clone()]));
    assert_eq!(talks(&one), ["Gesprek 2026"]);
    assert_eq!(steps(&one), [0], "round 1's approval only");
    assert_eq!((one.round.number, one.round.current), (1, false));
    assert!(one.title.contains(&one.round.label), "{}", one.title);
    assert!(
        one.open
            .iter()
            .all(|o| o.what.starts_with("Gesprek over cijfers Gesprek 2026")),
        "only the unanswered conversation of round 1 is open: {:?}",
        one.open
    );
    assert_eq!(one.colophon.documents, 2);
    let since = one.changes.as_ref().expect("round 1 was evaluated");
    assert!(
        since.documents.is_empty(),
        "nothing of round 1 changed since"
    );

    let two = report_of(None);
    assert_eq!(ids(&two), BTreeSet::from([second.clone()]));
    assert_eq!(talks(&two), ["Gesprek 2027"]);
    assert_eq!(steps(&two), [2], "round 2's approval only");
    assert_eq!((two.round.number, two.round.current), (2, true));
    assert_eq!(two.colophon.documents, 2);
    // Round 1's evaluation covered none of round 2's documents: both are new since.
    let since = two.changes.as_ref().expect("an earlier evaluation");
    let new: BTreeSet<&DocId> = since.documents.iter().map(|d| &d.id).collect();
    assert_eq!(new, BTreeSet::from([&second, &talk2]));
    assert!(!new.contains(&talk1) && !new.contains(&first));

    let missing = gather(
        &r.replica,
        &r.registry,
        &r.flow,
        &Options {
            area: None,
            round: Some(3),
        },
        r.at(),
    )
    .expect_err("there is no round 3");
    assert!(missing.to_string().contains("geen ronde 3"), "{missing}");
}

#[test]
fn a_value_moving_away_from_its_target_is_said_so_without_a_negative_share() {
    let r = Round::new();
    r.sport_result(
        &[(2024, 60.0), (2025, 39.0)],
        &[
            ("nulmeting", "60"),
            ("streefwaarde", "61"),
            ("streefdatum", "2030-12-31"),
        ],
    );
    let report = r.report(r.at());
    let row = &report.results[0];
    assert_eq!(row.actual.as_ref().and_then(|a| a.value), Some(39.0));
    assert_eq!(row.course, Course::OffCourse);
    // Baseline 60, target 61, now 39: not "-2100% van de weg afgelegd".
    assert_eq!(
        row.course_note, "verder van de streefwaarde dan bij de nulmeting",
        "{}",
        row.course_note
    );
    assert!(!row.course_note.contains('-') && !row.course_note.contains('%'));
    let section = report
        .figures
        .iter()
        .find(|f| f.indicator == "sport")
        .expect("the linked indicator is shown");
    assert_eq!(
        section.chart.targets.len(),
        1,
        "the target is drawn by the chart"
    );
    assert!(
        section.source_line.contains(" 20") && !section.source_line.contains("-0"),
        "a Dutch date: {}",
        section.source_line
    );
}

/// Issue 13: the report's data (`kompas rapport ronde --json`) writes rates rounded to their
/// unit's decimals, the latest value of a result and the chart's lines alike.
#[test]
fn the_reports_json_writes_rates_rounded_to_their_units_decimals() {
    let r = Round::new();
    r.sport_result(
        &[(2024, 11.049_999_7), (2025, 12.345_678_901)],
        &[("nulmeting", "10"), ("streefwaarde", "20")],
    );
    let json: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&r.report(r.at())).expect("json"))
            .expect("parsed");
    assert_eq!(
        json["results"][0]["actual"]["value"],
        serde_json::json!(12.3)
    );
    let section = json["figures"]
        .as_array()
        .expect("figures")
        .iter()
        .find(|f| f["indicator"] == "sport")
        .expect("the linked indicator is shown");
    let area_line = section["chart"]["series"]
        .as_array()
        .expect("series")
        .iter()
        .find(|s| {
            s["values"]
                .as_array()
                .is_some_and(|v| v.iter().all(|x| x.is_f64()))
        })
        .expect("the area's line");
    assert_eq!(area_line["values"], serde_json::json!([11.0, 12.3]));
    assert!(
        !json.to_string().contains("12.345"),
        "no unrounded rate anywhere: {json}"
    );
}
