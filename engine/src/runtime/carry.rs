//! Carrying documents into a new round. When a new round of a cycle starts, its phases work on
//! documents of their own; the partners choose which documents of the previous round to keep.
//! Each chosen one becomes a new document with the content the previous round kept (see
//! `archive.rs`), linked to the instance in the new round with a reference to where it came
//! from. The old document stays as it was, in the archive of its round.

use super::fact::FactBody;
use super::flows::{FlowError, Flows, Fresh, doc_title};
use super::instance::append_fact;
use crate::document::DocId;
use crate::replica::ReplicaError;
use crate::store::Store;
use crate::time::Timestamp;

/// A document carried into the new round.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Carried {
    /// The document of the previous round.
    pub from: DocId,
    /// Its new version in the current round.
    pub to: DocId,
    /// Its title (empty when it has none).
    pub title: String,
}

impl<S: Store> Flows<'_, S> {
    /// Carries `docs` (documents of the previous round) into the current round of instance
    /// `id`, each as a new version; `fresh` holds the randomness for each new document and its
    /// link, one per document. Every document is checked before anything is written.
    pub fn carry_over(
        &self,
        id: &DocId,
        docs: &[DocId],
        now: Timestamp,
        fresh: &[Fresh],
    ) -> Result<Vec<Carried>, FlowError> {
        let current = self.current(id, now)?;
        let st = &current.st;
        if st.round < 2 {
            return Err(FlowError::NotNow(format!(
                "werkstroom ‘{}’ is nog in haar eerste ronde; er is geen vorige ronde om documenten uit mee te nemen",
                current.instance.title
            )));
        }
        let me = &self.replica().identity().profile;
        if !st.participants.iter().any(|p| p.org_id == me.org_id) {
            return Err(FlowError::NotNow(format!(
                "{} doet nog niet mee met deze werkstroom; doe eerst mee met `kompas flow join`",
                me.name
            )));
        }
        if docs.is_empty() {
            return Err(FlowError::NotNow(
                "kies welke documenten van de vorige ronde je meeneemt".into(),
            ));
        }
        if fresh.len() != docs.len() {
            return Err(FlowError::NotNow(format!(
                "{} document(en) gekozen, maar willekeur voor {}",
                docs.len(),
                fresh.len()
            )));
        }
        let (Some(previous), Some(this)) = (
            st.rounds.iter().find(|r| r.number + 1 == st.round),
            st.rounds.iter().find(|r| r.number == st.round),
        ) else {
            return Err(FlowError::NotNow(
                "de vorige ronde van deze werkstroom is hier niet bekend".into(),
            ));
        };
        let mut chosen = Vec::with_capacity(docs.len());
        for (i, doc) in docs.iter().enumerate() {
            let Some(old) = previous.documents.iter().find(|d| &d.id == doc) else {
                return Err(FlowError::NotNow(format!(
                    "{doc} hoort niet bij {}; daarin: {}",
                    previous.label,
                    previous
                        .documents
                        .iter()
                        .map(|d| d.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            if docs[..i].contains(doc) {
                return Err(FlowError::NotNow(format!("{doc} is twee keer gekozen")));
            }
            if let Some(new) = this.documents.iter().find(|d| d.from.as_ref() == Some(doc)) {
                return Err(FlowError::NotNow(format!(
                    "{doc} is al meegenomen naar {}: {}",
                    this.label, new.id
                )));
            }
            let view = match self.replica().view_at(doc, &old.kept) {
                Err(ReplicaError::UnknownVersion(_)) => self.replica().get(doc)?,
                other => other?,
            };
            if view.deleted.is_some() {
                return Err(ReplicaError::Deleted(doc.clone()).into());
            }
            let to = DocId::generate(fresh[i].doc);
            if self
                .replica()
                .store()
                .load(to.as_str())
                .map_err(ReplicaError::from)?
                .is_some()
            {
                return Err(ReplicaError::IdTaken(to).into());
            }
            chosen.push(view);
        }
        let mut loaded = current.loaded;
        let mut carried = Vec::with_capacity(chosen.len());
        for (view, f) in chosen.iter().zip(fresh) {
            let note = format!("nieuwe versie van {} uit {}", view.id, previous.label);
            let to = self.replica().copy_of(view, &note, now, f.doc)?;
            let link = self.fact(
                FactBody::Link {
                    doc: to.clone(),
                    round: st.round,
                    from: Some(view.id.clone()),
                },
                now,
                f.fact,
            )?;
            append_fact(&mut loaded.doc, &link)?;
            carried.push(Carried {
                from: view.id.clone(),
                to,
                title: doc_title(self.replica().catalog(), view).unwrap_or_default(),
            });
        }
        let action = format!(
            "{} document(en) meegenomen naar {}",
            carried.len(),
            this.label
        );
        self.replica().commit(&mut loaded, &action, now)?;
        Ok(carried)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::{self, Loaded, Registry, Source};
    use crate::document::{Assignment, FieldValue};
    use crate::identity::{Identity, OrgType};
    use crate::store::MemoryStore;

    const CYCLE: &str = "naam: cyclus\nversie: 1.0.0\ntitel: Cyclus\nsoorten:\n  - naam: stand\n    label: Stand\n    velden:\n      - {naam: titel, label: Titel, type: tekst, verplicht: true}\n      - {naam: beeld, label: Beeld, type: lange-tekst}\nfasen:\n  - naam: staat\n    titel: Staat\n    soorten: [stand]\n    naar:\n      - fase: evaluatie\n        vereist: {verplichte-velden: true, goedkeuring: iedere-partner}\n  - naam: evaluatie\n    titel: Samen leren\n    naar:\n      - {fase: staat, nieuwe-ronde: true}\n      - {fase: klaar}\n  - naam: klaar\n    titel: Klaar\n    eind: true\n";
    const T0: i64 = 1_780_000_000_000;
    const DAY: i64 = 86_400_000;

    fn registry() -> Registry {
        let checked = definition::check("cyclus.yaml", CYCLE);
        let mut registry = Registry::default();
        registry.insert(Loaded {
            definition: checked.definition.unwrap(),
            body: CYCLE.into(),
            hash: definition::content_hash(CYCLE),
            source: Source::Builtin,
        });
        registry
    }

    fn set(field: &str, value: &str) -> Assignment {
        Assignment {
            field: field.into(),
            value: value.into(),
        }
    }

    fn fresh(n: u8) -> Fresh {
        Fresh {
            doc: [n; 8],
            fact: [n; 16],
        }
    }

    fn text(fields: &std::collections::BTreeMap<String, FieldValue>, name: &str) -> String {
        match fields.get(name) {
            Some(FieldValue::Text(s)) => s.clone(),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn a_new_round_carries_over_what_is_chosen_and_the_old_round_stays_as_it_was() {
        let registry = registry();
        let replica = crate::composition::init_with(
            MemoryStore::default(),
            Identity::new("Gemeente Havenstad", OrgType::Gemeente, [1; 32], [1; 16]),
            &registry,
        )
        .unwrap();
        let at = |d: i64| Timestamp(T0 + d * DAY);
        let stand = replica
            .create(
                "stand",
                &[
                    set("titel", "Staat 2026"),
                    set("beeld", "Meer thuiszitters"),
                ],
                at(0),
                [10; 8],
            )
            .unwrap();
        let wijken = replica
            .create("stand", &[set("titel", "Wijken 2026")], at(0), [11; 8])
            .unwrap();
        let flows = Flows::new(&replica, &registry);
        let id = flows
            .start(
                "cyclus",
                None,
                &[stand.clone(), wijken.clone()],
                at(0),
                fresh(1),
            )
            .unwrap();
        let err = flows
            .carry_over(&id, std::slice::from_ref(&stand), at(1), &[fresh(2)])
            .unwrap_err();
        assert!(err.to_string().contains("eerste ronde"), "{err}");

        flows
            .verdict(&id, true, "", at(2), [[3; 16], [4; 16]])
            .unwrap();
        flows.advance(&id, None, at(3), [5; 16]).unwrap();
        let st = flows.advance(&id, Some("staat"), at(300), [6; 16]).unwrap();
        assert_eq!(st.state.round, 2);
        // The new round starts empty.
        assert!(
            st.guidance.documents.iter().all(|d| d.id.is_none()),
            "{:?}",
            st.guidance
        );

        // Someone edits the old document after its round ended.
        replica
            .update(&stand, &[set("beeld", "Later herschreven")], at(301))
            .unwrap();
        let carried = flows
            .carry_over(&id, std::slice::from_ref(&stand), at(302), &[fresh(7)])
            .unwrap();
        assert_eq!(carried.len(), 1);
        assert_eq!(carried[0].from, stand);
        assert_eq!(carried[0].title, "Staat 2026");
        let new = replica.get(&carried[0].to).unwrap();
        assert_eq!(new.kind, "stand");
        // The content the old round decided on, not the later edit.
        assert_eq!(text(&new.fields, "beeld"), "Meer thuiszitters");
        let history = replica.history(&carried[0].to).unwrap();
        assert!(
            history[0]
                .action
                .as_deref()
                .is_some_and(|a| a.contains(stand.as_str())),
            "{history:?}"
        );

        // Once is enough; a document of no earlier round cannot be carried.
        let err = flows
            .carry_over(&id, std::slice::from_ref(&stand), at(303), &[fresh(8)])
            .unwrap_err();
        assert!(err.to_string().contains("al meegenomen"), "{err}");
        let err = flows
            .carry_over(
                &id,
                std::slice::from_ref(&carried[0].to),
                at(303),
                &[fresh(9)],
            )
            .unwrap_err();
        assert!(err.to_string().contains("hoort niet bij ronde"), "{err}");

        // The new round works on its new version; editing it leaves the archive alone.
        replica
            .update(&carried[0].to, &[set("beeld", "Nieuw beeld 2027")], at(304))
            .unwrap();
        let status = flows.status(&id, at(305)).unwrap();
        let worked_on: Vec<_> = status
            .guidance
            .documents
            .iter()
            .filter_map(|d| d.id.clone())
            .collect();
        assert_eq!(worked_on, vec![carried[0].to.clone()]);
        let rounds = flows.rounds(&id, None, at(305)).unwrap();
        assert_eq!(rounds.len(), 2);
        let old = &rounds[0];
        assert!(!old.current);
        assert_eq!(old.verdicts.len(), 1);
        assert!(old.verdicts[0].approve);
        assert_eq!(old.verdicts[0].phase_title, "Staat");
        let kept = old.documents.iter().find(|d| d.id == stand).unwrap();
        assert_eq!(text(&kept.fields, "beeld"), "Meer thuiszitters");
        assert!(kept.changed_since);
        assert_eq!(kept.carried_to.as_ref(), Some(&carried[0].to));
        let other = old.documents.iter().find(|d| d.id == wijken).unwrap();
        assert_eq!(other.carried_to, None);
        assert!(!other.changed_since);
        let new_round = &rounds[1];
        assert!(new_round.current);
        assert_eq!(new_round.documents.len(), 1);
        assert_eq!(new_round.documents[0].from.as_ref(), Some(&stand));
        assert_eq!(
            text(&new_round.documents[0].fields, "beeld"),
            "Nieuw beeld 2027"
        );
    }
}
