//! Tests of the privacy guard: the elfproef against a reference written here, detection in text,
//! row checks, and the replica refusing personal data without saving anything.

use proptest::prelude::*;

use super::*;
use crate::document::{Assignment, FieldValue};
use crate::identity::Identity;
use crate::{MemoryStore, OrgType, Replica, ReplicaError, Store, Timestamp};

/// The elfproef written from the definition, on the number instead of its digits.
fn reference_elfproef(number: u64) -> bool {
    if number == 0 || number >= 1_000_000_000 {
        return false;
    }
    let mut rest = number;
    let mut sum = -((rest % 10) as i64);
    rest /= 10;
    for weight in 2..=9 {
        sum += weight * (rest % 10) as i64;
        rest /= 10;
    }
    sum.rem_euclid(11) == 0
}

/// A valid BSN derived from eight digits: the ninth digit is chosen to pass, if one can.
fn bsn_from(prefix: u32) -> Option<String> {
    (0..10)
        .map(|last| format!("{:08}{last}", prefix % 100_000_000))
        .find(|s| s.parse().is_ok_and(reference_elfproef))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn nine_digits_agree_with_the_reference(n in 0u64..1_000_000_000) {
        prop_assert_eq!(is_valid_bsn(&format!("{n:09}")), reference_elfproef(n));
    }

    #[test]
    fn eight_digits_are_read_with_a_leading_zero(n in 0u64..100_000_000) {
        prop_assert_eq!(is_valid_bsn(&format!("{n:08}")), reference_elfproef(n));
    }

    #[test]
    fn a_bsn_is_found_however_it_is_written(
        prefix in 0u32..100_000_000,
        before in "[a-zA-Z :,]{0,12}",
        after in "[a-zA-Z :,]{0,12}",
        style in 0usize..4,
    ) {
        let Some(bsn) = bsn_from(prefix) else { return Ok(()) };
        let written = match style {
            0 => bsn.clone(),
            1 => format!("{} {} {}", &bsn[..3], &bsn[3..6], &bsn[6..]),
            2 => format!("{}.{}.{}", &bsn[..4], &bsn[4..6], &bsn[6..]),
            _ => format!("{}-{}-{}", &bsn[..3], &bsn[3..6], &bsn[6..]),
        };
        let text = format!("{before}{written}{after}");
        prop_assert_eq!(find_bsn(&text), Some(before.chars().count()), "{}", text);
        prop_assert!(check_text("toelichting", &text).is_err());
    }

    #[test]
    fn text_without_eight_or_nine_digit_numbers_passes(text in "[a-z ,.]{0,40}[0-9]{0,7}[a-z ,.]{0,10}") {
        prop_assert_eq!(find_bsn(&text), None);
    }

    #[test]
    fn longer_numbers_are_not_a_bsn(n in 1_000_000_000u64..10_000_000_000) {
        prop_assert_eq!(find_bsn(&format!("rekening {n}")), None);
    }
}

/// A number with dots between thousands, the Dutch way: `154.098.000`.
fn dotted(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// Pieces of realistic text that hold long numbers but no BSN: amounts, phone numbers,
/// postcodes with house numbers, dates and registration numbers.
fn innocent_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..10_000_000_000).prop_map(|n| format!("een budget van € {}", dotted(n))),
        (0u64..10_000_000_000).prop_map(|n| format!("€{},-", dotted(n))),
        (0u64..10_000_000_000).prop_map(|n| format!("{} euro voor jeugdhulp", dotted(n))),
        (0u64..10_000_000_000).prop_map(|n| format!("EUR {n}")),
        (0u64..100_000_000).prop_map(|n| format!("bel 06-{n:08}")),
        (0u64..100_000_000).prop_map(|n| format!("bel 06 {n:08}")),
        (10u64..100, 0u64..10_000_000).prop_map(|(a, n)| format!("tel. 0{a}-{n:07}")),
        (0u64..100_000_000).prop_map(|n| format!("+31 6 {n:08}")),
        (0u64..1000, 0u64..10_000).prop_map(|(a, b)| format!("+31 (0)20 {a:03} {b:04}")),
        (1000u64..10_000, "[A-Z]{2}", 1u64..400)
            .prop_map(|(p, l, h)| format!("postcode {p} {l} nummer {h}")),
        (1u8..29, 1u8..13, 1990i16..2030).prop_map(|(d, m, y)| format!("op {d:02}-{m:02}-{y}")),
        (1u8..29, 1u8..13, 1990i16..2030).prop_map(|(d, m, y)| format!("{y}.{m:02}.{d:02}")),
        (0u64..100_000_000).prop_map(|n| format!("KvK-nummer {n:08}")),
        (0u64..100_000_000).prop_map(|n| format!("registratienummer {n:08}")),
        (0u64..100_000_000).prop_map(|n| format!("AGB-code {n:08}")),
        "[a-z ]{1,20}",
    ]
}

