//! Who wrote the changes of a bundle, as their notes say. A replica
//! sends only its own changes, each signed bundle by its real sender; a change whose note names
//! another organisation would put that organisation's name in everybody's history, so such a
//! bundle is refused.

use automerge::{AutoCommit, ChangeHash, ObjId as ExId, ReadDoc, Value};

use super::ChangeNote;

/// Checks that every change whose note names an organisation names `org_id`. Changes without
/// a note (made by other tools) pass.
pub fn check_change_notes(changes: &[automerge::Change], org_id: &str) -> Result<(), String> {
    for change in changes {
        if let Some(note) = ChangeNote::from_message(change.message())
            && note.org_id != org_id
        {
            return Err(format!(
                "een wijziging zegt van organisatie {} ({}) te zijn, maar organisatie {org_id} stuurde haar",
                note.org_id, note.org
            ));
        }
    }
    Ok(())
}

/// The organisation whose change wrote the op `op` (as its note says; `None` for a change
/// without a note), and that change's dependencies; `None` when no change of the document holds
/// the op.
pub fn author_of_op(doc: &mut AutoCommit, op: &ExId) -> Option<(Option<String>, Vec<ChangeHash>)> {
    let ExId::Id(counter, actor, _) = op else {
        return None;
    };
    let meta = doc
        .get_changes_meta(&[])
        .into_iter()
        .find(|m| m.actor.as_ref() == actor && m.start_op <= *counter && *counter <= m.max_op)?;
    let author = meta
        .message
        .as_deref()
        .and_then(|m| ChangeNote::from_message(Some(m)))
        .map(|n| n.org_id);
    Some((author, meta.deps.clone()))
}

/// The value of `key` in `obj` as the changes of organisations `allowed` accepts left it: the
/// current value when an allowed organisation wrote it, else the value just before that change,
/// and so on back through history. A change's author is the organisation its note names (a
/// replica checks each note against the signed sender of the bundle that brought it); a change
/// without a note has no known author and is never allowed. `None` when no allowed organisation
/// left a value (or removed it last).
pub fn allowed_value(
    doc: &mut AutoCommit,
    obj: &ExId,
    key: &str,
    allowed: &dyn Fn(&str) -> bool,
) -> Option<Value<'static>> {
    let mut heads = doc.get_heads();
    loop {
        let (value, op) = doc.get_at(obj, key, &heads).ok()??;
        let value = value.into_owned();
        let (author, deps) = author_of_op(doc, &op)?;
        if author.as_deref().is_some_and(allowed) {
            return Some(value);
        }
        if deps.is_empty() {
            return None;
        }
        // Each step goes to strictly earlier history, so this ends.
        heads = deps;
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::{CommitOptions, Transactable};
    use automerge::{AutoCommit, ROOT};

    use super::*;

    fn change_with_note(doc: &mut AutoCommit, org_id: &str, value: &str) -> Vec<u8> {
        doc.put(ROOT, "titel", value).unwrap();
        let note = ChangeNote {
            org_id: org_id.into(),
            org: format!("Organisatie {org_id}"),
            action: "bijgewerkt".into(),
        };
        doc.commit_with(CommitOptions::default().with_message(note.to_message()));
        let heads = doc.get_heads();
        let mut change = doc.get_change_by_hash(&heads[0]).unwrap().clone();
        change.bytes().into_owned()
    }

    #[test]
    fn a_value_counts_as_its_last_allowed_author_left_it() {
        let mut doc = AutoCommit::new();
        change_with_note(&mut doc, "coord", "tien");
        change_with_note(&mut doc, "partner", "acht");
        let coordinators = |org: &str| org == "coord";
        let value = allowed_value(&mut doc, &ROOT, "titel", &coordinators);
        assert_eq!(value, Some(Value::from("tien")));
        assert_eq!(
            allowed_value(&mut doc, &ROOT, "titel", &|_: &str| true),
            Some(Value::from("acht"))
        );
        // A change without a note has no known author.
        doc.put(ROOT, "titel", "zes").unwrap();
        doc.commit();
        let value = allowed_value(&mut doc, &ROOT, "titel", &coordinators);
        assert_eq!(value, Some(Value::from("tien")));
        assert_eq!(
            allowed_value(&mut doc, &ROOT, "titel", &|o: &str| o == "x"),
            None
        );
    }

    #[test]
    fn a_run_of_own_changes_passes_and_one_in_another_name_is_refused() {
        let mut doc = AutoCommit::new();
        let mut run = change_with_note(&mut doc, "aaaa", "een");
        run.extend(change_with_note(&mut doc, "aaaa", "twee"));
        let parsed = |run: &[u8]| super::super::parse_changes(run).unwrap();
        assert_eq!(check_change_notes(&parsed(&run), "aaaa"), Ok(()));
        // The same run sent by someone else, or a forged note in the middle of a run.
        let err = check_change_notes(&parsed(&run), "bbbb").unwrap_err();
        assert!(err.contains("organisatie aaaa"), "{err}");
        run.extend(change_with_note(&mut doc, "cccc", "drie"));
        assert!(check_change_notes(&parsed(&run), "aaaa").is_err());
    }

    #[test]
    fn changes_without_a_note_pass_and_damaged_runs_are_refused() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "titel", "zonder notitie").unwrap();
        doc.commit();
        let heads = doc.get_heads();
        let plain = doc
            .get_change_by_hash(&heads[0])
            .unwrap()
            .clone()
            .bytes()
            .into_owned();
        let parse = super::super::parse_changes;
        assert_eq!(check_change_notes(&parse(&plain).unwrap(), "aaaa"), Ok(()));
        assert!(parse(&plain[..plain.len() - 1]).is_err());
        assert!(parse(b"geen automerge").is_err());
        assert_eq!(parse(&[]).unwrap().len(), 0);
        assert_eq!(check_change_notes(&[], "aaaa"), Ok(()));
    }
}
