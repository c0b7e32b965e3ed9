//! Handler tests of the conversation about figures, the improvement actions, history in words
//! and dates in Dutch.

use axum::http::{StatusCode, header};
use kompas_engine::document::Assignment;
use kompas_engine::{DocId, Replica, SledStore};

use super::tests::{Fixture, T0, text};

fn set(field: &str, value: &str) -> Assignment {
    Assignment {
        field: field.into(),
        value: value.into(),
    }
}

/// The version a form carries.
fn heads_in(html: &str) -> String {
    let at = html.find("name=\"versie\" value=\"").expect("a version") + 21;
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn a_conversation_is_started_and_guided_step_by_step_with_the_four_questions() {
    let f = Fixture::new().await;
    let (status, html) = f.page("/gesprekken").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Er zijn nog geen gesprekken."));
    let response = f.post("/gesprekken/nieuw", &[("titel", "  ")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(response).await.contains("id=\"titel-fout\""));

    let response = f
        .post("/gesprekken/nieuw", &[("titel", "Schoolverzuim voorjaar")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let path = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let (status, html) = f.page(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("aria-current=\"step\"") && html.contains("Doel van het gesprek"));
    assert!(html.contains("Welke vraag willen we met dit gesprek beantwoorden?"));
    assert!(
        !html.contains("Herkennen we de cijfers?"),
        "one step at a time"
    );

    let (status, html) = f.page(&format!("{path}?stap=duiding")).await;
    assert_eq!(status, StatusCode::OK);
    for label in [
        "Herkennen we de cijfers?",
        "Hoe verklaren we ze?",
        "Wat vinden we ervan?",
        "Is verbeteren nodig, en hoe?",
    ] {
        assert!(html.contains(label), "{label}: {html}");
    }
    assert!(
        html.contains("Herkennen we deze cijfers uit de dagelijkse praktijk?"),
        "the question is the field's help"
    );
    assert!(
        !html.contains("name=\"veld.titel\""),
        "other steps' fields stay out"
    );

    let heads = heads_in(&html);
    let response = f
        .post(
            &format!("{path}?stap=duiding"),
            &[
                ("versie", &heads),
                ("veld.herkennen", "Ja, vooral in het voortgezet onderwijs."),
                ("actie", "verder"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION].to_str().unwrap(),
        format!("{path}?stap=volgende-stappen&opgeslagen=1")
    );
    let id = DocId::parse(path.trim_start_matches("/gesprekken/")).unwrap();
    {
        let opened = f.lending.first(std::time::Duration::ZERO).unwrap();
        let view = opened.replica.get(&id).unwrap();
        assert_eq!(
            view.fields["herkennen"].to_string(),
            "Ja, vooral in het voortgezet onderwijs."
        );
        assert_eq!(
            view.fields["titel"].to_string(),
            "Schoolverzuim voorjaar",
            "fields of other steps are left alone"
        );
    }

    // Bad input stays at its field, is kept, and nothing is saved.
    let (_, html) = f.page(&format!("{path}?stap=deelnemers")).await;
    let heads = heads_in(&html);
    let response = f
        .post(
            &format!("{path}?stap=deelnemers"),
            &[
                ("versie", &heads),
                ("veld.datum", "volgende week"),
                ("veld.plaats", "Stadhuis"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(response).await;
    assert!(html.contains("id=\"veld-datum-fout\""), "{html}");
    assert!(html.contains("value=\"volgende week\"") && html.contains("value=\"Stadhuis\""));
    {
        let opened = f.lending.first(std::time::Duration::ZERO).unwrap();
        assert!(
            !opened
                .replica
                .get(&id)
                .unwrap()
                .fields
                .contains_key("plaats")
        );
    }
    let (_, list) = f.page("/gesprekken").await;
    assert!(list.contains("Schoolverzuim voorjaar"));
    let (status, _) = f.page(&format!("{path}?stap=nergens")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = f.page("/gesprekken/onbekend").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn actions(replica: &Replica<SledStore>) {
    let action = |n: u8, fields: &[Assignment]| {
        replica.create("verbeteractie", fields, T0, [n; 8]).unwrap();
    };
    action(
        1,
        &[
            set("actie", "Spreekuur op school"),
            set("eigenaar", "Gemeente Havenstad"),
            set("deadline", "2099-06-30"),
        ],
    );
    action(
        2,
        &[
            set("actie", "Wachtlijst korter"),
            set("eigenaar", "Gemeente Havenstad"),
            set("deadline", "2020-01-15"),
            set("status", "bezig"),
        ],
    );
    action(
        3,
        &[
            set("actie", "Ouderavonden"),
            set("eigenaar", "Gemeente Havenstad"),
            set("deadline", "2020-03-01"),
            set("uitgevoerd", "ja"),
            set("resultaat-actie", "Veertig ouders kwamen."),
            set("situatie-verbeterd", "nog-niet-te-zeggen"),
        ],
    );
}

#[tokio::test]
async fn improvement_actions_are_listed_by_deadline_with_their_three_levels() {
    let f = Fixture::with(actions).await;
    let (status, html) = f.page("/verbeteracties").await;
    assert_eq!(status, StatusCode::OK);
    let first = html.find("Wachtlijst korter").unwrap();
    let second = html.find("Ouderavonden").unwrap();
    let third = html.find("Spreekuur op school").unwrap();
    assert!(first < second && second < third, "sorted by deadline");
    assert!(html.contains("15 januari 2020") && html.contains("30 juni 2099"));
    assert!(html.contains("1 actie is over de uiterste datum"), "{html}");
    assert_eq!(
        html.matches("label--te-laat").count(),
        1,
        "done ones are not late"
    );
    assert!(html.contains("Veertig ouders kwamen.") && html.contains("Nog niet te zeggen"));
    assert!(html.contains("nog niet beoordeeld"));
    assert!(
        html.contains("/bewerken\">Bijwerken"),
        "edited through the document form"
    );
}

#[tokio::test]
async fn history_names_the_words_added_and_removed_and_dates_are_dutch() {
    let f = Fixture::new().await;
    let response = f
        .post(
            "/documenten/nieuw",
            &[
                ("soort", "ambitie"),
                ("veld.titel", "Sport"),
                ("veld.toelichting", "Kinderen sporten soms bij de club."),
            ],
        )
        .await;
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    let id = location
        .trim_start_matches("/documenten/")
        .trim_end_matches("?opgeslagen=1")
        .to_string();
    {
        let opened = f.lending.first(std::time::Duration::ZERO).unwrap();
        opened
            .replica
            .update(
                &DocId::parse(&id).unwrap(),
                &[set(
                    "toelichting",
                    "Kinderen sporten elke week bij de club.",
                )],
                // 26 January 2027, 11:26 UTC.
                kompas_engine::Timestamp(1_800_962_760_000),
            )
            .unwrap();
    }
    let (status, html) = f.page(&format!("/documenten/{id}/geschiedenis")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<ins>elke week</ins>"), "{html}");
    assert!(html.contains("<del>soms</del>"));
    assert!(!html.contains("tekens)"), "words, not characters");
    assert!(html.contains("26 januari 2027, 12.26 uur"));

    // A flow's deadline reads as a Dutch date too.
    let response = f
        .post(
            "/werkstromen/nieuw",
            &[("werkwijze", "gesprek-over-cijfers"), ("titel", "Gesprek")],
        )
        .await;
    let flow = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let (_, html) = f.page(&flow).await;
    let at = html.find("Termijn: ").expect("a deadline") + 9;
    let shown = &html[at..at + html[at..].find('<').unwrap()];
    assert!(shown.ends_with(" uur "), "{shown}");
    assert!(!shown.contains('-'), "{shown}");
}

#[tokio::test]
async fn choices_are_shown_by_their_label_and_stored_by_their_name() {
    let f = Fixture::with(actions).await;
    let (_, list) = f.page("/verbeteracties").await;
    let before = &list[..list.find("\">Ouderavonden</a>").expect("listed")];
    let id = &before[before.rfind("/documenten/").unwrap() + 12..];
    let (status, html) = f.page(&format!("/documenten/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Nog niet te zeggen"), "{html}");
    assert!(!html.contains("nog-niet-te-zeggen"), "{html}");
    let (_, html) = f.page(&format!("/documenten/{id}/bewerken")).await;
    assert!(
        html.contains("value=\"nog-niet-te-zeggen\" checked"),
        "the form sends the name: {html}"
    );
    assert!(html.contains(">Nog niet te zeggen</label>"), "{html}");
    let (_, html) = f.page(&format!("/documenten/{id}/geschiedenis")).await;
    assert!(
        html.contains("Is de situatie verbeterd? = Nog niet te zeggen"),
        "{html}"
    );
    assert!(!html.contains("nog-niet-te-zeggen"), "{html}");
    let (_, html) = f.page("/verbeteracties").await;
    assert!(html.contains("<td>Bezig</td>") && html.contains("<td>Gepland</td>"));
    assert!(!html.contains("nog-niet-te-zeggen"));
}
