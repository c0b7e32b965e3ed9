//! The report of a round as laid-out pages: title page, contents, then the numbered sections
//! in the same order and with the same texts as the HTML page, all from the formatted [`View`].

use super::layout::{
    BAD, GOOD, GREY, Kind, Layout, MARGIN_X, PAGE_H, Run, Style, WARN, WIDTH, run,
};
use crate::render::view::View;

/// A heading of the contents: its place among all headings, level and label.
pub struct TocEntry {
    pub heading: usize,
    pub level: u16,
    pub label: String,
    /// The number of its page among the numbered pages.
    pub page: usize,
}

fn body(t: &str) -> Run {
    run(t, Style::body())
}

fn bold(t: &str) -> Run {
    run(t, Style::body().bold())
}

fn meta(t: &str) -> Run {
    run(t, Style::meta())
}

fn empty(l: &mut Layout<'_>, t: &str) {
    l.para(&[run(t, Style::body().italic())]);
}

/// A labelled field: on one line when it is one paragraph, else the label above.
fn field(l: &mut Layout<'_>, label: &str, paragraphs: &[String]) {
    match paragraphs {
        [one] => l.para(&[bold(&format!("{label}:")), body(one)]),
        many => {
            l.para(&[bold(label)]);
            for p in many {
                l.para(&[body(p)]);
            }
        }
    }
}

/// The title page.
pub fn title_page(l: &mut Layout<'_>, v: &View) {
    let node = l.node(Kind::Title, None);
    l.skip(PAGE_H * 0.32);
    l.paragraph(&[meta("Gezamenlijke evaluatie")], 0.0, node, None);
    l.skip(6.0);
    l.paragraph(
        &[run(&v.partnership, Style::body().bold().sized(26.0))],
        0.0,
        node,
        None,
    );
    l.skip(6.0);
    let sub = l.node(Kind::Paragraph, None);
    l.paragraph(
        &[run(&v.subtitle, Style::body().sized(14.0))],
        0.0,
        sub,
        None,
    );
    l.skip(PAGE_H * 0.3);
    let made = l.node(Kind::Paragraph, None);
    l.paragraph(
        &[meta(&format!("Gemaakt op {} door {}", v.made, v.made_by))],
        0.0,
        made,
        None,
    );
}

/// The contents: one line per entry with its page number at the right, linked to the heading.
pub fn contents(l: &mut Layout<'_>, entries: &[TocEntry]) {
    l.page_break();
    let heading = l.node(Kind::Paragraph, None);
    l.paragraph(
        &[run("Inhoud", Style::body().bold().sized(16.0))],
        0.0,
        heading,
        None,
    );
    l.skip(10.0);
    let toc = l.node(Kind::Toc, None);
    for e in entries {
        let item = l.node(Kind::TocItem, Some(toc));
        let indent = if e.level > 1 { 18.0 } else { 0.0 };
        let style = if e.level > 1 {
            Style::body()
        } else {
            Style::body().bold()
        };
        if e.level == 1 {
            l.space(5.0);
        }
        l.paragraph(&[run(&e.label, style)], indent, item, None);
        let number = e.page.to_string();
        let w = l.fonts.width(style.face, style.size, &number);
        let baseline = l.y() - style.size * 1.35 * 0.22;
        l.text_at(MARGIN_X + WIDTH - w, baseline, &number, style, item);
        l.link(e.heading, style.size * 1.35);
    }
}

/// Every numbered section.
/// `charts` holds the size of each figure's chart (`None`: it could not be drawn).
pub fn sections(l: &mut Layout<'_>, v: &View, charts: &[Option<(f32, f32)>]) {
    let n = &mut Numbers { section: 0, sub: 0 };
    blocks(l, n, v);
    approvals(l, n, v);
    results(l, n, v);
    figures(l, n, v, charts);
    conversations(l, n, v);
    actions(l, n, v);
    changes(l, n, v);
    open(l, n, v);
    colophon(l, v);
}

/// Section numbers: "1", then "1.1", "1.2"...
struct Numbers {
    section: usize,
    sub: usize,
}

impl Numbers {
    fn top(&mut self) -> String {
        self.section += 1;
        self.sub = 0;
        self.section.to_string()
    }
    fn sub(&mut self) -> String {
        self.sub += 1;
        format!("{}.{}", self.section, self.sub)
    }
}

fn h1(l: &mut Layout<'_>, n: &mut Numbers, title: &str) {
    let number = n.top();
    l.heading(1, &format!("{number} {title}"), true);
}

fn h2(l: &mut Layout<'_>, n: &mut Numbers, title: &str) {
    let number = n.sub();
    l.heading(2, &format!("{number} {title}"), true);
}

