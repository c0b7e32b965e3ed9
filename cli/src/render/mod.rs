//! Renderings of the engine's reports: HTML pages (askama), the PDF (krilla), iCalendar and
//! the minutes of a conversation. Every rendering passes the privacy guard before it is written.

pub mod html;
pub mod ics;
pub mod pdf;
pub mod view;

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;

/// Writes `bytes` to `path` whole or not at all: into a temporary file beside it, flushed to
/// disk, then renamed over the target.
pub fn write_output(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.kompas-tmp"));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("kan {} niet schrijven", path.display()))
}
