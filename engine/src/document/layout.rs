//! Reading and writing the kompas layout of an Automerge document.

use std::collections::BTreeMap;

use automerge::{
    AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable,
};

use super::{DocId, FieldValue};
use crate::catalog::{FieldDef, FieldType};
use crate::time::Timestamp;

/// The layout version written into every document.
pub const LAYOUT_VERSION: i64 = 1;

/// A read-only, typed view of a document at its current heads.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DocView {
    /// The document's id.
    pub id: DocId,
    /// Its kind.
    pub kind: String,
    /// When it was created.
    pub created: Timestamp,
    /// When it was deleted, if it is a tombstone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Timestamp>,
    /// Field values by name; empty fields are absent.
    pub fields: BTreeMap<String, FieldValue>,
    /// The Automerge heads this view was read at (hex hashes, sorted).
    pub heads: Vec<String>,
}

/// Why a document does not have the kompas layout.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayoutError {
    /// A required root key is missing or has the wrong type.
    #[error("het document mist het onderdeel {0:?} of het heeft het verkeerde type")]
    Missing(&'static str),
    /// The id stored in the document is invalid.
    #[error(transparent)]
    BadId(#[from] super::DocIdError),
    /// A field holds something kompas cannot represent.
    #[error("veld {0:?} heeft een waarde die kompas niet kent")]
    BadField(String),
    /// Automerge refused an operation.
    #[error("automerge: {0}")]
    Automerge(String),
}

impl From<automerge::AutomergeError> for LayoutError {
    fn from(e: automerge::AutomergeError) -> Self {
        LayoutError::Automerge(e.to_string())
    }
}

/// Writes the root keys of a new document.
pub fn write_header(
    doc: &mut AutoCommit,
    id: &DocId,
    kind: &str,
    created: Timestamp,
) -> Result<(), LayoutError> {
    doc.put(ROOT, "kompas", LAYOUT_VERSION)?;
    doc.put(ROOT, "id", id.as_str())?;
    doc.put(ROOT, "kind", kind)?;
    doc.put(ROOT, "created", ScalarValue::Timestamp(created.millis()))?;
    doc.put_object(ROOT, "fields", ObjType::Map)?;
    Ok(())
}

/// Marks the document deleted; its content and history stay.
pub fn write_tombstone(doc: &mut AutoCommit, when: Timestamp) -> Result<(), LayoutError> {
    doc.put(ROOT, "deleted", ScalarValue::Timestamp(when.millis()))?;
    Ok(())
}

/// Removes the tombstone: the document is live again, with the content it had.
pub fn clear_tombstone(doc: &mut AutoCommit) -> Result<(), LayoutError> {
    doc.delete(ROOT, "deleted")?;
    Ok(())
}

fn fields_obj(doc: &AutoCommit) -> Result<ObjId, LayoutError> {
    match doc.get(ROOT, "fields")? {
        Some((Value::Object(ObjType::Map), id)) => Ok(id),
        _ => Err(LayoutError::Missing("fields")),
    }
}

/// Sets (or with `None`, clears) one field. Long texts are edited in place so that concurrent
/// edits by different partners merge instead of overwriting each other.
pub fn write_field(
    doc: &mut AutoCommit,
    def: &FieldDef,
    value: Option<&FieldValue>,
) -> Result<(), LayoutError> {
    let fields = fields_obj(doc)?;
    let Some(value) = value else {
        if doc.get(&fields, def.name.as_str())?.is_some() {
            doc.delete(&fields, def.name.as_str())?;
        }
        return Ok(());
    };
    match (&def.ty, value) {
        (FieldType::LongText, FieldValue::Text(text)) => {
            let existing = match doc.get(&fields, def.name.as_str())? {
                Some((Value::Object(ObjType::Text), id)) => id,
                _ => doc.put_object(&fields, def.name.as_str(), ObjType::Text)?,
            };
            doc.update_text(&existing, text)?;
        }
        (_, FieldValue::List(items)) => {
            let list = doc.put_object(&fields, def.name.as_str(), ObjType::List)?;
            for (i, item) in items.iter().enumerate() {
                let map = doc.insert_object(&list, i, ObjType::Map)?;
                for (key, v) in item {
                    put_scalar(doc, &map, key, v)?;
                }
            }
        }
        (_, v) => put_scalar(doc, &fields, &def.name, v)?,
    }
    Ok(())
}

fn put_scalar(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: &FieldValue,
) -> Result<(), LayoutError> {
    match value {
        FieldValue::Text(s) => doc.put(obj, key, s.as_str())?,
        FieldValue::Number(n) => doc.put(obj, key, *n)?,
        FieldValue::List(_) => return Err(LayoutError::BadField(key.to_string())),
    }
    Ok(())
}

/// Reads the typed view of a document.
pub fn read_view(doc: &mut AutoCommit) -> Result<DocView, LayoutError> {
    let id = match doc.get(ROOT, "id")? {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(s) => DocId::parse(s)?,
            _ => return Err(LayoutError::Missing("id")),
        },
        _ => return Err(LayoutError::Missing("id")),
    };
    let kind = root_str(doc, "kind")?.ok_or(LayoutError::Missing("kind"))?;
    let created = root_time(doc, "created")?.ok_or(LayoutError::Missing("created"))?;
    let deleted = root_time(doc, "deleted")?;
    let fields_id = fields_obj(doc)?;
    let mut fields = BTreeMap::new();
    for key in doc.keys(&fields_id).collect::<Vec<_>>() {
        let value = read_value(doc, &fields_id, &key)?;
        if let Some(v) = value {
            fields.insert(key, v);
        }
    }
    let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    heads.sort();
    Ok(DocView {
        id,
        kind,
        created,
        deleted,
        fields,
        heads,
    })
}