fn blocks(l: &mut Layout<'_>, n: &mut Numbers, v: &View) {
    h1(l, n, "Bouwstenen");
    for b in &v.blocks {
        h2(l, n, &b.title);
        if !b.description.is_empty() {
            l.para(&[meta(&b.description)]);
        }
        if b.docs.is_empty() {
            empty(l, "Nog geen documenten.");
        }
        for d in &b.docs {
            l.heading(3, &d.title, false);
            l.para(&[meta(&format!(
                "{}, aangemaakt {}. {}.",
                d.kind, d.created, d.authors
            ))]);
            for f in &d.fields {
                field(l, &f.label, &f.paragraphs);
            }
        }
    }
}

fn approvals(l: &mut Layout<'_>, n: &mut Numbers, v: &View) {
    h1(l, n, "Instemming per fase");
    if v.approvals.is_empty() {
        empty(l, "Er is nog in geen enkele fase om instemming gevraagd.");
    }
    for a in &v.approvals {
        h2(l, n, &a.title);
        if a.rows.is_empty() {
            empty(l, "Nog geen oordelen.");
        } else {
            let rows: Vec<Vec<Vec<Run>>> = a
                .rows
                .iter()
                .map(|x| {
                    let verdict = if x.stale {
                        run(&x.verdict, Style::body().bold().coloured(WARN))
                    } else {
                        body(&x.verdict)
                    };
                    vec![vec![body(&x.org)], vec![verdict], vec![body(&x.at)]]
                })
                .collect();
            l.table(
                &[1.3, 1.6, 0.8],
                &["Organisatie", "Oordeel", "Wanneer"],
                &rows,
                10.0,
            );
        }
        if !a.missing.is_empty() {
            l.para(&[body(&format!("Nog geen oordeel van: {}.", a.missing))]);
        }
    }
}

fn course_style(class: &str) -> Style {
    let s = Style::body().bold().sized(9.0);
    match class {
        "goed" => s.coloured(GOOD),
        "slecht" => s.coloured(BAD),
        _ => s.coloured(GREY),
    }
}

fn results(l: &mut Layout<'_>, n: &mut Numbers, v: &View) {
    h1(l, n, "Van ambitie naar maatschappelijk resultaat");
    if v.results.is_empty() {
        empty(l, "Nog geen maatschappelijke resultaten.");
        return;
    }
    let small = Style::body().sized(9.0);
    let note = Style::meta().sized(8.0);
    let rows: Vec<Vec<Vec<Run>>> = v
        .results
        .iter()
        .map(|x| {
            let mut actual = vec![run(&x.actual, small)];
            if !x.actual_note.is_empty() {
                actual.push(run(format!("\n{}", x.actual_note), note));
            }
            let mut course = vec![run(&x.course, course_style(&x.course_class))];
            if !x.course_note.is_empty() {
                course.push(run(format!("\n{}", x.course_note), note));
            }
            vec![
                vec![run(&x.ambition, small)],
                vec![run(&x.title, small)],
                vec![run(&x.indicator, small)],
                vec![run(&x.baseline, small)],
                actual,
                vec![run(&x.target, small)],
                course,
            ]
        })
        .collect();
    l.table(
        &[1.1, 1.1, 0.9, 0.7, 1.3, 1.4, 1.1],
        &[
            "Ambitie",
            "Resultaat",
            "Indicator",
            "Nulmeting",
            "Laatste stand",
            "Streefwaarde",
            "Op koers?",
        ],
        &rows,
        9.0,
    );
}

fn figures(l: &mut Layout<'_>, n: &mut Numbers, v: &View, charts: &[Option<(f32, f32)>]) {
    h1(l, n, "Cijfers en verhalen");
    if v.figures.is_empty() {
        empty(
            l,
            "Er zijn nog geen cijfers die bij de resultaten of verhalen horen.",
        );
    }
    for (i, f) in v.figures.iter().enumerate() {
        h2(l, n, &f.title);
        if !f.definition.is_empty() {
            l.para(&[meta(&f.definition)]);
        }
        // The chart carries its own source line; only without a chart is it written here.
        let notes = f.notes.join(" ");
        if let Some(size) = charts.get(i).copied().flatten() {
            l.chart(i, size, &f.title, &[meta(&notes)]);
        } else {
            l.para(&[meta(&format!("{} {notes}", f.source_line))]);
        }
        for s in &f.stories {
            let mut runs = vec![
                bold(&s.title),
                body(&format!(" ({})\n", s.kind)),
                body(&s.text),
            ];
            if !s.count.is_empty() {
                runs.push(meta(&format!("\n{}", s.count)));
            }
            l.boxed(&runs);
        }
    }
}

