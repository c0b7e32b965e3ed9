//! A per-1,000 figure means one thing everywhere, end to end: a CSV with a count and its
//! denominator imported into a per-1,000 indicator is stored per 1,000, and `figures show`,
//! the chart, the web app's indicator page and the report of a round all show that same rate;
//! a small count is still secret everywhere. The demo's own per-1,000 indicator reads as a rate
//! in the report too.

#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kompas_tests::Kompas;
use kompas_tests::serve::Serve;

/// Pupils who missed school without leave, beside all pupils (synthetic). Havenstad's 2024 is
/// 58 of 10,370, shown as 60 of 10,370 (counts are rounded to 5), so 5.79 per 1,000; Zeedorp's 3 of 2,000 is small and must stay secret.
const ABSENCE: &str = "\"Regio's\";\"Perioden\";\"Verzuimers (aantal)\";\"Leerlingen (aantal)\"\n\
GM9901;2022JJ00;66;10000\n\
GM9901;2023JJ00;62;10200\n\
GM9901;2024JJ00;58;10370\n\
GM9902;2023JJ00;15;2100\n\
GM9902;2024JJ00;3;2000\n";

const MAPPING: &str = r#"{"gebied": "Regio's", "periode": "Perioden",
  "waarde": "Verzuimers (aantal)", "noemer": "Leerlingen (aantal)"}"#;

/// Havenstad's rate in 2024 per 1,000 as shown: its count rounded to 5 (60) over the
/// denominator (already a multiple of 5).
const RATE: f64 = 60.0 / 10_370.0 * 1000.0;
/// As every output writes it.
const SHOWN: &str = "5,8";
/// As `--json` gives it: rounded to the unit's one decimal, as the text is.
const SHOWN_JSON: f64 = 5.8;
/// Zeedorp's secret rate of 2024 (3 of 2,000), as it would be written if it leaked.
const SECRET_RATE: &str = "1,5";

type Http = Client<HttpConnector, Empty<bytes::Bytes>>;

async fn get(http: &Http, url: &str, cookie: &str) -> (u16, Option<String>, String) {
    let request = http::Request::get(url)
        .header("cookie", cookie)
        .body(Empty::new())
        .unwrap();
    let response = http.request(request).await.unwrap();
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_string());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, cookie, String::from_utf8_lossy(&body).into_owned())
}

/// The HTML of the table with `id` in `page`.
fn table<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id} in the page"));
    let end = page[start..].find("</table>").unwrap() + start;
    &page[start..end]
}

/// The line of `figures show`'s table for `period`.
fn row<'a>(shown: &'a str, period: &str) -> &'a str {
    shown
        .lines()
        .find(|l| l.trim_start().starts_with(period))
        .unwrap_or_else(|| panic!("no row {period}:\n{shown}"))
}

