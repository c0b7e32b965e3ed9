//! The joint evaluation, end to end on the demo partnership: the report of a round as HTML
//! (parsed and checked section by section), as PDF (text extracted with `pdftotext`, pages
//! rendered with `pdftoppm` and kept), the "changed since" section after a recorded evaluation,
//! the minutes of a conversation, and the calendar (parsed back; a second export keeps every uid).

#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr as _;

use icalendar::{Calendar, Component as _};
use kompas_engine::report::check_output;
use kompas_tests::Kompas;

/// Synthetic weekly sport figures for the demo municipality; the latest year is provisional.
const SPORT: &str = "gebied;periode;waarde;noemer\n\
GM9901;2022JJ00;61;24000\n\
GM9901;2023JJ00;63;24100\n\
GM9901;2024JJ00;64;24200\n\
GM9901;2025JJ00*;68;24300\n\
NL01;2025JJ00*;70;3300000\n";

/// The counts in the demo's youth-care figures that are never shown as they are (the shown
/// counts are rounded to multiples of 5): the municipality's totals per year.
const RAW_COUNTS: [&str; 2] = ["2369", "2315"];

fn tool(name: &str) -> PathBuf {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    match found {
        Some(p) => p,
        None => panic!(
            "{name} ontbreekt: installeer poppler-utils (apt-get install -y poppler-utils); .ci/run doet dat"
        ),
    }
}

struct Demo {
    _dir: tempfile::TempDir,
    root: PathBuf,
    gemeente: Kompas,
    ambition: String,
    action: String,
    conversation: String,
}

fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("demo");
    let report =
        Kompas::new(dir.path().join("unused")).json(&["demo", "--dir", root.to_str().unwrap()]);
    assert_eq!(report["converged"], true);
    let gemeente = Kompas::new(root.join("gemeente"));
    let ambition = report["shared_ambition"].as_str().unwrap().to_string();
    let csv = root.join("sport.csv");
    std::fs::write(&csv, SPORT).unwrap();
    gemeente.ok(&[
        "figures",
        "import",
        csv.to_str().unwrap(),
        "--indicator",
        "sport-wekelijks",
        "--unit",
        "percentage",
        "--better",
        "hoger",
        "--title",
        "Kinderen die wekelijks sporten",
        "--source",
        "Gezondheidsmonitor Jeugd (synthetisch)",
    ]);
    let new = |args: &[&str]| -> String {
        let mut all = vec!["doc", "new"];
        all.extend_from_slice(args);
        gemeente.json(&all)["id"].as_str().unwrap().to_string()
    };
    let flow = report["flow"].as_str().unwrap().to_string();
    let result = new(&[
        "maatschappelijk-resultaat",
        "--set",
        "titel=Meer kinderen sporten wekelijks",
        "--set",
        &format!("ambitie={ambition}"),
        "--set",
        "indicator=sport-wekelijks",
        "--set",
        "nulmeting=60",
        "--set",
        "streefwaarde=75",
        "--set",
        "streefdatum=2030-12-31",
    ]);
    // The result belongs to the round: the report covers only the round's own documents.
    gemeente.ok(&["flow", "link", &flow, &result]);
    let conversation = new(&[
        "cijfergesprek",
        "--set",
        "titel=Sport in Havenstad",
        "--set",
        "doel=Begrijpen waarom sportdeelname achterblijft in het Havenkwartier.",
        "--set",
        "praktijkkennis=Buurtsportcoach, twee leerkrachten",
        "--set",
        "datakennis=Onderzoeker van de gemeente",
        "--set",
        "mandaat=Wethouder sport",
        "--set",
        r#"cijfers=[{"indicator":"sport-wekelijks","wanneer":"2025","hoe":"enquête","waarom":"ambitie 2"}]"#,
        "--set",
        "herkennen=Ja, trainers zien het ook.",
        "--set",
        "verklaren=Contributie is voor sommige gezinnen te hoog.",
        "--set",
        "waarderen=Te laag voor onze ambitie.",
        "--set",
        "verbeteren=Sportpas voor gezinnen met een laag inkomen.",
        "--set",
        r#"afspraken=[{"wie":"Gemeente Havenstad","wat":"Sportpas uitwerken","wanneer":"2027-02-01"}]"#,
        "--set",
        "volgend-overleg=2027-03-15",
        "--set",
        "volgend-onderwerp=Eerste ervaringen met de sportpas",
    ]);
    let action = new(&[
        "verbeteractie",
        "--set",
        "actie=Sportpas invoeren",
        "--set",
        "eigenaar=Gemeente Havenstad",
        "--set",
        "deadline=2027-06-30",
        "--set",
        "status=bezig",
    ]);
    Demo {
        _dir: dir,
        root,
        gemeente,
        ambition,
        action,
        conversation,
    }
}

