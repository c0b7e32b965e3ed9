//! The web app in a real browser: two organisations each run `kompas serve` on 127.0.0.1 with a
//! real relay, and a headless Chromium (Debian's `chromium` and `chromium-driver`) drives both
//! through WebDriver. It checks live updates without a reload, concurrent edits of one long text,
//! approving and a refused advance, the conversation about figures, the improvement actions, an
//! invite made in the browser and joined from the command line, removing that member, importing
//! figures by upload (a bad row shown and nothing stored, then a good file confirmed), a 400 px
//! wide window and print; runs axe-core on every page, and saves a screenshot of every page under
//! `target/screenshots/`.
//!
//! Waits poll the page until the expected state shows or a deadline passes; nothing sleeps to
//! synchronise.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use kompas_tests::relay::RelayProcess;
use kompas_tests::serve::Serve;
use kompas_tests::{Kompas, workspace_root};
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a wait for something another organisation did may take.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running chromedriver.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: install Debian's chromium and chromium-driver \
                 (apt-get install -y --no-install-recommends chromium chromium-driver)"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < PATIENCE, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000"],
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// axe-core, installed from the npm registry into `dir`.
fn axe_source(dir: &Path) -> String {
    let status = Command::new("npm")
        .args([
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "axe-core@4",
        ])
        .current_dir(dir)
        .status()
        .expect("npm is installed (it fetches axe-core for the accessibility checks)");
    assert!(status.success(), "npm install axe-core failed");
    std::fs::read_to_string(dir.join("node_modules/axe-core/axe.min.js")).expect("axe.min.js")
}

/// The pages checked and photographed, with what each check found.
struct Checker {
    axe: String,
    shots: PathBuf,
    problems: Vec<String>,
    pages: Vec<String>,
}

impl Checker {
    /// Runs axe-core on the page in `c` and saves a screenshot named `name`.
    async fn check(&mut self, c: &Client, name: &str) {
        let png = c.screenshot().await.expect("a screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("screenshot saved");
        c.execute(&format!("{}\nreturn true;", self.axe), vec![])
            .await
            .expect("axe-core loads");
        let found = c
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                axe.run(document, { resultTypes: ["violations"] }).then(r => done(
                  r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
                    .map(v => v.id + " (" + v.impact + "): " + v.help + " at " +
                      v.nodes.map(n => n.target.join(" ")).join(", "))
                )).catch(e => done(["axe failed: " + e]));"#,
                vec![],
            )
            .await
            .expect("axe-core runs");
        for v in found.as_array().into_iter().flatten() {
            self.problems
                .push(format!("{name}: {}", v.as_str().unwrap_or_default()));
        }
        self.pages.push(name.to_string());
    }
}

