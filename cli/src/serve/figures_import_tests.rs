//! Handler tests of importing figures by upload: the preview stores nothing, bad rows are shown
//! with row and column, an ambiguous file asks for a choice, the confirmation stores; and the
//! refusals (no session, missing or wrong CSRF token, a file too large, a bad field, a token
//! that is unknown or from another session).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use super::super::tests::{Fixture, get, text};
use super::super::uploads::FILE_LIMIT;

const BAD_ROWS: &str =
    "RegioS;Perioden;Waarde\nGM9901;2023JJ00;120\nGM99;2023JJ00;80\nGM9902;2023;veel\n";
const GOOD: &str = "RegioS;Perioden;Waarde\nGM9901;2022JJ00;110\nGM9901;2023JJ00;120\n";
const TWO_VALUES: &str = "Perioden;Regio's;Jongeren met jeugdhulp (%);Jeugdhulptrajecten per 1 000 jongeren\n2023;GM9901;9,8;121,5\n";

/// A multipart upload of `csv` for `indicator`, with `csrf` in the query.
fn upload(f: &Fixture, csrf: Option<&str>, indicator: &str, csv: &[u8]) -> Request<Body> {
    let path = match csrf {
        Some(c) => format!("/inlezen?csrf={c}"),
        None => "/inlezen".to_string(),
    };
    f.multipart(
        &path,
        &[("indicator", indicator)],
        ("bestand", "cijfers.csv", csv),
    )
}

