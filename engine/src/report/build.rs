//! The pure function from a [`ReportInput`] to a [`RoundReport`]: no store, no clock, no I/O.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{Catalog, FieldType, KindDef};
use crate::document::{DocId, DocView, FieldValue, format_number};

use super::input::{IndicatorFigures, ReportInput, SourceDoc};
use super::model::{Authorship, Block, Colophon, ReportDoc, RoundInfo, RoundReport, ShownField};
use super::{actions, approvals, changes, figures, open};

/// The kind of a conversation about figures.
pub const CONVERSATION_KIND: &str = "cijfergesprek";
/// The kind of an improvement action.
pub const ACTION_KIND: &str = "verbeteractie";
/// The kind of a joint evaluation.
pub const EVALUATION_KIND: &str = "evaluatie";
/// The kind of the partnership's own description.
pub const PARTNERSHIP_KIND: &str = "samenwerking";

/// Computes the report of a round.
pub fn build(input: &ReportInput) -> RoundReport {
    let docs = Docs::of(input);
    let area = figures::choose_area(input);
    let results = figures::results(input, &docs, area);
    let figure_sections = figures::sections(input, &results, area);
    let conversations = actions::conversations(&docs);
    let action_list = actions::actions(input, &docs);
    let approvals = approvals::approvals(input);
    let changes = input.since.as_ref().map(|s| changes::since(input, s));
    let open = open::open_items(input, &action_list, &conversations);
    let partnership = docs
        .of_kind(PARTNERSHIP_KIND)
        .find_map(|d| text(&d.view, "naam"))
        .or_else(|| input.partnership.clone())
        .unwrap_or_else(|| input.round.title.clone());
    let state = &input.round.state;
    let phase_title = input
        .definition
        .phase(&state.phase)
        .map_or_else(|| state.phase.clone(), |p| p.title.clone());
    let blocks = input
        .definition
        .phases
        .iter()
        .filter(|p| !p.kinds.is_empty())
        .map(|p| Block {
            phase: p.name.clone(),
            title: p.title.clone(),
            description: p.description.clone(),
            documents: input
                .documents
                .iter()
                .filter(|d| p.kinds.contains(&d.view.kind))
                .map(|d| docs.shown(d))
                .collect(),
        })
        .collect();
    let covered = super::covered(input.documents.iter().map(|d| &d.view));
    let mut organisations: BTreeSet<String> =
        state.participants.iter().map(|p| p.name.clone()).collect();
    for d in &input.documents {
        organisations.extend(d.authors.iter().map(|a| a.org.clone()));
    }
    let policy = &input.policy;
    RoundReport {
        title: if input.part.of > 1 {
            format!(
                "Gezamenlijke evaluatie {}, {}",
                input.round.title, input.part.round.label
            )
        } else {
            format!("Gezamenlijke evaluatie {}", input.round.title)
        },
        partnership,
        round: RoundInfo {
            id: input.round.id.clone(),
            title: input.round.title.clone(),
            definition: format!(
                "{} {}",
                input.round.definition_title, input.round.definition.version
            ),
            phase: phase_title,
            started: input.round.created,
            finished: state.finished,
            number: input.part.round.number,
            label: input.part.round.label.clone(),
            current: input.part.current(),
        },
        made: input.now,
        blocks,
        approvals,
        results,
        figures: figure_sections,
        conversations,
        actions: action_list,
        changes,
        open,
        colophon: Colophon {
            organisations: organisations.into_iter().collect(),
            made_by: input.made_by.clone(),
            made: input.now,
            data_version: super::data_version(&covered),
            documents: covered.len(),
            indicators: input.indicators.len(),
            definition: format!(
                "{} {} ({})",
                input.round.definition.name,
                input.round.definition.version,
                input.round.definition.hash.get(..12).unwrap_or_default()
            ),
            area: area.map_or_else(|| "geen".into(), |a| input.registry.label(a)),
            policy: format!(
                "aantallen van 0 tot en met {} zijn geheim; getoonde aantallen afgerond op {}; secundaire onderdrukking {}",
                format_number(policy.threshold),
                format_number(policy.round_to),
                if policy.secondary { "aan" } else { "uit" }
            ),
            covered,
        },
    }
}

/// The documents of the input, with lookups by id and kind and the labels of the catalog.
pub(super) struct Docs<'a> {
    catalog: &'a Catalog,
    documents: &'a [SourceDoc],
    indicators: &'a [IndicatorFigures],
    by_id: BTreeMap<&'a DocId, &'a SourceDoc>,
}

impl<'a> Docs<'a> {
    /// Lookups over these documents and indicators.
    pub(super) fn new(
        catalog: &'a Catalog,
        documents: &'a [SourceDoc],
        indicators: &'a [IndicatorFigures],
    ) -> Self {
        Docs {
            catalog,
            documents,
            indicators,
            by_id: documents.iter().map(|d| (&d.view.id, d)).collect(),
        }
    }

