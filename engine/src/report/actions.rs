//! The conversations about figures and the improvement actions, read from their documents.

use crate::document::{DocView, FieldValue, parse_date};

use super::build::{ACTION_KIND, CONVERSATION_KIND, Docs, EVALUATION_KIND, text};
use super::input::ReportInput;
use super::model::{Action, Agreement, Answer, Conversation, DiscussedFigure};

/// The four interpretation steps: field, step, question.
pub const FOUR_QUESTIONS: [(&str, &str, &str); 4] = [
    (
        "herkennen",
        "Herkennen",
        "Herkennen we deze cijfers uit de dagelijkse praktijk?",
    ),
    (
        "verklaren",
        "Verklaren",
        "Hoe verklaren we ze? Zijn er groepen waarvoor het cijfer anders is?",
    ),
    (
        "waarderen",
        "Waarderen",
        "Wat vinden we ervan: hoog, laag, goed genoeg?",
    ),
    (
        "verbeteren",
        "Verbeteren",
        "Zijn verbeteracties nodig, en welke?",
    ),
];

/// Every conversation about figures, oldest first.
pub(super) fn conversations(docs: &Docs<'_>) -> Vec<Conversation> {
    docs.of_kind(CONVERSATION_KIND)
        .map(|d| conversation(docs, &d.view))
        .collect()
}

/// One conversation as its minutes show it.
pub(super) fn conversation(docs: &Docs<'_>, view: &DocView) -> Conversation {
    let t = |f: &str| text(view, f).unwrap_or_default();
    let items = |f: &str| match view.fields.get(f) {
        Some(FieldValue::List(items)) => items.clone(),
        _ => Vec::new(),
    };
    let item_text = |item: &std::collections::BTreeMap<String, FieldValue>, f: &str| {
        item.get(f).map(ToString::to_string).unwrap_or_default()
    };
    Conversation {
        id: view.id.clone(),
        title: docs.title(view),
        goal: t("doel"),
        practice: t("praktijkkennis"),
        data: t("datakennis"),
        mandate: t("mandaat"),
        figures: items("cijfers")
            .iter()
            .map(|i| DiscussedFigure {
                indicator: docs.indicator_title(&item_text(i, "indicator")),
                when: item_text(i, "wanneer"),
                how: item_text(i, "hoe"),
                why: item_text(i, "waarom"),
            })
            .collect(),
        conduct: t("gespreksvoering"),
        answers: FOUR_QUESTIONS
            .iter()
            .map(|(field, step, question)| Answer {
                step: (*step).into(),
                question: (*question).into(),
                answer: t(field),
            })
            .collect(),
        before: t("waar-stonden-we"),
        now: t("waar-staan-we"),
        agreements: items("afspraken")
            .iter()
            .map(|i| Agreement {
                who: item_text(i, "wie"),
                what: item_text(i, "wat"),
                when: item_text(i, "wanneer"),
            })
            .collect(),
        next_meeting: t("volgend-overleg"),
        next_topic: t("volgend-onderwerp"),
        looking_back: t("terugblik"),
    }
}

/// Every improvement action: the `verbeteractie` documents, then the actions listed in the
/// evaluations, each with the three monitoring levels as far as they are recorded.
pub(super) fn actions(input: &ReportInput, docs: &Docs<'_>) -> Vec<Action> {
    let today = input.now.to_string();
    let today = today.split(' ').next().unwrap_or_default().to_string();
    let overdue = |deadline: &str, done: bool| {
        !done && parse_date(deadline).is_some_and(|d| d.as_str() < today.as_str())
    };
    let mut out = Vec::new();
    for d in docs.of_kind(ACTION_KIND) {
        let v = &d.view;
        let t = |f: &str| text(v, f).unwrap_or_default();
        let mut a = Action {
            id: v.id.clone(),
            item: None,
            action: t("actie"),
            owner: t("eigenaar"),
            deadline: t("deadline"),
            status: t("status"),
            carried_out: t("uitgevoerd"),
            result: t("resultaat-actie"),
            improved: t("situatie-verbeterd"),
            overdue: false,
        };
        a.overdue = overdue(&a.deadline, a.done());
        out.push(a);
    }
    for d in docs.of_kind(EVALUATION_KIND) {
        let Some(FieldValue::List(items)) = d.view.fields.get("verbeteracties") else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let t = |f: &str| item.get(f).map(ToString::to_string).unwrap_or_default();
            let mut a = Action {
                id: d.view.id.clone(),
                item: Some(i),
                action: t("actie"),
                owner: t("eigenaar"),
                deadline: t("deadline"),
                status: String::new(),
                carried_out: String::new(),
                result: String::new(),
                improved: String::new(),
                overdue: false,
            };
            a.overdue = overdue(&a.deadline, false);
            out.push(a);
        }
    }
    out
}
