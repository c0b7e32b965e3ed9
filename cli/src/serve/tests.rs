//! Handler tests of the web app through `tower::ServiceExt::oneshot`: pages, forms, their
//! errors at the fields, and the refusals (wrong Host or Origin, no session, bad CSRF token).

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use kompas_engine::identity::{Identity, OrgType};
use kompas_engine::store::DataDir;
use kompas_engine::{Replica, Timestamp};
use tower::ServiceExt;

use super::{AppState, app};
use crate::context;
use crate::lending::Lending;

const PORT: u16 = 7420;
pub const HOST: &str = "127.0.0.1:7420";
const TOKEN: &str = "geheime-test-code";
pub const T0: Timestamp = Timestamp(1_760_000_000_000);

/// A data directory for Gemeente Havenstad, opened and lent to a web app.
pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub state: AppState,
    pub lending: Arc<Lending>,
    pub cookie: String,
}

impl Fixture {
    pub async fn new() -> Fixture {
        Self::with(|_| {}).await
    }

    /// A fixture whose replica `prepare` fills first.
    pub async fn with(prepare: impl FnOnce(&Replica<kompas_engine::SledStore>)) -> Fixture {
        Self::build(
            |data, identity| {
                let (_, replica) = kompas_engine::composition::init_in(data, identity).unwrap();
                prepare(&replica);
            },
            None,
        )
        .await
    }

    /// A fixture whose data directory has two samenwerkingen, each filled by its `prepare`,
    /// serving the one `wanted` names.
    pub async fn with_two(
        first: impl FnOnce(&Replica<kompas_engine::SledStore>),
        second: impl FnOnce(&Replica<kompas_engine::SledStore>),
        wanted: &str,
    ) -> Fixture {
        Self::build(
            |data, identity| {
                for prepare in [
                    Box::new(first) as Box<dyn FnOnce(&Replica<kompas_engine::SledStore>)>,
                    Box::new(second),
                ] {
                    let (_, replica) =
                        kompas_engine::composition::init_in(data, identity.clone()).unwrap();
                    prepare(&replica);
                }
            },
            Some(wanted),
        )
        .await
    }

    /// A fixture whose data directory `fill` sets up for the organisation's identity, serving
    /// the samenwerking `wanted` names (or the only one).
    async fn build(fill: impl FnOnce(&DataDir, Identity), wanted: Option<&str>) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        {
            let data = DataDir::create(&root).unwrap();
            let identity = Identity::new("Gemeente Havenstad", OrgType::Gemeente, [7; 32], [7; 16]);
            fill(&data, identity);
        }
        let data = context::lock(Path::new(&root)).unwrap();
        let preferred = wanted.map(|w| crate::partnerships::choose(&data, Some(w)).unwrap());
        let lending = Arc::new(Lending::default());
        lending.put(context::open_every(Arc::new(data), None, None).unwrap());
        let state = AppState::new(lending.clone(), TOKEN.into(), PORT, preferred);
        let mut fixture = Fixture {
            _dir: dir,
            state,
            lending,
            cookie: String::new(),
        };
        let response = fixture.send(get(&format!("/login?token={TOKEN}"))).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let set = response.headers()[header::SET_COOKIE].to_str().unwrap();
        fixture.cookie = set.split(';').next().unwrap().to_string();
        fixture
    }

    pub fn app(&self) -> Router {
        app(self.state.clone())
    }

    pub async fn send(&self, request: Request<Body>) -> Response<Body> {
        self.app().oneshot(request).await.unwrap()
    }

    /// A GET with the session cookie; returns status and body.
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let mut request = get(path);
        request
            .headers_mut()
            .insert(header::COOKIE, self.cookie.parse().unwrap());
        let response = self.send(request).await;
        let status = response.status();
        (status, text(response).await)
    }

    /// A form POST with the session cookie and the page's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response<Body> {
        let csrf = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.send(self.form(path, &all)).await
    }

    /// A form POST with exactly `fields` (no CSRF token added).
    pub fn form(&self, path: &str, fields: &[(&str, &str)]) -> Request<Body> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        Request::post(path)
            .header(header::HOST, HOST)
            .header(header::ORIGIN, format!("http://{HOST}"))
            .header(header::COOKIE, &self.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    }

    /// A multipart POST of `fields` and then `file` (field name, file name, bytes) to `path`,
    /// with the session cookie; the caller puts any CSRF token in `path`'s query.
    pub fn multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Request<Body> {
        const BOUNDARY: &str = "kompas-grens-7f3a";
        let mut body = String::new();
        for (name, value) in fields {
            body.push_str(&format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        let (field, file_name, bytes) = file;
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        ));
        let mut body = body.into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        Request::post(path)
            .header(header::HOST, HOST)
            .header(header::ORIGIN, format!("http://{HOST}"))
            .header(header::COOKIE, &self.cookie)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(body))
            .unwrap()
    }

    /// The CSRF token of this session, as its forms carry it.
    pub async fn csrf(&self) -> String {
        let (_, html) = self.page("/documenten/nieuw?soort=ambitie").await;
        let at = html
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token");
        let rest = &html[at + 19..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

pub fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, HOST)
        .body(Body::empty())
        .unwrap()
}

