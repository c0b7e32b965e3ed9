//! Guidance for the current phase of an instance, as people need it to do the work: the phase's
//! title and description, its tasks with their questions, its documents with every field's
//! label, help text, whether it is required and whether it is filled, and what is still missing,
//! in words. The CLI and the web app render this one value; neither works it out themselves.

use std::collections::BTreeMap;

use super::state::{DocSnapshot, InstanceState};
use crate::catalog::{FieldDef, FieldType, KindDef};
use crate::definition::{Definition, Phase};
use crate::document::DocId;

/// What the current phase asks of the partners.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Guidance {
    /// The phase's name (for links and `--json`).
    pub phase: String,
    /// Its title.
    pub title: String,
    /// What happens in it.
    pub description: String,
    /// Whether the instance has ended.
    pub finished: bool,
    /// The tasks with their guidance questions.
    pub tasks: Vec<TaskGuide>,
    /// The documents worked on in this phase; a kind without any document yet appears once,
    /// with `id: null`, so people see what to create.
    pub documents: Vec<DocumentGuide>,
    /// The ways out of the phase, each with what it still needs, in words.
    pub transitions: Vec<TransitionGuide>,
    /// What is still missing before the phase can be completed the usual way (its first
    /// transition), in words; empty when a transition is allowed now.
    pub missing: Vec<String>,
}

/// A task of the phase.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TaskGuide {
    /// What to do.
    pub title: String,
    /// Explanation.
    pub description: String,
    /// The questions to answer together.
    pub questions: Vec<String>,
}

/// One document of the phase with its fields.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DocumentGuide {
    /// The document, or `None` when no document of the kind exists yet.
    pub id: Option<DocId>,
    /// Its kind's name.
    pub kind: String,
    /// Its kind's label.
    pub kind_label: String,
    /// What documents of the kind are for.
    pub kind_description: String,
    /// The document's title; empty when it has none (or does not exist yet).
    pub title: String,
    /// Every field of the kind, in its order.
    pub fields: Vec<FieldGuide>,
}

/// One field of a document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldGuide {
    /// The field's name (as in `FIELD=VALUE`).
    pub name: String,
    /// Its label.
    pub label: String,
    /// The help text for whoever fills it.
    pub help: String,
    /// What a value looks like, in words.
    pub value: String,
    /// For a choice: the options, each with its label.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ChoiceGuide>,
    /// Whether a way out of the phase needs it filled.
    pub required: bool,
    /// Whether it holds a value.
    pub filled: bool,
}

/// One option of a choice field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChoiceGuide {
    /// The stored value.
    pub value: String,
    /// How it is shown.
    pub label: String,
}

/// A way out of the phase.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TransitionGuide {
    /// The target phase's name.
    pub to: String,
    /// Its title.
    pub to_title: String,
    /// What the move is called.
    pub label: String,
    /// Whether it may be made now.
    pub allowed: bool,
    /// What it still needs, in words.
    pub missing: Vec<String>,
}

/// The guidance for the phase `state` is in, given the instance's `documents`.
pub fn guidance(
    def: &Definition,
    state: &InstanceState,
    documents: &BTreeMap<DocId, DocSnapshot>,
) -> Guidance {
    let Some(phase) = def.phase(&state.phase) else {
        return Guidance {
            phase: state.phase.clone(),
            title: state.phase_title.clone(),
            description: String::new(),
            finished: state.finished,
            tasks: Vec::new(),
            documents: Vec::new(),
            transitions: Vec::new(),
            missing: Vec::new(),
        };
    };
    let transitions: Vec<TransitionGuide> = state
        .transitions
        .iter()
        .map(|t| {
            let mut missing: Vec<String> = Vec::new();
            for r in &t.refusals {
                let words = r.to_string();
                if !missing.contains(&words) {
                    missing.push(words);
                }
            }
            TransitionGuide {
                to: t.to.clone(),
                to_title: t.to_title.clone(),
                label: t.label.clone(),
                allowed: t.allowed(),
                missing,
            }
        })
        .collect();
    let missing = if transitions.iter().any(|t| t.allowed) {
        Vec::new()
    } else {
        transitions
            .first()
            .map(|t| t.missing.clone())
            .unwrap_or_default()
    };
    Guidance {
        phase: phase.name.clone(),
        title: def.phase_title(&phase.name),
        description: phase.description.clone(),
        finished: state.finished,
        tasks: phase
            .tasks
            .iter()
            .map(|t| TaskGuide {
                title: t.title.clone(),
                description: t.description.clone(),
                questions: t.questions.clone(),
            })
            .collect(),
        documents: phase_documents(def, phase, documents),
        transitions,
        missing,
    }
}

fn phase_documents(
    def: &Definition,
    phase: &Phase,
    documents: &BTreeMap<DocId, DocSnapshot>,
) -> Vec<DocumentGuide> {
    let mut out = Vec::new();
    for kind_name in &phase.kinds {
        let Some(kind) = def.kind(kind_name) else {
            continue;
        };
        let mut docs: Vec<(&DocId, &DocSnapshot)> = documents
            .iter()
            .filter(|(_, d)| &d.kind == kind_name)
            .collect();
        docs.sort_by(|a, b| (&a.1.title, a.0).cmp(&(&b.1.title, b.0)));
        if docs.is_empty() {
            out.push(document(phase, kind, None, None));
        }
        for (id, d) in docs {
            out.push(document(phase, kind, Some(id), Some(d)));
        }
    }
    out
}

fn document(
    phase: &Phase,
    kind: &KindDef,
    id: Option<&DocId>,
    snapshot: Option<&DocSnapshot>,
) -> DocumentGuide {
    DocumentGuide {
        id: id.cloned(),
        kind: kind.name.clone(),
        kind_label: kind.label.clone(),
        kind_description: kind.description.clone(),
        title: snapshot.map(|s| s.title.clone()).unwrap_or_default(),
        fields: kind
            .fields
            .iter()
            .map(|f| field(phase, kind, f, snapshot))
            .collect(),
    }
}

fn field(
    phase: &Phase,
    kind: &KindDef,
    f: &FieldDef,
    snapshot: Option<&DocSnapshot>,
) -> FieldGuide {
    let named_by_guard = phase.transitions.iter().any(|t| {
        t.guard
            .fields
            .iter()
            .any(|(k, n)| k == &kind.name && n == &f.name)
    });
    let required_by_phase = f.required && phase.transitions.iter().any(|t| t.guard.required_fields);
    FieldGuide {
        name: f.name.clone(),
        label: f.label.clone(),
        help: f.help.clone(),
        value: f.ty.describe(),
        options: match &f.ty {
            FieldType::Choice { options } => options
                .iter()
                .map(|o| ChoiceGuide {
                    value: o.clone(),
                    label: FieldType::option_label(o),
                })
                .collect(),
            _ => Vec::new(),
        },
        required: named_by_guard || required_by_phase,
        filled: snapshot.is_some_and(|s| s.filled.contains(&f.name)),
    }
}
