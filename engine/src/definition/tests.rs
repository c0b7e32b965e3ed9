//! Unit tests of checking definitions; the broken-file fixtures live in `engine/tests/`.

use super::*;

const SMALL: &str = r#"
naam: klein
versie: 1.0.0
titel: Kleine werkwijze
soorten:
  - naam: ambitie
    label: Ambitie
    velden:
      - naam: titel
        type: tekst
        verplicht: true
fasen:
  - naam: begin
    titel: Begin
    soorten: [ambitie]
    naar:
      - fase: klaar
        vereist:
          velden: [ambitie.titel]
          goedkeuring: iedere-partner
  - naam: klaar
    titel: Klaar
    eind: true
"#;

#[test]
fn a_small_definition_checks_clean() {
    let c = check("klein.yaml", SMALL);
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    let d = c.definition.unwrap();
    assert_eq!(d.start, "begin");
    assert_eq!(d.time_zone, DEFAULT_TIME_ZONE);
    assert_eq!(d.roles.len(), 2);
    let t = &d.phase("begin").unwrap().transitions[0];
    assert_eq!(t.guard.approval, Some(Approval::EveryPartner));
    assert_eq!(
        t.guard.fields,
        vec![("ambitie".to_string(), "titel".to_string())]
    );
    assert!(d.catalog().kind("ambitie").is_some());
}

#[test]
fn diagnostics_point_at_line_and_column() {
    let bad = SMALL.replace("fase: klaar", "fase: klaaar");
    let c = check("x.yaml", &bad);
    assert!(c.definition.is_none());
    let text: Vec<String> = c.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(
        text.iter().any(
            |t| t.starts_with("x.yaml:17:15: overgang verwijst naar onbekende fase \"klaaar\"")
        ),
        "{text:#?}"
    );
}

#[test]
fn mermaid_names_every_phase_and_the_guard() {
    let d = check("klein.yaml", SMALL).definition.unwrap();
    let m = mermaid(&d);
    assert!(
        m.starts_with("---\ntitle: Kleine werkwijze\n---\nstateDiagram-v2\n"),
        "{m}"
    );
    assert!(m.contains("state \"Begin\" as f0"), "{m}");
    assert!(
        m.contains("f0 --> f1 : [ambitie.titel, akkoord iedere partner]"),
        "{m}"
    );
    assert!(m.contains("f1 --> [*]"), "{m}");
}

#[test]
fn hashes_differ_when_the_body_differs() {
    assert_eq!(content_hash("a").len(), 64);
    assert_ne!(content_hash("a"), content_hash("b"));
}

#[test]
fn the_built_in_workflows_check_clean() {
    for (file, src) in BUILTIN {
        let c = check(file, src);
        let text: Vec<String> = c.diagnostics.iter().map(ToString::to_string).collect();
        assert!(text.is_empty(), "{text:#?}");
        assert!(c.definition.is_some());
    }
}