    /// Lookups over the input's documents and indicators.
    pub(super) fn of(input: &'a ReportInput) -> Self {
        Docs::new(&input.catalog, &input.documents, &input.indicators)
    }

    /// The live documents of one kind, oldest first.
    pub(super) fn of_kind(&self, kind: &'a str) -> impl Iterator<Item = &'a SourceDoc> + 'a {
        self.documents.iter().filter(move |d| d.view.kind == kind)
    }

    /// A document by id.
    pub(super) fn get(&self, id: &str) -> Option<&'a SourceDoc> {
        DocId::parse(id)
            .ok()
            .and_then(|id| self.by_id.get(&id).copied())
    }

    /// The kind's definition.
    pub(super) fn kind(&self, kind: &str) -> Option<&'a KindDef> {
        self.catalog.kind(kind)
    }

    /// The kind's label.
    pub(super) fn kind_label(&self, kind: &str) -> String {
        self.kind(kind)
            .map_or_else(|| kind.to_string(), |k| k.label.clone())
    }

    /// The label of a field of a kind.
    pub(super) fn field_label(&self, kind: &str, field: &str) -> String {
        self.kind(kind)
            .and_then(|k| k.field(field))
            .map_or_else(|| field.to_string(), |f| f.label.clone())
    }

    /// A document's title: its `titel`, `naam` or `actie`, else its kind's label.
    pub(super) fn title(&self, view: &DocView) -> String {
        ["titel", "naam", "actie"]
            .iter()
            .find_map(|f| text(view, f))
            .unwrap_or_else(|| self.kind_label(&view.kind))
    }

    /// The title of the indicator called `name`, or the name itself.
    pub(super) fn indicator_title(&self, name: &str) -> String {
        self.indicators
            .iter()
            .find(|i| i.indicator.name == name)
            .map_or_else(|| name.to_string(), |i| i.indicator.title.clone())
    }

    /// The document as the report shows it.
    pub(super) fn shown(&self, doc: &SourceDoc) -> ReportDoc {
        let view = &doc.view;
        let title = self.title(view);
        let fields = match self.kind(&view.kind) {
            Some(kind) => kind
                .fields
                .iter()
                .filter(|f| !["titel", "naam"].contains(&f.name.as_str()))
                .filter_map(|f| {
                    let value = view.fields.get(&f.name)?;
                    Some(ShownField {
                        name: f.name.clone(),
                        label: f.label.clone(),
                        value: self.value_text(&f.ty, value),
                        long: matches!(f.ty, FieldType::LongText | FieldType::List { .. }),
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        ReportDoc {
            id: view.id.clone(),
            kind: view.kind.clone(),
            kind_label: self.kind_label(&view.kind),
            title,
            fields,
            created: view.created,
            authors: doc
                .authors
                .iter()
                .map(|a| Authorship {
                    org: a.org.clone(),
                    fields: a
                        .fields
                        .iter()
                        .map(|f| self.field_label(&view.kind, f))
                        .collect(),
                    created: a.created,
                })
                .collect(),
        }
    }

    /// A value as text: links by their target's title, indicators by theirs, list items one
    /// per line with their fields' labels.
    pub(super) fn value_text(&self, ty: &FieldType, value: &FieldValue) -> String {
        match (ty, value) {
            (FieldType::Link { .. }, FieldValue::Text(id)) => self
                .get(id)
                .map_or_else(|| id.clone(), |d| self.title(&d.view)),
            (FieldType::Figure, FieldValue::Text(name)) => self.indicator_title(name),
            (FieldType::Percentage, FieldValue::Number(n)) => format!("{}%", format_number(*n)),
            (FieldType::Choice { .. }, FieldValue::Text(option)) => FieldType::option_shown(option),
            (FieldType::Date, FieldValue::Text(d)) => {
                crate::time::dutch_date_text(d).unwrap_or_else(|| d.clone())
            }
            (FieldType::List { fields }, FieldValue::List(items)) => items
                .iter()
                .map(|item| {
                    fields
                        .iter()
                        .filter_map(|f| {
                            let v = item.get(&f.name)?;
                            Some(format!("{}: {}", f.label, self.value_text(&f.ty, v)))
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .collect::<Vec<_>>()
                .join("\n"),
            (_, v) => v.to_string(),
        }
    }
}

/// A text field's value, if filled.
pub(super) fn text(view: &DocView, field: &str) -> Option<String> {
    match view.fields.get(field) {
        Some(FieldValue::Text(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(FieldValue::Number(n)) => Some(format_number(*n)),
        _ => None,
    }
}

/// A number field's value, if filled.
pub(super) fn number(view: &DocView, field: &str) -> Option<f64> {
    match view.fields.get(field) {
        Some(FieldValue::Number(n)) => Some(*n),
        _ => None,
    }
}

/// Whether documents of this kind are covered by a report, as the kind's rules say.
pub fn is_report_kind(kinds: &crate::kinds::Kinds, kind: &str) -> bool {
    kinds.rules(kind).in_reports
}
