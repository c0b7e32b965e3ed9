//! Data-driven tests of CSV import: what is read, and which rows and columns errors name.

use super::*;
use crate::figures::import::TableMetadata;
use crate::figures::{Period, Status};

fn read(text: &str, skip: bool) -> Result<Parsed, ImportError> {
    let options = ImportOptions {
        mapping: None,
        skip_bad_rows: skip,
        ..ImportOptions::default()
    };
    read_csv(text.as_bytes(), &options, &mut |_| {})
}

#[test]
fn cbs_style_files_are_understood() {
    let text = "\u{feff}\"ID\";\"RegioS\";\"Perioden\";\"Geslacht\";\"Waarde\";\"Noemer\"\n\
                \"1\";\"GM0363  \";\"2023JJ00\";\"Totaal\";\"1234\";\"150000\"\n\
                \"2\";\"GM0363  \";\"2024JJ00*\";\"Meisjes\";\"12,5\";\"\"\n\
                \"3\";\"WK036301\";\"2024JJ00\";\"Totaal\";\"x\";\"900\"\n\
                \"4\";\"GM0363  \";\"2022JJ00\";\"Totaal\";\".\";\"\"\n";
    let parsed = read(text, false).unwrap();
    assert_eq!(parsed.read, 4);
    assert_eq!(parsed.without_value, 1);
    assert_eq!(parsed.ignored_columns, vec!["ID".to_string()]);
    let [a, b, c] = &parsed.tables[0].rows.to_vec()[..] else {
        panic!("{:?}", parsed.tables[0].rows)
    };
    assert_eq!(
        (a.area.as_str(), a.value, a.denominator),
        ("GM0363", Some(1234.0), Some(150000.0))
    );
    assert!(a.breakdown.is_total());
    assert_eq!(
        (b.value, b.status, b.period),
        (Some(12.5), Status::Voorlopig, Period::year(2024))
    );
    assert_eq!(b.breakdown.to_string(), "geslacht=Meisjes");
    assert_eq!((c.area.as_str(), c.value), ("WK036301", None));
}

#[test]
fn commas_and_tabs_are_detected() {
    let parsed = read("gebied,jaar,aantal\nGM0001,2023,5\n", false).unwrap();
    assert_eq!(parsed.tables[0].rows.to_vec()[0].value, Some(5.0));
    let parsed = read("gebied\tjaar\taantal\nGM0001\t2023KW02\t5,5\n", false).unwrap();
    assert_eq!(parsed.tables[0].rows.to_vec()[0].value, Some(5.5));
}

/// Each case: the file, then the error expected (as shown to the user).
const BAD: &[(&str, &str)] = &[
    (
        "RegioS;Perioden;Waarde\nGM0001;2023JJ00;5\nGM01;2023JJ00;5\n",
        "rij 3, kolom RegioS: \"GM01\" is geen gebiedscode",
    ),
    (
        "RegioS;Perioden;Waarde\nGM0001;2023XX00;5\n",
        "rij 2, kolom Perioden: \"2023XX00\" is geen periode",
    ),
    (
        "RegioS;Perioden;Waarde\nGM0001;2023JJ00;1.234,5.6\n",
        "rij 2, kolom Waarde: \"1.234,5.6\" is geen getal",
    ),
    (
        "RegioS;Perioden;Waarde;Noemer\nGM0001;2023JJ00;5;-10\n",
        "rij 2, kolom Noemer: een noemer kan niet negatief zijn",
    ),
    (
        "RegioS;Perioden;Waarde;Status\nGM0001;2023JJ00;5;misschien\n",
        "rij 2, kolom Status: \"misschien\" is geen status",
    ),
    (
        "RegioS;Perioden;Waarde;Opmerking\nGM0001;2023JJ00;5;dossier 111222333\n",
        "rij 2, kolom Opmerking: bevat op positie 9 een getal dat een burgerservicenummer (BSN) kan zijn",
    ),
    (
        "Naam;Datum;RegioS;Perioden;Waarde\nS. de Vries;12-03-2011;GM0001;2023JJ00;1\n",
        "rij 2, kolom Datum: bevat een datum in dezelfde rij als een naam (kolom Naam)",
    ),
];

