//! Long values read from a file (`@bestand.txt`) or standard input (`@-`) instead of the
//! command line, which cannot carry a text of megabytes.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;

use crate::exit::Refused;

/// The most one value may hold when read from a file or standard input.
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Standard input can be read only once per command.
static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

/// The value `raw` stands for: `@-` reads standard input, `@PATH` reads a file, `@@...` is a
/// literal value starting with `@`, anything else is itself. A value read is taken without
/// its trailing line ends, as the shell's `$(cat ...)` would. `what` names the value in errors.
pub fn resolve(raw: &str, what: &str) -> anyhow::Result<String> {
    let Some(source) = raw.strip_prefix('@') else {
        return Ok(raw.to_string());
    };
    if source.starts_with('@') {
        return Ok(source.to_string());
    }
    let bytes = if source == "-" {
        if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
            return Err(Refused::input(format!(
                "{what}: standaardinvoer (@-) kan maar voor één waarde gebruikt worden"
            )));
        }
        read_bounded(std::io::stdin().lock(), what, "standaardinvoer")?
    } else {
        let path = Path::new(source);
        let file = std::fs::File::open(path)
            .with_context(|| format!("{what}: kan bestand {} niet lezen", path.display()))?;
        read_bounded(file, what, &path.display().to_string())?
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| Refused::input(format!("{what}: {source} is geen tekst (UTF-8)")))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

/// Reads at most `MAX_BYTES` from `reader`, refusing more.
fn read_bounded(reader: impl Read, what: &str, from: &str) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{what}: kan {from} niet lezen"))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(Refused::input(format!(
            "{what}: {from} is groter dan {} MiB",
            MAX_BYTES / (1024 * 1024)
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_from_files_or_stand_for_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tekst.txt");
        std::fs::write(&file, "regel 1\nregel 2\n\n").unwrap();
        let at = format!("@{}", file.display());
        assert_eq!(resolve(&at, "veld").unwrap(), "regel 1\nregel 2");
        assert_eq!(resolve("gewoon", "veld").unwrap(), "gewoon");
        assert_eq!(resolve("@@handle", "veld").unwrap(), "@handle");
        let missing = resolve("@/bestaat/niet.txt", "veld toelichting").unwrap_err();
        assert_eq!(crate::exit::classify(&missing), crate::exit::NOT_FOUND);
        assert_eq!(
            crate::failure::describe(&missing),
            "veld toelichting: kan bestand /bestaat/niet.txt niet lezen: bestaat niet"
        );
        std::fs::write(&file, vec![b'a'; (MAX_BYTES + 1) as usize]).unwrap();
        let big = resolve(&at, "veld").unwrap_err();
        assert_eq!(crate::exit::classify(&big), crate::exit::INVALID_INPUT);
    }
}
