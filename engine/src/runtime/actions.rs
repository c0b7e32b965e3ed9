//! Agreements that become improvement actions. The items of a list field that declares
//! `acties:` (a conversation's "wie doet wat wanneer", an evaluation's actions) each can become
//! a document of the action kind of another definition, with an owner organisation from the
//! member list, a deadline, a note of where it was agreed, and a flow of its own. The deadlines
//! of the actions an instance follows are in its [`Status`] (`actions`), so `flow todo` shows
//! them to their owners.

use std::fmt;

use super::INSTANCE_KIND;
use super::flows::{FlowError, Flows, Fresh, Status};
use super::instance::read_instance;
use super::state::Urgency;
use crate::catalog::{ActionSource, FieldDef, FieldType, KindDef};
use crate::definition::{Definition, Period};
use crate::document::{Assignment, DocId, DocView, FieldValue};
use crate::replica::ReplicaError;
use crate::store::Store;
use crate::time::Timestamp;

/// Where an action was agreed: item `item` (counted from 1) of list field `field` of document
/// `doc`. Stored in the action's origin field as `DOC#FIELD#ITEM`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Origin {
    /// The conversation or evaluation.
    pub doc: DocId,
    /// Its list field.
    pub field: String,
    /// The item, counted from 1.
    pub item: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}#{}", self.doc, self.field, self.item)
    }
}

impl Origin {
    /// Reads `DOC#FIELD#ITEM`.
    pub fn parse(text: &str) -> Option<Origin> {
        let mut parts = text.trim().split('#');
        let doc = DocId::parse(parts.next()?).ok()?;
        let field = parts.next()?.to_string();
        let item = parts.next()?.parse().ok()?;
        match parts.next() {
            None if item > 0 && !field.is_empty() => Some(Origin { doc, field, item }),
            _ => None,
        }
    }
}

/// One agreement of a document, and the action it became, if it did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Agreement {
    /// Where it stands in the document.
    pub origin: Origin,
    /// The list field's label.
    pub field_label: String,
    /// What is to be done.
    pub text: String,
    /// By when, as written in the item (YYYY-MM-DD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    /// Who does it, as written in the item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub who: Option<String>,
    /// The action document it became.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<DocId>,
    /// The flow that follows that action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<DocId>,
}

/// An action made from an agreement.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MadeAction {
    /// The action document.
    pub action: DocId,
    /// The flow that follows it.
    pub flow: DocId,
    /// The owner organisation's name.
    pub owner: String,
    /// The deadline (YYYY-MM-DD).
    pub deadline: String,
    /// Whether the action document existed already (only its flow was started now).
    pub existed: bool,
}

/// The deadline of an action an instance follows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ActionDue {
    /// The action document.
    pub doc: DocId,
    /// What it is called.
    pub title: String,
    /// The owner organisation's id.
    pub owner_id: String,
    /// Its name (the id when it is not a member).
    pub owner: String,
    /// The deadline as written (YYYY-MM-DD).
    pub deadline: String,
    /// The last minute of that day in the definition's time zone.
    pub at: Timestamp,
    /// Where it stands now: soon within two weeks of the deadline, overdue after it.
    pub urgency: Urgency,
}

/// Random bytes for a new action: its document id, and those of its flow.
pub struct ActionFresh {
    /// For the action document's id.
    pub doc: [u8; 8],
    /// For the flow.
    pub flow: Fresh,
}

/// How long before an action's deadline it shows as coming soon.
const ACTION_REMINDER: &str = "P14D";

