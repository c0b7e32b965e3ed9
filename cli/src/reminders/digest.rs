//! What is due for the organisation, and one digest per recipient of what that recipient has not
//! been sent yet: Dutch text with titles, labels and Dutch dates, and where to act.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use kompas_engine::runtime::{Todo, Urgency};
use lettre::Address;

use super::config::Recipients;
use crate::serve::dates;

/// One reminder: a to-do item whose reminder time has come or whose deadline has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Stable over runs and restarts: the same reminder gets the same key.
    pub key: String,
    pub todo: Todo,
}

/// The reminders among the organisation's to-do list: items that are soon due or overdue and
/// have a moment. A reminder and the later "too late" of the same item are two reminders.
pub fn due(list: &[Todo]) -> Vec<Due> {
    list.iter()
        .filter(|t| t.urgency != Urgency::OnTime)
        .filter_map(|t| {
            let at = t.at?;
            let urgency = match t.urgency {
                Urgency::Overdue => "te-laat",
                _ => "binnenkort",
            };
            let hash = blake3::hash(
                format!("{}\n{}\n{}\n{}", t.instance, t.phase, t.what, at.0).as_bytes(),
            );
            Some(Due {
                key: format!("{urgency}-{}", &hash.to_hex()[..32]),
                todo: t.clone(),
            })
        })
        .collect()
}

/// One recipient's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub to: Address,
    /// The keys of the reminders it holds.
    pub keys: Vec<String>,
    pub subject: String,
    pub body: String,
}

/// Whom a digest is from: the organisation, and the samenwerking its reminders belong to when
/// the data directory has several (each samenwerking's reminders go in digests of their own,
/// since each keeps its own record of what was sent).
#[derive(Debug, Clone, Copy)]
pub struct From<'a> {
    pub org: &'a str,
    pub samenwerking: Option<&'a str>,
}

/// The digests for `items`, one per recipient, leaving out what `already(recipient, key)` says
/// was sent (or is being sent) to that recipient. Recipients in address order.
pub fn digests(
    from: From<'_>,
    items: &[Due],
    recipients: &Recipients,
    already: impl Fn(&Address, &str) -> bool,
) -> Vec<Digest> {
    let mut per: BTreeMap<&Address, Vec<&Due>> = BTreeMap::new();
    for item in items {
        for to in recipients.for_role(item.todo.role.as_deref()) {
            if !already(to, &item.key) {
                per.entry(to).or_default().push(item);
            }
        }
    }
    per.into_iter()
        .map(|(to, items)| Digest {
            to: to.clone(),
            keys: items.iter().map(|i| i.key.clone()).collect(),
            subject: subject(from, &items),
            body: body(from, &items),
        })
        .collect()
}

fn subject(from: From<'_>, items: &[&Due]) -> String {
    let late = items
        .iter()
        .filter(|i| i.todo.urgency == Urgency::Overdue)
        .count();
    let n = items.len();
    let what = if n == 1 {
        "1 herinnering".to_string()
    } else {
        format!("{n} herinneringen")
    };
    let whom = match from.samenwerking {
        Some(name) => format!("{} in {name}", from.org),
        None => from.org.to_string(),
    };
    if late > 0 {
        format!("kompas: {what} voor {whom} ({late} te laat)")
    } else {
        format!("kompas: {what} voor {whom}")
    }
}

