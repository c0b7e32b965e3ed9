//! The HTML renderings, with askama templates under `cli/templates/rapport/`: the report of a
//! round and the minutes of a conversation. Self-contained: the style sheet and the charts (SVG)
//! are inside the page, nothing is fetched from elsewhere.

use askama::Template;
use kompas_engine::report::{Conversation, RoundReport};

use super::view::{ConversationV, View, conversation, paragraphs};

/// The report's style sheet, also used by the minutes.
const CSS: &str = include_str!("../../templates/rapport/stijl.css");

#[derive(Template)]
#[template(path = "rapport/ronde.html")]
struct RoundPage<'a> {
    v: &'a View,
    css: &'a str,
}

/// The report of a round as one HTML page.
pub fn round(report: &RoundReport) -> anyhow::Result<String> {
    let v = View::of(report);
    Ok(RoundPage { v: &v, css: CSS }.render()?)
}

/// What the minutes show besides the conversation itself.
pub struct MinutesHeader {
    /// The partnership's name.
    pub partnership: String,
    /// When the minutes were made.
    pub made: String,
    /// By which organisation.
    pub made_by: String,
}

#[derive(Template)]
#[template(path = "rapport/gesprek.html")]
struct MinutesPage<'a> {
    c: &'a ConversationV,
    goal: Vec<String>,
    partnership: &'a str,
    made: &'a str,
    made_by: &'a str,
    css: &'a str,
}

#[derive(Template)]
#[template(path = "rapport/gesprek.txt")]
struct MinutesText<'a> {
    c: &'a ConversationV,
    goal: Vec<String>,
    partnership: &'a str,
    made: &'a str,
    made_by: &'a str,
}

/// The minutes of a conversation: as HTML when `html`, else as plain text for an e-mail.
pub fn minutes(c: &Conversation, header: &MinutesHeader, html: bool) -> anyhow::Result<String> {
    let v = conversation(c);
    let goal = paragraphs(&v.goal);
    Ok(if html {
        MinutesPage {
            c: &v,
            goal,
            partnership: &header.partnership,
            made: &header.made,
            made_by: &header.made_by,
            css: CSS,
        }
        .render()?
    } else {
        MinutesText {
            c: &v,
            goal,
            partnership: &header.partnership,
            made: &header.made,
            made_by: &header.made_by,
        }
        .render()?
    })
}