/// Files with every kind of bad number: each case, the file and the errors expected (row and
/// column), in order.
const BAD_NUMBERS: &[(&str, &[&str])] = &[
    // Nothing in the file says whether the dot is a decimal point.
    (
        "RegioS;Perioden;Aantal\nGM0001;2023;1.234\nGM0002;2023;17\n",
        &["rij 2, kolom Aantal: \"1.234\" is dubbelzinnig: 1234 of 1,234?"],
    ),
    // The column shows thousands dots elsewhere: 1.234 is 1234 (not an error; see below), but
    // a decimal point later contradicts it.
    (
        "RegioS;Perioden;Aantal\nGM0001;2023;1.234\nGM0002;2023;1.234.567\nGM0003;2023;9.5\n",
        &[
            "rij 4, kolom Aantal: 9.5 gebruikt een decimale punt, maar rij 3 in deze kolom een decimale komma",
        ],
    ),
    (
        "RegioS;Perioden;Aantal\nGM0001;2023;-4\n",
        &["rij 2, kolom Aantal: een aantal kan niet negatief zijn"],
    ),
    (
        "RegioS;Perioden;Aantal;Noemer\nGM0001;2023;500;100\n",
        &["rij 2, kolom Aantal: het aantal (500) is groter dan de noemer (100)"],
    ),
    (
        "RegioS;Perioden;Aantal;Noemer\nGM0001;2023;12;0\n",
        &["rij 2, kolom Noemer: de noemer is 0, maar er is wel een waarde"],
    ),
    (
        "RegioS;Perioden;Aantal;Noemer\nGM0001;2023;12;-10\n",
        &["rij 2, kolom Noemer: een noemer kan niet negatief zijn"],
    ),
    (
        "RegioS;Perioden;Aantal\nGM0001;1850;12\n",
        &["rij 2, kolom Perioden: periode 1850JJ00 ligt voor 1900"],
    ),
    (
        "RegioS;Perioden;Aantal\nGM0001;2031;12\n",
        &["rij 2, kolom Perioden: periode 2031JJ00 ligt meer dan een jaar in de toekomst"],
    ),
    (
        "RegioS;Perioden;Aantal\nGM0001;2023;100000000000000000000000\n",
        &["rij 2, kolom Aantal: 1e23 is groter dan een aantal mensen kan zijn"],
    ),
    (
        "RegioS;Perioden;Jongeren met jeugdhulp (%)\nGM0001;2023;120,5\n",
        &[
            "rij 2, kolom Jongeren met jeugdhulp (%): een percentage ligt tussen 0 en 100, niet 120.5",
        ],
    ),
    // An ambiguous denominator decided by its column, then found too small for its value.
    (
        "RegioS;Perioden;Aantal;Noemer\nGM0001;2023;2000;1.234\nGM0002;2023;5;2.000.000\n",
        &["rij 2, kolom Aantal: het aantal (2000) is groter dan de noemer (1234)"],
    ),
];

#[test]
fn bad_numbers_are_refused_with_row_and_column() {
    for (file, expected) in BAD_NUMBERS {
        let options = ImportOptions {
            current_year: Some(2026),
            ..ImportOptions::default()
        };
        let err = match read_csv(file.as_bytes(), &options, &mut |_| {}) {
            Err(ImportError::BadRows(errors)) => errors,
            other => panic!("{file:?}: {other:?}"),
        };
        assert_eq!(err.len(), expected.len(), "{file:?}: {err:?}");
        for (e, want) in err.iter().zip(expected.iter()) {
            assert!(e.to_string().contains(want), "expected {want:?}, got {e}");
        }
    }
}

#[test]
fn ambiguous_numbers_follow_their_column_or_the_file() {
    // The column shows a decimal comma in a later row: 1.234 is read as 1234.
    let column = read(
        "RegioS;Perioden;Aantal;Noemer\nGM0001;2023;1.234;2000\nGM0002;2023;12,5;2000\n",
        false,
    )
    .unwrap();
    let values: Vec<_> = column.tables[0]
        .rows
        .to_vec()
        .iter()
        .map(|o| o.value)
        .collect();
    assert_eq!(values, [Some(1234.0), Some(12.5)]);
    // Only another column shows the convention (a decimal point): the file's convention.
    let file = read(
        "RegioS;Perioden;Aantal;Noemer\nGM0001;2023;1.234;2000.5\n",
        false,
    )
    .unwrap();
    assert_eq!(file.tables[0].rows.to_vec()[0].value, Some(1.234));
}

#[test]
fn a_breakdown_larger_than_its_total_is_reported() {
    let parsed = read(
        "RegioS;Perioden;Geslacht;Aantal\nGM0001;2023;Totaal;100\nGM0001;2023;Meisjes;80\nGM0001;2023;Jongens;70\nGM0002;2023;Totaal;100\nGM0002;2023;Meisjes;52\nGM0002;2023;Jongens;50\n",
        false,
    )
    .unwrap();
    assert_eq!(
        parsed.warnings,
        ["GM0001 2023JJ00: geslacht telt op tot 150, meer dan het totaal 100"]
    );
}