fn root_str(doc: &AutoCommit, key: &'static str) -> Result<Option<String>, LayoutError> {
    match doc.get(ROOT, key)? {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(s) => Ok(Some(s.to_string())),
            _ => Err(LayoutError::Missing(key)),
        },
        None => Ok(None),
        _ => Err(LayoutError::Missing(key)),
    }
}

fn root_time(doc: &AutoCommit, key: &'static str) -> Result<Option<Timestamp>, LayoutError> {
    match doc.get(ROOT, key)? {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Timestamp(t) | ScalarValue::Int(t) => Ok(Some(Timestamp(*t))),
            _ => Err(LayoutError::Missing(key)),
        },
        None => Ok(None),
        _ => Err(LayoutError::Missing(key)),
    }
}

fn read_value(doc: &AutoCommit, obj: &ObjId, key: &str) -> Result<Option<FieldValue>, LayoutError> {
    let bad = || LayoutError::BadField(key.to_string());
    Ok(match doc.get(obj, key)? {
        None => None,
        Some((Value::Scalar(s), _)) => Some(match s.as_ref() {
            ScalarValue::Str(s) => FieldValue::Text(s.to_string()),
            ScalarValue::F64(n) => FieldValue::Number(*n),
            ScalarValue::Int(n) => FieldValue::Number(*n as f64),
            ScalarValue::Uint(n) => FieldValue::Number(*n as f64),
            _ => return Err(bad()),
        }),
        Some((Value::Object(ObjType::Text), id)) => Some(FieldValue::Text(doc.text(&id)?)),
        Some((Value::Object(ObjType::List), list)) => {
            let mut items = Vec::new();
            for i in 0..doc.length(&list) {
                let Some((Value::Object(ObjType::Map), map)) = doc.get(&list, i)? else {
                    return Err(bad());
                };
                let mut item = BTreeMap::new();
                for k in doc.keys(&map).collect::<Vec<_>>() {
                    if let Some(v) = read_value(doc, &map, &k)? {
                        item.insert(k, v);
                    }
                }
                items.push(item);
            }
            Some(FieldValue::List(items))
        }
        Some(_) => return Err(bad()),
    })
}