#[test]
fn a_count_with_its_denominator_is_one_rate_per_1000_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("demo");
    let demo =
        Kompas::new(dir.path().join("unused")).json(&["demo", "--dir", root.to_str().unwrap()]);
    let k = Kompas::new(root.join("gemeente"));
    let csv = dir.path().join("verzuim.csv");
    std::fs::write(&csv, ABSENCE).unwrap();
    let mapping = dir.path().join("verzuim.json");
    std::fs::write(&mapping, MAPPING).unwrap();

    // The import turns the counts into the indicator's unit and says so.
    let imported = k.json(&[
        "figures",
        "import",
        csv.to_str().unwrap(),
        "--indicator",
        "verzuim",
        "--mapping",
        mapping.to_str().unwrap(),
        "--unit",
        "per-1000",
        "--better",
        "lager",
        "--title",
        "Verzuim per 1.000 leerlingen",
        "--source",
        "Leerplicht (synthetisch)",
    ]);
    let table_report = &imported["indicators"][0];
    assert_eq!(table_report["unit"], "per-1000", "{imported}");
    assert_eq!(table_report["converted_from"], "aantal", "{imported}");
    assert_eq!(
        table_report["protection"]["primary"], 1,
        "Zeedorp's 3 pupils: {imported}"
    );

    // figures show: the value is the rate, and the % beside it the same rate.
    let shown = k.json(&["figures", "show", "verzuim", "--area", "GM9901"]);
    let latest = shown["area"]["series"].as_array().unwrap().last().unwrap();
    assert_eq!(latest["value"].as_f64(), Some(SHOWN_JSON), "{latest}");
    assert_eq!(latest["per_1000"].as_f64(), Some(SHOWN_JSON));
    // 0.58%, written with the percentage's one decimal.
    assert_eq!(latest["percentage"].as_f64(), Some(0.6));
    let compared = k.json(&["figures", "compare", "verzuim", "--area", "GM9901"]);
    assert_eq!(compared["value"].as_f64(), Some(SHOWN_JSON), "{compared}");
    let text = k.ok(&["figures", "show", "verzuim", "--area", "GM9901"]);
    assert!(row(&text, "2024").contains(SHOWN), "{text}");
    assert!(
        !text.contains(" 58 "),
        "the count is not shown as the value:\n{text}"
    );
    let change = text
        .lines()
        .find(|l| l.contains("vorige periode"))
        .unwrap_or_else(|| panic!("no change line:\n{text}"));
    // Shown as 60 of 10,200 (5.88) to 60 of 10,370 (5.79): a fall of about 0.1 per 1,000
    // between the shown rates, not of 4 pupils.
    assert!(change.contains("-0,1 per 1.000"), "{change}");
    let small = k.json(&["figures", "show", "verzuim", "--area", "GM9902"]);
    let small_latest = small["area"]["series"].as_array().unwrap().last().unwrap();
    assert!(
        small_latest["value"].is_null(),
        "a small count is secret: {small}"
    );
    let small_text = k.ok(&["figures", "show", "verzuim", "--area", "GM9902"]);
    assert!(row(&small_text, "2024").contains("geheim"), "{small_text}");
    assert!(!small_text.contains(SECRET_RATE), "{small_text}");

    // The chart: the trend per 1,000, its last value labelled as the table shows it.
    let svg_path = dir.path().join("verzuim.svg");
    let charted = k.json(&[
        "figures",
        "chart",
        "verzuim",
        "--area",
        "GM9901",
        "--out",
        svg_path.to_str().unwrap(),
    ]);
    let trend = charted["series"][0]["values"].as_array().unwrap();
    assert_eq!(trend.last().and_then(|v| v.as_f64()), Some(SHOWN_JSON));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect();
    assert!(texts.iter().any(|t| t == "per 1.000"), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.starts_with(&format!("{SHOWN} "))),
        "the last value labelled {SHOWN}: {texts:?}"
    );

    // The report of the round: a result measured by the indicator, its latest value the rate.
    let result = k.json(&[
        "doc",
        "new",
        "maatschappelijk-resultaat",
        "--set",
        "titel=Minder verzuim",
        "--set",
        &format!("ambitie={}", demo["shared_ambition"].as_str().unwrap()),
        "--set",
        "indicator=verzuim",
        "--set",
        "nulmeting=6,6",
        "--set",
        "streefwaarde=4",
        "--set",
        "streefdatum=2030-12-31",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    k.ok(&["flow", "link", demo["flow"].as_str().unwrap(), &result]);
    let html_path = dir.path().join("rapport.html");
    let data = k.json(&["rapport", "ronde", "--out", html_path.to_str().unwrap()]);
    let results = data["results"].as_array().unwrap();
    let actual = |title: &str| -> f64 {
        let r = results
            .iter()
            .find(|r| r["title"] == title)
            .unwrap_or_else(|| panic!("no result {title}: {data}"));
        r["actual"]["value"].as_f64().unwrap()
    };
    // The report writes a rate with its unit's one decimal: 5.786... per 1,000 is 5.8.
    let written = (RATE * 10.0).round() / 10.0;
    assert_eq!(written, 5.8);
    assert_eq!(actual("Minder verzuim"), written, "{data}");
    // The demo's own result: 59 of 10,370 pupils out of school, shown as 60 (rounded to 5), is
    // 5.8 per 1,000, not 59.
    assert_eq!(actual("Minder thuiszitters"), written, "{data}");
    let html = std::fs::read_to_string(&html_path).unwrap();
    let start = html.find("id=\"resultaten\"").unwrap();
    let end = html[start..].find("</section>").unwrap() + start;
    let results_html = &html[start..end];
    for text in [
        // Verzuim and the demo's thuiszitters both read 5,8 (60 of 10,370).
        &format!("{SHOWN} per 1.000") as &str,
        "6,6 per 1.000",
    ] {
        assert!(
            results_html.contains(text),
            "{text} lacking: {results_html}"
        );
    }
    assert!(!results_html.contains("59 per 1.000"), "{results_html}");
    assert!(!html.contains(SECRET_RATE), "a secret rate in the report");

    // The web app's indicator page shows the same rate, and Zeedorp's as secret.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let serve = Serve::start(&k);
    let (havenstad, zeedorp) = runtime.block_on(async {
        let http: Http = Client::builder(TokioExecutor::new()).build_http();
        let (status, cookie, _) = get(&http, &serve.login, "").await;
        assert_eq!(status, 303, "the login link starts a session");
        let cookie = cookie.unwrap();
        let page = |area: &str| format!("{}/cijfers/verzuim?gebied={area}", serve.base);
        let (status, _, havenstad) = get(&http, &page("GM9901"), &cookie).await;
        assert_eq!(status, 200, "{havenstad}");
        let (status, _, zeedorp) = get(&http, &page("GM9902"), &cookie).await;
        assert_eq!(status, 200, "{zeedorp}");
        (havenstad, zeedorp)
    });
    serve.stop();
    let series = table(&havenstad, "verloop");
    let latest_row = &series[series.find("2024").unwrap()..];
    let latest_row = &latest_row[..latest_row.find("</tr>").unwrap()];
    assert!(latest_row.contains(SHOWN), "{latest_row}");
    assert!(!latest_row.contains(">58<"), "{latest_row}");
    let series = table(&zeedorp, "verloop");
    let latest_row = &series[series.find("2024").unwrap()..];
    assert!(latest_row.contains("geheim"), "{series}");
    assert!(!series.contains(SECRET_RATE), "{series}");
}
