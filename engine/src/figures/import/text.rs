//! Reading records as text: UTF-8, or else Windows-1252, which is what Dutch spreadsheet
//! programs write when they save "CSV (gescheiden door lijstscheidingsteken)".

use std::io::Read;

use super::bounded::Bounded;

/// The characters Windows-1252 puts at 0x80 to 0x9F (where Latin-1 has control codes).
const HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

/// Decodes bytes as Windows-1252.
pub fn windows_1252(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9f => HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

/// Reads the next record into `record`, decoding each field as UTF-8 when it is valid UTF-8 and
/// as Windows-1252 otherwise. `Ok(false)` at the end. A record that is all UTF-8 (the usual
/// case) is read into `record`'s own buffer and only validated, not copied; `raw` is the
/// reusable buffer for the others.
pub fn next_record<R: Read>(
    reader: &mut csv::Reader<Bounded<R>>,
    raw: &mut csv::ByteRecord,
    record: &mut csv::StringRecord,
) -> csv::Result<bool> {
    let mut bytes = std::mem::take(record).into_byte_record();
    if !reader.read_byte_record(&mut bytes)? {
        return Ok(false);
    }
    reader.get_ref().record_read(reader.position().byte());
    match csv::StringRecord::from_byte_record(bytes) {
        Ok(text) => *record = text,
        Err(e) => {
            *raw = e.into_byte_record();
            for field in raw.iter() {
                match std::str::from_utf8(field) {
                    Ok(text) => record.push_field(text),
                    Err(_) => record.push_field(&windows_1252(field)),
                }
            }
            record.set_position(raw.position().cloned());
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_is_decoded() {
        assert_eq!(
            windows_1252(b"S\xfadwest-Frysl\xe2n \x80 5"),
            "Súdwest-Fryslân € 5"
        );
    }
}
