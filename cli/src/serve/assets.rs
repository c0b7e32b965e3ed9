//! The static files of the web app (style sheet, script, icon), embedded in the binary so the
//! app works offline and loads nothing from elsewhere.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::AppError;

/// Every embedded file: its name, its media type and its bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "kompas.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/kompas.css"),
    ),
    (
        "kompas.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/kompas.js"),
    ),
    (
        "kompas.svg",
        "image/svg+xml",
        include_bytes!("../../assets/kompas.svg"),
    ),
];

/// `GET /assets/NAME`.
pub async fn asset(Path(name): Path<String>) -> Result<Response, AppError> {
    let (_, media, bytes) = FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| AppError::NotFound(format!("Er is geen bestand {name}.")))?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(response)
}