#[test]
fn bad_rows_name_row_and_column_and_nothing_is_imported() {
    for (file, expected) in BAD {
        let err = read(file, false).unwrap_err().to_string();
        assert!(err.contains("er is niets ingelezen"), "{err}");
        assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
    }
}

#[test]
fn skipping_bad_rows_imports_the_rest_and_lists_the_bad() {
    let text = "RegioS;Perioden;Waarde\nGM0001;2023JJ00;5\nGM01;2023JJ00;5\nGM0002;2023JJ00;veel\nGM0003;2023JJ00;9\n";
    let parsed = read(text, true).unwrap();
    assert_eq!(parsed.tables[0].rows.len(), 2);
    let rows: Vec<_> = parsed
        .bad_rows
        .iter()
        .map(|e| (e.row, e.column.clone()))
        .collect();
    assert_eq!(
        rows,
        vec![(3, Some("RegioS".into())), (4, Some("Waarde".into()))]
    );
}

#[test]
fn missing_columns_are_named_with_the_columns_there_are() {
    let err = read("Gemeente;Jaar;Aantal\n", false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("geen kolom voor het gebied"), "{err}");
    assert!(err.contains("\"Gemeente\", \"Jaar\", \"Aantal\""), "{err}");
}

#[test]
fn a_mapping_chooses_columns_by_title() {
    let mapping = ColumnMapping::from_json(
        r#"{"gebied":"Wijk","periode":"Peildatum","waarde":"Jongeren met jeugdhulp","uitsplitsing":{"leeftijd":"Groep"}}"#,
    )
    .unwrap();
    let options = ImportOptions {
        mapping: Some(mapping),
        skip_bad_rows: false,
        ..ImportOptions::default()
    };
    let text = "Wijk;Peildatum;Groep;Jongeren met jeugdhulp\nWK000101;2023;12-17 jaar;40\n";
    let parsed = read_csv(text.as_bytes(), &options, &mut |_| {}).unwrap();
    assert_eq!(
        parsed.tables[0].rows.to_vec()[0].breakdown.to_string(),
        "leeftijd=12-17 jaar"
    );
    let bad =
        ColumnMapping::from_json(r#"{"gebied":"Wijk","periode":"Peildatum","waarde":"Nergens"}"#)
            .unwrap();
    let options = ImportOptions {
        mapping: Some(bad),
        skip_bad_rows: false,
        ..ImportOptions::default()
    };
    let err = read_csv(text.as_bytes(), &options, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("kolom \"Nergens\" staat niet in het bestand"),
        "{err}"
    );
    assert!(ColumnMapping::from_json(r#"{"gebeid":"x"}"#).is_err());
}

#[test]
fn progress_is_reported_with_the_rows_read() {
    let mut text = String::from("RegioS;Perioden;Waarde\n");
    for i in 0..70_000 {
        text.push_str(&format!("GM{:04};2023JJ00;{}\n", i % 10_000, i % 100));
    }
    let mut seen = Vec::new();
    read_csv(text.as_bytes(), &ImportOptions::default(), &mut |p| {
        seen.push(p)
    })
    .unwrap();
    assert_eq!(seen.first().map(|p| p.rows), Some(65_536));
    assert_eq!(
        seen.last().map(|p| (p.rows, p.bytes)),
        Some((70_000, text.len() as u64))
    );
}

#[test]
fn area_registries_are_read_with_regions_and_size_classes() {
    let text =
        "Code;Naam;Jeugdregio;Grootteklasse\nGM9901;Havenstad;JZ99;5\nGM9902 ;Dijkdorp;JZ99;3\n";
    let registry = read_areas(text.as_bytes()).unwrap();
    let gm = crate::figures::AreaCode::parse("GM9902").unwrap();
    assert_eq!(registry.label(gm), "Dijkdorp (GM9902)");
    assert_eq!(registry.size_class_of(gm), Some("3"));
    assert_eq!(
        registry
            .members_of(crate::figures::AreaCode::parse("JZ99").unwrap())
            .len(),
        2
    );
    let err = read_areas("Code;Jeugdregio\nGM9901;XX\n".as_bytes())
        .unwrap_err()
        .to_string();
    assert!(err.contains("rij 2, kolom Jeugdregio"), "{err}");
}

#[test]
fn files_saved_by_dutch_spreadsheets_in_windows_1252_are_read() {
    let mut bytes = b"Code;Naam;Jeugdregio;Grootteklasse\nGM1900;S".to_vec();
    bytes.extend_from_slice(b"\xfadwest-Frysl\xe2n;JZ01;5\n");
    let registry = read_areas(bytes.as_slice()).unwrap();
    let code = crate::figures::AreaCode::parse("GM1900").unwrap();
    assert_eq!(registry.label(code), "S\u{fa}dwest-Frysl\u{e2}n (GM1900)");
    let mut csv = b"RegioS;Perioden;Leeftijd;Waarde\nGM1900;2023;12 \x96 17 jaar;40\n".to_vec();
    csv.extend_from_slice(b"GM1900;2023;Totaal;80\n");
    let parsed = read_csv(csv.as_slice(), &ImportOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(
        parsed.tables[0].rows.to_vec()[0].breakdown.to_string(),
        "leeftijd=12 \u{2013} 17 jaar"
    );
}

/// One observation as the expected files write it, tab-separated: source column (or measure),
/// area, period, breakdown, value (`geheim` when secret), denominator, status.
fn line(source: &str, o: &crate::figures::Observation) -> String {
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let status = match o.status {
        Status::Definitief => "definitief",
        Status::Voorlopig => "voorlopig",
    };
    format!(
        "{source}\t{}\t{}\t{}\t{}\t{}\t{status}",
        o.area,
        o.period,
        o.breakdown,
        o.value.map_or("geheim".to_string(), |v| v.to_string()),
        number(o.denominator),
    )
}

fn cbs_registry() -> crate::figures::AreaRegistry {
    read_areas(include_str!("cases/gebieden-in-nederland.csv").as_bytes()).unwrap()
}

/// Each case: a file in the shape CBS delivers, how it is read, and its expected observations.
#[test]
fn every_cbs_shape_imports_without_a_mapping() {
    let metadata = TableMetadata::from_json(include_str!("cases/typed-metadata.json")).unwrap();
    let all = ImportOptions {
        all_values: true,
        areas: cbs_registry(),
        ..ImportOptions::default()
    };
    let cases: &[(&str, &str, &str, ImportOptions)] = &[
        (
            "statline",
            include_str!("cases/statline.csv"),
            include_str!("cases/statline.expected"),
            ImportOptions::default(),
        ),
        (
            "statline-labels",
            include_str!("cases/statline-labels.csv"),
            include_str!("cases/statline-labels.expected"),
            all.clone(),
        ),
        (
            "typed",
            include_str!("cases/typed.csv"),
            include_str!("cases/typed.expected"),
            ImportOptions::default(),
        ),
        (
            "typed-with-metadata",
            include_str!("cases/typed-with-metadata.csv"),
            include_str!("cases/typed-with-metadata.expected"),
            ImportOptions {
                metadata: Some(metadata),
                ..all.clone()
            },
        ),
        (
            "observations",
            include_str!("cases/observations.csv"),
            include_str!("cases/observations.expected"),
            all.clone(),
        ),
        (
            "swv",
            include_str!("cases/swv.csv"),
            include_str!("cases/swv.expected"),
            ImportOptions::default(),
        ),
    ];
    for (name, file, expected, options) in cases {
        let parsed = read_csv(file.as_bytes(), options, &mut |_| {})
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<String> = parsed
            .tables
            .iter()
            .flat_map(|t| t.rows.to_vec().into_iter().map(|o| line(&t.source, &o)))
            .collect();
        let want: Vec<&str> = expected.lines().collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn the_shape_tells_denominator_unit_and_title() {
    let parsed = read(include_str!("cases/statline.csv"), false).unwrap();
    let table = &parsed.tables[0];
    assert_eq!(table.title, "Jongeren met jeugdhulp");
    assert_eq!(table.unit, Some(crate::figures::Unit::Count));
    assert_eq!(
        table.denominator.as_deref(),
        Some("Jongeren tot 18 jaar (aantal)")
    );
    assert_eq!(parsed.ignored_columns, vec!["ID", "Bron"]);
    let typed = read(include_str!("cases/typed.csv"), false).unwrap();
    assert_eq!(typed.tables[0].title, "Jongeren met jeugdhulp");
    assert_eq!(typed.without_value, 1);
    let metadata = TableMetadata::from_json(include_str!("cases/typed-metadata.json")).unwrap();
    let with_metadata = read_csv(
        include_str!("cases/typed-with-metadata.csv").as_bytes(),
        &ImportOptions {
            metadata: Some(metadata),
            all_values: true,
            ..ImportOptions::default()
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(
        with_metadata.tables[1].unit,
        Some(crate::figures::Unit::Percentage)
    );
    assert_eq!(
        with_metadata.tables[1].title,
        "Jongeren met jeugdhulp, relatief"
    );
}

#[test]
fn several_value_columns_or_measures_ask_for_a_choice() {
    let registry = cbs_registry();
    let labels = include_str!("cases/statline-labels.csv");
    let options = ImportOptions {
        areas: registry.clone(),
        ..ImportOptions::default()
    };
    let err = read_csv(labels.as_bytes(), &options, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"Jongeren met jeugdhulp (%)\" (percentage), \"Jeugdhulptrajecten per 1 000 jongeren\" (per-1000)"),
        "{err}"
    );
    assert!(
        err.contains("--waarde KOLOM") && err.contains("--alle"),
        "{err}"
    );
    let chosen = ImportOptions {
        value: Some("Jeugdhulptrajecten per 1 000 jongeren".into()),
        ..options
    };
    let parsed = read_csv(labels.as_bytes(), &chosen, &mut |_| {}).unwrap();
    assert_eq!(parsed.tables.len(), 1);
    assert_eq!(parsed.tables[0].rows.to_vec()[0].value, Some(121.5));

    let observations = include_str!("cases/observations.csv");
    let err = read(observations, false).unwrap_err().to_string();
    assert!(
        err.contains("maat \"M004567\", maat \"M004568\""),
        "measures are listed, never merged: {err}"
    );
    let one = ImportOptions {
        value: Some("M004568".into()),
        ..ImportOptions::default()
    };
    let parsed = read_csv(observations.as_bytes(), &one, &mut |_| {}).unwrap();
    assert_eq!(parsed.tables.len(), 1);
    assert_eq!(parsed.tables[0].rows.len(), 1);
    let missing = ImportOptions {
        value: Some("M000000".into()),
        ..ImportOptions::default()
    };
    let err = read_csv(observations.as_bytes(), &missing, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("maat \"M000000\" staat niet"), "{err}");
}

#[test]
fn labels_are_translated_through_the_registry_or_refused() {
    let file =
        "Regio's;Perioden;Jongeren met jeugdhulp (aantal)\nOnbekendstad (gemeente);2023;40\n";
    let options = ImportOptions {
        areas: cbs_registry(),
        ..ImportOptions::default()
    };
    let err = read_csv(file.as_bytes(), &options, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("rij 2, kolom Regio's: \"Onbekendstad\" is geen gebiedscode en geen naam uit de gebiedsindeling"),
        "{err}"
    );
}

#[test]
fn gebieden_in_nederland_fills_the_registry() {
    let registry = cbs_registry();
    let code = |c: &str| crate::figures::AreaCode::parse(c).unwrap();
    let havenstad = registry.get(code("GM9901")).unwrap();
    assert_eq!(havenstad.name, "Havenstad");
    assert_eq!(havenstad.region, Some(code("JZ99")));
    assert_eq!(havenstad.province, Some(code("PV98")));
    assert_eq!(havenstad.size_class.as_deref(), Some("GK07"));
    assert_eq!(registry.peers_of(code("GM9902")), vec![code("GM9904")]);
    let mut round = crate::figures::AreaRegistry::default();
    round.merge_encoded(&registry.encode()).unwrap();
    assert_eq!(round, registry);
}

#[test]
fn an_unclosed_quote_is_refused_briefly_without_buffering_the_rest() {
    // 3 MiB after an unclosed quote: the reader stops after about 1 MiB, and the message
    // stays short.
    let mut file = String::from("RegioS;Perioden;Waarde\nGM0001;2023;\"5\n");
    let filler = "GM0002;2023;7\n".repeat(3 << 20 >> 4);
    file.push_str(&filler);
    let err = read(&file, true).unwrap_err().to_string();
    assert!(
        err.contains("rij 2") && err.contains("langer dan 1 MiB"),
        "{err}"
    );
    assert!(err.len() < 300, "{} characters", err.len());
    let header = "x".repeat(2 << 20);
    let err = read(&header, false).unwrap_err().to_string();
    assert!(err.contains("kopregel is langer dan 1 MiB"), "{err}");
}

#[test]
fn a_bad_value_is_quoted_briefly() {
    let long = "9".repeat(500) + "x";
    let err = read(
        &format!("RegioS;Perioden;Waarde\nGM0001;2023;{long}\n"),
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("rij 2, kolom Waarde"), "{err}");
    assert!(err.len() < 300, "{err}");
}

#[test]
fn rows_with_more_fields_than_the_header_are_refused() {
    let extra = ";1".repeat(100_000);
    let err = read(
        &format!("RegioS;Perioden;Waarde\nGM0001;2023;5\nGM0002;2023;5{extra}\n"),
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("rij 3: de rij heeft 100003 velden, de kopregel 3"),
        "{err}"
    );
}
