//! Reading an area registry from CSV: code, name, region and size class per area.

use std::io::Read;

use super::reader::open_csv;
use super::text::next_record;
use super::{ImportError, RowError};
use crate::figures::codec::clean_text;
use crate::figures::{AreaCode, AreaInfo, AreaRegistry};

const CODE: &[&str] = &[
    "code",
    "codering",
    "gebied",
    "gebiedscode",
    "regios",
    "gemeentecode",
];
// In CBS key figures by district, `Wijken en buurten` holds the names and `Codering` the codes.
const NAME: &[&str] = &[
    "naam",
    "wijkenenbuurten",
    "gebiedsnaam",
    "gemeentenaam",
    "gemeente",
];
const REGION: &[&str] = &["jeugdregio", "regio", "regiocode", "jeugdzorgregio"];
const CLASS: &[&str] = &["grootteklasse", "gemeentegrootte", "gemeentegrootteklasse"];

/// Reads areas; every bad row is reported, and then nothing is read.
pub fn read_areas<R: Read>(input: R) -> Result<AreaRegistry, ImportError> {
    let (mut reader, titles) = open_csv(input)?;
    let normals: Vec<String> = titles
        .iter()
        .map(|t| {
            t.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect()
        })
        .collect();
    let find = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| normals.iter().position(|t| t == n))
    };
    let code = find(CODE).ok_or_else(|| {
        ImportError::Header(format!(
            "geen kolom met gebiedscodes (zoals \"code\"); kolommen: {}",
            titles.join(", ")
        ))
    })?;
    let (name, region, class) = (find(NAME), find(REGION), find(CLASS));
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
                    problem: e.to_string(),
                });
            }
        }
        line = record.position().map_or(line + 1, |p| p.line());
        let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("").trim();
        let bad = |i: usize, problem: String| RowError {
            row: line,
            column: Some(titles[i].clone()),
            problem,
        };
        let parsed = AreaCode::parse(cell(Some(code)))
            .map_err(|e| bad(code, e.to_string()))
            .and_then(|c| {
                let r = match (region, cell(region)) {
                    (Some(i), text) if !text.is_empty() => {
                        Some(AreaCode::parse(text).map_err(|e| bad(i, e.to_string()))?)
                    }
                    _ => None,
                };
                Ok((c, r))
            });
        match parsed {
            Ok((c, r)) => registry.insert(
                c,
                AreaInfo {
                    name: clean_text(cell(name)),
                    region: r,
                    size_class: Some(clean_text(cell(class))).filter(|s| !s.is_empty()),
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
