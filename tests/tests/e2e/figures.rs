//! End-to-end tests of `kompas figures ...` through the real binary: importing the synthetic
//! CBS-shaped fixtures, comparing with peers, drawing a chart (read back as XML), import errors
//! with row numbers, stories beside an indicator, and the BSN guard.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use kompas_tests::{Kompas, workspace_root};

fn fixture(name: &str) -> String {
    workspace_root()
        .join("cli/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// A replica with the area registry, youth care per municipality and the districts read in.
fn with_figures(dir: &tempfile::TempDir) -> Kompas {
    let k = Kompas::new(dir.path().join("havenstad"));
    k.ok(&["init", "--org", "Gemeente Havenstad"]);
    k.ok(&["figures", "areas", &fixture("gebieden-synthetisch.csv")]);
    // The StatLine download shape needs no mapping: the value and the denominator are found
    // by their titles.
    let imported = k.json(&[
        "figures",
        "import",
        &fixture("jeugdhulp-gemeenten-synthetisch.csv"),
        "--indicator",
        "jeugdhulp",
        "--unit",
        "aantal",
        "--better",
        "lager",
    ]);
    assert_eq!(imported["rows_read"], 216);
    assert_eq!(imported["observations"], 216);
    // Klein-Eemdijk's girls and boys are small every year: 12 secret cells.
    let table = &imported["indicators"][0];
    assert_eq!(table["source"], "Jongeren met jeugdhulp (aantal)");
    assert_eq!(table["denominator"], "Jongeren tot 18 jaar (aantal)");
    assert_eq!(table["protection"]["primary"], 12);
    k.ok(&[
        "figures",
        "import",
        &fixture("kerncijfers-wijken-synthetisch.csv"),
        "--indicator",
        "jeugdhulp",
        "--mapping",
        &fixture("wijken-mapping.json"),
    ]);
    // The key figures by district also name the districts.
    k.ok(&[
        "figures",
        "areas",
        &fixture("kerncijfers-wijken-synthetisch.csv"),
    ]);
    k
}

#[test]
fn a_try_out_shows_columns_and_tables_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let k = Kompas::new(dir.path().join("havenstad"));
    k.ok(&["init", "--org", "Gemeente Havenstad"]);
    let file = dir.path().join("twee.csv");
    std::fs::write(
        &file,
        "Perioden;Regio's;Jongeren met jeugdhulp (%);Jeugdhulptrajecten per 1 000 jongeren\n2023;GM9901;9,8;121,5\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let err = k.fails(3, &["figures", "import", file, "--indicator", "jh"]);
    assert!(err.contains("--waarde KOLOM"), "{err}");
    let out = k.ok(&[
        "figures",
        "import",
        file,
        "--indicator",
        "jh",
        "--alle",
        "--proef",
    ]);
    assert!(out.contains("Proef: er is niets opgeslagen"), "{out}");
    assert!(
        out.contains("Indicator jh-jongeren-met-jeugdhulp-pct: 1 waarnemingen uit \"Jongeren met jeugdhulp (%)\", percentage"),
        "{out}"
    );
    assert!(
        out.contains("jh-jeugdhulptrajecten-per-1-000-jongeren"),
        "{out}"
    );
    let list = k.json(&["figures", "list"]);
    assert_eq!(
        list.as_array().unwrap().len(),
        0,
        "a try-out stores nothing"
    );
    k.ok(&["figures", "import", file, "--indicator", "jh", "--alle"]);
    let list = k.json(&["figures", "list"]);
    let units: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["unit"].as_str().unwrap())
        .collect();
    assert_eq!(units, ["percentage", "per-1000"]);
}

#[test]
fn compare_with_national_region_and_peers() {
    let dir = tempfile::tempdir().unwrap();
    let k = with_figures(&dir);
    let c = k.json(&[
        "figures",
        "compare",
        "jeugdhulp",
        "--area",
        "GM9901",
        "--with",
        "national,region,peers",
    ]);
    assert_eq!(c["period"], "2024JJ00");
    assert_eq!(c["measure"], "per 1.000");
    let refs = c["references"].as_array().unwrap();
    let labels: Vec<&str> = refs.iter().map(|r| r["label"].as_str().unwrap()).collect();
    assert_eq!(
        labels,
        [
            "Nederland, berekend uit 12 gemeenten",
            "Jeugdregio Havenland (synthetisch) (JZ99), berekend uit 6 gemeenten",
            "Vergelijkbare gemeenten (grootteklasse 5)"
        ]
    );
    assert_eq!(refs[0]["areas"], 12);
    assert_eq!(refs[1]["areas"], 6);
    assert_eq!(refs[2]["areas"], 2);
    // Rounded to one decimal, as the text writes them: the difference is that of the exact
    // rates, rounded in its turn.
    assert_eq!(c["value"].as_f64(), Some(95.6));
    let values: Vec<(Option<f64>, Option<f64>)> = refs
        .iter()
        .map(|r| (r["value"].as_f64(), r["difference"].as_f64()))
        .collect();
    assert_eq!(
        values,
        [
            (Some(108.0), Some(-12.4)),
            (Some(107.8), Some(-12.2)),
            (Some(94.7), Some(0.9))
        ]
    );
    assert_eq!(c["rank"][1], 3);
    // A period without figures is "geen cijfers", never "geheim".
    let empty = k.json(&[
        "figures",
        "compare",
        "jeugdhulp",
        "--area",
        "GM9901",
        "--period",
        "2015JJ00",
    ]);
    assert_eq!(empty["value_missing"], "no-figures");
    let empty = k.ok(&[
        "figures",
        "compare",
        "jeugdhulp",
        "--area",
        "GM9901",
        "--period",
        "2015JJ00",
    ]);
    assert!(
        empty.contains("geen cijfers") && !empty.contains("geheim"),
        "{empty}"
    );
    let human = k.ok(&["figures", "compare", "jeugdhulp", "--area", "GM9901"]);
    assert!(
        human.contains("Plaats onder vergelijkbare gemeenten"),
        "{human}"
    );
}

#[test]
fn results_are_in_the_indicators_unit_and_stand_beside_its_figures() {
    let dir = tempfile::tempdir().unwrap();
    let k = with_figures(&dir);
    let result = |fields: &[&'static str]| {
        let mut args = vec!["doc", "new", "maatschappelijk-resultaat"];
        for f in fields {
            args.extend(["--set", *f]);
        }
        args
    };
    let err = k.fails(
        3,
        &result(&["titel=Minder jeugdhulp", "indicator=jeugdhlp"]),
    );
    assert!(
        err.contains("veld indicator") && err.contains("\"jeugdhlp\"") && err.contains("jeugdhulp"),
        "{err}"
    );
    // The indicator counts young people: a target with decimals is no count.
    let err = k.fails(3, &result(&["indicator=jeugdhulp", "streefwaarde=12,5"]));
    assert!(
        err.contains("veld streefwaarde") && err.contains("geen aantal"),
        "{err}"
    );
    k.ok(&result(&[
        "titel=Minder jeugdhulp",
        "indicator=jeugdhulp",
        "nulmeting=2369",
        "streefwaarde=2000",
        "streefdatum=2030-12-31",
    ]));

    let c = k.json(&["figures", "compare", "jeugdhulp", "--area", "GM9901"]);
    let targets = &c["targets"];
    assert_eq!(targets["unit"], "aantal", "{c}");
    let r = &targets["results"][0];
    assert_eq!(r["title"], "Minder jeugdhulp");
    assert_eq!(r["baseline"], 2369.0);
    assert_eq!(r["target"], 2000.0);
    // The latest value in the indicator's own unit (a count, not the per-1,000 comparison).
    assert_eq!(r["latest"]["value"], 2180.0, "{r}");
    assert_eq!(r["latest"]["provisional"], true);
    // Half of the way already, with almost all the time to go.
    assert_eq!(r["course"], "on-course", "{r}");
    let human = k.ok(&["figures", "compare", "jeugdhulp", "--area", "GM9901"]);
    assert!(
        human.contains("Resultaat \"Minder jeugdhulp\": nulmeting 2.369 aantal, streefwaarde 2.000 aantal uiterlijk 31 december 2030, laatste cijfer 2.180 (2024, voorlopig): op koers (51% van de weg afgelegd"),
        "{human}"
    );
}

#[test]
fn chart_has_one_series_per_line_and_leaves_secrets_out() {
    let dir = tempfile::tempdir().unwrap();
    let k = with_figures(&dir);
    let out = dir.path().join("havenstad.svg");
    let data = k.json(&[
        "figures",
        "chart",
        "jeugdhulp",
        "--area",
        "GM9901",
        "--with",
        "national,peers",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(data["series"].as_array().unwrap().len(), 3);
    let svg = std::fs::read_to_string(&out).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    for label in [
        "Havenstad (GM9901)",
        "Nederland, berekend uit 12 gemeenten",
        "Vergelijkbare gemeenten (grootteklasse 5)",
        "Periode",
        "2019",
        "Uitsplitsing naar geslacht, 2024",
        "Meisjes",
        "2024*",
    ] {
        assert!(
            texts.iter().any(|t| t.trim() == label),
            "no text {label:?} in {texts:?}"
        );
    }
    // The area's series is one unbroken line over six years (plus its legend line); the
    // references are dashed, so drawn in many short pieces.
    let lines: Vec<(&str, usize)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .filter_map(|n| {
            Some((
                n.attribute("stroke")?,
                n.attribute("points")?.split_whitespace().count(),
            ))
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    let of = |colour: &str| -> Vec<usize> {
        lines
            .iter()
            .filter(|(c, _)| *c == colour)
            .map(|(_, n)| *n)
            .collect()
    };
    assert_eq!(of("#005EA3"), vec![6, 2], "the area's line");
    for colour in ["#E67800", "#008C5A"] {
        assert!(of(colour).len() > 6, "series {colour} is dashed");
    }
    assert!(
        texts.iter().any(|t| t.trim().starts_with("Bron: ")),
        "{texts:?}"
    );

    // Klein-Eemdijk's breakdown is secret: no bars, and the word "geheim" instead.
    let small = dir.path().join("klein.svg");
    k.ok(&[
        "figures",
        "chart",
        "jeugdhulp",
        "--area",
        "GM9906",
        "--out",
        small.to_str().unwrap(),
    ]);
    let svg = std::fs::read_to_string(&small).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let secret = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .any(|t| {
            t.trim()
                .starts_with("Alle cijfers van deze uitsplitsing zijn geheim")
        });
    assert!(secret, "{svg}");
    let bars = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some("#005EA3"))
        .count();
    assert_eq!(bars, 0);
}

#[test]
fn show_lists_figures_districts_and_linked_stories() {
    let dir = tempfile::tempdir().unwrap();
    let k = with_figures(&dir);
    k.ok(&[
        "figures",
        "story",
        "jeugdhulp",
        "--kind",
        "persona",
        "--title",
        "Noor, 15 jaar",
        "--text",
        "Noor gaat sinds de scheiding van haar ouders minder vaak naar school.",
        "--area",
        "GM9901",
        "--young-people",
        "140",
    ]);
    let shown = k.json(&["figures", "show", "jeugdhulp", "--area", "GM9901"]);
    assert_eq!(shown["stories"][0]["titel"], "Noor, 15 jaar");
    assert_eq!(shown["stories"][0]["aantal_jongeren"], 140.0);
    let area = &shown["area"];
    assert_eq!(area["series"].as_array().unwrap().len(), 6);
    assert_eq!(area["series"][5]["status"], "voorlopig");
    assert_eq!(area["parts"].as_array().unwrap().len(), 6);
    assert_eq!(area["parts"][0]["label"], "Wijk 01 Centrum (WK990101)");
    // The smallest district is secret, and one more so that it cannot be worked out.
    let secret = area["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["value"].is_null())
        .count();
    assert_eq!(secret, 2);
    for line in area["series"].as_array().unwrap() {
        assert_eq!(line["value"].as_f64().unwrap() % 5.0, 0.0);
    }
    let human = k.ok(&["figures", "show", "jeugdhulp", "--area", "GM9901"]);
    assert!(
        human.contains("[persona] Noor, 15 jaar · 140 jongeren zoals deze in GM9901"),
        "{human}"
    );
    assert!(human.contains("geheim"), "{human}");
}

#[test]
fn bad_rows_are_named_and_nothing_is_half_imported() {
    let dir = tempfile::tempdir().unwrap();
    let k = Kompas::new(dir.path().join("data"));
    k.ok(&["init", "--org", "Gemeente Havenstad"]);
    let csv = dir.path().join("fout.csv");
    std::fs::write(
        &csv,
        "RegioS;Perioden;Waarde\nGM9901;2023JJ00;120\nGM99;2023JJ00;80\nGM9902;2023;veel\n",
    )
    .unwrap();
    let csv = csv.to_str().unwrap();
    let err = k.fails(3, &["figures", "import", csv, "--indicator", "test"]);
    assert!(err.contains("rij 3, kolom RegioS"), "{err}");
    assert!(err.contains("rij 4, kolom Waarde"), "{err}");
    assert_eq!(k.json(&["figures", "list"]), serde_json::json!([]));
    let done = k.json(&[
        "figures",
        "import",
        csv,
        "--indicator",
        "test",
        "--skip-bad-rows",
    ]);
    assert_eq!(done["observations"], 1);
    let bad: Vec<u64> = done["bad_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["row"].as_u64().unwrap())
        .collect();
    assert_eq!(bad, [3, 4]);
}

#[test]
fn a_bsn_is_refused_in_a_field_and_in_an_imported_file() {
    let dir = tempfile::tempdir().unwrap();
    let k = Kompas::new(dir.path().join("data"));
    k.ok(&["init", "--org", "Gemeente Havenstad"]);
    let err = k.fails(
        3,
        &[
            "doc",
            "new",
            "ambitie",
            "--set",
            "titel=Minder thuiszitters",
            "--set",
            "toelichting=Zoals bij de leerling met BSN 1112.22.333",
        ],
    );
    assert!(err.contains("veld toelichting"), "{err}");
    assert!(err.contains("burgerservicenummer"), "{err}");
    assert!(
        !err.contains("1112.22.333") && !err.contains("111222333"),
        "{err}"
    );
    assert_eq!(k.json(&["doc", "list"]), serde_json::json!([]));

    let csv = dir.path().join("met-bsn.csv");
    std::fs::write(&csv, "RegioS;Perioden;Waarde;Opmerking\nGM9901;2023JJ00;120;\nGM9901;2024JJ00;125;dossier 111222333\n").unwrap();
    let err = k.fails(
        3,
        &[
            "figures",
            "import",
            csv.to_str().unwrap(),
            "--indicator",
            "test",
        ],
    );
    assert!(err.contains("rij 3, kolom Opmerking"), "{err}");
    assert_eq!(k.json(&["figures", "list"]), serde_json::json!([]));

    // A name passes the guard too: no samenwerking is made under a name with a BSN in it.
    let err = k.fails(
        3,
        &[
            "workspace",
            "create",
            "Overleg 111 222 333",
            "--relay",
            "ws://127.0.0.1:9",
        ],
    );
    assert!(err.contains("naam van de samenwerking"), "{err}");
    assert!(!err.contains("111 222 333"), "{err}");
}

#[test]
fn demo_shares_figures_and_a_persona_with_every_partner() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let report =
        Kompas::new(dir.path().join("unused")).json(&["demo", "--dir", demo.to_str().unwrap()]);
    assert_eq!(report["converged"], true);
    assert_eq!(report["figures"]["observations"], 234);
    let like_her = report["figures"]["young_people_like_her"].as_f64().unwrap();
    assert!(like_her > 0.0 && like_her % 5.0 == 0.0, "{like_her}");
    // The school partnership received the figures and the provider's persona.
    let swv = Kompas::new(demo.join("samenwerkingsverband"));
    let shown = swv.json(&["figures", "show", "jeugdhulp", "--area", "GM9901"]);
    assert_eq!(shown["observations"], 234);
    assert_eq!(shown["stories"][0]["soort"], "persona");
    assert_eq!(
        shown["stories"][0]["aantal_jongeren"].as_f64(),
        Some(like_her)
    );
}
