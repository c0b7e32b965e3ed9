//! Uploaded files kept on the server between the preview and the confirmation: each under a
//! random token, for the session that uploaded it only, for a bounded time, and all of them
//! together within a bounded number of bytes (the oldest go first when a new one needs room).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;

use super::error::AppError;
use super::security::fresh_token;

/// How long an upload waits for its confirmation.
pub const LIFETIME: Duration = Duration::from_secs(30 * 60);
/// The largest file accepted.
pub const FILE_LIMIT: usize = 16 * 1024 * 1024;
/// How many bytes all kept uploads may hold together.
pub const TOTAL_LIMIT: usize = 4 * FILE_LIMIT;
/// How many uploads are kept at most.
pub const MAX_KEPT: usize = 16;

/// Reads the file in an upload's `field` when it holds at most `limit` bytes; past the limit
/// the rest is read and dropped (within the body limit of every request), so the browser gets
/// an answer instead of a reset, and `None` says the file was too large.
pub async fn read_limited(
    field: &mut Field<'_>,
    limit: usize,
) -> Result<Option<Vec<u8>>, MultipartError> {
    let mut bytes = Some(Vec::new());
    while let Some(chunk) = field.chunk().await? {
        if let Some(b) = &mut bytes {
            if b.len() + chunk.len() > limit {
                bytes = None;
            } else {
                b.extend_from_slice(&chunk);
            }
        }
    }
    Ok(bytes)
}

/// A multipart body that could not be read, as the page says it; `too_large` is the refusal
/// of a body over the limit.
pub fn multipart_error(e: MultipartError, too_large: fn() -> AppError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        AppError::Refused(
            "Het formulier kwam niet goed aan. Kies het bestand opnieuw en probeer het nog eens."
                .into(),
        )
    }
}

/// One kept upload.
#[derive(Clone)]
pub struct Upload {
    /// The file's name as the browser gave it.
    pub name: String,
    /// Its bytes.
    pub bytes: Arc<Vec<u8>>,
    session: String,
    at: Instant,
}

struct Kept {
    token: String,
    upload: Upload,
}

/// The uploads kept by one server.
#[derive(Default)]
pub struct Uploads {
    kept: Mutex<Vec<Kept>>,
}

impl Uploads {
    /// Keeps `bytes` (at most [`FILE_LIMIT`]) for `session` and returns its token, making room
    /// by forgetting expired and then the oldest uploads.
    pub fn keep(&self, session: &str, name: String, bytes: Vec<u8>) -> String {
        self.keep_at(session, name, bytes, Instant::now())
    }

    fn keep_at(&self, session: &str, name: String, bytes: Vec<u8>, at: Instant) -> String {
        debug_assert!(bytes.len() <= FILE_LIMIT);
        let mut kept = self.lock();
        kept.retain(|k| at.saturating_duration_since(k.upload.at) < LIFETIME);
        while !kept.is_empty()
            && (kept.len() >= MAX_KEPT
                || kept.iter().map(|k| k.upload.bytes.len()).sum::<usize>() + bytes.len()
                    > TOTAL_LIMIT)
        {
            kept.remove(0);
        }
        let token = fresh_token();
        kept.push(Kept {
            token: token.clone(),
            upload: Upload {
                name,
                bytes: Arc::new(bytes),
                session: session.to_string(),
                at,
            },
        });
        token
    }

    /// The upload under `token`, if it is still kept and belongs to `session`.
    pub fn get(&self, session: &str, token: &str) -> Option<Upload> {
        self.get_at(session, token, Instant::now())
    }

    fn get_at(&self, session: &str, token: &str, at: Instant) -> Option<Upload> {
        self.lock()
            .iter()
            .find(|k| k.token == token && k.upload.session == session)
            .filter(|k| at.saturating_duration_since(k.upload.at) < LIFETIME)
            .map(|k| k.upload.clone())
    }

    /// Forgets the upload under `token` (after it was imported).
    pub fn forget(&self, token: &str) {
        self.lock().retain(|k| k.token != token);
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Kept>> {
        // A list changed by single pushes and removals: a panic elsewhere leaves it whole.
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_is_only_for_its_session_and_expires() {
        let uploads = Uploads::default();
        let t0 = Instant::now();
        let token = uploads.keep_at("a", "x.csv".into(), b"1;2".to_vec(), t0);
        assert!(uploads.get_at("a", &token, t0).is_some());
        assert!(uploads.get_at("b", &token, t0).is_none());
        assert!(uploads.get_at("a", "other", t0).is_none());
        assert!(uploads.get_at("a", &token, t0 + LIFETIME).is_none());
        uploads.forget(&token);
        assert!(uploads.get_at("a", &token, t0).is_none());
    }

    #[test]
    fn the_oldest_uploads_make_room_within_the_bounds() {
        let uploads = Uploads::default();
        let t0 = Instant::now();
        let tokens: Vec<String> = (0..5)
            .map(|i| uploads.keep_at("a", format!("{i}.csv"), vec![0; FILE_LIMIT], t0))
            .collect();
        assert!(uploads.get_at("a", &tokens[0], t0).is_none());
        for t in &tokens[1..] {
            assert!(uploads.get_at("a", t, t0).is_some());
        }
        let small: Vec<String> = (0..MAX_KEPT)
            .map(|i| uploads.keep_at("a", format!("{i}.csv"), vec![1], t0))
            .collect();
        assert_eq!(uploads.lock().len(), MAX_KEPT);
        assert!(small.iter().all(|t| uploads.get_at("a", t, t0).is_some()));
    }
}
