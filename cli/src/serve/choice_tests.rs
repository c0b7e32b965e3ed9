//! Tests of the header's choice between the samenwerkingen of one data directory: each page
//! shows the chosen one's data only, the choice is a checked form like every other, and live
//! events and machine tasks reach the chosen samenwerking only.

use axum::http::{StatusCode, header};
use kompas_engine::sync::replication::Mode;

use super::partnership_tests::workspace_with;
use super::state::{CHOSEN, LiveEvent};
use super::tests::{Fixture, text};

/// Two samenwerkingen, the school one served first.
async fn two() -> Fixture {
    Fixture::with_two(
        |r| workspace_with(r, "Jeugd Havenstad", "Alleen voor de jeugdregio", 1),
        |r| workspace_with(r, "Scholen Havenstad", "Alleen voor de scholen", 2),
        "scholen havenstad",
    )
    .await
}

/// The store number the header's choice offers for `name`.
fn store_offered(html: &str, name: &str) -> String {
    let option = html[..html.find(&format!(">{name}</option>")).expect(name)]
        .rfind("<option value=\"")
        .expect("an option");
    let value = &html[option + "<option value=\"".len()..];
    value[..value.find('"').unwrap()].to_string()
}

#[tokio::test]
async fn the_header_switches_between_samenwerkingen_and_every_page_follows() {
    let f = two().await;
    let (_, html) = f.page("/documenten").await;
    assert!(html.contains("Samenwerking Scholen Havenstad"), "{html}");
    assert!(html.contains("action=\"/samenwerking/kiezen\""), "{html}");
    assert!(
        html.contains(" selected>Scholen Havenstad</option>"),
        "{html}"
    );
    let jeugd = store_offered(&html, "Jeugd Havenstad");

    let response = f
        .post(
            "/samenwerking/kiezen",
            &[("samenwerking", &jeugd), ("terug", "/documenten")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/documenten");
    for path in ["/", "/documenten", "/samenwerking", "/werkstromen"] {
        let (status, html) = f.page(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
        assert!(html.contains("Samenwerking Jeugd Havenstad"), "{path}");
        assert!(
            html.contains(" selected>Jeugd Havenstad</option>"),
            "{path}"
        );
        assert!(!html.contains("Alleen voor de scholen"), "{path}: {html}");
    }
    let (_, documents) = f.page("/documenten").await;
    assert!(
        documents.contains("Alleen voor de jeugdregio"),
        "{documents}"
    );

    // Back anywhere but the start of a section leads to the overview.
    let scholen = store_offered(&documents, "Scholen Havenstad");
    for elsewhere in ["https://example.org/", "//example.org", "/documenten/abc"] {
        let response = f
            .post(
                "/samenwerking/kiezen",
                &[("samenwerking", &scholen), ("terug", elsewhere)],
            )
            .await;
        assert_eq!(response.headers()[header::LOCATION], "/", "{elsewhere}");
    }
    let (_, documents) = f.page("/documenten").await;
    assert!(documents.contains("Alleen voor de scholen"), "{documents}");
}

#[tokio::test]
async fn a_choice_without_session_token_or_known_samenwerking_is_refused_in_dutch() {
    let f = two().await;
    let (_, html) = f.page("/").await;
    let jeugd = store_offered(&html, "Jeugd Havenstad");

    let mut request = f.form("/samenwerking/kiezen", &[("samenwerking", &jeugd)]);
    request.headers_mut().remove(header::COOKIE);
    assert_eq!(f.send(request).await.status(), StatusCode::UNAUTHORIZED);
    let request = f.form(
        "/samenwerking/kiezen",
        &[("csrf", "verkeerd"), ("samenwerking", &jeugd)],
    );
    let response = f.send(request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(text(response).await.contains("Het formulier is verlopen"));

    let response = f
        .post("/samenwerking/kiezen", &[("samenwerking", "99")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = text(response).await;
    assert!(
        body.contains("geen samenwerking nummer 99; wel: Jeugd Havenstad, Scholen Havenstad"),
        "{body}"
    );
    for bad in ["jeugd", "", "-1"] {
        let response = f
            .post("/samenwerking/kiezen", &[("samenwerking", bad)])
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(
            text(response)
                .await
                .contains("moet een samenwerking uit de keuzelijst noemen"),
            "{bad}"
        );
    }
    let response = f.post("/samenwerking/kiezen", &[]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Nothing of that changed the choice.
    let (_, html) = f.page("/").await;
    assert!(html.contains("Samenwerking Scholen Havenstad"), "{html}");
}

#[tokio::test]
async fn one_samenwerking_offers_no_choice() {
    let f = Fixture::with(|r| workspace_with(r, "Jeugd Havenstad", "Eén", 1)).await;
    let (_, html) = f.page("/").await;
    assert!(html.contains("Samenwerking Jeugd Havenstad"), "{html}");
    assert!(!html.contains("/samenwerking/kiezen"), "{html}");
}

#[tokio::test]
async fn live_events_and_machine_tasks_reach_the_chosen_samenwerking_only() {
    let f = two().await;
    let served = f.state.served();
    let [jeugd, scholen] = [served[0].store, served[1].store];
    let mut feed = CHOSEN.scope(scholen, async { f.state.subscribe() }).await;
    for (store, org) in [(jeugd, "Jeugd"), (scholen, "Scholen")] {
        f.state.changed(LiveEvent {
            store,
            doc: None,
            org: org.into(),
        });
    }
    let event = tokio::time::timeout(std::time::Duration::from_secs(5), feed.next())
        .await
        .expect("an event")
        .expect("open");
    assert_eq!(
        event.org, "Scholen",
        "the other samenwerking's event is skipped"
    );

    let state = f.state.clone();
    let asked = tokio::spawn(CHOSEN.scope(jeugd, async move {
        state.with_machine(|_, _| Ok(())).await.is_ok()
    }));
    let queued = |store| f.state.machine_work(store).take_all();
    let started = std::time::Instant::now();
    let task = loop {
        let mut tasks = queued(jeugd);
        if let Some(task) = tasks.pop() {
            break task;
        }
        assert!(started.elapsed().as_secs() < 5, "the task is queued");
        tokio::task::yield_now().await;
    };
    assert!(queued(scholen).is_empty(), "nothing for the other machine");
    let opened = f.lending.all(std::time::Duration::ZERO).unwrap();
    let mine = opened.iter().find(|o| o.store == jeugd).unwrap();
    let mut machine =
        kompas_engine::sync::replication::Machine::load(&mine.replica, Mode::Watch).unwrap();
    task(&mine.replica, machine.as_mut());
    assert!(asked.await.unwrap(), "the answer comes back");
}