/// Where the rendered pages are kept for people to look at.
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rapport");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The pages start with `<!doctype html>`, which XML parsers take for a DTD.
fn xml_options() -> roxmltree::ParsingOptions {
    roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    }
}

fn text_of(node: roxmltree::Node<'_, '_>) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_report_of_a_round_in_html_and_pdf_with_what_changed_since_the_evaluation() {
    let d = demo();
    let k = &d.gemeente;
    // Before any evaluation is recorded.
    let data = k.json(&["rapport", "ronde"]);
    assert!(data["changes"].is_null());
    assert_eq!(data["round"]["number"], 1);
    let first = k.json(&["rapport", "ronde", "--ronde", "1"]);
    assert_eq!(first["colophon"]["covered"], data["colophon"]["covered"]);
    let none = k.fails(3, &["rapport", "ronde", "--ronde", "2"]);
    assert!(none.contains("geen ronde 2"), "{none}");
    k.ok(&["rapport", "vastleggen"]);
    // After the evaluation: the ambition's text grows, the action is finished, a signal is new.
    k.ok(&[
        "doc",
        "set",
        &d.ambition,
        "toelichting=Meer kinderen op school, en op tijd.",
    ]);
    k.ok(&[
        "doc",
        "set",
        &d.action,
        "status=uitgevoerd",
        "uitgevoerd=ja",
    ]);
    k.ok(&[
        "figures",
        "story",
        "jeugdhulp",
        "--kind",
        "signaal",
        "--title",
        "Wachtlijst loopt op",
        "--text",
        "Scholen melden langere wachttijden.",
    ]);

    let html_path = d.root.join("rapport.html");
    let pdf_path = d.root.join("rapport.pdf");
    let data = k.json(&["rapport", "ronde", "--out", html_path.to_str().unwrap()]);
    k.ok(&["rapport", "ronde", "--out", pdf_path.to_str().unwrap()]);

    // The data behind it.
    let result = data["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"] == "Meer kinderen sporten wekelijks")
        .expect("the sport result");
    assert_eq!(result["title"], "Meer kinderen sporten wekelijks");
    assert_eq!(result["baseline"], 60.0);
    assert_eq!(result["target"], 75.0);
    // 68% of 24,300 is 16,524 young people: stored as the rounded count, 16,525, over 24,300
    // (68.004...%), and written with the percentage's one decimal.
    assert_eq!(result["actual"]["value"], 68.0);
    assert_eq!(result["actual"]["provisional"], true);
    let changed: BTreeSet<&str> = data["changes"]["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(
        changed.contains(d.ambition.as_str()) && changed.contains(d.action.as_str()),
        "{changed:?}"
    );
    assert_eq!(
        changed.len(),
        3,
        "ambition, action and the new signal: {changed:?}"
    );

    // HTML: well-formed, self-contained, section by section.
    let html = std::fs::read_to_string(&html_path).unwrap();
    // Nothing that would load something from elsewhere (the SVG namespace URL loads nothing).
    for external in [
        "src=",
        "href=\"http",
        "href='http",
        "url(",
        "<link",
        "<script src",
        "@import",
    ] {
        assert!(!html.contains(external), "external resource {external}");
    }
    assert!(html.contains("@media print") && html.contains("width=device-width"));
    let doc = roxmltree::Document::parse_with_options(&html, xml_options())
        .unwrap_or_else(|e| panic!("HTML is not well-formed: {e}"));
    let section = |id: &str| -> String {
        let node = doc
            .descendants()
            .find(|n| n.attribute("id") == Some(id))
            .unwrap_or_else(|| panic!("no section {id}"));
        text_of(node)
    };
    assert!(section("titelblad").contains("Samen voor de jeugd van Havenstad"));
    let toc = section("inhoud");
    for title in [
        "Bouwstenen",
        "Instemming per fase",
        "Van ambitie naar maatschappelijk resultaat",
        "Cijfers en verhalen",
        "Gesprekken over cijfers",
        "Verbeteracties",
        "Wat veranderde sinds de vorige evaluatie",
        "Wat nog openstaat",
        "Colofon",
    ] {
        assert!(toc.contains(title), "table of contents lacks {title}");
    }
    let blocks = section("bouwstenen");
    assert!(blocks.contains("Bouwsteen 1B: Ambities"));
    assert!(blocks.contains("Meer kinderen gaan met plezier en zonder onderbreking naar school"));
    assert!(
        blocks.contains("Samenwerkingsverband PO Havenstad"),
        "who wrote what: {blocks}"
    );
    let approvals = section("instemming");
    for org in [
        "Gemeente Havenstad",
        "Samenwerkingsverband PO Havenstad",
        "Jeugdhulp De Vaart",
    ] {
        assert!(approvals.contains(org), "{org} missing from approvals");
    }
    assert!(
        approvals.contains("verouderd"),
        "the ambition changed after the approvals: {approvals}"
    );
    let results = section("resultaten");
    for text in [
        "Meer kinderen sporten wekelijks",
        "60%",
        "68%",
        "75% uiterlijk 31 december 2030",
        "2025 (voorlopig)",
        "Gezondheidsmonitor Jeugd (synthetisch)",
        "op koers",
    ] {
        assert!(results.contains(text), "results lack {text:?}: {results}");
    }
    let figures = section("cijfers");
    assert!(figures.contains("Bron: Gezondheidsmonitor Jeugd (synthetisch)"));
    assert!(figures.contains("Voorlopige cijfers: 2025"));
    assert!(figures.contains("Streefwaarde 75"));
    assert!(figures.contains("Noor, 15 jaar") && figures.contains("jongeren zoals deze"));
    let talks = section("gesprekken");
    for text in [
        "Sport in Havenstad",
        "Herkennen",
        "Ja, trainers zien het ook.",
        "Verklaren",
        "Waarderen",
        "Verbeteren",
        "Sportpas uitwerken",
    ] {
        assert!(talks.contains(text), "conversations lack {text:?}");
    }
    let actions = section("verbeteracties");
    assert!(actions.contains("Sportpas invoeren") && actions.contains("Wachttijden per aanbieder"));
    let since = section("veranderd");
    assert!(
        since.contains("Wachtlijst loopt op") && since.contains("nieuw"),
        "{since}"
    );
    assert!(since.contains("actie afgerond"), "{since}");
    assert!(since.contains("tekens toegevoegd"), "{since}");
    assert!(section("open").contains("Wachttijden per aanbieder"));
    let colophon = section("colofon");
    assert!(colophon.contains("Jeugdhulp De Vaart") && colophon.contains("Versie van de gegevens"));
    check_output("html", &html).expect("no BSN in the HTML");

    // PDF: text of every section, the numbers, nothing suppressed, no BSN; pages kept as PNG.
    let pdf = std::fs::read(&pdf_path).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    // The pages as images first, so they are there to look at even when a check fails.
    std::fs::copy(&pdf_path, artifacts().join("rapport.pdf")).unwrap();
    let pages = artifacts().join("ronde");
    let status = Command::new(tool("pdftoppm"))
        .args(["-png", "-r", "80"])
        .arg(&pdf_path)
        .arg(&pages)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(artifacts().join("ronde-01.png").exists() || artifacts().join("ronde-1.png").exists());

    let out = Command::new(tool("pdftotext"))
        .args(["-layout"])
        .arg(&pdf_path)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for title in [
        "Inhoud",
        "1 Bouwstenen",
        "2 Instemming per fase",
        "3 Van ambitie naar maatschappelijk resultaat",
        "4 Cijfers en verhalen",
        "5 Gesprekken over cijfers",
        "6 Verbeteracties",
        "7 Wat veranderde sinds de vorige evaluatie",
        "8 Wat nog openstaat",
        "Colofon",
        "60%",
        "68%",
        "75% uiterlijk",
        "voorlopig",
        "op koers",
        "pagina 2 van",
    ] {
        assert!(text.contains(title), "PDF text lacks {title:?}");
    }
    // A header word is never broken inside a narrow column; dates read the Dutch way.
    assert!(text.contains("Nulmeting"), "the header word is whole");
    for iso in ["2030-12-31", "2027-06-30", "2027-02-01"] {
        assert!(
            !text.contains(iso) && !html.contains(iso),
            "ISO date {iso} shown"
        );
    }
    for raw in RAW_COUNTS {
        assert!(
            !text.contains(raw) && !html.contains(raw),
            "unrounded count {raw} shown"
        );
    }
    check_output("pdf", &text).expect("no BSN in the PDF");
    let fonts = Command::new(tool("pdffonts"))
        .arg(&pdf_path)
        .output()
        .unwrap();
    let fonts = String::from_utf8_lossy(&fonts.stdout).into_owned();
    assert!(
        fonts.lines().skip(2).all(|l| l.contains(" yes ")),
        "every font embedded:\n{fonts}"
    );
    // The minutes of the conversation, for mailing.
    let minutes = k.ok(&["rapport", "gesprek", &d.conversation]);
    for text in [
        "Verslag: Sport in Havenstad",
        "1. Doel",
        "2. Deelnemers",
        "Wethouder sport",
        "3. Besproken cijfers",
        "Kinderen die wekelijks sporten",
        "4. Duiding",
        "Contributie is voor sommige gezinnen te hoog.",
        "5. Afspraken",
        "Gemeente Havenstad: Sportpas uitwerken (uiterlijk 1 februari 2027)",
        "6. Volgende keer",
        "15 maart 2027: Eerste ervaringen met de sportpas",
    ] {
        assert!(minutes.contains(text), "minutes lack {text:?}:\n{minutes}");
    }
    let minutes_html = d.root.join("verslag.html");
    k.ok(&[
        "rapport",
        "gesprek",
        &d.conversation,
        "--out",
        minutes_html.to_str().unwrap(),
    ]);
    roxmltree::Document::parse_with_options(
        &std::fs::read_to_string(&minutes_html).unwrap(),
        xml_options(),
    )
    .expect("well-formed minutes");
}

