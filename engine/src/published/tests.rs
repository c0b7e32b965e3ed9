//! Tests of publishing definitions: what counts, what does not and why, and that every replica
//! decides the same whatever order the publications arrived in.

use std::collections::BTreeSet;

use super::*;
use crate::definition::{self, Source, builtin_registry};
use crate::identity::{Identity, OrgType};
use crate::replica::ImportOutcome;
use crate::store::MemoryStore;

const T0: i64 = 1_780_000_000_000;

fn replica(seed: u8, name: &str) -> Replica<MemoryStore> {
    crate::composition::init(
        MemoryStore::default(),
        Identity::new(name, OrgType::Gemeente, [seed; 32], [seed; 16]),
    )
    .unwrap()
}

fn text(version: &str, title: &str) -> String {
    format!(
        "naam: overleg\nversie: {version}\ntitel: {title}\nsoorten:\n  - naam: verslag\n    label: Verslag\n    velden:\n      - {{naam: titel, type: tekst, verplicht: true}}\nfasen:\n  - naam: voorbereiden\n    titel: Voorbereiden\n    soorten: [verslag]\n    naar: [{{fase: klaar}}]\n  - naam: klaar\n    titel: Klaar\n    eind: true\n"
    )
}

fn loaded(body: &str) -> Loaded {
    let checked = definition::check("overleg.yaml", body);
    Loaded {
        definition: checked
            .definition
            .unwrap_or_else(|| panic!("{:#?}", checked.diagnostics)),
        body: body.to_string(),
        hash: definition::content_hash(body),
        source: Source::File {
            path: "overleg.yaml".into(),
        },
    }
}

fn org_ids(replicas: &[&Replica<MemoryStore>]) -> BTreeSet<String> {
    replicas
        .iter()
        .map(|r| r.identity().profile.org_id.clone())
        .collect()
}

/// Copies every published-definition document of `from` into `to`, as sync would.
fn copy_all(from: &Replica<MemoryStore>, to: &Replica<MemoryStore>) {
    for view in from.list(Some(PUBLISHED_KIND), false).unwrap() {
        to.import(&from.export(&view.id).unwrap()).unwrap();
    }
}

#[test]
fn a_coordinators_publications_count_on_another_replica() {
    let coordinator = replica(1, "Gemeente Zwolle");
    let partner = replica(2, "Samenwerkingsverband Zwolle");
    // The built-in definitions are long texts full of numbers: none may look like personal data.
    for l in builtin_registry().latest_all() {
        publish(&coordinator, l, Timestamp(T0)).unwrap();
    }
    copy_all(&coordinator, &partner);
    let found = read_publications(&partner).unwrap();
    assert_eq!(found.len(), 3);
    let in_force = in_force(found, &org_ids(&[&coordinator]));
    assert!(in_force.refused.is_empty(), "{:?}", in_force.refused);
    let mut names: Vec<_> = in_force
        .loaded
        .iter()
        .map(|l| l.definition.name.clone())
        .collect();
    names.sort();
    let mut builtin: Vec<_> = builtin_registry().names().map(String::from).collect();
    builtin.sort();
    assert_eq!(names, builtin);
    for l in &in_force.loaded {
        assert_eq!(
            l.source,
            Source::Published {
                by: "Gemeente Zwolle".into(),
                org_id: coordinator.identity().profile.org_id.clone()
            }
        );
        assert_eq!(definition::content_hash(&l.body), l.hash);
    }
    // Published definitions are not ordinary documents, and cannot be deleted as one.
    assert!(partner.list(None, false).unwrap().is_empty());
    let doc = &partner.list(Some(PUBLISHED_KIND), false).unwrap()[0];
    let err = partner.delete(&doc.id, Timestamp(T0 + 1)).unwrap_err();
    assert!(matches!(err, ReplicaError::Undeletable { .. }), "{err}");
    assert!(
        err.to_string().contains("is een gepubliceerde werkwijze"),
        "{err}"
    );
    assert!(err.is_input_error());
    assert!(partner.get(&doc.id).unwrap().deleted.is_none());
}