async fn wait_for_text(c: &Client, text: &str) -> Duration {
    let started = Instant::now();
    loop {
        let source = c.source().await.expect("page source");
        if source.contains(text) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{text:?} did not appear on {}:\n{source}",
            c.current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn fill(c: &Client, id: &str, text: &str) {
    let field = c.find(Locator::Id(id)).await.expect("the field");
    field.clear().await.expect("cleared");
    field.send_keys(text).await.expect("typed");
}

async fn press(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .expect("the button")
        .click()
        .await
        .expect("clicked");
}

/// Opens `url` until it shows `text`: for a document or flow that still has to arrive by sync.
async fn open_when_there(c: &Client, url: &str, text: &str) {
    let started = Instant::now();
    loop {
        c.goto(url).await.expect("page opens");
        if c.source().await.expect("source").contains(text) {
            return;
        }
        assert!(started.elapsed() < PATIENCE, "{url} never showed {text:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_organisations_work_together_in_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let shots = workspace_root().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let mut checker = Checker {
        axe: axe_source(dir.path()),
        shots,
        problems: Vec::new(),
        pages: Vec::new(),
    };
    let relay = RelayProcess::start(&dir.path().join("relay"), &[]);
    let a = Kompas::organisation(dir.path(), "gemeente", "Gemeente Havenstad", "gemeente");
    a.ok(&[
        "workspace",
        "create",
        "Jeugd Havenstad",
        "--relay",
        &relay.url(),
    ]);
    let b = Kompas::organisation(dir.path(), "aanbieder", "Jeugdhulp Noord", "aanbieder");
    b.ok(&["workspace", "join", &a.invite()]);
    let serve_a = Serve::start(&a);
    let serve_b = Serve::start(&b);
    let driver = Driver::start();
    let ca = driver.browser().await;
    let cb = driver.browser().await;

    ca.goto(&format!("{}/login", serve_a.base)).await.unwrap();
    checker.check(&ca, "inloggen").await;
    ca.goto(&serve_a.login).await.unwrap();
    wait_for_text(&ca, "Samenwerking Jeugd Havenstad").await;
    wait_for_text(&ca, "Jeugdhulp Noord").await;
    checker.check(&ca, "overzicht").await;
    cb.goto(&serve_b.login).await.unwrap();
    cb.goto(&format!("{}/documenten", serve_b.base))
        .await
        .unwrap();
    checker.check(&cb, "documenten-leeg").await;
    cb.execute("window.kompasZelfdePagina = true; return true;", vec![])
        .await
        .unwrap();

    // A makes a document in the browser; B's open list shows it without a reload.
    ca.goto(&format!("{}/documenten/nieuw?soort=ambitie", serve_a.base))
        .await
        .unwrap();
    checker.check(&ca, "nieuw-document").await;
    fill(&ca, "veld-titel", "Meer kinderen sporten").await;
    fill(&ca, "veld-toelichting", "Kinderen sporten.").await;
    let saved_at = Instant::now();
    press(&ca, "button[value=opslaan]").await;
    wait_for_text(&ca, "Opgeslagen.").await;
    let doc_url = ca.current_url().await.unwrap();
    let doc = doc_url
        .path()
        .trim_start_matches("/documenten/")
        .to_string();
    checker.check(&ca, "document").await;
    wait_for_text(&cb, "Meer kinderen sporten").await;
    let live = saved_at.elapsed();
    let same_page = cb
        .execute("return window.kompasZelfdePagina === true;", vec![])
        .await
        .unwrap();
    assert_eq!(
        same_page,
        json!(true),
        "B's page was reloaded instead of updated"
    );
    println!(
        "live update from A's save to B's open page: {} ms",
        live.as_millis()
    );
    checker.check(&cb, "documenten").await;

    // Both edit the same long text at once; both edits survive.
    ca.goto(&format!("{}/documenten/{doc}/bewerken", serve_a.base))
        .await
        .unwrap();
    checker.check(&ca, "bewerken").await;
    cb.goto(&format!("{}/documenten/{doc}/bewerken", serve_b.base))
        .await
        .unwrap();
    fill(&ca, "veld-toelichting", "Meer kinderen sporten.").await;
    fill(&cb, "veld-toelichting", "Kinderen sporten elke week.").await;
    press(&ca, "button[value=opslaan]").await;
    wait_for_text(&ca, "Opgeslagen.").await;
    wait_for_text(&cb, "Gemeente Havenstad heeft dit document gewijzigd").await;
    let kept = cb
        .find(Locator::Id("veld-toelichting"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("Kinderen sporten elke week."));
    checker.check(&cb, "bewerken-met-melding").await;
    press(&cb, "button[value=opslaan]").await;
    wait_for_text(&cb, "Opgeslagen en samengevoegd").await;
    wait_for_text(&cb, "Meer kinderen sporten elke week.").await;
    checker.check(&cb, "samengevoegd").await;
    open_when_there(
        &ca,
        &format!("{}/documenten/{doc}", serve_a.base),
        "Meer kinderen sporten elke week.",
    )
    .await;
    ca.goto(&format!("{}/documenten/{doc}/geschiedenis", serve_a.base))
        .await
        .unwrap();
    wait_for_text(&ca, "Jeugdhulp Noord").await;
    checker.check(&ca, "geschiedenis").await;

    // A starts a flow; B joins and approves; A's advance is refused with its reasons.
    ca.goto(&format!("{}/werkstromen", serve_a.base))
        .await
        .unwrap();
    checker.check(&ca, "werkstromen").await;
    press(&ca, "#werkwijze option[value=kwaliteitskompas]").await;
    fill(&ca, "titel", "Cyclus 2027").await;
    press(&ca, "form[action='/werkstromen/nieuw'] button").await;
    wait_for_text(&ca, "Bouwsteen 0").await;
    let flow_url = ca.current_url().await.unwrap();
    let flow = flow_url.path().to_string();
    checker.check(&ca, "werkstroom").await;
    open_when_there(&cb, &format!("{}{flow}", serve_b.base), "Cyclus 2027").await;
    press(&cb, "input[value=meedoen] ~ button").await;
    wait_for_text(&cb, "Je organisatie doet nu mee").await;
    press(&cb, "button[value=instemmen]").await;
    wait_for_text(&cb, "Je instemming is vastgelegd").await;
    checker.check(&cb, "werkstroom-instemming").await;
    wait_for_text(&ca, "Jeugdhulp Noord</strong>: stemt in").await;
    press(&ca, "button[value=verder]").await;
    wait_for_text(&ca, "kan nog niet").await;
    wait_for_text(&ca, "Er is nog geen document van soort").await;
    checker.check(&ca, "werkstroom-geweigerd").await;

    // The conversation about figures, guided step by step; the four questions.
    ca.goto(&format!("{}/gesprekken", serve_a.base))
        .await
        .unwrap();
    checker.check(&ca, "gesprekken").await;
    fill(&ca, "titel", "Schoolverzuim voorjaar").await;
    press(&ca, "form[action='/gesprekken/nieuw'] button").await;
    wait_for_text(&ca, "Het doel scherp krijgen").await;
    checker.check(&ca, "gesprek").await;
    let talk = ca.current_url().await.unwrap().path().to_string();
    ca.goto(&format!("{}{talk}?stap=duiding", serve_a.base))
        .await
        .unwrap();
    fill(
        &ca,
        "veld-herkennen",
        "Ja, vooral bij de oudere leerlingen.",
    )
    .await;
    checker.check(&ca, "gesprek-vier-vragen").await;
    press(&ca, "button[value=verder]").await;
    wait_for_text(&ca, "Opgeslagen.").await;
    wait_for_text(&ca, "Afspraken maken").await;

    // Improvement actions by deadline, the late one marked.
    for (action, deadline) in [
        ("Wachtlijst korter", "2020-01-15"),
        ("Spreekuur op school", "2099-06-30"),
    ] {
        a.ok(&[
            "doc",
            "new",
            "verbeteractie",
            "--set",
            &format!("actie={action}"),
            "--set",
            "eigenaar=Jeugdhulp Noord",
            "--set",
            &format!("deadline={deadline}"),
        ]);
    }
    ca.goto(&format!("{}/verbeteracties", serve_a.base))
        .await
        .unwrap();
    wait_for_text(&ca, "te laat").await;
    checker.check(&ca, "verbeteracties").await;

    // An invite made in the browser is joined from the command line; the new member shows up
    // on the open page, and removing it first explains the new key.
    ca.goto(&format!("{}/samenwerking", serve_a.base))
        .await
        .unwrap();
    checker.check(&ca, "samenwerking").await;
    press(&ca, "form[action='/samenwerking/uitnodigen'] button").await;
    wait_for_text(&ca, "Uitnodiging gemaakt").await;
    wait_for_text(&ca, "De relay heeft de uitnodiging ontvangen").await;
    let code = ca
        .find(Locator::Id("uitnodigingscode"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .expect("the invite code");
    checker.check(&ca, "uitnodiging").await;
    let c = Kompas::organisation(
        dir.path(),
        "swv",
        "Samenwerkingsverband Havenstad",
        "samenwerkingsverband",
    );
    c.ok(&["workspace", "join", code.trim()]);
    ca.goto(&format!("{}/samenwerking", serve_a.base))
        .await
        .unwrap();
    wait_for_text(&ca, "Samenwerkingsverband Havenstad</td>").await;
    checker.check(&ca, "samenwerking-nieuw-lid").await;
    cb.goto(&format!("{}/samenwerking", serve_b.base))
        .await
        .unwrap();
    wait_for_text(&cb, "Alleen een coördinator kan").await;
    checker.check(&cb, "samenwerking-partner").await;
    ca.find(Locator::XPath(
        "//a[starts-with(@href, '/samenwerking/verwijderen') and contains(., 'Samenwerkingsverband Havenstad')]",
    ))
    .await
    .expect("a link to remove the new member")
    .click()
    .await
    .unwrap();
    wait_for_text(&ca, "nieuwe sleutel").await;
    checker.check(&ca, "lid-verwijderen").await;
    press(&ca, "form[action='/samenwerking/verwijderen'] button").await;
    wait_for_text(&ca, "Het lid is verwijderd").await;
    assert!(
        !ca.source()
            .await
            .unwrap()
            .contains("Samenwerkingsverband Havenstad</td>"),
        "the removed member is gone from the list"
    );

    ca.goto(&format!("{}/bestaat-niet", serve_a.base))
        .await
        .unwrap();
    checker.check(&ca, "niet-gevonden").await;

    ca.close().await.unwrap();
    cb.close().await.unwrap();
    serve_a.stop();
    serve_b.stop();
    drop(relay);
    assert!(
        checker.problems.is_empty(),
        "axe-core found serious or critical problems:\n{}",
        checker.problems.join("\n")
    );
    println!("checked and photographed: {}", checker.pages.join(", "));
}

/// A WebDriver command for one Chrome DevTools method, as chromedriver offers them
/// (`goog/cdp/execute`): here to emulate print media.
#[derive(Debug)]
struct DevTools {
    method: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.method, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Whether the page in `c` scrolls sideways (its content is wider than the window).
async fn scrolls_sideways(c: &Client) -> bool {
    c.execute(
        "return document.documentElement.scrollWidth > document.documentElement.clientWidth;",
        vec![],
    )
    .await
    .expect("the page's width")
        == json!(true)
}

/// Whether the element `css` is shown on the page in `c`.
async fn shown(c: &Client, css: &str) -> bool {
    c.execute(
        "const e = document.querySelector(arguments[0]); \
         return e !== null && getComputedStyle(e).display !== 'none';",
        vec![json!(css)],
    )
    .await
    .expect("the element's style")
        == json!(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_are_read_in_by_upload_in_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let shots = workspace_root().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let mut checker = Checker {
        axe: axe_source(dir.path()),
        shots,
        problems: Vec::new(),
        pages: Vec::new(),
    };
    let fixture = |name: &str| {
        workspace_root()
            .join("cli/fixtures")
            .join(name)
            .display()
            .to_string()
    };
    let a = Kompas::organisation(dir.path(), "gemeente", "Gemeente Havenstad", "gemeente");
    a.ok(&["figures", "areas", &fixture("gebieden-synthetisch.csv")]);
    a.ok(&[
        "figures",
        "import",
        &fixture("jeugdhulp-gemeenten-synthetisch.csv"),
        "--indicator",
        "jeugdhulp",
    ]);
    a.ok(&[
        "figures",
        "import",
        &fixture("kerncijfers-wijken-synthetisch.csv"),
        "--indicator",
        "jeugdhulp",
        "--mapping",
        &fixture("wijken-mapping.json"),
    ]);
    a.ok(&[
        "figures",
        "story",
        "jeugdhulp",
        "--kind",
        "persona",
        "--title",
        "Noor, 15 jaar",
        "--text",
        "Noor (verzonnen) mist steeds vaker de eerste les.",
        "--area",
        "GM9901",
        "--young-people",
        "140",
    ]);
    let bad = dir.path().join("met-fout.csv");
    std::fs::write(
        &bad,
        "RegioS;Perioden;Waarde\nGM9901;2023JJ00;120\nGM9901;2024JJ00;veel\n",
    )
    .unwrap();
    let good = dir.path().join("goed.csv");
    std::fs::write(
        &good,
        "RegioS;Perioden;Waarde\nGM9901;2023JJ00;120\nGM9901;2024JJ00;135\n",
    )
    .unwrap();

    let serve = Serve::start(&a);
    let driver = Driver::start();
    let c = driver.browser().await;
    c.goto(&serve.login).await.unwrap();
    wait_for_text(&c, "Overzicht").await;
    c.goto(&format!("{}/cijfers", serve.base)).await.unwrap();
    wait_for_text(&c, "Jongeren met jeugdhulp").await;
    checker.check(&c, "cijfers").await;
    c.goto(&format!("{}/cijfers/jeugdhulp?gebied=GM9901", serve.base))
        .await
        .unwrap();
    wait_for_text(&c, "Noor, 15 jaar").await;
    wait_for_text(&c, "<svg role=\"img\"").await;
    checker.check(&c, "cijfers-indicator").await;

    // A file with a bad row: the row is shown, nothing is stored.
    c.goto(&format!("{}/inlezen", serve.base)).await.unwrap();
    checker.check(&c, "inlezen").await;
    fill(&c, "indicator", "proef").await;
    c.find(Locator::Id("bestand"))
        .await
        .unwrap()
        .send_keys(bad.to_str().unwrap())
        .await
        .unwrap();
    press(&c, "form[enctype='multipart/form-data'] button").await;
    wait_for_text(&c, "Foute rijen (1)").await;
    wait_for_text(&c, "<td class=\"getal\">3</td><td>Waarde</td>").await;
    checker.check(&c, "inlezen-foute-rij").await;
    press(&c, "button[value=bevestigen]").await;
    wait_for_text(&c, "Vink aan dat ze worden overgeslagen").await;
    c.goto(&format!("{}/cijfers/proef", serve.base))
        .await
        .unwrap();
    wait_for_text(&c, "Er is geen indicator proef").await;

    // A good file, confirmed: the indicator page shows its figures.
    c.goto(&format!("{}/inlezen", serve.base)).await.unwrap();
    fill(&c, "indicator", "proef").await;
    fill(&c, "titel", "Proefcijfers").await;
    c.find(Locator::Id("bestand"))
        .await
        .unwrap()
        .send_keys(good.to_str().unwrap())
        .await
        .unwrap();
    press(&c, "form[enctype='multipart/form-data'] button").await;
    wait_for_text(&c, "2 waarnemingen kunnen worden ingelezen").await;
    checker.check(&c, "inlezen-voorbeeld").await;
    press(&c, "button[value=bevestigen]").await;
    wait_for_text(&c, "Opgeslagen: 2 waarnemingen ingelezen").await;
    wait_for_text(&c, "<h1>Proefcijfers</h1>").await;
    wait_for_text(&c, "<td class=\"getal\">135</td>").await;
    checker.check(&c, "inlezen-opgeslagen").await;

    // A narrow window (as at 200% zoom and more): no page scrolls sideways.
    c.set_window_size(400, 900).await.unwrap();
    let mut sideways = Vec::new();
    for (name, path) in [
        ("smal-overzicht", "/"),
        ("smal-cijfers", "/cijfers"),
        ("smal-cijfers-indicator", "/cijfers/jeugdhulp?gebied=GM9901"),
        ("smal-inlezen", "/inlezen"),
        ("smal-documenten", "/documenten"),
    ] {
        c.goto(&format!("{}{path}", serve.base)).await.unwrap();
        if scrolls_sideways(&c).await {
            sideways.push(path);
        }
        checker.check(&c, name).await;
    }
    assert!(
        sideways.is_empty(),
        "pages scroll sideways 400 px wide: {sideways:?}"
    );

    // Printed, the menu and the forms are gone and the figures stay.
    c.set_window_size(1280, 1000).await.unwrap();
    c.goto(&format!("{}/cijfers/jeugdhulp?gebied=GM9901", serve.base))
        .await
        .unwrap();
    assert!(shown(&c, "nav.menu").await, "the menu shows on screen");
    c.issue_cmd(DevTools {
        method: "Emulation.setEmulatedMedia",
        params: json!({ "media": "print" }),
    })
    .await
    .expect("print media emulated");
    assert!(!shown(&c, "nav.menu").await, "print hides the menu");
    assert!(!shown(&c, "form").await, "print hides the forms");
    assert!(shown(&c, "#verloop").await, "print keeps the figures");
    let png = c.screenshot().await.unwrap();
    std::fs::write(checker.shots.join("afdruk-cijfers-indicator.png"), png).unwrap();

    c.close().await.unwrap();
    serve.stop();
    assert!(
        checker.problems.is_empty(),
        "axe-core found serious or critical problems:\n{}",
        checker.problems.join("\n")
    );
    println!("checked and photographed: {}", checker.pages.join(", "));
}
