//! Handler tests of the Samenwerking pages: invites made and revoked by the server's own sync
//! machine, removal and its refusals, publishing a definition, and a partner refused with 403.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{StatusCode, header};
use kompas_engine::identity::{Identity, OrgType};
use kompas_engine::store::DataDir;
use kompas_engine::sync::membership::Role;
use kompas_engine::sync::replication::{InviteCode, Machine, Mode};
use kompas_engine::{Replica, SledStore};

use super::tests::{Fixture, T0, text};
use crate::driver::OsEntropy;

/// A relay address nothing listens on: member-list changes stay queued for it.
const NO_RELAY: &str = "ws://127.0.0.1:9";

/// Sets up a workspace with the fixture's organisation as coordinator.
fn coordinator(replica: &Replica<SledStore>) {
    Machine::create(
        replica,
        "Kompas Havenstad",
        vec![NO_RELAY.into()],
        T0,
        &mut OsEntropy,
    )
    .unwrap();
}

/// Does what the server's sync thread does with machine tasks: runs them on one machine
/// loaded in watch mode, until the app is gone.
fn run_machine(f: &Fixture) {
    let lending = f.lending.clone();
    let opened = lending.first(Duration::from_secs(5)).unwrap();
    let work = f.state.machine_work(opened.store);
    std::thread::spawn(move || {
        let mut machine = Machine::load(&opened.replica, Mode::Watch).unwrap();
        while Arc::strong_count(&work) > 1 {
            for task in work.take_all() {
                task(&opened.replica, machine.as_mut());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
}

fn invite_code_in(html: &str) -> String {
    let start = html
        .find("id=\"uitnodigingscode\" rows=\"9\" readonly>")
        .expect("the code is shown")
        + 40;
    html[start..start + html[start..].find('<').unwrap()].to_string()
}

#[tokio::test]
async fn a_coordinator_makes_an_invite_sees_it_open_and_revokes_it() {
    let f = Fixture::with(coordinator).await;
    run_machine(&f);
    let (status, html) = f.page("/samenwerking").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Samenwerking Kompas Havenstad"), "{html}");
    assert!(html.contains("Gemeente Havenstad (deze organisatie)") && html.contains("coördinator"));
    assert!(html.contains("Er zijn geen open uitnodigingen."));
    assert!(html.contains("Samen in gesprek over cijfers") && html.contains("ingebouwd"));

    let response = f
        .post(
            "/samenwerking/uitnodigen",
            &[("rol", "partner"), ("dagen", "7")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = text(response).await;
    let code = InviteCode::decode(&invite_code_in(&html)).expect("a code that decodes");
    assert_eq!(code.name, "Kompas Havenstad");
    assert!(
        html.contains("Een uitnodiging als partner, geldig tot"),
        "{html}"
    );
    assert!(
        html.contains("nog niet bevestigd"),
        "no relay was reachable"
    );

    let (_, html) = f.page("/samenwerking").await;
    let at = html
        .find("name=\"sleutel\" value=\"")
        .expect("the open invite is listed")
        + 22;
    let key = html[at..at + 64].to_string();
    assert!(html.contains("Intrekken"));

    let response = f
        .post("/samenwerking/intrekken", &[("sleutel", &key)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/samenwerking?gedaan=ingetrokken"
    );
    let (_, html) = f.page("/samenwerking?gedaan=ingetrokken").await;
    assert!(html.contains("De uitnodiging is ingetrokken"));
    assert!(html.contains("Er zijn geen open uitnodigingen."));
    // A second revoke, or a key that is no invite, changes nothing and says why.
    let response = f
        .post("/samenwerking/intrekken", &[("sleutel", &key)])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(response).await.contains("al gebruikt of ingetrokken"));
    let response = f
        .post("/samenwerking/intrekken", &[("sleutel", "geen-sleutel")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_invite_that_asks_for_confirmation_carries_no_key() {
    let f = Fixture::with(coordinator).await;
    run_machine(&f);
    let (_, html) = f.page("/samenwerking").await;
    assert!(html.contains("Eerst bevestigen"), "{html}");
    let response = f
        .post(
            "/samenwerking/uitnodigen",
            &[("rol", "partner"), ("dagen", "7"), ("bevestigen", "ja")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = text(response).await;
    let code = InviteCode::decode(&invite_code_in(&html)).expect("a code that decodes");
    assert!(code.ring.is_empty(), "no workspace key in the code");
    assert!(html.contains("Deze code bevat geen sleutels"), "{html}");
    let response = f
        .post(
            "/samenwerking/uitnodigen",
            &[("rol", "partner"), ("dagen", "7")],
        )
        .await;
    let html = text(response).await;
    let code = InviteCode::decode(&invite_code_in(&html)).expect("a code that decodes");
    assert!(!code.ring.is_empty(), "an ordinary code carries the keys");
    assert!(!html.contains("Deze code bevat geen sleutels"));
    // Confirming or refusing a key that waits for nothing says so.
    for path in ["/samenwerking/bevestigen", "/samenwerking/weigeren"] {
        let response = f.post(path, &[("lid", "abcdef")]).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_bad_invite_form_is_refused_at_the_form_and_makes_nothing() {
    let f = Fixture::with(coordinator).await;
    run_machine(&f);
    for fields in [
        [("rol", "baas"), ("dagen", "7")],
        [("rol", "partner"), ("dagen", "99")],
        [("rol", "partner"), ("dagen", "morgen")],
    ] {
        let response = f.post("/samenwerking/uitnodigen", &fields).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = text(response).await;
        assert!(html.contains("Kies een rol"), "{html}");
        assert!(!html.contains("Uitnodiging gemaakt"));
    }
    let (_, html) = f.page("/samenwerking").await;
    assert!(html.contains("Er zijn geen open uitnodigingen."));
}

#[tokio::test]
async fn removing_needs_a_confirmation_and_refuses_oneself_and_strangers() {
    let f = Fixture::with(coordinator).await;
    run_machine(&f);
    let me = {
        let opened = f.lending.first(Duration::ZERO).unwrap();
        opened.replica.identity().profile.org_id.clone()
    };
    let (status, html) = f.page(&format!("/samenwerking/verwijderen?lid={me}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("kan zichzelf niet verwijderen"), "{html}");
    let response = f.post("/samenwerking/verwijderen", &[("lid", &me)]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (status, html) = f.page("/samenwerking/verwijderen?lid=onbekend").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Dit lid bestaat niet"));
    let (_, html) = f.page("/samenwerking").await;
    assert!(
        html.contains("Gemeente Havenstad (deze organisatie)"),
        "still a member"
    );
}

#[tokio::test]
async fn a_coordinator_publishes_a_definition_once() {
    let f = Fixture::with(coordinator).await;
    run_machine(&f);
    let response = f
        .post(
            "/samenwerking/publiceren",
            &[("werkwijze", "verbeteracties")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = f.page("/samenwerking?gedaan=gepubliceerd").await;
    assert!(html.contains("De werkwijze is gepubliceerd"), "{html}");
    assert!(html.contains("<td>gepubliceerd</td>"));
    let response = f
        .post(
            "/samenwerking/publiceren",
            &[("werkwijze", "verbeteracties")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = f
        .post("/samenwerking/publiceren", &[("werkwijze", "bestaat-niet")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// A replica that joined a partnership as partner (its join not confirmed by a relay yet).
fn partner(replica: &Replica<SledStore>) {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::create(&dir.path().join("a")).unwrap();
    let (_, a) = kompas_engine::composition::init_in(
        &data,
        Identity::new("Jeugdhulp Noord", OrgType::Aanbieder, [8; 32], [8; 16]),
    )
    .unwrap();
    let mut machine = Machine::create(
        &a,
        "Kompas Noord",
        vec![NO_RELAY.into()],
        T0,
        &mut OsEntropy,
    )
    .unwrap();
    let code = machine
        .invite(
            &a,
            Role::Partner,
            kompas_engine::Timestamp(i64::MAX / 2),
            T0,
            &mut OsEntropy,
        )
        .unwrap();
    Machine::join(replica, &code).unwrap();
}

#[tokio::test]
async fn a_partner_sees_the_partnership_and_every_change_is_refused_with_403() {
    let f = Fixture::with(partner).await;
    run_machine(&f);
    let (status, html) = f.page("/samenwerking").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("Uitnodiging maken"), "{html}");
    assert!(html.contains("Alleen een coördinator kan leden uitnodigen"));
    let refused: [(&str, &[(&str, &str)]); 6] = [
        (
            "/samenwerking/uitnodigen",
            &[("rol", "partner"), ("dagen", "7")],
        ),
        ("/samenwerking/intrekken", &[("sleutel", &"ab".repeat(32))]),
        ("/samenwerking/verwijderen", &[("lid", "abc")]),
        ("/samenwerking/bevestigen", &[("lid", "abc")]),
        ("/samenwerking/weigeren", &[("lid", "abc")]),
        (
            "/samenwerking/publiceren",
            &[("werkwijze", "verbeteracties")],
        ),
    ];
    for (path, fields) in refused {
        let response = f.post(path, fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        let html = text(response).await;
        assert!(
            html.contains("Alleen een coördinator van de samenwerking kan"),
            "{path}: {html}"
        );
    }
    let (status, _) = f.page("/samenwerking/verwijderen?lid=abc").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let csrf = f.csrf().await;
    let file = definition_file("klaar");
    let response = f
        .send(f.multipart(
            &format!("/samenwerking/publiceren-bestand?csrf={csrf}"),
            &[],
            ("bestand", "proef.yaml", file.as_bytes()),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "an upload too");
}

#[tokio::test]
async fn without_a_partnership_the_page_says_how_to_get_one() {
    let f = Fixture::new().await;
    run_machine(&f);
    let (status, html) = f.page("/samenwerking").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("hoort nog niet bij een samenwerking"));
    let response = f
        .post(
            "/samenwerking/uitnodigen",
            &[("rol", "partner"), ("dagen", "7")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// A definition file as a coordinator writes it; `target` names the phase `begin` leads to.
/// Hands the fixture's data directory to a real watching sync with the web app as its host, as
/// `kompas serve` runs it, for `limit`.
fn run_watching_sync(f: &Fixture, limit: Duration) {
    let opened = f.lending.first(Duration::from_secs(5)).unwrap();
    let global = crate::args::Global {
        data: opened.dir.root().to_path_buf(),
        json: false,
        workflows: None,
        quiet: true,
        verbose: false,
        samenwerking: None,
    };
    drop(f.lending.take(vec![opened]));
    let lending = f.lending.clone();
    let mut host = super::state::SyncHost::new(f.state.clone(), lending.clone());
    std::thread::spawn(move || {
        let watching = crate::commands::sync::Watching {
            limit: Some(limit),
            progress: false,
            without_workspace: true,
        };
        crate::commands::sync::watch_in(
            &global,
            watching,
            &crate::stop::Stop::default(),
            &lending,
            &mut host,
        )
    });
    assert!(
        f.lending.first(Duration::from_secs(20)).is_some(),
        "the sync thread opens the directory"
    );
}

#[tokio::test]
async fn a_definition_published_while_the_server_runs_counts_at_once() {
    let f = Fixture::with(coordinator).await;
    run_watching_sync(&f, Duration::from_secs(60));
    let (_, html) = f.page("/werkstromen").await;
    assert!(
        !html.contains("Proef met een eigen werkwijze"),
        "not yet in force"
    );
    let csrf = f.csrf().await;
    let path = format!("/samenwerking/publiceren-bestand?csrf={csrf}");
    let good = definition_file("klaar");
    let response = f
        .send(f.multipart(&path, &[], ("bestand", "proef.yaml", good.as_bytes())))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // The sync thread reads the definitions again at its next look (every half second).
    let started = std::time::Instant::now();
    loop {
        let (status, html) = f.page("/werkstromen").await;
        if status == StatusCode::OK && html.contains("Proef met een eigen werkwijze") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the published definition is in force without a restart: {html}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, html) = f.page("/samenwerking").await;
    let row = &html[html.find("Proef met een eigen werkwijze").expect("listed")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(!row.contains("zo meteen"), "{row}");
    let (status, _) = f.page("/documenten/nieuw?soort=proefstuk").await;
    assert_eq!(status, StatusCode::OK, "its kind can be made");
}

fn definition_file(target: &str) -> String {
    format!(
        "naam: proef\nversie: 1.0.0\ntitel: Proef met een eigen werkwijze\nsoorten:\n  - naam: proefstuk\n    label: Proefstuk\n    velden:\n      - {{naam: titel, type: tekst, verplicht: true}}\nfasen:\n  - naam: begin\n    titel: Begin\n    soorten: [proefstuk]\n    naar:\n      - fase: {target}\n  - naam: klaar\n    titel: Klaar\n    eind: true\n"
    )
}

#[tokio::test]
async fn a_coordinator_publishes_an_uploaded_definition_file_after_its_check() {
    let f = Fixture::with(coordinator).await;
    run_machine(&f);
    let (_, html) = f.page("/samenwerking").await;
    assert!(html.contains("action=\"/samenwerking/publiceren-bestand?csrf="));
    assert!(html.contains("enctype=\"multipart/form-data\""));
    let csrf = f.csrf().await;
    let path = format!("/samenwerking/publiceren-bestand?csrf={csrf}");
    let upload = |yaml: &[u8]| f.multipart(&path, &[], ("bestand", "C:\\werk\\proef.yaml", yaml));

    let bad = definition_file("klar");
    let response = f.send(upload(bad.as_bytes())).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(response).await;
    assert!(html.contains("proef.yaml is niet gepubliceerd"), "{html}");
    assert!(
        html.contains("regel 14:15</span>: overgang verwijst naar onbekende fase &#34;klar&#34;")
            || html.contains(
                "regel 14:15</span>: overgang verwijst naar onbekende fase &quot;klar&quot;"
            ),
        "{html}"
    );
    assert!(html.contains("Tip: bekende fasen: begin, klaar"), "{html}");
    assert!(html.contains("regel 15:11</span>: fase klaar is onbereikbaar vanaf begin"));
    assert!(
        !html.contains("C:\\werk"),
        "only the file's own name is shown"
    );
    let (_, html) = f.page("/samenwerking").await;
    assert!(
        !html.contains("Proef met een eigen werkwijze"),
        "nothing published"
    );

    let response = f.send(upload(b"naam: proef\n\xff\n")).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(response).await.contains("geen UTF-8-tekst"));
    let response = f.send(upload(b"")).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(response).await.contains("is leeg"));
    let response = f.send(upload(&vec![b'#'; 1024 * 1024 + 1])).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(text(response).await.contains("groter dan 1 MiB"));
    let response = f
        .send(f.multipart(
            "/samenwerking/publiceren-bestand",
            &[],
            ("bestand", "proef.yaml", definition_file("klaar").as_bytes()),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "no CSRF token");

    let good = definition_file("klaar");
    let response = f.send(upload(good.as_bytes())).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/samenwerking?gedaan=gepubliceerd"
    );
    let (_, html) = f.page("/samenwerking").await;
    let row = &html[html.find("Proef met een eigen werkwijze").expect("listed")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("gepubliceerd door Gemeente Havenstad"),
        "{row}"
    );
    assert!(row.contains("zo meteen in gebruik"), "{row}");
    let response = f.send(upload(good.as_bytes())).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "the same version is published once"
    );
}

/// A workspace named `name` coordinated by the fixture's organisation, with one document.
pub(super) fn workspace_with(replica: &Replica<SledStore>, name: &str, title: &str, seed: u8) {
    Machine::create(replica, name, vec![NO_RELAY.into()], T0, &mut OsEntropy).unwrap();
    let titel = kompas_engine::document::Assignment {
        field: "titel".into(),
        value: title.into(),
    };
    replica.create("ambitie", &[titel], T0, [seed; 8]).unwrap();
}

#[tokio::test]
async fn every_page_is_about_the_one_samenwerking_served() {
    let f = Fixture::with_two(
        |r| workspace_with(r, "Jeugd Havenstad", "Alleen voor de jeugdregio", 1),
        |r| workspace_with(r, "Scholen Havenstad", "Alleen voor de scholen", 2),
        "scholen havenstad",
    )
    .await;
    for path in ["/", "/documenten", "/samenwerking", "/werkstromen"] {
        let (status, html) = f.page(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
        assert!(
            html.contains("Samenwerking Scholen Havenstad"),
            "{path} names the samenwerking in its header: {html}"
        );
        assert!(
            !html.contains("Samenwerking Jeugd Havenstad"),
            "{path}: {html}"
        );
        assert!(
            !html.contains("Alleen voor de jeugdregio"),
            "{path}: {html}"
        );
    }
    let (_, documents) = f.page("/documenten").await;
    assert!(documents.contains("Alleen voor de scholen"), "{documents}");
}