#[test]
fn the_calendar_parses_back_and_a_second_export_keeps_every_uid() {
    let d = demo();
    let k = &d.gemeente;
    let first = d.root.join("kompas.ics");
    let second = d.root.join("kompas-2.ics");
    k.ok(&["agenda", "--out", first.to_str().unwrap()]);
    k.ok(&["doc", "set", &d.action, "deadline=2027-07-15"]);
    k.ok(&["agenda", "--out", second.to_str().unwrap()]);
    let parse = |p: &Path| {
        let text = std::fs::read_to_string(p).unwrap();
        assert!(text.contains("BEGIN:VTIMEZONE") && text.contains("TZID:Europe/Amsterdam"));
        Calendar::from_str(&text).unwrap_or_else(|e| panic!("not iCalendar: {e}"))
    };
    let (a, b) = (parse(&first), parse(&second));
    let uids = |c: &Calendar| -> BTreeSet<String> {
        c.events()
            .map(|e| e.get_uid().unwrap().to_string())
            .collect()
    };
    assert_eq!(uids(&a), uids(&b), "a second export keeps every uid");
    assert!(uids(&a).len() >= 5, "{:?}", uids(&a));
    let event = |c: &Calendar, uid: &str| {
        c.events()
            .find(|e| e.get_uid() == Some(uid))
            .unwrap_or_else(|| panic!("no event {uid}"))
            .clone()
    };
    let uid = format!("verbeteractie-{}@kompas.samenwerking", d.action);
    assert_eq!(event(&a, &uid).property_value("DTSTART"), Some("20270630"));
    assert_eq!(
        event(&b, &uid).property_value("DTSTART"),
        Some("20270715"),
        "updated, same uid"
    );
    let summaries: Vec<String> = a
        .events()
        .map(|e| e.get_summary().unwrap_or_default().to_string())
        .collect();
    assert!(
        summaries
            .iter()
            .any(|s| s.starts_with("Gezamenlijke evaluatie van de cyclus")),
        "{summaries:?}"
    );
    assert!(
        summaries.iter().any(|s| s.contains("Sportpas uitwerken")),
        "{summaries:?}"
    );
    assert!(
        summaries
            .iter()
            .any(|s| s.starts_with("Volgend gesprek over cijfers")),
        "{summaries:?}"
    );
    let timed = a
        .events()
        .find(|e| {
            e.get_summary()
                .is_some_and(|s| s.starts_with("Gezamenlijke evaluatie"))
        })
        .unwrap();
    let raw = std::fs::read_to_string(&first).unwrap();
    assert!(
        raw.contains("DTSTART;TZID=Europe/Amsterdam:"),
        "timed events carry the time zone"
    );
    assert!(timed.get_start().is_some());
}