#[test]
fn a_publication_by_someone_who_is_not_coordinator_does_not_count() {
    let partner = replica(2, "Jeugdhulp Noord");
    publish(&partner, &loaded(&text("1.0.0", "Overleg")), Timestamp(T0)).unwrap();
    let found = read_publications(&partner).unwrap();
    let result = in_force(found, &BTreeSet::from(["iemand-anders".to_string()]));
    assert!(result.loaded.is_empty());
    assert_eq!(
        result.refused[0].problem,
        Some(Distrust::NotCoordinator {
            org: "Jeugdhulp Noord".into()
        })
    );
    assert_eq!(
        result.refused[0].problem.as_ref().unwrap().to_string(),
        "Jeugdhulp Noord is geen coördinator van de samenwerking"
    );
}

/// Writes `signed` into a fresh published-definition document on `r`.
fn plant(r: &Replica<MemoryStore>, signed: &SignedPublication, seed: u8) {
    let id = DocId::parse(&format!("{PUBLISHED_KIND}-geplant-{seed}")).unwrap();
    let mut doc = r.new_doc(&id).unwrap();
    document::write_publication_doc(&mut doc.doc, &id, "geplant", Timestamp(T0)).unwrap();
    document::append_publication(&mut doc.doc, signed).unwrap();
    r.commit(&mut doc, "test", Timestamp(T0)).unwrap();
}

#[test]
fn forged_or_broken_publications_are_refused_with_the_reason() {
    let coordinator = replica(1, "Gemeente Zwolle");
    let intruder = replica(3, "Onbekend");
    let good = loaded(&text("1.0.0", "Overleg"));
    let publication = |org: &Replica<MemoryStore>, body: &str, hash: &str| Publication {
        name: "overleg".into(),
        version: "1.0.0".into(),
        hash: hash.into(),
        body: body.into(),
        org_id: org.identity().profile.org_id.clone(),
        org: org.identity().profile.name.clone(),
        at: Timestamp(T0),
    };
    // The text changed after signing.
    let mut tampered = SignedPublication::sign(
        coordinator.identity(),
        publication(&coordinator, &good.body, &good.hash),
    )
    .unwrap();
    let other = text("1.0.0", "Ander overleg");
    tampered.publication.body = other.clone();
    tampered.publication.hash = definition::content_hash(&other);
    plant(&coordinator, &tampered, 1);
    // The intruder signs a publication that names the coordinator as author.
    let mut forged = SignedPublication::sign(
        intruder.identity(),
        publication(&intruder, &good.body, &good.hash),
    )
    .unwrap();
    forged.publication.org_id = coordinator.identity().profile.org_id.clone();
    plant(&coordinator, &forged, 2);
    // Properly signed, but the hash is not the text's.
    let wrong_hash = SignedPublication::sign(
        coordinator.identity(),
        publication(&coordinator, &good.body, &"0".repeat(64)),
    )
    .unwrap();
    plant(&coordinator, &wrong_hash, 3);
    // Properly signed, but the text is no definition.
    let broken = "naam: overleg\nversie: 1.0.0\n";
    let invalid = SignedPublication::sign(
        coordinator.identity(),
        publication(&coordinator, broken, &definition::content_hash(broken)),
    )
    .unwrap();
    plant(&coordinator, &invalid, 4);

    let result = in_force(
        read_publications(&coordinator).unwrap(),
        &org_ids(&[&coordinator, &intruder]),
    );
    assert!(result.loaded.is_empty(), "{:?}", result.loaded);
    let mut problems: Vec<String> = result
        .refused
        .iter()
        .map(|f| match f.problem.as_ref().unwrap() {
            Distrust::BadSignature(_) => "handtekening".to_string(),
            Distrust::HashMismatch => "hash".to_string(),
            Distrust::Invalid(_) => "ongeldig".to_string(),
            other => other.to_string(),
        })
        .collect();
    problems.sort();
    assert_eq!(
        problems,
        ["handtekening", "handtekening", "hash", "ongeldig"]
    );
}

