//! A logged-in browser session with a running `kompas serve`, for end-to-end tests that read
//! pages and send forms over real HTTP without a browser: the login link's session cookie, the
//! page's CSRF token, and the Origin header the server checks on every form.

use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::serve::Serve;

type Http = Client<HttpConnector, Full<bytes::Bytes>>;

/// One answer of the server.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// Where a redirect points, if it is one.
    pub location: Option<String>,
    /// The body, as text.
    pub body: String,
}

/// A session with one server, on a runtime of its own so tests stay plain functions.
pub struct WebSession {
    runtime: tokio::runtime::Runtime,
    http: Http,
    base: String,
    cookie: String,
}

impl WebSession {
    /// Follows `serve`'s login link and keeps the session cookie it sets.
    pub fn login(serve: &Serve) -> WebSession {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the HTTP client");
        let http: Http = {
            let _entered = runtime.enter();
            Client::builder(TokioExecutor::new()).build_http()
        };
        let mut session = WebSession {
            runtime,
            http,
            base: serve.base.clone(),
            cookie: String::new(),
        };
        let (answer, cookie) = session.send(http::Method::GET, &serve.login, None);
        assert_eq!(answer.status, 303, "the login link starts a session");
        session.cookie = cookie.expect("the login sets a session cookie");
        session
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Answer {
        let url = format!("{}{path}", self.base);
        self.send(http::Method::GET, &url, None).0
    }

    /// Sends a form to `path` as the page at `form_page` would: with that page's CSRF token
    /// and this server's origin.
    pub fn post_form(&self, form_page: &str, path: &str, fields: &[(&str, &str)]) -> Answer {
        let page = self.get(form_page);
        assert_eq!(page.status, 200, "{form_page}: {}", page.body);
        let csrf = csrf_token(&page.body)
            .unwrap_or_else(|| panic!("{form_page} has no form with a CSRF token"));
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        body.append_pair("csrf", &csrf);
        for (name, value) in fields {
            body.append_pair(name, value);
        }
        let url = format!("{}{path}", self.base);
        self.send(http::Method::POST, &url, Some(body.finish())).0
    }

    fn send(
        &self,
        method: http::Method,
        url: &str,
        form: Option<String>,
    ) -> (Answer, Option<String>) {
        let mut request = http::Request::builder()
            .method(method)
            .uri(url)
            .header("cookie", &self.cookie);
        if form.is_some() {
            request = request
                .header("origin", &self.base)
                .header("content-type", "application/x-www-form-urlencoded");
        }
        let request = request
            .body(Full::new(bytes::Bytes::from(form.unwrap_or_default())))
            .expect("a request");
        self.runtime.block_on(async {
            let response = self.http.request(request).await.expect("an answer");
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let location = header("location");
            let cookie =
                header("set-cookie").map(|v| v.split(';').next().unwrap_or_default().to_string());
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .expect("a body")
                .to_bytes();
            let body = String::from_utf8_lossy(&body).into_owned();
            (
                Answer {
                    status,
                    location,
                    body,
                },
                cookie,
            )
        })
    }
}

/// The value of the first hidden `csrf` field in a page.
fn csrf_token(html: &str) -> Option<String> {
    let field = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let end = html[field..].find('"')? + field;
    Some(html[field..end].to_string())
}