/// Uploads `csv` with the right token; returns status, page and the upload's token.
async fn preview(f: &Fixture, indicator: &str, csv: &str) -> (StatusCode, String, String) {
    let csrf = f.csrf().await;
    let response = f
        .send(upload(f, Some(&csrf), indicator, csv.as_bytes()))
        .await;
    let status = response.status();
    let html = text(response).await;
    let token = html
        .find("name=\"token\" value=\"")
        .map(|at| {
            let rest = &html[at + 20..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .unwrap_or_default();
    (status, html, token)
}

async fn stored(f: &Fixture, indicator: &str) -> bool {
    f.page(&format!("/cijfers/{indicator}")).await.0 == StatusCode::OK
}

#[tokio::test]
async fn the_upload_form_carries_the_csrf_token_in_its_address() {
    let f = Fixture::new().await;
    let (status, html) = f.page("/inlezen?indicator=jeugd").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = f.csrf().await;
    assert!(html.contains(&format!("action=\"/inlezen?csrf={csrf}\"")));
    assert!(html.contains("enctype=\"multipart/form-data\""));
    assert!(html.contains("value=\"jeugd\""));
}

#[tokio::test]
async fn bad_rows_are_listed_with_row_and_column_and_nothing_is_stored() {
    let f = Fixture::new().await;
    let (status, html, token) = preview(&f, "test", BAD_ROWS).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Er is nog niets opgeslagen"));
    assert!(html.contains("Foute rijen (2)"), "{html}");
    assert!(
        html.contains("<td class=\"getal\">3</td><td>RegioS</td>"),
        "{html}"
    );
    assert!(
        html.contains("<td class=\"getal\">4</td><td>Waarde</td>"),
        "{html}"
    );
    assert!(html.contains("<th scope=\"row\">RegioS</th><td>gebied</td>"));
    assert!(!token.is_empty());
    assert!(!stored(&f, "test").await, "a preview stores nothing");

    // Confirming without skipping the bad rows is refused at the box, and stores nothing.
    let response = f
        .post(
            "/inlezen/bevestigen",
            &[("token", &token), ("indicator", "test")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(response).await;
    assert!(html.contains("id=\"overslaan-fout\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"overslaan-fout\""));
    assert!(!stored(&f, "test").await);

    // With the bad rows skipped, the good one is stored and the indicator page shows it.
    let response = f
        .post(
            "/inlezen/bevestigen",
            &[
                ("token", &token),
                ("indicator", "test"),
                ("overslaan", "ja"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/cijfers/test?ingelezen=1"
    );
    let (status, html) = f.page("/cijfers/test?ingelezen=1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Opgeslagen: 1 waarnemingen ingelezen"),
        "{html}"
    );
    assert!(html.contains(">120<"), "{html}");

    // The token is used up.
    let response = f
        .post(
            "/inlezen/bevestigen",
            &[
                ("token", &token),
                ("indicator", "test"),
                ("overslaan", "ja"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(text(response).await.contains("niet meer bewaard"));
}

#[tokio::test]
async fn a_good_file_is_stored_only_when_confirmed() {
    let f = Fixture::new().await;
    let (status, html, token) = preview(&f, "jeugd", GOOD).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("2 waarnemingen kunnen worden ingelezen"),
        "{html}"
    );
    assert!(html.contains("2022 tot en met 2023"), "{html}");
    assert!(html.contains("(nieuw)"));
    assert!(!html.contains("Foute rijen"));
    assert!(!stored(&f, "jeugd").await);
    let response = f
        .post(
            "/inlezen/bevestigen",
            &[
                ("token", &token),
                ("indicator", "jeugd"),
                ("titel", "Jongeren in beeld"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = f.page("/cijfers/jeugd").await;
    assert!(html.contains(">110<") && html.contains(">120<"), "{html}");
    assert!(html.contains("<h1>Jongeren in beeld</h1>"), "{html}");
}

#[tokio::test]
async fn an_ambiguous_file_asks_which_column_holds_the_value() {
    let f = Fixture::new().await;
    let (status, html, token) = preview(&f, "jh", TWO_VALUES).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("Meer dan een kolom kan de waarde zijn"),
        "{html}"
    );
    assert!(html.contains("<details open>"));
    assert!(html.contains("<option value=\"Jongeren met jeugdhulp (%)\">"));
    assert!(!html.contains("/inlezen/bevestigen"), "no confirmation yet");
    let response = f
        .post(
            "/inlezen/voorbeeld",
            &[
                ("token", &token),
                ("indicator", "jh"),
                ("waarde", "Jongeren met jeugdhulp (%)"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = text(response).await;
    assert!(html.contains("<td>waarde</td>"), "{html}");
    assert!(html.contains("<option value=\"Jongeren met jeugdhulp (%)\" selected>"));
    let response = f
        .post(
            "/inlezen/bevestigen",
            &[
                ("token", &token),
                ("indicator", "jh"),
                ("waarde", "Jongeren met jeugdhulp (%)"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = f.page("/cijfers/jh").await;
    assert!(html.contains(">9,8<"), "{html}");

    // Every column as an indicator of its own.
    let (_, _, token) = preview(&f, "jh", TWO_VALUES).await;
    let response = f
        .post(
            "/inlezen/bevestigen",
            &[("token", &token), ("indicator", "jh"), ("waarde", "*alle*")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/cijfers");
    let (_, html) = f.page("/cijfers").await;
    assert!(
        html.contains("/cijfers/jh-jeugdhulptrajecten-per-1-000-jongeren"),
        "{html}"
    );
}

#[tokio::test]
async fn uploads_without_session_or_token_are_refused() {
    let f = Fixture::new().await;
    let response = f.send(upload(&f, None, "x", GOOD.as_bytes())).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = f.send(upload(&f, Some("fout"), "x", GOOD.as_bytes())).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let csrf = f.csrf().await;
    let mut request = upload(&f, Some(&csrf), "x", GOOD.as_bytes());
    request.headers_mut().remove(header::COOKIE);
    assert_eq!(f.send(request).await.status(), StatusCode::UNAUTHORIZED);
    let response = f
        .send(f.form(
            "/inlezen/bevestigen",
            &[("token", "x"), ("indicator", "x"), ("overslaan", "ja")],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(!stored(&f, "x").await);
}

#[tokio::test]
async fn a_file_too_large_or_a_bad_field_is_refused_in_dutch() {
    let f = Fixture::new().await;
    let csrf = f.csrf().await;
    let mut big = GOOD.as_bytes().to_vec();
    big.resize(FILE_LIMIT + 1, b'\n');
    let response = f.send(upload(&f, Some(&csrf), "groot", &big)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let html = text(response).await;
    assert!(html.contains("Het bestand is groter dan 16 MB"), "{html}");

    let response = f
        .send(upload(&f, Some(&csrf), "Geen Naam!", GOOD.as_bytes()))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(response).await;
    assert!(html.contains("id=\"indicator-fout\""), "{html}");
    assert!(html.contains("value=\"Geen Naam!\""));

    let response = f.send(upload(&f, Some(&csrf), "leeg", b"")).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(response).await.contains("Het gekozen bestand is leeg"));

    let (status, html, _) = preview(&f, "kop", "alleen;titels\n").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("geen kolom voor het gebied"), "{html}");
    assert!(html.contains("id=\"kies-gebied\""));
}

#[tokio::test]
async fn an_upload_belongs_to_its_session() {
    let f = Fixture::new().await;
    let (_, _, token) = preview(&f, "jeugd", GOOD).await;
    let mut other = Fixture::new().await;
    other.state = f.state.clone();
    let login = other.send(get("/login?token=geheime-test-code")).await;
    let set = login.headers()[header::SET_COOKIE].to_str().unwrap();
    other.cookie = set.split(';').next().unwrap().to_string();
    let response = other
        .post(
            "/inlezen/bevestigen",
            &[("token", &token), ("indicator", "jeugd")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(!stored(&f, "jeugd").await);
}
