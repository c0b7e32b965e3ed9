//! Append-only lists of text entries at a document's root, as workflow facts and published
//! definitions are kept: each entry is one signed JSON value, entries are only ever added, so
//! concurrent additions from several replicas all survive a merge.

use automerge::{
    AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable,
};

use super::LayoutError;

/// Creates the empty list at root key `key`.
pub fn create_entries(doc: &mut AutoCommit, key: &'static str) -> Result<(), LayoutError> {
    doc.put_object(ROOT, key, ObjType::List)?;
    Ok(())
}

/// Appends one entry to the list at root key `key`.
pub fn append_entry(
    doc: &mut AutoCommit,
    key: &'static str,
    entry: &str,
) -> Result<(), LayoutError> {
    let list = list_obj(doc, key)?;
    let end = doc.length(&list);
    doc.insert(&list, end, entry)?;
    Ok(())
}

/// Every entry of the list at root key `key`, in list order: the text, or the position of an
/// element that is not text.
pub fn read_entries(
    doc: &AutoCommit,
    key: &'static str,
) -> Result<Vec<Result<String, usize>>, LayoutError> {
    let list = list_obj(doc, key)?;
    let mut out = Vec::new();
    for i in 0..doc.length(&list) {
        let entry = match doc.get(&list, i)? {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Str(s) => Ok(s.to_string()),
                _ => Err(i),
            },
            _ => Err(i),
        };
        out.push(entry);
    }
    Ok(out)
}

fn list_obj(doc: &AutoCommit, key: &'static str) -> Result<ObjId, LayoutError> {
    match doc.get(ROOT, key)? {
        Some((Value::Object(ObjType::List), id)) => Ok(id),
        _ => Err(LayoutError::Missing(key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_appends_all_survive_a_merge() {
        let mut a = AutoCommit::new();
        create_entries(&mut a, "lijst").unwrap();
        append_entry(&mut a, "lijst", "eerste").unwrap();
        let mut b = a.fork();
        append_entry(&mut a, "lijst", "van a").unwrap();
        append_entry(&mut b, "lijst", "van b").unwrap();
        a.merge(&mut b).unwrap();
        let mut got: Vec<String> = read_entries(&a, "lijst")
            .unwrap()
            .into_iter()
            .map(|e| e.unwrap())
            .collect();
        assert_eq!(got.remove(0), "eerste");
        got.sort();
        assert_eq!(got, ["van a", "van b"]);
    }

    #[test]
    fn a_missing_list_or_a_non_text_element_is_reported() {
        let mut doc = AutoCommit::new();
        assert_eq!(
            read_entries(&doc, "lijst"),
            Err(LayoutError::Missing("lijst"))
        );
        create_entries(&mut doc, "lijst").unwrap();
        let list = list_obj(&doc, "lijst").unwrap();
        doc.insert(&list, 0, 42_i64).unwrap();
        append_entry(&mut doc, "lijst", "tekst").unwrap();
        assert_eq!(
            read_entries(&doc, "lijst").unwrap(),
            vec![Err(0), Ok("tekst".to_string())]
        );
    }
}
