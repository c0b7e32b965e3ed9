//! Who wrote the changes in a run of Automerge change chunks, as their notes say. A replica
//! sends only its own changes, each signed bundle by its real sender; a change whose note names
//! another organisation would put that organisation's name in everybody's history, so such a
//! bundle is refused.

use super::ChangeNote;
use super::chunks;

/// Checks that every change in `data` (concatenated change chunks) whose note names an
/// organisation names `org_id`. Changes without a note (made by other tools) pass.
pub fn check_change_notes(data: &[u8], org_id: &str) -> Result<(), String> {
    for chunk in chunks::split(data)? {
        let change = automerge::Change::try_from(chunk.whole)
            .map_err(|e| format!("onleesbare wijziging: {e}"))?;
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
    fn a_run_of_own_changes_passes_and_one_in_another_name_is_refused() {
        let mut doc = AutoCommit::new();
        let mut run = change_with_note(&mut doc, "aaaa", "een");
        run.extend(change_with_note(&mut doc, "aaaa", "twee"));
        assert_eq!(check_change_notes(&run, "aaaa"), Ok(()));
        // The same run sent by someone else, or a forged note in the middle of a run.
        let err = check_change_notes(&run, "bbbb").unwrap_err();
        assert!(err.contains("organisatie aaaa"), "{err}");
        run.extend(change_with_note(&mut doc, "cccc", "drie"));
        assert!(check_change_notes(&run, "aaaa").is_err());
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
        assert_eq!(check_change_notes(&plain, "aaaa"), Ok(()));
        assert!(check_change_notes(&plain[..plain.len() - 1], "aaaa").is_err());
        assert!(check_change_notes(b"geen automerge", "aaaa").is_err());
        assert_eq!(check_change_notes(&[], "aaaa"), Ok(()));
    }
}
