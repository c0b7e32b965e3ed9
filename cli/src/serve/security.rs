//! Keeping other local users and web pages out: the Host and Origin checks (against DNS
//! rebinding and cross-site requests), the login token that becomes a session cookie, the CSRF
//! token every form carries, and the security headers on every response.

use std::sync::Arc;

use askama::Template;
use axum::body::{Body, to_bytes};
use axum::extract::{Form, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use subtle::ConstantTimeEq;

use super::error::AppError;
use super::state::{AppState, CHOSEN, Session};
use crate::context::random;

/// The largest form body accepted (uploads have their own limit).
pub const FORM_LIMIT: usize = 2 * 1024 * 1024;
/// The largest upload accepted.
pub const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

/// The policy every page is sent with: nothing from elsewhere, no inline scripts or styles.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
    font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Random bytes as lowercase hex: tokens and session ids.
pub fn fresh_token() -> String {
    random::<32>().iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks Host and Origin, the session and, for anything that changes data, the CSRF token;
/// adds the security headers to whatever comes back.
/// The handler runs inside [`CHOSEN`], the samenwerking its session chose.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = match check(&state, request).await {
        Ok(request) => {
            let chosen = request
                .extensions()
                .get::<Session>()
                .and_then(|session| session.chosen);
            let store = state.store_for(chosen);
            CHOSEN.scope(store, next.run(request)).await
        }
        Err(refusal) => refusal,
    };
    let headers = response.headers_mut();
    let set = |h: &mut HeaderMap, name, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::CONTENT_SECURITY_POLICY, CSP);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "same-origin");
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}

async fn check(state: &AppState, request: Request) -> Result<Request, Response> {
    let forbidden = |why: &str| AppError::Forbidden(why.to_string()).into_response();
    let allowed = allowed_hosts(state.port());
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    if !host.is_some_and(|h| allowed.iter().any(|a| a == h)) {
        return Err(forbidden(
            "Deze webapp is alleen bereikbaar via het adres dat `kompas serve` liet zien (127.0.0.1).",
        ));
    }
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .ok()
            .is_some_and(|o| allowed.iter().any(|a| o == format!("http://{a}")));
        if !ok {
            return Err(forbidden(
                "Dit verzoek komt van een andere website en is daarom geweigerd.",
            ));
        }
    }
    let changes = !matches!(*request.method(), Method::GET | Method::HEAD);
    if changes
        && let Some(site) = request.headers().get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return Err(forbidden(
            "Dit verzoek komt van een andere website en is daarom geweigerd.",
        ));
    }
    let path = request.uri().path();
    if path == "/login" || path.starts_with("/assets/") {
        return Ok(request);
    }
    let session = session_id(state, request.headers()).and_then(|id| state.session(&id));
    let Some(session) = session else {
        return Err(if changes {
            AppError::NoSession.into_response()
        } else {
            Redirect::to("/login").into_response()
        });
    };
    let mut request = request;
    if changes {
        request = check_csrf(request, &session.csrf).await?;
    }
    // In the request, the session names the samenwerking it is about and what else it may
    // choose.
    let served = state.served_when_open().await;
    let session = Session {
        chosen: Some(state.store_for(session.chosen)),
        offered: if served.len() > 1 {
            served
        } else {
            Arc::new([])
        },
        ..session
    };
    request.extensions_mut().insert(session);
    Ok(request)
}

/// The Host values this server answers to.
fn allowed_hosts(port: u16) -> [String; 2] {
    [format!("127.0.0.1:{port}"), format!("localhost:{port}")]
}

pub fn session_id(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let name = state.cookie_name();
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A form's CSRF token is its field `csrf`; an upload (multipart) carries it in the query.
async fn check_csrf(request: Request, expected: &str) -> Result<Request, Response> {
    let refused = || {
        AppError::Forbidden(
            "Het formulier is verlopen of kwam niet van deze webapp. Laad de pagina opnieuw en probeer het nog eens."
                .into(),
        )
        .into_response()
    };
    let matches = |given: &str| bool::from(given.as_bytes().ct_eq(expected.as_bytes()));
    let in_query = request
        .uri()
        .query()
        .and_then(|q| form_field(q.as_bytes(), "csrf"));
    if let Some(given) = in_query {
        return if matches(&given) {
            Ok(request)
        } else {
            Err(refused())
        };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refused());
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| AppError::Refused("Het formulier is te groot.".into()).into_response())?;
    match form_field(&bytes, "csrf") {
        Some(given) if matches(&given) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => Err(refused()),
    }
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    wrong: bool,
}

#[derive(serde::Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// `GET /login[?token=...]`: with the right token, starts a session; otherwise the form.
pub async fn login_page(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, AppError> {
    match query.token {
        Some(token) => Ok(log_in(&state, &token)),
        None => Ok(Html(LoginPage { wrong: false }.render()?).into_response()),
    }
}

#[derive(serde::Deserialize)]
pub struct TokenForm {
    token: String,
}

/// `POST /login`: the pasted token.
pub async fn login_form(State(state): State<AppState>, Form(form): Form<TokenForm>) -> Response {
    log_in(&state, form.token.trim())
}

fn log_in(state: &AppState, token: &str) -> Response {
    if !bool::from(token.as_bytes().ct_eq(state.token().as_bytes())) {
        return match (LoginPage { wrong: true }).render() {
            Ok(html) => (axum::http::StatusCode::UNAUTHORIZED, Html(html)).into_response(),
            Err(e) => AppError::from(e).into_response(),
        };
    }
    let id = fresh_token();
    state.new_session(id.clone(), fresh_token());
    let cookie = format!(
        "{}={id}; Path=/; HttpOnly; SameSite=Strict",
        state.cookie_name()
    );
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