impl<S: Store> Flows<'_, S> {
    /// The agreements of `source` (every item of its list fields that declare `acties:`), each
    /// with the action and flow it became.
    pub fn agreements(&self, source: &DocId) -> Result<Vec<Agreement>, FlowError> {
        let view = self.replica().get(source)?;
        let kind = self.kind_of(&view)?;
        let mut out = Vec::new();
        for field in kind.fields.iter().filter(|f| f.actions.is_some()) {
            let Some(rules) = &field.actions else {
                continue;
            };
            for (i, item) in items(&view, field).iter().enumerate() {
                let origin = Origin {
                    doc: source.clone(),
                    field: field.name.clone(),
                    item: i + 1,
                };
                let action = self.action_for(rules, &origin)?;
                let flow = match &action {
                    Some(a) => self.flow_following(a)?,
                    None => None,
                };
                out.push(Agreement {
                    field_label: field.label.clone(),
                    text: text_of(item, Some(&rules.text)).unwrap_or_default(),
                    deadline: rules.deadline.as_ref().and_then(|d| text_of(item, Some(d))),
                    who: text_of(item, rules.owner.as_ref()),
                    origin,
                    action,
                    flow,
                });
            }
        }
        Ok(out)
    }

    /// Makes item `item` (from 1) of `source`'s list field `field` (the only one with
    /// `acties:` when `None`) an action: a document of the action kind of the definition the
    /// list names, owned by `owner` (a member organisation, by name or id; by default the one the
    /// item names), due on `deadline` (by default the item's), with a flow of its own following
    /// it. An agreement whose action exists without a flow gets its flow; one that has both is
    /// refused.
    #[allow(clippy::too_many_arguments)]
    pub fn make_action(
        &self,
        source: &DocId,
        field: Option<&str>,
        item: usize,
        owner: Option<&str>,
        deadline: Option<&str>,
        now: Timestamp,
        fresh: ActionFresh,
    ) -> Result<MadeAction, FlowError> {
        let view = self.replica().get(source)?;
        if view.deleted.is_some() {
            return Err(ReplicaError::Deleted(source.clone()).into());
        }
        let kind = self.kind_of(&view)?;
        let list = list_field(kind, field)?;
        let Some(rules) = &list.actions else {
            return Err(FlowError::NotNow(format!(
                "de items van ‘{}’ worden geen acties",
                list.label
            )));
        };
        let items = items(&view, list);
        let Some(values) = item.checked_sub(1).and_then(|i| items.get(i)) else {
            return Err(FlowError::NotNow(format!(
                "‘{}’ heeft {} item(s); kies een nummer van 1 tot en met {}",
                list.label,
                items.len(),
                items.len()
            )));
        };
        let origin = Origin {
            doc: source.clone(),
            field: list.name.clone(),
            item,
        };
        let (def, action_kind) = self.action_kind(rules)?;
        let Some(fields) = &action_kind.action else {
            return Err(FlowError::NotNow(format!(
                "soort {} heeft geen actievelden",
                action_kind.name
            )));
        };
        if let Some(existing) = self.action_for(rules, &origin)? {
            if let Some(flow) = self.flow_following(&existing)? {
                return Err(FlowError::NotNow(format!(
                    "afspraak {item} van ‘{}’ is al actie {existing}, gevolgd in werkstroom {flow}",
                    list.label
                )));
            }
            let flow = self.start(
                &def.name,
                None,
                std::slice::from_ref(&existing),
                now,
                fresh.flow,
            )?;
            let action = self.replica().get(&existing)?;
            return Ok(MadeAction {
                owner: self.owner_name(&field_text(&action, &fields.owner))?,
                deadline: field_text(&action, &fields.deadline),
                action: existing,
                flow,
                existed: true,
            });
        }
        let owner_id = match (owner, text_of(values, rules.owner.as_ref())) {
            (Some(o), _) => self.replica().organisation_id(&fields.owner, o)?,
            (None, Some(who)) => self
                .replica()
                .organisation_id(&fields.owner, &who)
                .map_err(|_| {
                    FlowError::NoOwner(format!(
                        "afspraak {item} noemt {who:?}; dat is geen organisatie van de samenwerking. Kies een eigenaar uit: {}",
                        self.member_names()
                    ))
                })?,
            (None, None) => {
                return Err(FlowError::NoOwner(format!(
                    "afspraak {item} noemt geen eigenaar; kies er een uit: {}",
                    self.member_names()
                )));
            }
        };
        let deadline = match (
            deadline,
            rules
                .deadline
                .as_ref()
                .and_then(|d| text_of(values, Some(d))),
        ) {
            (Some(d), _) => d.to_string(),
            (None, Some(d)) => d,
            (None, None) => {
                return Err(FlowError::NotNow(format!(
                    "afspraak {item} heeft geen datum; geef een deadline (JJJJ-MM-DD)"
                )));
            }
        };
        let text = text_of(values, Some(&rules.text)).unwrap_or_default();
        if text.trim().is_empty() {
            return Err(FlowError::NotNow(format!(
                "afspraak {item} zegt niet wat er gedaan wordt"
            )));
        }
        let mut assignments = vec![
            Assignment {
                field: fields.owner.clone(),
                value: owner_id.clone(),
            },
            Assignment {
                field: fields.deadline.clone(),
                value: deadline,
            },
            Assignment {
                field: fields.origin.clone(),
                value: origin.to_string(),
            },
        ];
        if let Some(title) = action_kind.title_field() {
            assignments.push(Assignment {
                field: title.name.clone(),
                value: text,
            });
        }
        let action = self
            .replica()
            .create(&action_kind.name, &assignments, now, fresh.doc)?;
        let flow = self.start(
            &def.name,
            None,
            std::slice::from_ref(&action),
            now,
            fresh.flow,
        )?;
        let made = self.replica().get(&action)?;
        Ok(MadeAction {
            owner: self.owner_name(&owner_id)?,
            deadline: field_text(&made, &fields.deadline),
            action,
            flow,
            existed: false,
        })
    }

    /// The deadlines of the actions `documents` holds, for an instance of `def`.
    pub(super) fn actions_due(
        &self,
        def: &Definition,
        documents: &[DocView],
        now: Timestamp,
    ) -> Result<Vec<ActionDue>, FlowError> {
        let tz = def.tz();
        let mut out = Vec::new();
        for view in documents {
            let Some(fields) = def.kind(&view.kind).and_then(|k| k.action.as_ref()) else {
                continue;
            };
            let owner_id = field_text(view, &fields.owner);
            let deadline = field_text(view, &fields.deadline);
            let Some(at) = end_of_day(&deadline, &tz) else {
                continue;
            };
            let remind_from = Period::parse(ACTION_REMINDER)
                .ok()
                .and_then(|p| p.before(at, &tz));
            let urgency = if now > at {
                Urgency::Overdue
            } else if remind_from.is_some_and(|r| now >= r) {
                Urgency::Soon
            } else {
                Urgency::OnTime
            };
            let title = def
                .kind(&view.kind)
                .and_then(KindDef::title_field)
                .map(|f| field_text(view, &f.name))
                .unwrap_or_default();
            out.push(ActionDue {
                doc: view.id.clone(),
                title,
                owner: self.owner_name(&owner_id)?,
                owner_id,
                deadline,
                at,
                urgency,
            });
        }
        Ok(out)
    }

    /// The kind of a document, from the catalog in force.
    fn kind_of(&self, view: &DocView) -> Result<&KindDef, FlowError> {
        self.replica().catalog().kind(&view.kind).ok_or_else(|| {
            FlowError::NotNow(format!("{} is een onbekende soort {}", view.id, view.kind))
        })
    }

    /// The definition a list's actions follow, and its action kind.
    fn action_kind(&self, rules: &ActionSource) -> Result<(&Definition, &KindDef), FlowError> {
        let def = &self
            .registry()
            .latest(&rules.definition)
            .ok_or_else(|| FlowError::UnknownDefinition {
                name: rules.definition.clone(),
                known: self.registry().names().collect::<Vec<_>>().join(", "),
            })?
            .definition;
        let kind = def
            .kinds
            .iter()
            .find(|k| k.action.is_some())
            .ok_or_else(|| {
                FlowError::NotNow(format!(
                    "werkwijze ‘{}’ heeft geen soort met actievelden (actie:)",
                    def.title
                ))
            })?;
        Ok((def, kind))
    }

    /// The live action document that was made from `origin`, if any.
    fn action_for(
        &self,
        rules: &ActionSource,
        origin: &Origin,
    ) -> Result<Option<DocId>, FlowError> {
        let Ok((_, kind)) = self.action_kind(rules) else {
            return Ok(None);
        };
        let Some(fields) = &kind.action else {
            return Ok(None);
        };
        let text = origin.to_string();
        Ok(self
            .replica()
            .list(Some(&kind.name), false)?
            .into_iter()
            .find(|v| field_text(v, &fields.origin) == text)
            .map(|v| v.id))
    }

    /// The instance that follows `doc` (has it linked), if any.
    fn flow_following(&self, doc: &DocId) -> Result<Option<DocId>, FlowError> {
        for view in self.replica().list(Some(INSTANCE_KIND), false)? {
            let mut loaded = self.replica().load(&view.id)?;
            if let Ok(instance) = read_instance(&mut loaded.doc)
                && instance.linked().contains(doc)
            {
                return Ok(Some(instance.id));
            }
        }
        Ok(None)
    }

    /// An owner's name, or its id when it is not (or no longer) a member.
    fn owner_name(&self, org_id: &str) -> Result<String, FlowError> {
        Ok(self
            .replica()
            .organisation_name(org_id)?
            .unwrap_or_else(|| org_id.to_string()))
    }

    fn member_names(&self) -> String {
        self.replica()
            .organisations()
            .map(|all| {
                all.into_iter()
                    .map(|o| o.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    }
}

impl Status {
    /// The actions this instance follows that `org_id` owns.
    pub fn actions_of<'s>(&'s self, org_id: &'s str) -> impl Iterator<Item = &'s ActionDue> {
        self.actions.iter().filter(move |a| a.owner_id == org_id)
    }
}

/// The list field `name` of `kind`, or its only list field with `acties:`.
fn list_field<'k>(kind: &'k KindDef, name: Option<&str>) -> Result<&'k FieldDef, FlowError> {
    let with_actions: Vec<&FieldDef> = kind.fields.iter().filter(|f| f.actions.is_some()).collect();
    match name {
        Some(n) => kind
            .fields
            .iter()
            .find(|f| f.name == n && matches!(f.ty, FieldType::List { .. }))
            .ok_or_else(|| {
                FlowError::NotNow(format!(
                    "{} heeft geen lijst {n:?}; lijsten met afspraken: {}",
                    kind.label,
                    names(&with_actions)
                ))
            }),
        None => match with_actions.as_slice() {
            [one] => Ok(one),
            [] => Err(FlowError::NotNow(format!(
                "in een {} staan geen afspraken die acties worden",
                kind.label
            ))),
            _ => Err(FlowError::NotNow(format!(
                "kies een lijst: {}",
                names(&with_actions)
            ))),
        },
    }
}

