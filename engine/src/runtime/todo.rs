//! What an organisation has to do across all its workflow instances: its turns, deadlines, the
//! deadlines of the actions it owns, planned moments that are near or past, and instances it
//! has not joined. A pure function of
//! the instances' computed states, so `kompas flow todo` can be run every week (or from cron).

use super::flows::Status;
use super::state::Urgency;
use crate::document::DocId;
use crate::time::Timestamp;

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Todo {
    /// The instance it is about.
    pub instance: DocId,
    /// The instance's title.
    pub title: String,
    /// The phase the instance is in.
    pub phase: String,
    /// Its title.
    pub phase_title: String,
    /// What to do (Dutch).
    pub what: String,
    /// How pressing it is.
    pub urgency: Urgency,
    /// The moment it is due or was missed, if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    /// The organisation's role in the instance, once it has joined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// The organisation's to-do list over `statuses`, most pressing first: overdue, then soon, then
/// the rest, each by date (undated last) and then by instance.
pub fn todo(statuses: &[Status], org_id: &str, org_name: &str) -> Vec<Todo> {
    let mut out = Vec::new();
    for s in statuses {
        let st = &s.state;
        if st.finished {
            continue;
        }
        let role = st
            .participants
            .iter()
            .find(|p| p.org_id == org_id)
            .map(|p| p.role.clone());
        let item = |what: String, urgency: Urgency, at: Option<Timestamp>| Todo {
            role: role.clone(),
            instance: s.id.clone(),
            title: s.title.clone(),
            phase: st.phase.clone(),
            phase_title: st.phase_title.clone(),
            what,
            urgency,
            at,
        };
        // The actions it owns, whether or not it joined the flow that follows them.
        for a in s.actions_of(org_id) {
            out.push(item(
                format!("actie ‘{}’ uiterlijk {} klaar", a.title, a.deadline),
                a.urgency,
                Some(a.at),
            ));
        }
        let has_turn = st.turn.iter().any(|(name, _)| name == org_name);
        if !has_turn && !st.participants.iter().any(|p| p.org_id == org_id) {
            out.push(item(
                "nog niet aangesloten: kijk of deze organisatie meedoet".into(),
                Urgency::OnTime,
                None,
            ));
            continue;
        }
        let (urgency, deadline) = match &st.due {
            Some(due) => (due.urgency, Some(due.deadline)),
            None => (Urgency::OnTime, None),
        };
        let mut turns = st
            .turn
            .iter()
            .filter(|(name, _)| name == org_name)
            .peekable();
        if turns.peek().is_some() {
            for (_, what) in turns {
                out.push(item(what.clone(), urgency, deadline));
            }
        } else if urgency != Urgency::OnTime {
            out.push(item(
                "de termijn van de fase nadert of is voorbij; anderen zijn aan de beurt".into(),
                urgency,
                deadline,
            ));
        }
        for sch in st.schedules.iter().filter(|s| s.urgency != Urgency::OnTime) {
            let what = match sch.urgency {
                Urgency::Overdue => format!("gepland moment gemist: {}", sch.title),
                _ => format!("gepland moment komt eraan: {}", sch.title),
            };
            out.push(item(what, sch.urgency, sch.missed.or(sch.next)));
        }
    }
    out.sort_by(|a, b| {
        rank(a.urgency)
            .cmp(&rank(b.urgency))
            .then_with(|| (a.at.is_none(), a.at).cmp(&(b.at.is_none(), b.at)))
            .then_with(|| a.instance.cmp(&b.instance))
    });
    out
}

fn rank(u: Urgency) -> u8 {
    match u {
        Urgency::Overdue => 0,
        Urgency::Soon => 1,
        Urgency::OnTime => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::{self, Loaded, Registry, Source};
    use crate::identity::{Identity, OrgType};
    use crate::replica::Replica;
    use crate::runtime::{Flows, Fresh};
    use crate::store::MemoryStore;

    const FLOW: &str = "naam: overleg\nversie: 1.0.0\ntitel: Overleg\nsoorten:\n  - naam: verslag\n    label: Verslag\n    velden:\n      - {naam: titel, type: tekst, verplicht: true}\nfasen:\n  - naam: voorbereiden\n    titel: Voorbereiden\n    soorten: [verslag]\n    wie: [coordinator]\n    termijn: P14D\n    herinnering: P3D\n    naar: [{fase: klaar}]\n  - naam: klaar\n    titel: Klaar\n    eind: true\n";
    const DAY: i64 = 86_400_000;
    const T0: i64 = 1_780_000_000_000;

    fn registry() -> Registry {
        let checked = definition::check("overleg.yaml", FLOW);
        let mut registry = Registry::default();
        registry.insert(Loaded {
            definition: checked.definition.unwrap(),
            body: FLOW.into(),
            hash: definition::content_hash(FLOW),
            source: Source::Builtin,
        });
        registry
    }

    fn replica(seed: u8, name: &str) -> Replica<MemoryStore> {
        crate::composition::init_with(
            MemoryStore::default(),
            Identity::new(name, OrgType::Gemeente, [seed; 32], [seed; 16]),
            &registry(),
        )
        .unwrap()
    }

    fn todo_of(r: &Replica<MemoryStore>, at: i64) -> Vec<Todo> {
        let registry = registry();
        let statuses = Flows::new(r, &registry).list(Timestamp(at)).unwrap();
        let me = &r.identity().profile;
        todo(&statuses, &me.org_id, &me.name)
    }

    #[test]
    fn turns_grow_pressing_as_the_deadline_nears_and_passes() {
        let gemeente = replica(1, "Gemeente Zwolle");
        let registry = registry();
        let flows = Flows::new(&gemeente, &registry);
        let fresh = |n: u8| Fresh {
            doc: [n; 8],
            fact: [n; 16],
        };
        let first = flows
            .start("overleg", Some("Eerste"), &[], Timestamp(T0), fresh(1))
            .unwrap();

        let now = todo_of(&gemeente, T0 + DAY);
        assert_eq!(now.len(), 1, "{now:?}");
        assert_eq!(now[0].instance, first);
        assert_eq!(now[0].what, "fase ‘Voorbereiden’ afronden");
        assert_eq!(now[0].phase, "voorbereiden");
        assert_eq!(now[0].urgency, Urgency::OnTime);
        assert_eq!(now[0].at, Some(Timestamp(T0 + 14 * DAY)));
        assert_eq!(now[0].role.as_deref(), Some("coordinator"));
        assert_eq!(todo_of(&gemeente, T0 + 12 * DAY)[0].urgency, Urgency::Soon);
        assert_eq!(
            todo_of(&gemeente, T0 + 15 * DAY)[0].urgency,
            Urgency::Overdue
        );

        // A later instance that is not due yet comes after the overdue one.
        let second = flows
            .start(
                "overleg",
                Some("Tweede"),
                &[],
                Timestamp(T0 + 10 * DAY),
                fresh(2),
            )
            .unwrap();
        let list = todo_of(&gemeente, T0 + 15 * DAY);
        let order: Vec<(&DocId, Urgency)> = list.iter().map(|t| (&t.instance, t.urgency)).collect();
        assert_eq!(
            order,
            vec![(&first, Urgency::Overdue), (&second, Urgency::OnTime)]
        );
    }

    #[test]
    fn an_organisation_that_has_not_joined_is_asked_to_look() {
        let gemeente = replica(1, "Gemeente Zwolle");
        let partner = replica(2, "Jeugdhulp Noord");
        let registry = registry();
        let id = Flows::new(&gemeente, &registry)
            .start(
                "overleg",
                None,
                &[],
                Timestamp(T0),
                Fresh {
                    doc: [3; 8],
                    fact: [3; 16],
                },
            )
            .unwrap();
        partner.import(&gemeente.export(&id).unwrap()).unwrap();
        let list = todo_of(&partner, T0 + DAY);
        assert_eq!(list.len(), 1, "{list:?}");
        assert!(list[0].what.starts_with("nog niet aangesloten"), "{list:?}");
        assert_eq!(list[0].role, None);
        // The deadline is the coordinator's to meet; the partner's list does not nag about it.
        assert_eq!(todo_of(&partner, T0 + 20 * DAY).len(), 1);
    }
}