pub async fn text(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn the_overview_needs_a_session_and_shows_the_organisation() {
    let f = Fixture::new().await;
    let response = f.send(get("/")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/login");
    let (status, html) = f.page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<html lang=\"nl\">"));
    assert!(html.contains("Gemeente Havenstad"));
    assert!(html.contains("hoort nog niet bij een samenwerking"));
}

#[tokio::test]
async fn a_wrong_login_token_is_refused_in_dutch() {
    let f = Fixture::new().await;
    let response = f.send(get("/login?token=fout")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    assert!(text(response).await.contains("Deze inlogcode klopt niet"));
    let (status, html) = (f.send(get("/login")).await.status(), "");
    assert_eq!(status, StatusCode::OK, "{html}");
}

#[tokio::test]
async fn a_wrong_host_or_origin_is_refused() {
    let f = Fixture::new().await;
    let mut request = get("/");
    request
        .headers_mut()
        .insert(header::HOST, "evil.example:7420".parse().unwrap());
    request
        .headers_mut()
        .insert(header::COOKIE, f.cookie.parse().unwrap());
    let response = f.send(request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(text(response).await.contains("alleen bereikbaar"));

    let mut request = get(&format!("/login?token={TOKEN}"));
    request
        .headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    let response = f.send(request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get(header::SET_COOKIE).is_none());

    let mut request = f.form("/login", &[("token", TOKEN)]);
    request
        .headers_mut()
        .insert(header::ORIGIN, "http://127.0.0.1:9999".parse().unwrap());
    assert_eq!(f.send(request).await.status(), StatusCode::FORBIDDEN);

    let mut request = f.form("/login", &[("token", TOKEN)]);
    request.headers_mut().remove(header::ORIGIN);
    request
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(f.send(request).await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_response_carries_a_strict_policy_and_assets_are_embedded() {
    let f = Fixture::new().await;
    let response = f.send(get("/assets/kompas.css")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    assert!(
        text(response)
            .await
            .contains("--utrecht-document-font-family")
    );
    let (status, html) = f.page("/nergens").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Deze pagina bestaat niet"));
    let (status, _) = f.page("/assets/onbekend.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_post_without_session_or_with_a_bad_csrf_token_changes_nothing() {
    let f = Fixture::new().await;
    let mut request = f.form("/documenten/nieuw", &[("soort", "ambitie")]);
    request.headers_mut().remove(header::COOKIE);
    assert_eq!(f.send(request).await.status(), StatusCode::UNAUTHORIZED);
    let request = f.form("/documenten/nieuw", &[("soort", "ambitie")]);
    assert_eq!(f.send(request).await.status(), StatusCode::FORBIDDEN);
    let request = f.form(
        "/documenten/nieuw",
        &[("csrf", "verkeerd"), ("soort", "ambitie")],
    );
    let response = f.send(request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(text(response).await.contains("Het formulier is verlopen"));
    let opened = f.lending.first(std::time::Duration::ZERO).unwrap();
    assert!(opened.replica.list(None, true).unwrap().is_empty());
}

fn doc_id_from(response: &Response<Body>) -> String {
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    location
        .trim_start_matches("/documenten/")
        .trim_end_matches("?opgeslagen=1")
        .to_string()
}

#[tokio::test]
async fn a_document_is_made_listed_found_and_shown_from_its_form() {
    let f = Fixture::new().await;
    let (status, html) = f.page("/documenten/nieuw?soort=ambitie").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("for=\"veld-titel\""),
        "every control has a label"
    );
    let response = f
        .post(
            "/documenten/nieuw",
            &[
                ("soort", "ambitie"),
                ("veld.titel", "Meer kinderen sporten"),
                ("veld.toelichting", "Samen met de sportclubs."),
                ("actie", "opslaan"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = doc_id_from(&response);
    let (status, html) = f.page(&format!("/documenten/{id}?opgeslagen=1")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Meer kinderen sporten") && html.contains("Opgeslagen."));
    let (_, list) = f.page("/documenten").await;
    assert!(list.contains(&format!("/documenten/{id}")));
    let (_, found) = f.page("/documenten?q=sportclubs").await;
    assert!(found.contains("1 document(en) gevonden"));
    let (_, none) = f.page("/documenten?q=zwembad").await;
    assert!(none.contains("0 document(en) gevonden"));
    let (status, history) = f.page(&format!("/documenten/{id}/geschiedenis")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(history.contains("Gemeente Havenstad") && history.contains("aangemaakt"));
    let (status, html) = f.page("/documenten/onbekend").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Er is geen document"));
}

#[tokio::test]
async fn bad_input_is_shown_at_its_field_with_the_input_kept_and_nothing_saved() {
    let f = Fixture::new().await;
    let (_, form) = f.page("/documenten/nieuw?soort=verbeteractie").await;
    assert!(
        form.contains("name=\"veld.deadline\" type=\"date\""),
        "{form}"
    );
    let response = f
        .post(
            "/documenten/nieuw",
            &[
                ("soort", "verbeteractie"),
                ("veld.actie", "Wachtlijst korter"),
                ("veld.deadline", "morgen ergens"),
                ("actie", "opslaan"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(response).await;
    assert!(html.contains("id=\"veld-deadline-fout\""), "{html}");
    assert!(html.contains("value=\"morgen ergens\""));
    assert!(html.contains("value=\"Wachtlijst korter\""));
    let opened = f.lending.first(std::time::Duration::ZERO).unwrap();
    assert!(opened.replica.list(None, true).unwrap().is_empty());
}

#[tokio::test]
async fn a_save_from_an_older_form_merges_with_what_another_organisation_wrote() {
    let f = Fixture::new().await;
    let response = f
        .post(
            "/documenten/nieuw",
            &[
                ("soort", "ambitie"),
                ("veld.titel", "Sport"),
                ("veld.toelichting", "Kinderen sporten."),
            ],
        )
        .await;
    let id = doc_id_from(&response);
    let (_, form) = f.page(&format!("/documenten/{id}/bewerken")).await;
    let at = form.find("name=\"versie\" value=\"").unwrap() + 21;
    let heads = form[at..at + form[at..].find('"').unwrap()].to_string();
    // Another organisation's edit arrives while the form is open.
    let other = {
        let opened = f.lending.first(std::time::Duration::ZERO).unwrap();
        let exported = opened
            .replica
            .export(&kompas_engine::DocId::parse(&id).unwrap())
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::create(&dir.path().join("b")).unwrap();
        let (_, b) = kompas_engine::composition::init_in(
            &data,
            Identity::new("Jeugdhulp Noord", OrgType::Aanbieder, [8; 32], [8; 16]),
        )
        .unwrap();
        b.import(&exported).unwrap();
        let doc = kompas_engine::DocId::parse(&id).unwrap();
        b.update(
            &doc,
            &[kompas_engine::document::Assignment {
                field: "toelichting".into(),
                value: "Kinderen sporten elke week.".into(),
            }],
            T0,
        )
        .unwrap();
        b.export(&doc).unwrap()
    };
    {
        let opened = f.lending.first(std::time::Duration::ZERO).unwrap();
        opened.replica.import(&other).unwrap();
    }
    let response = f
        .post(
            &format!("/documenten/{id}/bewerken"),
            &[
                ("versie", &heads),
                ("veld.titel", "Sport"),
                ("veld.toelichting", "Meer kinderen sporten."),
                ("actie", "opslaan"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = text(response).await;
    assert!(
        html.contains("heeft Jeugdhulp Noord dit document ook gewijzigd"),
        "{html}"
    );
    assert!(html.contains("Meer kinderen sporten elke week."));
    // A version the replica never had is refused with a message, and nothing changes.
    let response = f
        .post(
            &format!("/documenten/{id}/bewerken"),
            &[("versie", &"ab".repeat(32)), ("veld.titel", "Anders")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let (_, page) = f.page(&format!("/documenten/{id}")).await;
    assert!(!page.contains("Anders"));
}

#[tokio::test]
async fn list_rows_are_added_and_removed_without_a_script() {
    let f = Fixture::new().await;
    let kind = {
        let opened = f.lending.first(std::time::Duration::ZERO).unwrap();
        opened
            .replica
            .catalog()
            .kinds()
            .find(|k| {
                k.fields
                    .iter()
                    .any(|d| matches!(d.ty, kompas_engine::FieldType::List { .. }))
            })
            .map(|k| {
                let list = k
                    .fields
                    .iter()
                    .find(|d| matches!(d.ty, kompas_engine::FieldType::List { .. }))
                    .unwrap();
                (k.name.clone(), list.name.clone())
            })
    };
    let Some((kind, list)) = kind else {
        panic!("the built-in kinds have a list field");
    };
    let action = format!("rij-erbij:{list}");
    let response = f
        .post(
            "/documenten/nieuw",
            &[
                ("soort", &kind),
                (&format!("rijen.{list}"), "1"),
                ("actie", &action),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = text(response).await;
    assert!(
        html.contains(&format!("name=\"rijen.{list}\" value=\"2\"")),
        "{html}"
    );
    assert!(html.contains("Rij 2 weghalen"));
}

#[tokio::test]
async fn a_flow_is_started_approved_and_a_refused_advance_says_why() {
    let f = Fixture::new().await;
    let response = f
        .post(
            "/werkstromen/nieuw",
            &[("werkwijze", "kwaliteitskompas"), ("titel", "Cyclus 2027")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let path = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let (status, html) = f.page(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Cyclus 2027") && html.contains("aria-current=\"step\""));
    let (_, overview) = f.page("/").await;
    assert!(overview.contains("Cyclus 2027"));

    let response = f
        .post(&path, &[("actie", "afwijzen"), ("reden", "  ")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(response).await.contains("id=\"reden-fout\""));

    let response = f.post(&path, &[("actie", "verder")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(response).await;
    assert!(html.contains("kan nog niet"), "{html}");
    assert!(
        html.contains("href=\"/documenten/nieuw?soort="),
        "a reason links to what fixes it"
    );

    let response = f.post(&path, &[("actie", "instemmen")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = f.page(&format!("{path}?gedaan=instemming")).await;
    assert!(html.contains("Je instemming is vastgelegd") && html.contains("stemt in"));

    let response = f.post(&path, &[("actie", "iets")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = f.page("/werkstromen/onbekend").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn open_pages_hear_of_a_change_as_a_server_sent_event() {
    let f = Fixture::new().await;
    let mut request = get("/live");
    request
        .headers_mut()
        .insert(header::COOKIE, f.cookie.parse().unwrap());
    let response = f.send(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    f.state.changed(super::state::LiveEvent {
        store: f.state.store_for(None),
        doc: Some("abc".into()),
        org: "Jeugdhulp Noord".into(),
    });
    let mut body = response.into_body();
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
        .await
        .expect("an event within 5 seconds")
        .unwrap()
        .unwrap();
    let data = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
    assert!(data.contains("event: wijziging"), "{data}");
    assert!(data.contains("\"org\":\"Jeugdhulp Noord\""), "{data}");
    // Without a session there is no stream.
    let response = f.send(get("/live")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}
