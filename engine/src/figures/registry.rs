//! The area registry: names of areas, the region each municipality belongs to, and its size
//! class (for peer groups, such as CBS's gemeentegrootteklasse).

use std::collections::BTreeMap;

use super::codec::{CodecError, clean_text};
use super::{AreaCode, AreaLevel};

/// The document kind that holds the area registry.
pub const REGISTRY_KIND: &str = crate::kinds::AREA_REGISTRY;

/// Why a label does not name one known area.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// No area of the registry has this name.
    #[error(
        "{0:?} is geen gebiedscode en geen naam uit de gebiedsindeling; lees de gebiedsindeling in met `kompas figures areas` (bijvoorbeeld CBS Gebieden in Nederland)"
    )]
    Unknown(String),
    /// More than one area has this name.
    #[error(
        "{0:?} is de naam van meer dan een gebied ({1}); gebruik de code, of een label als \"{0} (gemeente)\""
    )]
    Ambiguous(String, String),
}

/// What is known about one area.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AreaInfo {
    /// Its name, such as `Amsterdam`.
    pub name: String,
    /// The region it belongs to (for example its jeugdregio).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<AreaCode>,
    /// Its size class; municipalities of the same class form a peer group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_class: Option<String>,
    /// The province it lies in (PV + 2 digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<AreaCode>,
}

/// Names, regions and size classes by area code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AreaRegistry {
    areas: BTreeMap<AreaCode, AreaInfo>,
}

impl AreaRegistry {
    /// Adds or replaces what is known about an area.
    pub fn insert(&mut self, code: AreaCode, info: AreaInfo) {
        self.areas.insert(code, info);
    }

    /// What is known about an area.
    pub fn get(&self, code: AreaCode) -> Option<&AreaInfo> {
        self.areas.get(&code)
    }

    /// Every known area with what is known about it, sorted by code.
    pub fn iter(&self) -> impl Iterator<Item = (AreaCode, &AreaInfo)> {
        self.areas.iter().map(|(c, i)| (*c, i))
    }

    /// How many areas are known.
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// A name to show: `Amsterdam (GM0363)`, or the code alone.
    pub fn label(&self, code: AreaCode) -> String {
        match self.areas.get(&code) {
            Some(info) if !info.name.is_empty() => format!("{} ({code})", info.name),
            _ => code.to_string(),
        }
    }

    /// The region of an area (for districts and neighbourhoods: of their municipality).
    pub fn region_of(&self, code: AreaCode) -> Option<AreaCode> {
        self.areas.get(&code.municipality()?)?.region
    }

    /// The size class of a municipality.
    pub fn size_class_of(&self, code: AreaCode) -> Option<&str> {
        self.areas.get(&code.municipality()?)?.size_class.as_deref()
    }

    /// The municipalities of a region, sorted.
    pub fn members_of(&self, region: AreaCode) -> Vec<AreaCode> {
        self.areas
            .iter()
            .filter(|(_, info)| info.region == Some(region))
            .map(|(code, _)| *code)
            .collect()
    }

    /// The other municipalities in the same size class, sorted.
    pub fn peers_of(&self, code: AreaCode) -> Vec<AreaCode> {
        let Some(class) = self.size_class_of(code) else {
            return Vec::new();
        };
        self.areas
            .iter()
            .filter(|(c, info)| **c != code && info.size_class.as_deref() == Some(class))
            .map(|(c, _)| *c)
            .collect()
    }

    /// The code of the area a label names, as CBS writes labels in exports: `Groningen
    /// (gemeente)`, `Groningen (PV)`, `Nederland`, or a plain name when only one area has it.
    /// Names are compared without case and surrounding spaces.
    pub fn code_for_label(&self, label: &str) -> Result<AreaCode, LabelError> {
        let label = label.trim();
        let (name, level) = match label.rsplit_once(" (") {
            Some((name, rest)) if rest.ends_with(')') => {
                let hint = rest.trim_end_matches(')').trim().to_lowercase();
                let level = match hint.as_str() {
                    "gemeente" | "gem." | "gm" => Some(AreaLevel::Municipality),
                    "pv" | "provincie" => Some(AreaLevel::Region),
                    "wijk" => Some(AreaLevel::District),
                    "buurt" => Some(AreaLevel::Neighbourhood),
                    _ => None,
                };
                match level {
                    Some(level) => (name.trim(), Some(level)),
                    None => (label, None),
                }
            }
            _ => (label, None),
        };
        if name.eq_ignore_ascii_case("nederland") && level.is_none() {
            return AreaCode::parse("NL01").map_err(|_| LabelError::Unknown(name.into()));
        }
        let found: Vec<AreaCode> = self
            .areas
            .iter()
            .filter(|(code, info)| {
                info.name.eq_ignore_ascii_case(name) && level.is_none_or(|l| code.level() == l)
            })
            .map(|(code, _)| *code)
            .collect();
        match found[..] {
            [one] => Ok(one),
            [] => Err(LabelError::Unknown(super::excerpt::excerpt(name))),
            _ => Err(LabelError::Ambiguous(
                super::excerpt::excerpt(name),
                found
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
        }
    }

    /// Encodes the registry as lines `code  name  region  class  province`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = String::new();
        let code = |c: Option<AreaCode>| c.map(|r| r.to_string()).unwrap_or_default();
        for (area, info) in &self.areas {
            out.push_str(&format!(
                "{area}\t{}\t{}\t{}\t{}\n",
                clean_text(&info.name),
                code(info.region),
                clean_text(info.size_class.as_deref().unwrap_or("")),
                code(info.province),
            ));
        }
        out.into_bytes()
    }

    /// Adds the areas of an encoded batch; later batches replace earlier entries.
    pub fn merge_encoded(&mut self, bytes: &[u8]) -> Result<(), CodecError> {
        let text = std::str::from_utf8(bytes).map_err(|_| CodecError {
            line: 0,
            problem: "geen UTF-8".into(),
        })?;
        for (i, line) in text.lines().enumerate() {
            let bad = |problem: String| CodecError {
                line: i + 1,
                problem,
            };
            // Registries written before provinces were kept have 4 fields.
            let fields = line.split('\t').collect::<Vec<_>>();
            let (code, name, region, class, province) = match fields[..] {
                [code, name, region, class] => (code, name, region, class, ""),
                [code, name, region, class, province] => (code, name, region, class, province),
                _ => return Err(bad("verwacht 5 velden".into())),
            };
            let optional = |s: &str| {
                if s.is_empty() {
                    Ok(None)
                } else {
                    AreaCode::parse(s).map(Some).map_err(|e| bad(e.to_string()))
                }
            };
            let code = AreaCode::parse(code).map_err(|e| bad(e.to_string()))?;
            self.insert(
                code,
                AreaInfo {
                    name: name.to_string(),
                    region: optional(region)?,
                    size_class: (!class.is_empty()).then(|| class.to_string()),
                    province: optional(province)?,
                },
            );
        }
        Ok(())
    }
}