fn body(from: From<'_>, items: &[&Due]) -> String {
    let org = from.org;
    let (within, command) = match from.samenwerking {
        Some(name) => (
            format!(" in de samenwerking {name}"),
            format!("kompas --samenwerking {:?} flow", name),
        ),
        None => (String::new(), "kompas flow".to_string()),
    };
    let mut out = format!(
        "Hallo,\n\nDit zijn de deadlines en geplande momenten in kompas voor {org}{within} die eraan komen of voorbij zijn.\n"
    );
    for (urgency, heading) in [(Urgency::Overdue, "Te laat"), (Urgency::Soon, "Binnenkort")] {
        let group: Vec<&&Due> = items.iter().filter(|i| i.todo.urgency == urgency).collect();
        if group.is_empty() {
            continue;
        }
        let _ = write!(out, "\n{heading}\n");
        for item in group {
            let t = &item.todo;
            let when = t.at.map(dates::moment).unwrap_or_default();
            let _ = write!(
                out,
                "\n- {}: {}\n  Werkstroom: {}, fase ‘{}’\n  {} {when}\n  Zo ga je verder: {command} status {}\n  of in de webapp (kompas serve): Werkstromen, ‘{}’\n",
                t.title,
                t.what,
                t.title,
                t.phase_title,
                if urgency == Urgency::Overdue {
                    "Was uiterlijk:"
                } else {
                    "Uiterlijk:"
                },
                t.instance,
                t.title,
            );
        }
    }
    let _ = write!(
        out,
        "\nJe krijgt elke herinnering één keer. Alles wat nu te doen is, zie je met `{command} todo`.\n\nkompas\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kompas_engine::Timestamp;
    use kompas_engine::document::DocId;

    fn todo(what: &str, urgency: Urgency, at: i64, role: Option<&str>) -> Todo {
        Todo {
            instance: DocId::parse("0102030405060708").unwrap_or_else(|e| panic!("{e}")),
            title: "Cyclus 2027".into(),
            phase: "voorbereiden".into(),
            phase_title: "Voorbereiden".into(),
            what: what.into(),
            urgency,
            at: Some(Timestamp(at)),
            role: role.map(String::from),
        }
    }

    fn address(a: &str) -> Address {
        a.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    // 2027-01-26 11:26 UTC.
    const AT: i64 = 1_800_962_760_000;

    #[test]
    fn one_digest_per_recipient_in_dutch() {
        let list = [
            todo(
                "fase ‘Voorbereiden’ afronden",
                Urgency::Soon,
                AT,
                Some("coordinator"),
            ),
            todo(
                "actie ‘Delen’ uiterlijk 2027-01-01 klaar",
                Urgency::Overdue,
                AT - 1,
                None,
            ),
            todo("nog niet aangesloten", Urgency::OnTime, AT, None),
        ];
        let items = due(&list);
        assert_eq!(items.len(), 2);
        assert_ne!(items[0].key, items[1].key);
        assert_eq!(due(&list), items, "keys are stable");
        let recipients = Recipients {
            everyone: vec![address("jeugd@gemeente.nl")],
            per_role: [(
                "coordinator".to_string(),
                vec![address("beleid@gemeente.nl")],
            )]
            .into(),
        };
        let zwolle = From {
            org: "Gemeente Zwolle",
            samenwerking: None,
        };
        let all = digests(zwolle, &items, &recipients, |_, _| false);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].to.to_string(), "beleid@gemeente.nl");
        assert_eq!(all[0].keys.len(), 1, "only the coordinator's reminder");
        assert_eq!(all[1].keys.len(), 2);
        assert_eq!(
            all[1].subject,
            "kompas: 2 herinneringen voor Gemeente Zwolle (1 te laat)"
        );
        let body = &all[1].body;
        for expected in [
            "Te laat\n",
            "Binnenkort\n",
            "- Cyclus 2027: fase ‘Voorbereiden’ afronden",
            "Uiterlijk: 26 januari 2027, 12.26 uur",
            "kompas flow status 0102030405060708",
        ] {
            assert!(body.contains(expected), "{expected:?} not in:\n{body}");
        }
        assert!(
            body.find("Te laat").unwrap_or(0) < body.find("Binnenkort").unwrap_or(0),
            "{body}"
        );

        // What was sent to a recipient is left out for that recipient only.
        let sent = items[0].key.clone();
        let rest = digests(zwolle, &items, &recipients, |to, key| {
            to.to_string() == "beleid@gemeente.nl" && key == sent
        });
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].to.to_string(), "jeugd@gemeente.nl");
    }

    #[test]
    fn a_digest_names_its_samenwerking_when_there_are_several() {
        let items = due(&[todo("fase afronden", Urgency::Soon, AT, None)]);
        let recipients = Recipients {
            everyone: vec![address("jeugd@gemeente.nl")],
            per_role: Default::default(),
        };
        let from = From {
            org: "Gemeente Zwolle",
            samenwerking: Some("Jeugdregio IJssel"),
        };
        let all = digests(from, &items, &recipients, |_, _| false);
        assert_eq!(
            all[0].subject,
            "kompas: 1 herinnering voor Gemeente Zwolle in Jeugdregio IJssel"
        );
        for expected in [
            "voor Gemeente Zwolle in de samenwerking Jeugdregio IJssel die",
            "kompas --samenwerking \"Jeugdregio IJssel\" flow status 0102030405060708",
            "`kompas --samenwerking \"Jeugdregio IJssel\" flow todo`",
        ] {
            assert!(
                all[0].body.contains(expected),
                "{expected:?} not in:\n{}",
                all[0].body
            );
        }
    }
}