#[test]
fn one_version_with_two_texts_resolves_the_same_way_everywhere() {
    let a = replica(1, "Gemeente Zwolle");
    let b = replica(2, "Gemeente Kampen");
    let first = loaded(&text("1.0.0", "Overleg"));
    let second = loaded(&text("1.0.0", "Overleg, anders"));
    // Two coordinators publish version 1.0.0 at the same time, offline, with different texts.
    publish(&b, &second, Timestamp(T0 + 5)).unwrap();
    publish(&a, &first, Timestamp(T0)).unwrap();
    copy_all(&a, &b);
    copy_all(&b, &a);
    let coordinators = org_ids(&[&a, &b]);
    for r in [&a, &b] {
        let mut found = read_publications(r).unwrap();
        for round in 0..2 {
            if round == 1 {
                found.reverse();
            }
            let result = in_force(found.clone(), &coordinators);
            assert_eq!(result.loaded.len(), 1);
            assert_eq!(result.loaded[0].hash, first.hash, "the earliest counts");
            assert_eq!(
                result.refused[0].problem,
                Some(Distrust::Superseded {
                    hash: first.hash.clone()
                })
            );
        }
    }
    // Once a replica has seen a version, publishing another text for it is refused up front.
    let err = publish(&a, &loaded(&text("1.0.0", "Derde")), Timestamp(T0 + 9)).unwrap_err();
    assert!(matches!(err, PublishError::VersionTaken { .. }), "{err}");
    assert!(err.is_input_error());
}

#[test]
fn the_same_text_from_two_coordinators_is_one_document() {
    let a = replica(1, "Gemeente Zwolle");
    let b = replica(2, "Gemeente Kampen");
    let def = loaded(&text("2.0.0", "Overleg"));
    let id = publish(&a, &def, Timestamp(T0)).unwrap();
    copy_all(&a, &b);
    assert_eq!(publish(&b, &def, Timestamp(T0 + 1)).unwrap(), id);
    assert!(matches!(
        publish(&b, &def, Timestamp(T0 + 2)),
        Err(PublishError::AlreadyPublished { .. })
    ));
    copy_all(&b, &a);
    let result = in_force(read_publications(&a).unwrap(), &org_ids(&[&a, &b]));
    assert_eq!(result.loaded.len(), 1);
    assert!(result.refused.is_empty());
    assert_eq!(a.list(Some(PUBLISHED_KIND), false).unwrap().len(), 1);
}

#[test]
fn personal_data_in_a_definition_is_refused_when_publishing_and_importing() {
    let a = replica(1, "Gemeente Zwolle");
    let with_bsn = loaded(&text("1.0.0", "Overleg over 111222333"));
    let err = publish(&a, &with_bsn, Timestamp(T0)).unwrap_err();
    assert!(matches!(err, PublishError::Privacy(_)), "{err}");
    assert!(!err.to_string().contains("111222333"));
    assert!(a.list(Some(PUBLISHED_KIND), false).unwrap().is_empty());

    // A document made elsewhere without the check is refused on import.
    let elsewhere = replica(2, "Elders");
    let signed = SignedPublication::sign(
        elsewhere.identity(),
        Publication {
            name: "overleg".into(),
            version: "1.0.0".into(),
            hash: with_bsn.hash.clone(),
            body: with_bsn.body.clone(),
            org_id: elsewhere.identity().profile.org_id.clone(),
            org: "Elders".into(),
            at: Timestamp(T0),
        },
    )
    .unwrap();
    plant(&elsewhere, &signed, 7);
    let view = &elsewhere.list(Some(PUBLISHED_KIND), false).unwrap()[0];
    let bytes = elsewhere.export(&view.id).unwrap();
    assert!(a.import(&bytes).is_err());
    assert!(a.list(Some(PUBLISHED_KIND), false).unwrap().is_empty());
    // Without the number it imports.
    let clean = replica(3, "Schoon");
    publish(&clean, &loaded(&text("1.0.0", "Overleg")), Timestamp(T0)).unwrap();
    let view = &clean.list(Some(PUBLISHED_KIND), false).unwrap()[0];
    assert!(matches!(
        a.import(&clean.export(&view.id).unwrap()).unwrap(),
        ImportOutcome::Created(_)
    ));
}
