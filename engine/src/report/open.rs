//! What is still open in the round: blocked ways out of the current phase, whose turn it is, a
//! passed deadline, unfinished improvement actions and unfinished conversations.

use super::input::ReportInput;
use super::model::{Action, Conversation, OpenItem};

/// Everything still open, the round first.
pub(super) fn open_items(
    input: &ReportInput,
    actions: &[Action],
    conversations: &[Conversation],
) -> Vec<OpenItem> {
    let state = &input.round.state;
    let mut out = Vec::new();
    // Only the round the instance is in has a phase with ways out and turns.
    if !state.finished && input.part.current() {
        let due = state
            .due
            .as_ref()
            .map(|d| d.deadline.dutch())
            .unwrap_or_default();
        for t in state.transitions.iter().filter(|t| !t.allowed()) {
            let label = if t.label.is_empty() { &t.to } else { &t.label };
            out.push(OpenItem {
                what: format!(
                    "{label}: {}",
                    t.refusals
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                who: String::new(),
                due: due.clone(),
            });
        }
        for (org, what) in &state.turn {
            out.push(OpenItem {
                what: what.clone(),
                who: org.clone(),
                due: due.clone(),
            });
        }
    }
    for a in actions.iter().filter(|a| !a.done()) {
        out.push(OpenItem {
            what: format!(
                "Verbeteractie: {}{}",
                a.action,
                if a.overdue { " (te laat)" } else { "" }
            ),
            who: a.owner.clone(),
            due: a.deadline.clone(),
        });
    }
    for c in conversations {
        let missing: Vec<&str> = c
            .answers
            .iter()
            .filter(|a| a.answer.is_empty())
            .map(|a| a.step.as_str())
            .collect();
        if !missing.is_empty() {
            out.push(OpenItem {
                what: format!(
                    "Gesprek over cijfers {}: nog geen antwoord op {}",
                    c.title,
                    missing.join(", ").to_lowercase()
                ),
                who: String::new(),
                due: c.next_meeting.clone(),
            });
        }
    }
    out
}
