//! Page times of `kompas serve`: the median and p99 of answering the overview, a flow page, a
//! document list of 1,000 documents and an indicator page with 100,000 observations (server
//! render plus the local HTTP round trip), and the resident memory of the server holding that
//! data. Run with `cargo bench -p kompas-tests --bench serve_pages`; `KOMPAS_BENCH_PAGE_RUNS`
//! sets how often each page is asked for (30 or 50 by default).
//!
//! The data directory is filled before the server starts: 1,000 documents through the engine,
//! a generated area registry of 2,500 municipalities in 40 regions and 9 size classes, and a
//! CBS-shaped CSV of 100,000 observations (2,500 municipalities x 10 years x total and three
//! breakdowns) read in with `kompas figures import`.
//!
//! The organisation is in a workspace with a second one and a real relay, so the server also
//! runs its continuous sync. The live figure is the time from the moment the second
//! organisation's document is durably saved (its `kompas doc new` returned) until the server's
//! event stream, which open pages listen to, announces that document; in between the partner
//! runs `kompas sync` to send it to the relay. The stream is read on its own task, which notes
//! when each event arrives, so the figure does not include waiting for the partner's commands.
//! The part after the partner's sync returned is printed beside it (zero when the page heard of
//! the change before that process ended).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kompas_engine::Timestamp;
use kompas_engine::document::Assignment;
use kompas_engine::store::DataDir;
use kompas_tests::Kompas;
use kompas_tests::relay::RelayProcess;
use kompas_tests::serve::Serve;

const DOCUMENTS: usize = 1_000;
const MUNICIPALITIES: usize = 2_500;
const YEARS: i32 = 10;
const GROUPS: [&str; 4] = ["Totaal", "Meisjes", "Jongens", "Onbekend"];
/// How many changes the live figure is measured over.
const LIVE_RUNS: usize = 10;
/// How long one change may take to show before the benchmark gives up.
const LIVE_PATIENCE: Duration = Duration::from_secs(30);

type Http = Client<HttpConnector, Empty<bytes::Bytes>>;

async fn get(http: &Http, url: &str, cookie: &str) -> (u16, Option<String>, usize) {
    let request = http::Request::get(url)
        .header("cookie", cookie)
        .body(Empty::new())
        .expect("a request");
    let response = http.request(request).await.expect("an answer");
    let status = response.status().as_u16();
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_string());
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    (status, set_cookie, body.len())
}

