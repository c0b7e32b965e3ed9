//! The area registry: names of areas, the region each municipality belongs to, and its size
//! class (for peer groups, such as CBS's gemeentegrootteklasse).

use std::collections::BTreeMap;

use super::AreaCode;
use super::codec::{CodecError, clean_text};

/// The document kind that holds the area registry.
pub const REGISTRY_KIND: &str = "gebiedsindeling";

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

    /// Encodes the registry as lines `code  name  region  class`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = String::new();
        for (code, info) in &self.areas {
            let region = info.region.map(|r| r.to_string()).unwrap_or_default();
            out.push_str(&format!(
                "{code}\t{}\t{region}\t{}\n",
                clean_text(&info.name),
                clean_text(info.size_class.as_deref().unwrap_or(""))
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
            let [code, name, region, class] = line.split('\t').collect::<Vec<_>>()[..] else {
                return Err(bad("verwacht 4 velden".into()));
            };
            let code = AreaCode::parse(code).map_err(|e| bad(e.to_string()))?;
            let region = if region.is_empty() {
                None
            } else {
                Some(AreaCode::parse(region).map_err(|e| bad(e.to_string()))?)
            };
            self.insert(
                code,
                AreaInfo {
                    name: name.to_string(),
                    region,
                    size_class: (!class.is_empty()).then(|| class.to_string()),
                },
            );
        }
        Ok(())
    }
}