fn names(fields: &[&FieldDef]) -> String {
    fields
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

type Item = std::collections::BTreeMap<String, FieldValue>;

fn items<'v>(view: &'v DocView, field: &FieldDef) -> &'v [Item] {
    match view.fields.get(&field.name) {
        Some(FieldValue::List(items)) => items,
        _ => &[],
    }
}

/// The text of an item's field, when it is filled.
fn text_of(item: &Item, field: Option<&String>) -> Option<String> {
    match item.get(field?) {
        Some(FieldValue::Text(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// The text of a document's field (empty when it is not filled).
fn field_text(view: &DocView, field: &str) -> String {
    match view.fields.get(field) {
        Some(FieldValue::Text(s)) => s.clone(),
        _ => String::new(),
    }
}

/// The last minute of the day `date` (YYYY-MM-DD) in `tz` (23:59; after it, the day is past).
fn end_of_day(date: &str, tz: &jiff::tz::TimeZone) -> Option<Timestamp> {
    let day: jiff::civil::Date = date.trim().parse().ok()?;
    let next = day.tomorrow().ok()?;
    let zoned = next.to_zoned_datetime(tz.clone()).ok()?;
    Some(Timestamp(zoned.timestamp().as_millisecond() - 60_000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::builtin_registry;
    use crate::identity::{Identity, OrgType};
    use crate::runtime::todo;
    use crate::store::MemoryStore;

    const T0: i64 = 1_798_000_000_000;
    const DAY: i64 = 86_400_000;

    fn set(field: &str, value: &str) -> Assignment {
        Assignment {
            field: field.into(),
            value: value.into(),
        }
    }

    fn fresh(n: u8) -> ActionFresh {
        ActionFresh {
            doc: [n; 8],
            flow: Fresh {
                doc: [n + 100; 8],
                fact: [n; 16],
            },
        }
    }

    #[test]
    fn an_agreement_becomes_an_action_with_its_flow_and_its_deadline_in_the_owners_todo() {
        let registry = builtin_registry();
        let replica = crate::composition::init_with(
            MemoryStore::default(),
            Identity::new("Gemeente Havenstad", OrgType::Gemeente, [1; 32], [1; 16]),
            &registry,
        )
        .unwrap();
        let afspraken = r#"[{"wie":"Gemeente Havenstad","wat":"Wachttijden delen","wanneer":"2027-03-31"},
            {"wie":"de wethouder","wat":"Budget vragen"}]"#;
        let gesprek = replica
            .create(
                "cijfergesprek",
                &[set("titel", "Instroom"), set("afspraken", afspraken)],
                Timestamp(T0),
                [9; 8],
            )
            .unwrap();
        let flows = Flows::new(&replica, &registry);
        let list = flows.agreements(&gesprek).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].text, "Wachttijden delen");
        assert_eq!(list[0].deadline.as_deref(), Some("2027-03-31"));
        assert_eq!(list[1].action, None);

        let made = flows
            .make_action(&gesprek, None, 1, None, None, Timestamp(T0), fresh(1))
            .unwrap();
        assert_eq!(made.owner, "Gemeente Havenstad");
        assert_eq!(made.deadline, "2027-03-31");
        let action = replica.get(&made.action).unwrap();
        assert_eq!(
            action.fields.get("bron"),
            Some(&FieldValue::Text(format!("{gesprek}#afspraken#1")))
        );
        let list = flows.agreements(&gesprek).unwrap();
        assert_eq!(list[0].action.as_ref(), Some(&made.action));
        assert_eq!(list[0].flow.as_ref(), Some(&made.flow));

        // Its deadline is in the owner's to-do list, growing pressing as it nears.
        let me = replica.identity().profile.clone();
        let todo_at = |at: i64| {
            let statuses = flows.list(Timestamp(at)).unwrap();
            todo(&statuses, &me.org_id, &me.name)
                .into_iter()
                .filter(|t| t.what.starts_with("actie"))
                .collect::<Vec<_>>()
        };
        let items = todo_at(T0);
        assert_eq!(items.len(), 1, "{items:?}");
        assert_eq!(
            items[0].what,
            "actie ‘Wachttijden delen’ uiterlijk 2027-03-31 klaar"
        );
        assert_eq!(items[0].instance, made.flow);
        assert_eq!(items[0].urgency, Urgency::OnTime);
        let due = items[0].at.unwrap().millis();
        assert_eq!(todo_at(due - 3 * DAY)[0].urgency, Urgency::Soon);
        assert_eq!(todo_at(due + DAY)[0].urgency, Urgency::Overdue);

        // Twice is refused; an owner outside the partnership, or none and no date, too.
        let again = flows.make_action(&gesprek, None, 1, None, None, Timestamp(T0), fresh(2));
        assert!(matches!(again, Err(FlowError::NotNow(m)) if m.contains("al actie")));
        let outsider = flows.make_action(
            &gesprek,
            None,
            2,
            None,
            Some("2027-06-01"),
            Timestamp(T0),
            fresh(3),
        );
        assert!(
            matches!(&outsider, Err(FlowError::NoOwner(m)) if m.contains("de wethouder") && m.contains("Gemeente Havenstad")),
            "{outsider:?}"
        );
        let undated = flows.make_action(
            &gesprek,
            None,
            2,
            Some("Gemeente Havenstad"),
            None,
            Timestamp(T0),
            fresh(4),
        );
        assert!(
            matches!(&undated, Err(FlowError::NotNow(m)) if m.contains("geen datum")),
            "{undated:?}"
        );
        let missing = flows.make_action(&gesprek, None, 3, None, None, Timestamp(T0), fresh(5));
        assert!(
            matches!(&missing, Err(FlowError::NotNow(m)) if m.contains("1 tot en met 2")),
            "{missing:?}"
        );
        let named = flows.make_action(
            &gesprek,
            None,
            2,
            Some("SWV Elders"),
            Some("2027-06-01"),
            Timestamp(T0),
            fresh(6),
        );
        assert!(matches!(
            named,
            Err(FlowError::Replica(ReplicaError::NotAMember { .. }))
        ));
        let ok = flows
            .make_action(
                &gesprek,
                None,
                2,
                Some("gemeente havenstad"),
                Some("1-6-2027"),
                Timestamp(T0),
                fresh(7),
            )
            .unwrap();
        assert_eq!(ok.deadline, "2027-06-01");
    }

    #[test]
    fn an_origin_reads_back_and_refuses_what_is_not_one() {
        let o = Origin {
            doc: DocId::parse("63m58pdn8zcv").unwrap(),
            field: "afspraken".into(),
            item: 2,
        };
        assert_eq!(Origin::parse(&o.to_string()), Some(o));
        for bad in [
            "",
            "63m58pdn8zcv",
            "63m58pdn8zcv#afspraken#0",
            "geen id!#a#1",
            "63m58pdn8zcv#a#1#2",
        ] {
            assert_eq!(Origin::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_deadline_ends_with_its_day_in_the_time_zone() {
        let tz = jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap();
        // 2027-03-31T23:59 in Amsterdam (summer time) is 2027-03-31T21:59Z.
        assert_eq!(
            end_of_day("2027-03-31", &tz),
            Some(Timestamp(1_806_530_340_000))
        );
        assert_eq!(end_of_day("31 maart", &tz), None);
    }
}
