//! Splitting Automerge storage bytes (a saved document, change chunks, or several of them one
//! after another) into chunks at their headers, without decoding what they hold.
//!
//! The Automerge crate keeps its chunk parser private, so the few header fields needed to find
//! chunk boundaries (magic bytes, checksum, type, LEB128 length) are read here.

/// The bytes every Automerge storage chunk starts with.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Magic bytes, checksum and chunk type, before the length.
const FIXED_HEADER: usize = 9;

/// A document chunk: a whole saved document.
pub(super) const DOCUMENT: u8 = 0;
/// One change.
pub(super) const CHANGE: u8 = 1;
/// One change whose body is deflated.
pub(super) const COMPRESSED_CHANGE: u8 = 2;

/// One storage chunk.
pub(super) struct Chunk<'a> {
    /// The chunk type (`DOCUMENT`, `CHANGE`, `COMPRESSED_CHANGE`, or another Automerge knows).
    pub kind: u8,
    /// The chunk's data after its header.
    pub body: &'a [u8],
    /// The whole chunk, header included.
    pub whole: &'a [u8],
}

/// Splits concatenated storage chunks at their headers.
pub(super) fn split(data: &[u8]) -> Result<Vec<Chunk<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest.len() < FIXED_HEADER || rest[..4] != MAGIC {
            return Err("geen Automerge-gegevens".into());
        }
        let (len, used) = uleb128(&rest[FIXED_HEADER..])?;
        let start = FIXED_HEADER + used;
        let end = start
            .checked_add(len)
            .filter(|end| *end <= rest.len())
            .ok_or("afgekapte Automerge-gegevens")?;
        out.push(Chunk {
            kind: rest[8],
            body: &rest[start..end],
            whole: &rest[..end],
        });
        rest = &rest[end..];
    }
    Ok(out)
}

/// Decodes concatenated change chunks into changes, each once: what the authorship check reads
/// and what is applied. Call it after [`super::measure`], which keeps a bundle past the budget
/// from being decoded at all.
pub fn parse_changes(data: &[u8]) -> Result<Vec<automerge::Change>, String> {
    split(data)?
        .into_iter()
        .map(|chunk| {
            automerge::Change::try_from(chunk.whole)
                .map_err(|e| format!("onleesbare wijziging: {e}"))
        })
        .collect()
}

/// An unsigned LEB128 number and how many bytes it took.
fn uleb128(bytes: &[u8]) -> Result<(usize, usize), String> {
    let mut value: u64 = 0;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            let value = usize::try_from(value).map_err(|_| "te groot Automerge-stuk")?;
            return Ok((value, i + 1));
        }
    }
    Err("onleesbare lengte in Automerge-gegevens".into())
}
