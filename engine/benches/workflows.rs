//! Workflow benchmark: checking the built-in definitions, and computing the state of an instance
//! with 10,000 facts. Prints the mean time per run and the ratio to the 10 ms target.
//!
//! Run with `cargo bench -p kompas-engine --bench workflows`.

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::time::Instant;

use kompas_engine::definition::{BUILTIN, check};
use kompas_engine::identity::OrgType;
use kompas_engine::runtime::{DocSnapshot, Fact, FactBody, Input, state};
use kompas_engine::{DocId, Timestamp};

const FACTS: usize = 10_000;
const TARGET_MS: f64 = 10.0;

fn mean_ms(runs: u32, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    for _ in 0..runs {
        f();
    }
    start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs)
}

fn main() {
    let check_ms = mean_ms(50, || {
        for (file, body) in BUILTIN {
            black_box(check(file, body));
        }
    });
    println!(
        "check of all {} built-in definitions: {check_ms:.3} ms",
        BUILTIN.len()
    );

    let Some(def) = check("kwaliteitskompas.yaml", BUILTIN[0].1).definition else {
        eprintln!("the built-in Kwaliteitskompas does not check");
        std::process::exit(1);
    };
    let doc = DocId::generate([7; 8]);
    let heads = BTreeMap::from([(doc.clone(), vec!["h".to_string()])]);
    let documents = BTreeMap::from([(
        doc,
        DocSnapshot {
            kind: "ambitie".into(),
            heads: vec!["h".into()],
            filled: BTreeSet::from(["titel".to_string()]),
            title: "Meer kinderen sporten".into(),
        },
    )]);
    let orgs = ["gemeente", "swv", "jeugdhulp"];
    let mut facts: Vec<Fact> = orgs
        .iter()
        .enumerate()
        .map(|(i, org)| Fact {
            id: format!("join-{i}"),
            org_id: (*org).into(),
            org: (*org).into(),
            org_type: OrgType::Gemeente,
            at: Timestamp(i as i64),
            body: FactBody::Join {
                role: if i == 0 { "coordinator" } else { "partner" }.into(),
            },
        })
        .collect();
    // Many rounds of verdicts on the first phase, with requests that keep being made.
    for n in 0..FACTS - facts.len() {
        let org = orgs[n % 3];
        let body = if n % 5 == 4 {
            FactBody::Request {
                step: 0,
                from: "samenwerking".into(),
                to: "staat-van-de-jeugd".into(),
                based_on: heads.clone(),
                decides: false,
            }
        } else {
            FactBody::Verdict {
                step: 0,
                phase: "samenwerking".into(),
                approve: n % 7 != 0,
                reason: String::new(),
                docs: heads.clone(),
            }
        };
        facts.push(Fact {
            id: format!("f{n:06}"),
            org_id: org.into(),
            org: org.into(),
            org_type: OrgType::Gemeente,
            at: Timestamp(1_000 + n as i64),
            body,
        });
    }
    let input = Input {
        definition: &def,
        created: Timestamp(0),
        facts: &facts,
        documents: &documents,
        now: Timestamp(1_000_000),
        members: None,
        owns_documents: false,
    };
    let state_ms = mean_ms(20, || {
        black_box(state(&input));
    });
    println!(
        "state of an instance with {} facts: {state_ms:.3} ms ({:.2} of the {TARGET_MS} ms target)",
        facts.len(),
        state_ms / TARGET_MS
    );
}