/// Realistic text: a few innocent pieces joined as sentences.
fn innocent_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(innocent_piece(), 1..6).prop_map(|p| p.join(", "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn realistic_texts_without_a_bsn_raise_no_alarm(text in innocent_text()) {
        prop_assert_eq!(find_bsn(&text), None, "{}", text);
        prop_assert!(check_text("toelichting", &text).is_ok(), "{}", text);
    }

    #[test]
    fn a_bsn_among_realistic_text_is_still_found(
        before in innocent_text(),
        after in innocent_text(),
        prefix in 0u32..100_000_000,
        style in 0usize..6,
    ) {
        let Some(bsn) = bsn_from(prefix) else { return Ok(()) };
        let written = match style {
            0 => bsn.clone(),
            1 => format!("{} {} {}", &bsn[..3], &bsn[3..6], &bsn[6..]),
            2 => format!("{}.{}.{}", &bsn[..4], &bsn[4..6], &bsn[6..]),
            3 => format!("{}-{}-{}", &bsn[..3], &bsn[3..6], &bsn[6..]),
            // Announced, an 8-digit BSN may drop its leading zero.
            4 if bsn.starts_with('0') => format!("BSN {}", &bsn[1..]),
            _ => format!("burgerservicenummer {bsn}"),
        };
        let text = format!("{before}, dossier {written}, {after}");
        let start = text.find(&written).unwrap_or(0);
        let first_digit = start + written.find(|c: char| c.is_ascii_digit()).unwrap_or(0);
        prop_assert_eq!(find_bsn(&text), Some(text[..first_digit].chars().count()), "{}", text);
    }
}

#[test]
fn known_numbers() {
    assert!(is_valid_bsn("111222333"));
    assert!(is_valid_bsn("123456782"));
    assert!(!is_valid_bsn("123456789"));
    assert!(!is_valid_bsn("000000000"));
    assert!(!is_valid_bsn("00000000"));
    assert!(!is_valid_bsn("12345678a"));
    assert!(!is_valid_bsn("1234567"));
}

#[test]
fn dates_written_with_dashes_are_not_taken_for_a_bsn() {
    // 02-02-2011 reads as 02022011, which passes the elfproef as 002022011.
    assert!(is_valid_bsn("02022011"));
    assert_eq!(find_bsn("overleg op 02-02-2011 in het stadhuis"), None);
    assert_eq!(find_bsn("overleg op 2011.02.02"), None);
}

#[test]
fn dates_of_birth_are_found_after_announcing_words() {
    assert_eq!(
        find_birth_date("Sanne, geboren op 12 maart 2011, woont"),
        Some(7)
    );
    assert!(find_birth_date("geb. 3-4-2009").is_some());
    assert!(find_birth_date("Geboortedatum: 2009-04-03").is_some());
    assert_eq!(find_birth_date("het project is geboren uit zorg"), None);
    assert_eq!(find_birth_date("overleg op 12-03-2026"), None);
}

#[test]
fn a_name_beside_a_date_is_caught_without_the_word_geboren() {
    for (text, at) in [
        ("Persona: Sanne de Vries (12-03-2011) woont in Noord", 9),
        ("Noor Bakker, 3 mei 2010, zit in groep 8", 0),
        ("over Jan van der Berg 2009-04-03", 5),
    ] {
        assert_eq!(find_name_with_date(text), Some(at), "{text}");
        assert!(check_text("tekst", text).is_err(), "{text}");
    }
    for text in [
        "Gemeente Havenstad 12-03-2026 besloten",
        "Overleg Jeugd Havenstad, 12-03-2026",
        "Noor (15) vertelt sinds 12-03-2026 over school",
        "op 12-03-2026 in het stadhuis",
        "Cyclus 2027 start 01-02-2027",
        "Jeugdhulp De Brug 2099-03-31",
        "Sanne de Vries, 12 maart 2099",
    ] {
        assert_eq!(find_name_with_date(text), None, "{text}");
    }
}

#[test]
fn rows_with_a_name_and_a_date_are_refused() {
    let row = [
        ("Naam", "Sanne de Vries"),
        ("Datum", "12-03-2011"),
        ("Aantal", "3"),
    ];
    let err = check_row(row).unwrap_err();
    assert_eq!(err.field, "Datum");
    assert!(err.to_string().contains("kolom Naam"), "{err}");
    let column = check_row([("Geboortedatum", "2011-03-12")]).unwrap_err();
    assert_eq!(column.finding, Finding::BirthDateColumn);
    assert_eq!(
        check_row([("BSN", "x")]).unwrap_err().finding,
        Finding::BsnColumn
    );
    check_row([("Gemeente", "Amsterdam"), ("Peildatum", "2023-01-01")]).unwrap();
    check_row([("Naam", ""), ("Peildatum", "2023-01-01")]).unwrap();
}

#[test]
fn list_items_are_named_in_the_refusal() {
    let mut item = std::collections::BTreeMap::new();
    item.insert(
        "actie".to_string(),
        FieldValue::Text("bel 123456782".into()),
    );
    let err = check_value("acties", &FieldValue::List(vec![item])).unwrap_err();
    assert_eq!(err.field, "acties[0].actie");
    assert!(
        !err.to_string().contains("123456782"),
        "the refusal repeats the number"
    );
}

fn replica() -> Replica<MemoryStore> {
    crate::composition::init(
        MemoryStore::default(),
        Identity::new("Gemeente Test", OrgType::Gemeente, [1; 32], [2; 16]),
    )
    .unwrap()
}

fn set(field: &str, value: &str) -> Assignment {
    Assignment {
        field: field.into(),
        value: value.into(),
    }
}

#[test]
fn the_replica_refuses_a_bsn_on_create_and_saves_nothing() {
    let r = replica();
    let err = r
        .create(
            "ambitie",
            &[
                set("titel", "Goed"),
                set("toelichting", "Jan (BSN 1112.22.333) zit thuis"),
            ],
            Timestamp(1),
            [3; 8],
        )
        .unwrap_err();
    assert!(
        matches!(&err, ReplicaError::Privacy(p) if p.field == "toelichting"),
        "{err}"
    );
    assert!(err.is_input_error());
    assert!(r.store().ids().unwrap().is_empty());
}

#[test]
fn the_replica_refuses_a_bsn_on_update_and_keeps_the_document() {
    let r = replica();
    let id = r
        .create("ambitie", &[set("titel", "Goed")], Timestamp(1), [3; 8])
        .unwrap();
    let before = r.get(&id).unwrap();
    let err = r
        .update(&id, &[set("titel", "Sanne, geb. 12-03-2011")], Timestamp(2))
        .unwrap_err();
    assert!(
        matches!(err, ReplicaError::Privacy(ref p) if p.field == "titel"),
        "{err}"
    );
    assert_eq!(r.get(&id).unwrap(), before);
}

#[test]
fn the_replica_refuses_an_imported_document_with_a_bsn() {
    let author = replica();
    let id = author
        .create("ambitie", &[set("titel", "Goed")], Timestamp(1), [3; 8])
        .unwrap();
    let mut loaded = author.load(&id).unwrap();
    let kind = author.catalog().kind("ambitie").unwrap().clone();
    let def = kind.field("toelichting").unwrap();
    crate::document::write_field(
        &mut loaded.doc,
        def,
        Some(&FieldValue::Text("dossier 111222333".into())),
    )
    .unwrap();
    author
        .commit(&mut loaded, "bijgewerkt", Timestamp(2))
        .unwrap();
    let receiver = crate::composition::init(
        MemoryStore::default(),
        Identity::new("Aanbieder", OrgType::Aanbieder, [4; 32], [5; 16]),
    )
    .unwrap();
    let err = receiver.import(&author.export(&id).unwrap()).unwrap_err();
    assert!(
        matches!(err, ReplicaError::Privacy(ref p) if p.field == "toelichting"),
        "{err}"
    );
    assert!(receiver.store().ids().unwrap().is_empty());
}

#[test]
fn small_counts_in_fields_follow_the_policy() {
    let replica = crate::composition::init(
        MemoryStore::default(),
        Identity::new("Gemeente Havenstad", OrgType::Gemeente, [1; 32], [1; 16]),
    )
    .unwrap();
    let set = |field: &str, value: &str| Assignment {
        field: field.into(),
        value: value.into(),
    };
    let before = replica.list(None, false).unwrap().len();
    for (kind, field) in [("verhaal", "aantal-jongeren"), ("uitkomst", "waarde")] {
        let mut fields = vec![set(field, "3")];
        if kind == "verhaal" {
            fields.extend([set("soort", "persona"), set("titel", "Noor")]);
        }
        let err = replica
            .create(kind, &fields, Timestamp(1), [2; 8])
            .unwrap_err();
        assert!(
            matches!(&err, ReplicaError::Privacy(e) if e.finding == Finding::SmallCount { threshold: 7 }),
            "{kind}: {err}"
        );
        assert!(err.to_string().contains("klein aantal"), "{err}");
    }
    assert_eq!(
        replica.list(None, false).unwrap().len(),
        before,
        "nothing saved"
    );
    let id = replica
        .create("uitkomst", &[set("waarde", "42")], Timestamp(1), [3; 8])
        .unwrap();
    assert_eq!(
        replica.get(&id).unwrap().fields.get("waarde"),
        Some(&FieldValue::Number(40.0)),
        "rounded to a multiple of 5"
    );
}

/// A replica that knows, beside the built-in kinds, a kind with a count at the top level and
/// one inside its list items.
fn replica_with_counts_in_lists(seed: u8) -> Replica<MemoryStore> {
    use crate::catalog::{FieldDef, FieldType, KindDef};
    let field = FieldDef::new;
    let mut catalog = crate::composition::builtin().catalog();
    catalog.insert(KindDef {
        name: "deelname".into(),
        label: "Deelname".into(),
        description: String::new(),
        fields: vec![
            field("titel", FieldType::Text),
            field("totaal", FieldType::Count),
            field(
                "groepen",
                FieldType::List {
                    fields: vec![
                        field("groep", FieldType::Text),
                        field("aantal", FieldType::Count),
                    ],
                },
            ),
        ],
        action: None,
    });
    Replica::init(
        MemoryStore::default(),
        Identity::new(
            "Gemeente Havenstad",
            OrgType::Gemeente,
            [seed; 32],
            [seed; 16],
        ),
        crate::kinds::Kinds::new(catalog, crate::composition::owners()),
    )
    .unwrap()
}

/// The counts of a `deelname` document: `totaal` and every item's `aantal`.
fn counts_of(fields: &std::collections::BTreeMap<String, FieldValue>) -> Vec<f64> {
    let mut out = Vec::new();
    if let Some(FieldValue::Number(n)) = fields.get("totaal") {
        out.push(*n);
    }
    if let Some(FieldValue::List(items)) = fields.get("groepen") {
        for item in items {
            if let Some(FieldValue::Number(n)) = item.get("aantal") {
                out.push(*n);
            }
        }
    }
    out
}

fn groups(counts: &[u32]) -> String {
    let items: Vec<String> = counts
        .iter()
        .enumerate()
        .map(|(i, n)| format!(r#"{{"groep":"Groep {i}","aantal":{n}}}"#))
        .collect();
    format!("[{}]", items.join(","))
}

/// Writes `fields` into a new `deelname` document of `author` past every check, as another
/// organisation's software could, and returns its export.
fn written_past_the_checks(
    author: &Replica<MemoryStore>,
    fields: &[(&str, FieldValue)],
) -> Vec<u8> {
    let id = author
        .create(
            "deelname",
            &[set("titel", "Zomerschool")],
            Timestamp(1),
            [7; 8],
        )
        .unwrap();
    let mut loaded = author.load(&id).unwrap();
    let kind = author.catalog().kind("deelname").unwrap().clone();
    for (name, value) in fields {
        crate::document::write_field(&mut loaded.doc, kind.field(name).unwrap(), Some(value))
            .unwrap();
    }
    author
        .commit(&mut loaded, "bijgewerkt", Timestamp(2))
        .unwrap();
    author.export(&id).unwrap()
}

#[test]
fn counts_inside_list_items_follow_the_policy() {
    let r = replica_with_counts_in_lists(1);
    let create = |counts: &[u32], random: u8| {
        r.create(
            "deelname",
            &[set("titel", "Zomerschool"), set("groepen", &groups(counts))],
            Timestamp(1),
            [random; 8],
        )
    };
    let err = create(&[42, 3], 2).unwrap_err();
    assert!(
        matches!(&err, ReplicaError::Privacy(e)
            if e.field == "groepen[1].aantal" && e.finding == Finding::SmallCount { threshold: 7 }),
        "{err}"
    );
    assert!(err.to_string().contains("groepen[1].aantal"), "{err}");
    assert!(r.list(Some("deelname"), false).unwrap().is_empty());
    let id = create(&[42, 18], 3).unwrap();
    let view = r.get(&id).unwrap();
    assert_eq!(
        counts_of(&view.fields),
        vec![40.0, 20.0],
        "rounded like a top-level count"
    );
    let err = r
        .update(&id, &[set("groepen", &groups(&[5]))], Timestamp(2))
        .unwrap_err();
    assert!(
        matches!(&err, ReplicaError::Privacy(e) if e.field == "groepen[0].aantal"),
        "{err}"
    );
    assert_eq!(r.get(&id).unwrap(), view, "a refused edit changes nothing");

    // A document whose list item holds a small count, arriving from elsewhere, is refused.
    let author = replica_with_counts_in_lists(2);
    let small = FieldValue::List(vec![std::collections::BTreeMap::from([(
        "aantal".to_string(),
        FieldValue::Number(3.0),
    )])]);
    let export = written_past_the_checks(&author, &[("groepen", small)]);
    let receiver = replica_with_counts_in_lists(3);
    let err = receiver.import(&export).unwrap_err();
    assert!(
        matches!(&err, ReplicaError::Privacy(e) if e.field == "groepen[0].aantal"),
        "{err}"
    );
    assert!(receiver.list(Some("deelname"), false).unwrap().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Whatever counts an edit or an incoming document brings, at the top level or in list
    /// items: it is refused exactly when one of them is small, and what a replica then holds and
    /// shows has no count up to the threshold; the counts of its own edits are rounded to a
    /// multiple of 5.
    #[test]
    fn no_small_count_is_held_or_shown_wherever_it_stands(
        total in 0u32..40,
        items in proptest::collection::vec(0u32..40, 0..4),
    ) {
        let small = total <= 7 || items.iter().any(|n| *n <= 7);
        let r = replica_with_counts_in_lists(1);
        let created = r.create(
            "deelname",
            &[set("titel", "Zomerschool"), set("totaal", &total.to_string()), set("groepen", &groups(&items))],
            Timestamp(1),
            [2; 8],
        );
        prop_assert_eq!(created.is_err(), small);

        let author = replica_with_counts_in_lists(2);
        let list = FieldValue::List(
            items
                .iter()
                .map(|n| std::collections::BTreeMap::from([("aantal".to_string(), FieldValue::Number(f64::from(*n)))]))
                .collect(),
        );
        let export = written_past_the_checks(
            &author,
            &[("totaal", FieldValue::Number(f64::from(total))), ("groepen", list)],
        );
        let receiver = replica_with_counts_in_lists(3);
        prop_assert_eq!(receiver.import(&export).is_err(), small);

        for replica in [&r, &receiver] {
            for view in replica.list(Some("deelname"), false).unwrap() {
                for n in counts_of(&view.fields) {
                    prop_assert!(n > 7.0, "{n} shown");
                    if std::ptr::eq(replica, &r) {
                        prop_assert_eq!(n % 5.0, 0.0, "{} shown unrounded", n);
                    }
                }
            }
        }
    }
}

#[test]
fn organisation_names_pass_the_guard() {
    let err = crate::composition::init(
        MemoryStore::default(),
        Identity::new("Praktijk 111222333", OrgType::Gemeente, [1; 32], [1; 16]),
    )
    .err()
    .unwrap();
    assert!(matches!(err, ReplicaError::Privacy(_)), "{err}");
}
