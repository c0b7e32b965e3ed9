//! Reading an area registry from CSV: code, name, region and size class per area.

use std::io::Read;

use super::reader::open_csv;
use super::text::next_record;
use super::{ImportError, RowError};
use crate::figures::codec::clean_text;
use crate::figures::excerpt::excerpt;
use crate::figures::{AreaCode, AreaInfo, AreaRegistry};

// CBS Gebieden in Nederland first: `Codes en namen van gemeenten/Code (code)`, since its
// `Regio's` column may hold names.
const CODE: &[&str] = &[
    "codesennamenvangemeenten/code",
    "gemeenten/code",
    "code",
    "codering",
    "gebied",
    "gebiedscode",
    "regios",
    "gemeentecode",
];
// In CBS key figures by district, `Wijken en buurten` holds the names and `Codering` the codes.
const NAME: &[&str] = &[
    "codesennamenvangemeenten/naam",
    "gemeenten/naam",
    "naam",
    "wijkenenbuurten",
    "gebiedsnaam",
    "gemeentenaam",
    "gemeente",
];
const REGION: &[&str] = &[
    "jeugdregio",
    "regio",
    "regiocode",
    "jeugdzorgregio",
    "jeugdzorgregios/code",
    "jeugdregios/code",
];
const CLASS: &[&str] = &[
    "grootteklasse",
    "gemeentegrootte",
    "gemeentegrootteklasse",
    "gemeentegrootte/code",
    "gemeentegrootteklasse/code",
];
const PROVINCE: &[&str] = &["provincie", "provinciecode", "provincies/code"];

/// A title in lowercase letters and digits; a CBS title of a group and a field
/// (`Jeugdzorgregio's/Code (code)`) keeps its slash and loses its unit: `jeugdzorgregios/code`.
fn normal(title: &str) -> String {
    let letters = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    match title.split_once('/') {
        Some((group, field)) => {
            let field = field.split_once('(').map_or(field, |(f, _)| f);
            format!("{}/{}", letters(group), letters(field))
        }
        None => letters(title),
    }
}

/// Reads areas; every bad row is reported, and then nothing is read. Besides a plain list
/// (`Code;Naam;Jeugdregio;Grootteklasse`), CBS's table Gebieden in Nederland is understood:
/// municipality code and name, youth-care region, size class and province.
pub fn read_areas<R: Read>(input: R) -> Result<AreaRegistry, ImportError> {
    let (mut reader, titles) = open_csv(input)?;
    let normals: Vec<String> = titles.iter().map(|t| normal(t)).collect();
    let find = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| normals.iter().position(|t| t == n))
    };
    let code = find(CODE).ok_or_else(|| {
        ImportError::Header(format!(
            "geen kolom met gebiedscodes (zoals \"code\"); kolommen: {}",
            excerpt(&titles.join(", "))
        ))
    })?;
    let (name, region, class, province) = (find(NAME), find(REGION), find(CLASS), find(PROVINCE));
    let mut registry = AreaRegistry::default();
    let mut errors = Vec::new();
    let (mut raw, mut record) = (csv::ByteRecord::new(), csv::StringRecord::new());
    let mut line = 1;
    loop {
        match next_record(&mut reader, &mut raw, &mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(ImportError::Csv {
                    row: line + 1,
                    problem: excerpt(&e.to_string()),
                });
            }
        }
        line = record.position().map_or(line + 1, |p| p.line());
        let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("").trim();
        let bad = |i: usize, problem: String| RowError {
            row: line,
            column: Some(excerpt(titles[i].trim())),
            problem,
        };
        let optional = |column: Option<usize>| match (column, cell(column)) {
            (Some(i), text) if !text.is_empty() => AreaCode::parse(text)
                .map(Some)
                .map_err(|e| bad(i, e.to_string())),
            _ => Ok(None),
        };
        let parsed = AreaCode::parse(cell(Some(code)))
            .map_err(|e| bad(code, e.to_string()))
            .and_then(|c| Ok((c, optional(region)?, optional(province)?)));
        match parsed {
            Ok((c, region, province)) => registry.insert(
                c,
                AreaInfo {
                    name: clean_text(cell(name)),
                    region,
                    size_class: Some(clean_text(cell(class))).filter(|s| !s.is_empty()),
                    province,
                },
            ),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(registry)
    } else {
        Err(ImportError::BadRows(errors))
    }
}