/// The registry and the observations, as CSV.
fn generated_figures() -> (String, String) {
    let mut areas = String::from("Code;Naam;Jeugdregio;Grootteklasse\n");
    for m in 1..=MUNICIPALITIES {
        let _ = writeln!(
            areas,
            "GM{m:04};Gemeente {m};JZ{:02};{}",
            m % 40 + 1,
            m % 9 + 1
        );
    }
    let mut csv = String::from(
        "Geslacht;Regio's;Perioden;Jongeren met jeugdhulp (aantal);Jongeren tot 18 jaar (aantal)\n",
    );
    for m in 1..=MUNICIPALITIES {
        let population = 2_000 + (m * 37) % 40_000;
        for y in 0..YEARS {
            for (g, group) in GROUPS.iter().enumerate() {
                let share = if g == 0 { 1 } else { 3 };
                let denominator = population / share;
                let value = denominator * (80 + (m + y as usize * 7 + g) % 60) / 1_000;
                let _ = writeln!(
                    csv,
                    "{group};GM{m:04};{}JJ00;{value};{denominator}",
                    2015 + y
                );
            }
        }
    }
    (areas, csv)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Says on stderr how long a setup step took, so a slow step shows where it is.
fn step(what: &str, started: Instant) {
    eprintln!("  setup: {what} ({:.1} s)", started.elapsed().as_secs_f64());
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let setup = Instant::now();
    let k = Kompas::organisation(dir.path(), "gemeente", "Gemeente Havenstad", "gemeente");
    let relay = RelayProcess::start(&dir.path().join("relay"), &[]);
    k.ok(&[
        "workspace",
        "create",
        "Jeugd Havenstad",
        "--relay",
        &relay.url(),
    ]);
    let partner = Kompas::organisation(dir.path(), "aanbieder", "Jeugdhulp Noord", "aanbieder");
    partner.ok(&["workspace", "join", &k.invite()]);
    step("two organisations in a workspace", setup);
    {
        let data = DataDir::open(k.data()).expect("the data directory");
        let replica = kompas_engine::composition::open(data.sole_store().expect("its store"))
            .expect("the replica");
        for i in 0..DOCUMENTS {
            let set = |field: &str, value: String| Assignment {
                field: field.into(),
                value,
            };
            replica
                .create(
                    "ambitie",
                    &[
                        set("titel", format!("Ambitie {i}: meer jongeren sporten")),
                        set(
                            "toelichting",
                            format!("Toelichting bij ambitie {i}. ").repeat(20),
                        ),
                    ],
                    Timestamp(1_760_000_000_000 + i as i64),
                    (i as u64 + 1).to_be_bytes(),
                )
                .expect("a document");
        }
    }
    step("documents", setup);
    let (areas, csv) = generated_figures();
    let areas_file = dir.path().join("gebieden.csv");
    let csv_file = dir.path().join("jeugdhulp.csv");
    std::fs::write(&areas_file, areas).expect("areas written");
    std::fs::write(&csv_file, csv).expect("figures written");
    k.ok(&["figures", "areas", areas_file.to_str().expect("a path")]);
    let imported = k.json(&[
        "figures",
        "import",
        csv_file.to_str().expect("a path"),
        "--indicator",
        "jeugdhulp",
    ]);
    assert_eq!(
        imported["observations"],
        (MUNICIPALITIES * YEARS as usize * GROUPS.len()) as u64,
        "{imported}"
    );
    step("figures", setup);
    let flow = k.json(&[
        "flow",
        "start",
        "kwaliteitskompas",
        "--title",
        "Cyclus 2027",
    ])["id"]
        .as_str()
        .expect("a flow id")
        .to_string();
    // Everything goes to the relay before the server starts, so the page times do not
    // share the machine with the first upload.
    k.ok(&["sync"]);
    partner.ok(&["sync"]);
    step("first sync", setup);
    let setup_secs = setup.elapsed().as_secs_f64();

    let serve = Serve::start(&k);
    let mib = |kib: u64| kib as f64 / 1024.0;
    let idle_mib = mib(serve.memory_kib().0);
    let http: Http = Client::builder(TokioExecutor::new()).build_http();
    let (status, cookie, _) = get(&http, &serve.login, "").await;
    assert_eq!(status, 303, "the login link starts a session");
    let cookie = cookie.expect("a session cookie");

    let build = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "optimised build"
    };
    println!("kompas serve: page times (server render + local HTTP), {build}");
    println!(
        "  setup: {DOCUMENTS} documents, {} observations, {MUNICIPALITIES} municipalities: {setup_secs:.1} s (not counted)",
        imported["observations"]
    );
    let pages = [
        ("overview", "/".to_string(), 50),
        ("flow page", format!("/werkstromen/{flow}"), 50),
        (
            "document list (1,000 documents)",
            "/documenten".to_string(),
            30,
        ),
        (
            "indicator page (100,000 observations)",
            "/cijfers/jeugdhulp?gebied=GM0001".to_string(),
            30,
        ),
    ];
    // Fewer runs per page for a quick look on a busy machine.
    let page_runs = std::env::var("KOMPAS_BENCH_PAGE_RUNS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    for (name, path, runs) in pages {
        let runs = page_runs.unwrap_or(runs).max(1);
        let url = format!("{}{path}", serve.base);
        let (status, _, size) = get(&http, &url, &cookie).await;
        assert_eq!(status, 200, "{name} at {path}");
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            let (status, _, _) = get(&http, &url, &cookie).await;
            times.push(started.elapsed());
            assert_eq!(status, 200);
        }
        times.sort();
        println!(
            "  {name:<40} median {:>9}  p99 {:>9}  ({runs} runs, {} KiB)",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            size / 1024
        );
    }
    let request = http::Request::get(format!("{}/live", serve.base))
        .header("cookie", &cookie)
        .body(Empty::new())
        .expect("a request");
    let response = http.request(request).await.expect("an event stream");
    assert_eq!(response.status(), 200, "the event stream opens");
    // The stream is read on a task of its own, which stamps every frame as it arrives, so the
    // time a page hears of a change does not wait for the partner's commands to return.
    let (frames, mut heard) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    let mut stream = response.into_body();
    tokio::spawn(async move {
        while let Some(Ok(frame)) = stream.frame().await {
            if let Ok(data) = frame.into_data()
                && frames
                    .send((String::from_utf8_lossy(&data).into_owned(), Instant::now()))
                    .is_err()
            {
                return;
            }
        }
    });
    let mut from_save = Vec::with_capacity(LIVE_RUNS);
    let mut after_sync = Vec::with_capacity(LIVE_RUNS);
    for i in 0..LIVE_RUNS {
        let made = tokio::task::block_in_place(|| {
            partner.json(&[
                "doc",
                "new",
                "ambitie",
                "--set",
                &format!("titel=Ambitie van de partner {i}"),
            ])
        });
        // `doc new` returns once the document is durably saved.
        let saved = Instant::now();
        let doc = made["id"].as_str().expect("a document id").to_string();
        tokio::task::block_in_place(|| partner.ok(&["sync"]));
        let synced = Instant::now();
        let seen_at = tokio::time::timeout(LIVE_PATIENCE, async {
            loop {
                let (data, at) = heard.recv().await.expect("the stream stays open");
                if data.contains(&doc) {
                    return at;
                }
            }
        })
        .await
        .expect("the open page hears of the change");
        from_save.push(seen_at - saved);
        after_sync.push(seen_at.saturating_duration_since(synced));
    }
    from_save.sort();
    after_sync.sort();
    println!(
        "  {:<40} median {:>9}  p99 {:>9}  ({LIVE_RUNS} changes; the partner's `kompas sync` included)",
        "partner's save to the open page",
        ms(percentile(&from_save, 0.5)),
        ms(percentile(&from_save, 0.99)),
    );
    println!(
        "  {:<40} median {:>9}  p99 {:>9}",
        "  of which after its sync returned",
        ms(percentile(&after_sync, 0.5)),
        ms(percentile(&after_sync, 0.99)),
    );
    let (rss, peak) = serve.memory_kib();
    let (rss, peak) = (mib(rss), mib(peak));
    println!(
        "  resident memory of kompas serve: {idle_mib:.0} MiB after start, {rss:.0} MiB after the runs (peak {peak:.0} MiB)"
    );
}
