//! Running instances on a replica: start, join, request transitions, give verdicts, migrate.
//!
//! Every operation checks what the user asked against the computed state first, and only then
//! appends one signed fact (or a few) and saves durably. Time and randomness come in as arguments.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::AutoCommit;

use super::INSTANCE_KIND;
use super::fact::{Fact, FactBody, FactError, SignedFact};
use super::guidance::{Guidance, guidance};
use super::instance::{
    Instance, InstanceError, Pinned, append_fact, from_summary, read_instance, write_instance,
};
use super::reducer::{Input, docs_of, may_act, state};
use super::state::{DocSnapshot, InstanceState, Member, Refusal};
use crate::catalog::Catalog;
use crate::definition::{self, Definition, Registry};
use crate::document::{DocId, DocView, FieldValue};
use crate::replica::{LoadedDoc, Replica, ReplicaError};
use crate::store::Store;
use crate::sync::replication::known_members;
use crate::time::Timestamp;

/// Errors of workflow operations, each naming what it is about.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// No definition with this name is loaded.
    #[error("onbekende werkwijze {name:?}; bekende werkwijzen: {known}")]
    UnknownDefinition { name: String, known: String },
    /// No such version of the definition is loaded.
    #[error("werkwijze {name} heeft geen versie {version}; geladen: {known}")]
    UnknownVersion {
        name: String,
        version: String,
        known: String,
    },
    /// No document with this id, so no instance either.
    #[error("geen werkstroom met id {0}; `kompas flow list` toont ze")]
    UnknownInstance(DocId),
    /// A title was given but is empty.
    #[error(
        "de titel mag niet leeg zijn; laat --title weg om de titel van de werkwijze te gebruiken"
    )]
    EmptyTitle,
    /// The document is not an instance.
    #[error(transparent)]
    Instance(#[from] InstanceError),
    /// The pinned definition no longer reads.
    #[error("de vastgelegde werkwijze van werkstroom {id} is niet leesbaar: {problem}")]
    BadPinned { id: DocId, problem: String },
    /// The transition is not allowed now.
    #[error("overgang naar ‘{to}’ kan nog niet: {}", reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Refused { to: String, reasons: Vec<Refusal> },
    /// Something the user asked does not fit the current state.
    #[error("{0}")]
    NotNow(String),
    /// Signing failed.
    #[error(transparent)]
    Fact(#[from] FactError),
    /// An action needs an owner that is a member of the workspace, and none was given or named.
    #[error("{0}")]
    NoOwner(String),
    /// The member list of the workspace cannot be read.
    #[error("de ledenlijst van de samenwerking is niet leesbaar: {0}")]
    Members(String),
    /// A text would put personal data into a shared document.
    #[error(transparent)]
    Privacy(#[from] crate::privacy::PrivacyError),
    /// The replica failed.
    #[error(transparent)]
    Replica(#[from] ReplicaError),
}

impl FlowError {
    /// Whether the error is about what the user asked.
    pub fn is_input_error(&self) -> bool {
        !matches!(
            self,
            FlowError::Replica(_) | FlowError::Fact(_) | FlowError::Members(_)
        )
    }
}

/// An instance with its computed state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// The instance id.
    pub id: DocId,
    /// Its title.
    pub title: String,
    /// When it was started.
    pub created: Timestamp,
    /// The definition in force.
    pub definition: Pinned,
    /// The definition's title.
    pub definition_title: String,
    /// The computed state.
    pub state: InstanceState,
    /// What the current phase asks of the partners, in words.
    pub guidance: Guidance,
    /// The deadlines of the actions the instance follows (documents of a kind with `actie:`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<super::actions::ActionDue>,
    /// Facts that failed verification.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<String>,
}

/// Workflow operations on one replica with the definitions in force.
pub struct Flows<'a, S: Store> {
    replica: &'a Replica<S>,
    registry: &'a Registry,
}

/// Random bytes for a new instance: its document id and its first fact id.
pub struct Fresh {
    /// For the document id.
    pub doc: [u8; 8],
    /// For fact ids.
    pub fact: [u8; 16],
}

impl<'a, S: Store> Flows<'a, S> {
    /// Operations on `replica`, starting new instances from `registry`.
    pub fn new(replica: &'a Replica<S>, registry: &'a Registry) -> Self {
        Flows { replica, registry }
    }

    /// The replica the operations work on.
    pub fn replica(&self) -> &'a Replica<S> {
        self.replica
    }

    /// The definitions new instances start from.
    pub fn registry(&self) -> &'a Registry {
        self.registry
    }

    /// Starts an instance of the latest version of `name`, working on `documents` (more can be
    /// linked later); this organisation becomes coordinator.
    pub fn start(
        &self,
        name: &str,
        title: Option<&str>,
        documents: &[DocId],
        now: Timestamp,
        fresh: Fresh,
    ) -> Result<DocId, FlowError> {
        let loaded = self
            .registry
            .latest(name)
            .ok_or_else(|| FlowError::UnknownDefinition {
                name: name.to_string(),
                known: self.registry.names().collect::<Vec<_>>().join(", "),
            })?;
        let id = DocId::generate(fresh.doc);
        let mut doc = self.replica.new_doc(&id)?;
        let pinned = Pinned {
            name: loaded.definition.name.clone(),
            version: loaded.definition.version.to_string(),
            hash: loaded.hash.clone(),
            body: loaded.body.clone(),
        };
        if title.is_some_and(|t| t.trim().is_empty()) {
            return Err(FlowError::EmptyTitle);
        }
        for doc in documents {
            self.linkable(&loaded.definition, doc)?;
        }
        let title = match (title, documents.first()) {
            (Some(t), _) => t.to_string(),
            // Following one document: the instance is called after it.
            (None, Some(doc)) => {
                let view = self.replica.get(doc)?;
                match doc_title(self.replica.catalog(), &view) {
                    Some(t) => format!("{}: {t}", loaded.definition.title),
                    None => loaded.definition.title.clone(),
                }
            }
            (None, None) => loaded.definition.title.clone(),
        };
        let title = title.as_str();
        crate::privacy::check_text("titel", title)?;
        write_instance(&mut doc.doc, &id, title, &pinned, now)?;
        let join = self.fact(
            FactBody::Join {
                role: super::reducer::COORDINATOR.to_string(),
            },
            now,
            fresh.fact,
        )?;
        append_fact(&mut doc.doc, &join)?;
        for (i, linked) in documents.iter().enumerate() {
            let fact_id = derived_id(&fresh.fact, i);
            let link = self.fact(
                FactBody::Link {
                    doc: linked.clone(),
                    round: 1,
                    from: None,
                },
                now,
                fact_id,
            )?;
            append_fact(&mut doc.doc, &link)?;
        }
        self.replica.commit(&mut doc, "werkstroom gestart", now)?;
        Ok(id)
    }

    /// Links `doc` to the instance: from now on its phases work on it.
    pub fn link(
        &self,
        id: &DocId,
        doc: &DocId,
        now: Timestamp,
        fact_id: [u8; 16],
    ) -> Result<Status, FlowError> {
        let Current {
            mut loaded,
            instance,
            def,
            st,
            ..
        } = self.current(id, now)?;
        if !instance.owns_documents {
            return Err(FlowError::NotNow(
                "deze werkstroom werkt al aan alle documenten van haar soorten".into(),
            ));
        }
        let title = self.linkable(&def, doc)?;
        if instance.linked().contains(doc) {
            return Err(FlowError::NotNow(format!(
                "‘{title}’ hoort al bij deze werkstroom"
            )));
        }
        self.append(
            &mut loaded,
            FactBody::Link {
                doc: doc.clone(),
                round: st.round,
                from: None,
            },
            "document gekoppeld",
            now,
            fact_id,
        )?;
        self.status_of(&mut loaded.doc, now)
    }

    /// Checks that `doc` may be linked to an instance of `def`: it exists, is not deleted and is
    /// of one of the definition's kinds. Returns how it is called.
    fn linkable(&self, def: &Definition, doc: &DocId) -> Result<String, FlowError> {
        let view = self.replica.get(doc)?;
        if view.deleted.is_some() {
            return Err(FlowError::Replica(ReplicaError::Deleted(doc.clone())));
        }
        if def.kind(&view.kind).is_none() {
            return Err(FlowError::NotNow(format!(
                "{doc} is een {}; werkwijze ‘{}’ werkt aan: {}",
                view.kind,
                def.title,
                def.kinds
                    .iter()
                    .map(|k| k.label.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(doc_title(self.replica.catalog(), &view).unwrap_or_else(|| def.kind_label(&view.kind)))
    }

    /// Loads the document of instance `id`; a missing document is a missing instance.
    fn load_instance(&self, id: &DocId) -> Result<LoadedDoc, FlowError> {
        self.replica.load(id).map_err(|e| match e {
            ReplicaError::NotFound(id) => FlowError::UnknownInstance(id),
            e => FlowError::Replica(e),
        })
    }

    /// The instance and its state at `now`.
    pub fn status(&self, id: &DocId, now: Timestamp) -> Result<Status, FlowError> {
        let mut loaded = self.load_instance(id)?;
        self.status_of(&mut loaded.doc, now)
    }

    /// Every instance with its state, oldest first. What all instances read alike (the live
    /// documents, the members) is read once for all of them. Each instance is read from its
    /// summary in the view index (`instance.rs`); only one without a summary that reads is
    /// loaded from its document.
    pub fn list(&self, now: Timestamp) -> Result<Vec<Status>, FlowError> {
        let listed = self.replica.list_summarised(INSTANCE_KIND)?;
        let shared = Shared::default();
        listed
            .iter()
            .map(|found| {
                let summary = found.summary.as_deref();
                let instance = match summary.and_then(|s| from_summary(&found.view, s)) {
                    Some(instance) => instance,
                    None => read_instance(&mut self.load_instance(&found.view.id)?.doc)?,
                };
                self.status_in(instance, now, &shared)
            })
            .collect()
    }

    /// Takes part in the instance with `role`.
    pub fn join(
        &self,
        id: &DocId,
        role: &str,
        now: Timestamp,
        fact_id: [u8; 16],
    ) -> Result<Status, FlowError> {
        let mut loaded = self.load_instance(id)?;
        let (instance, def) = self.read(&mut loaded.doc)?;
        let Some(r) = def.roles.iter().find(|r| r.name == role) else {
            return Err(FlowError::NotNow(format!(
                "werkwijze {} kent geen rol {role:?}; rollen: {}",
                def.name,
                def.roles
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let me = &self.replica.identity().profile;
        if !r.org_types.is_empty() && !r.org_types.contains(&me.org_type) {
            return Err(FlowError::NotNow(format!(
                "de rol {role} is voor {}; {} is een {}",
                r.org_types
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                me.name,
                me.org_type
            )));
        }
        if instance
            .facts
            .iter()
            .any(|f| f.org_id == me.org_id && matches!(f.body, FactBody::Join { .. }))
        {
            return Err(FlowError::NotNow(format!("{} doet al mee", me.name)));
        }
        self.append(
            &mut loaded,
            FactBody::Join { role: role.into() },
            "doet mee",
            now,
            fact_id,
        )?;
        self.status_of(&mut loaded.doc, now)
    }

    /// Asks to move on: to `to`, or to the one transition that is allowed now.
    pub fn advance(
        &self,
        id: &DocId,
        to: Option<&str>,
        now: Timestamp,
        fact_id: [u8; 16],
    ) -> Result<Status, FlowError> {
        let Current {
            mut loaded,
            def,
            documents,
            st,
            ..
        } = self.current(id, now)?;
        let phase = current_phase(&def, &st)?;
        if st.finished {
            return Err(FlowError::NotNow(format!(
                "de werkstroom is klaar (fase {})",
                phase.title
            )));
        }
        let me = &self.replica.identity().profile;
        if !may_act(phase, &st.participants, &me.org_id) {
            return Err(FlowError::NotNow(format!(
                "{} mag fase ‘{}’ niet verder zetten; dat mogen: {}",
                me.name,
                def.phase_title(&phase.name),
                if phase.actors.is_empty() {
                    "alle deelnemers (doe eerst mee met `kompas flow join`)".to_string()
                } else {
                    phase.actors.join(", ")
                }
            )));
        }
        let target = match to {
            Some(t) => {
                let status = st.transitions.iter().find(|s| s.to == t);
                match status {
                    None if st.conflict.is_none() => {
                        return Err(FlowError::NotNow(format!(
                            "vanuit ‘{}’ kan het niet naar {t}; wel naar: {}",
                            def.phase_title(&phase.name),
                            phase
                                .transitions
                                .iter()
                                .map(|t| format!("{} (‘{}’)", t.to, def.phase_title(&t.to)))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                    Some(s) if !s.allowed() => {
                        return Err(FlowError::Refused {
                            to: s.to_title.clone(),
                            reasons: s.refusals.clone(),
                        });
                    }
                    _ => t.to_string(),
                }
            }
            None => {
                if st.conflict.is_some() {
                    return Err(FlowError::NotNow(
                        "partners vroegen tegelijk om verschillende overgangen; kies er een met --to".into(),
                    ));
                }
                let allowed: Vec<_> = st.transitions.iter().filter(|s| s.allowed()).collect();
                match allowed.as_slice() {
                    [one] => one.to.clone(),
                    [] => {
                        let first = st.transitions.first();
                        return Err(FlowError::Refused {
                            to: first.map(|s| s.to_title.clone()).unwrap_or_default(),
                            reasons: first.map(|s| s.refusals.clone()).unwrap_or_default(),
                        });
                    }
                    many => {
                        return Err(FlowError::NotNow(format!(
                            "er kunnen meerdere overgangen; kies er een met --to: {}",
                            many.iter()
                                .map(|s| s.to.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                }
            }
        };
        if phase.transition(&target).is_none() {
            return Err(FlowError::NotNow(format!(
                "vanuit {} kan het niet naar {target}",
                phase.name
            )));
        }
        let body = FactBody::Request {
            step: st.step,
            from: st.phase.clone(),
            to: target.clone(),
            based_on: docs_of(phase, &documents),
            decides: st.conflict.is_some(),
        };
        self.append(&mut loaded, body, &format!("naar {target}"), now, fact_id)?;
        self.status_of(&mut loaded.doc, now)
    }

    /// Approves (or with a reason, rejects) the current phase's documents as they are now.
    /// An organisation that does not take part yet joins as partner first.
    pub fn verdict(
        &self,
        id: &DocId,
        approve: bool,
        reason: &str,
        now: Timestamp,
        fact_ids: [[u8; 16]; 2],
    ) -> Result<Status, FlowError> {
        let Current {
            mut loaded,
            def,
            documents,
            st,
            ..
        } = self.current(id, now)?;
        let phase = current_phase(&def, &st)?;
        if !approve && reason.trim().is_empty() {
            return Err(FlowError::NotNow("geef een reden bij een afwijzing".into()));
        }
        crate::privacy::check_text("reden", reason)?;
        let me = self.replica.identity().profile.clone();
        if !st.participants.iter().any(|p| p.org_id == me.org_id) {
            let join = FactBody::Join {
                role: "partner".into(),
            };
            if !def.roles.iter().any(|r| r.name == "partner") {
                return Err(FlowError::NotNow(format!(
                    "{} doet nog niet mee; gebruik `kompas flow join`",
                    me.name
                )));
            }
            let signed = self.fact(join, now, fact_ids[1])?;
            append_fact(&mut loaded.doc, &signed)?;
        }
        let body = FactBody::Verdict {
            step: st.step,
            phase: st.phase.clone(),
            approve,
            reason: reason.trim().to_string(),
            docs: docs_of(phase, &documents),
        };
        let action = if approve { "stemt in" } else { "wijst af" };
        self.append(&mut loaded, body, action, now, fact_ids[0])?;
        self.status_of(&mut loaded.doc, now)
    }

    /// Moves the instance to `version` of its definition, staying in the current phase.
    pub fn migrate(
        &self,
        id: &DocId,
        version: &str,
        now: Timestamp,
        fact_id: [u8; 16],
    ) -> Result<Status, FlowError> {
        let Current {
            mut loaded,
            instance,
            def,
            st,
            ..
        } = self.current(id, now)?;
        let parsed = semver::Version::parse(version.trim()).map_err(|_| {
            FlowError::NotNow(format!(
                "{version:?} is geen versie; schrijf bijvoorbeeld 1.1.0"
            ))
        })?;
        let target =
            self.registry
                .version(&def.name, &parsed)
                .ok_or_else(|| FlowError::UnknownVersion {
                    name: def.name.clone(),
                    version: version.to_string(),
                    known: self
                        .registry
                        .latest(&def.name)
                        .map(|l| l.definition.version.to_string())
                        .unwrap_or_else(|| "(geen)".into()),
                })?;
        if target.hash == instance.effective().hash {
            return Err(FlowError::NotNow(format!(
                "werkstroom {id} gebruikt versie {version} al"
            )));
        }
        if target.definition.phase(&st.phase).is_none() {
            return Err(FlowError::NotNow(format!(
                "versie {version} heeft geen fase {}; de werkstroom kan daar niet heen",
                st.phase
            )));
        }
        let me = &self.replica.identity().profile;
        if !st
            .participants
            .iter()
            .any(|p| p.org_id == me.org_id && p.role == super::reducer::COORDINATOR)
        {
            return Err(FlowError::NotNow(
                "alleen een coördinator kan een werkstroom naar een andere versie overzetten"
                    .into(),
            ));
        }
        let body = FactBody::Migration {
            step: st.step,
            phase: st.phase.clone(),
            version: target.definition.version.to_string(),
            hash: target.hash.clone(),
            body: target.body.clone(),
            round: st.round,
        };
        self.append(
            &mut loaded,
            body,
            &format!("naar versie {version}"),
            now,
            fact_id,
        )?;
        self.status_of(&mut loaded.doc, now)
    }

    /// Records that the planned moment `schedule` was held on `date` (YYYY-MM-DD), with who took
    /// part and a note. It counts for the planned moment nearest to that day, so that moment is
    /// no longer missed (nor, if it is still ahead, coming up).
    #[allow(clippy::too_many_arguments)]
    pub fn held(
        &self,
        id: &DocId,
        schedule: &str,
        date: &str,
        participants: &[String],
        note: &str,
        now: Timestamp,
        fact_id: [u8; 16],
    ) -> Result<Status, FlowError> {
        let mut loaded = self.load_instance(id)?;
        let (instance, def) = self.read(&mut loaded.doc)?;
        let Some(s) = def.schedules.iter().find(|s| s.name == schedule) else {
            return Err(FlowError::NotNow(format!(
                "werkwijze ‘{}’ heeft geen gepland moment {schedule:?}; wel: {}",
                def.title,
                def.schedules
                    .iter()
                    .map(|s| format!("{} (‘{}’)", s.name, s.title))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let day = match crate::document::parse_date(date.trim())
            .and_then(|d| d.parse::<jiff::civil::Date>().ok())
        {
            Some(day) => day,
            None => {
                return Err(FlowError::NotNow(format!(
                    "{date:?} is geen datum; schrijf JJJJ-MM-DD"
                )));
            }
        };
        let tz = def.tz();
        let noon = day
            .at(12, 0, 0, 0)
            .to_zoned_datetime(tz.clone())
            .map(|z| Timestamp(z.timestamp().as_millisecond()))
            .map_err(|e| FlowError::NotNow(format!("{date}: {e}")))?;
        let (last, next) = super::reducer::moments_around(s, instance.created, noon, &tz);
        let distance = |t: Timestamp| (t.millis() - noon.millis()).abs();
        let moment = match (last, next) {
            (Some(l), Some(n)) => Some(if distance(n) < distance(l) { n } else { l }),
            (l, n) => l.or(n),
        }
        .ok_or_else(|| {
            FlowError::NotNow(format!(
                "‘{}’ heeft geen gepland moment rond {date}",
                s.title
            ))
        })?;
        let participants: Vec<String> = participants
            .iter()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        for p in &participants {
            crate::privacy::check_text("wie", p)?;
        }
        crate::privacy::check_text("notitie", note)?;
        let body = FactBody::Held {
            schedule: s.name.clone(),
            moment,
            date: day.to_string(),
            participants,
            note: note.trim().to_string(),
        };
        self.append(&mut loaded, body, "gepland moment gehouden", now, fact_id)?;
        self.status_of(&mut loaded.doc, now)
    }

    pub(super) fn fact(
        &self,
        body: FactBody,
        now: Timestamp,
        id: [u8; 16],
    ) -> Result<SignedFact, FlowError> {
        let fact = Fact::by(self.replica.identity(), body, now, id);
        Ok(SignedFact::sign(self.replica.identity(), fact)?)
    }

    fn append(
        &self,
        loaded: &mut LoadedDoc,
        body: FactBody,
        action: &str,
        now: Timestamp,
        id: [u8; 16],
    ) -> Result<(), FlowError> {
        let signed = self.fact(body, now, id)?;
        append_fact(&mut loaded.doc, &signed)?;
        self.replica.commit(loaded, action, now)?;
        Ok(())
    }

    /// Loads an instance with its pinned definition, the phase documents and the computed state.
    pub(super) fn current(&self, id: &DocId, now: Timestamp) -> Result<Current, FlowError> {
        let mut loaded = self.load_instance(id)?;
        let (instance, def) = self.read(&mut loaded.doc)?;
        let documents = self.documents_of(&instance)?;
        let members = self.members()?;
        let st = compute(&def, &instance, &documents, members.as_deref(), now);
        Ok(Current {
            loaded,
            instance,
            def,
            documents,
            st,
        })
    }

    fn read(&self, doc: &mut AutoCommit) -> Result<(Instance, Definition), FlowError> {
        let instance = read_instance(doc)?;
        let def = parse_pinned(&instance)?;
        Ok((instance, def))
    }

    fn status_of(&self, doc: &mut AutoCommit, now: Timestamp) -> Result<Status, FlowError> {
        self.status_in(read_instance(doc)?, now, &Shared::default())
    }

    fn status_in(
        &self,
        instance: Instance,
        now: Timestamp,
        shared: &Shared,
    ) -> Result<Status, FlowError> {
        let def = shared.definition(&instance)?;
        let views = self.views_of(&instance, shared)?;
        let actions = self.actions_due(&def, &views, now)?;
        let documents = snapshots(self.replica.catalog(), &views);
        let members = match shared.members.get() {
            Some(members) => members,
            None => {
                let members = self.members()?;
                shared.members.get_or_init(|| members)
            }
        };
        let state = compute(&def, &instance, &documents, members.as_deref(), now);
        // The phase works on this round's documents only.
        let worked_on = if instance.owns_documents {
            super::reducer::documents_in(&instance.facts, &documents, state.round)
        } else {
            documents
        };
        let guidance = guidance(&def, &state, &worked_on);
        let definition = instance.effective();
        Ok(Status {
            id: instance.id,
            title: instance.title,
            created: instance.created,
            definition,
            definition_title: def.title.clone(),
            state,
            guidance,
            actions,
            rejected: instance.rejected,
        })
    }

    /// The workspace's current members (counting this organisation's own member-list changes
    /// that wait for a relay), or `None` when the replica belongs to no workspace.
    fn members(&self) -> Result<Option<Vec<Member>>, FlowError> {
        let set =
            known_members(self.replica.store()).map_err(|e| FlowError::Members(e.to_string()))?;
        Ok(set.map(|set| {
            set.members()
                .map(|m| Member {
                    org_id: m.profile.key.org_id(),
                    name: m.profile.name.clone(),
                    org_type: m.profile.org_type,
                    since: m.joined_at,
                })
                .collect()
        }))
    }

    /// The documents the instance works on: those linked to it, or (for instances started
    /// before instances owned documents) every live document.
    pub fn documents_of(
        &self,
        instance: &Instance,
    ) -> Result<BTreeMap<DocId, DocSnapshot>, FlowError> {
        let shared = Shared::default();
        let views = self.views_of(instance, &shared)?;
        Ok(snapshots(self.replica.catalog(), &views))
    }

    /// The views of the documents the instance works on (see [`Flows::documents_of`]).
    fn views_of<'s>(
        &self,
        instance: &Instance,
        shared: &'s Shared,
    ) -> Result<Cow<'s, [DocView]>, FlowError> {
        let views = if instance.owns_documents {
            let mut views = Vec::new();
            for id in instance.linked() {
                match self.replica.get(&id) {
                    Ok(v) if v.deleted.is_none() => views.push(v),
                    // A linked document that was deleted, or has not arrived yet, is not
                    // worked on.
                    Ok(_) | Err(ReplicaError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Cow::Owned(views)
        } else {
            Cow::Borrowed(match shared.live.get() {
                Some(live) => live.as_slice(),
                None => {
                    let live = self.replica.list(None, false)?;
                    shared.live.get_or_init(|| live).as_slice()
                }
            })
        };
        Ok(views)
    }
}

/// What every instance of one listing reads alike, read for the first instance that needs it.
#[derive(Default)]
struct Shared {
    /// The live documents (what instances from before instances owned documents work on).
    live: OnceCell<Vec<DocView>>,
    /// The workspace's members.
    members: OnceCell<Option<Vec<Member>>>,
    /// The pinned definitions by name, version and exact text: instances of one definition
    /// share one parse.
    definitions: RefCell<HashMap<(String, String, String), Definition>>,
}

impl Shared {
    /// The definition `instance` is pinned to, parsed once per text for the whole listing.
    fn definition(&self, instance: &Instance) -> Result<Definition, FlowError> {
        let pinned = instance.effective();
        let key = (pinned.name, pinned.version, pinned.body);
        if let Some(def) = self.definitions.borrow().get(&key) {
            return Ok(def.clone());
        }
        let def = parse_pinned(instance)?;
        self.definitions.borrow_mut().insert(key, def.clone());
        Ok(def)
    }
}

/// What the reducer needs of each document.
fn snapshots(catalog: &Catalog, views: &[DocView]) -> BTreeMap<DocId, DocSnapshot> {
    views
        .iter()
        .map(|v| {
            let filled: BTreeSet<String> = v
                .fields
                .iter()
                .filter(|(_, value)| match value {
                    FieldValue::Text(s) => !s.trim().is_empty(),
                    FieldValue::Number(_) => true,
                    FieldValue::List(items) => !items.is_empty(),
                })
                .map(|(k, _)| k.clone())
                .collect();
            let title = doc_title(catalog, v).unwrap_or_default();
            (
                v.id.clone(),
                DocSnapshot {
                    kind: v.kind.clone(),
                    heads: v.heads.clone(),
                    filled,
                    title,
                },
            )
        })
        .collect()
}

/// What a document is called: the value of its kind's title field.
pub(super) fn doc_title(catalog: &Catalog, view: &DocView) -> Option<String> {
    let field = catalog.kind(&view.kind)?.title_field()?;
    match view.fields.get(&field.name) {
        Some(FieldValue::Text(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// The `i`-th fact id derived from one random id, for facts written together.
fn derived_id(random: &[u8; 16], i: usize) -> [u8; 16] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(random);
    hasher.update(&(i as u64).to_be_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    out
}

/// Parses the definition in force for an instance.
pub fn parse_pinned(instance: &Instance) -> Result<Definition, FlowError> {
    let pinned = instance.effective();
    let checked = definition::check(&format!("{}@{}", pinned.name, pinned.version), &pinned.body);
    checked.definition.ok_or_else(|| FlowError::BadPinned {
        id: instance.id.clone(),
        problem: checked
            .diagnostics
            .first()
            .map(ToString::to_string)
            .unwrap_or_default(),
    })
}

/// An instance as loaded for a command, with everything its state was computed from.
pub(super) struct Current {
    pub(super) loaded: LoadedDoc,
    pub(super) instance: Instance,
    pub(super) def: Definition,
    pub(super) documents: BTreeMap<DocId, DocSnapshot>,
    pub(super) st: InstanceState,
}

/// The definition's phase the instance is in, which a migration may have removed.
fn current_phase<'d>(
    def: &'d Definition,
    st: &InstanceState,
) -> Result<&'d definition::Phase, FlowError> {
    def.phase(&st.phase)
        .ok_or_else(|| FlowError::NotNow(format!("fase {} bestaat niet meer", st.phase)))
}

fn compute(
    def: &Definition,
    instance: &Instance,
    documents: &BTreeMap<DocId, DocSnapshot>,
    members: Option<&[Member]>,
    now: Timestamp,
) -> InstanceState {
    state(&Input {
        definition: def,
        created: instance.created,
        facts: &instance.facts,
        documents,
        owns_documents: instance.owns_documents,
        now,
        members,
    })
}