fn conversations(l: &mut Layout<'_>, n: &mut Numbers, v: &View) {
    h1(l, n, "Gesprekken over cijfers");
    if v.conversations.is_empty() {
        empty(
            l,
            "In deze ronde is nog geen gesprek over cijfers vastgelegd.",
        );
    }
    for c in &v.conversations {
        h2(l, n, &c.title);
        l.para(&[bold("Doel:"), body(&c.goal)]);
        if !c.figures.is_empty() {
            l.para(&[bold("Besproken cijfers:")]);
            let items: Vec<Vec<Run>> = c.figures.iter().map(|f| vec![body(f)]).collect();
            l.list(&items);
        }
        let rows: Vec<Vec<Vec<Run>>> = c
            .answers
            .iter()
            .map(|a| {
                vec![
                    vec![
                        bold(&a.step),
                        run(format!("\n{}", a.question), Style::meta()),
                    ],
                    vec![body(&a.answer)],
                ]
            })
            .collect();
        l.table(&[1.0, 2.0], &["Vraag", "Antwoord"], &rows, 10.0);
        if !c.agreements.is_empty() {
            l.para(&[bold("Afspraken:")]);
            let items: Vec<Vec<Run>> = c
                .agreements
                .iter()
                .map(|a| {
                    vec![body(&format!(
                        "{}: {} (uiterlijk {})",
                        a.who, a.what, a.when
                    ))]
                })
                .collect();
            l.list(&items);
        }
        l.para(&[bold("Volgende keer:"), body(&c.next)]);
    }
}

fn actions(l: &mut Layout<'_>, n: &mut Numbers, v: &View) {
    h1(l, n, "Verbeteracties");
    if v.actions.is_empty() {
        empty(l, "Nog geen verbeteracties.");
        return;
    }
    let small = Style::body().sized(9.0);
    let rows: Vec<Vec<Vec<Run>>> = v
        .actions
        .iter()
        .map(|a| {
            let deadline = if a.overdue {
                run(
                    format!("{} (te laat)", a.deadline),
                    small.bold().coloured(BAD),
                )
            } else {
                run(&a.deadline, small)
            };
            vec![
                vec![run(&a.action, small)],
                vec![run(&a.owner, small)],
                vec![deadline],
                vec![run(&a.status, small)],
                vec![run(&a.carried_out, small)],
                vec![run(&a.result, small)],
                vec![run(&a.improved, small)],
            ]
        })
        .collect();
    l.table(
        &[1.4, 1.0, 0.8, 0.8, 0.8, 1.2, 0.9],
        &[
            "Actie",
            "Eigenaar",
            "Deadline",
            "Stand",
            "Uitgevoerd?",
            "Resultaat van de actie",
            "Situatie verbeterd?",
        ],
        &rows,
        9.0,
    );
}

fn changes(l: &mut Layout<'_>, n: &mut Numbers, v: &View) {
    h1(l, n, "Wat veranderde sinds de vorige evaluatie");
    let Some(c) = &v.changes else {
        empty(
            l,
            "Er is nog geen evaluatie vastgelegd. Leg de evaluatie vast met kompas rapport vastleggen; het volgende rapport laat dan zien wat sindsdien veranderde.",
        );
        return;
    };
    l.para(&[body(&c.intro)]);
    for d in &c.docs {
        l.heading(3, &d.title, false);
        l.para(&[meta(&format!("{}: {}", d.kind, d.change))]);
        if !d.lines.is_empty() {
            let items: Vec<Vec<Run>> = d.lines.iter().map(|x| vec![body(x)]).collect();
            l.list(&items);
        }
    }
}

fn open(l: &mut Layout<'_>, n: &mut Numbers, v: &View) {
    h1(l, n, "Wat nog openstaat");
    if v.open.is_empty() {
        empty(l, "Niets: alles is rond.");
        return;
    }
    let rows: Vec<Vec<Vec<Run>>> = v
        .open
        .iter()
        .map(|o| vec![vec![body(&o.what)], vec![body(&o.who)], vec![body(&o.due)]])
        .collect();
    l.table(&[2.2, 1.2, 0.8], &["Wat", "Wie", "Uiterlijk"], &rows, 10.0);
}

fn colophon(l: &mut Layout<'_>, v: &View) {
    l.heading(1, "Colofon", true);
    let rows: Vec<Vec<Vec<Run>>> = v
        .colophon
        .iter()
        .map(|p| vec![vec![bold(&p.label)], vec![body(&p.value)]])
        .collect();
    l.table(&[1.0, 2.2], &["Gegeven", "Waarde"], &rows, 10.0);
}
