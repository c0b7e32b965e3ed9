//! The PDF of a round's report: krilla writes it, a small layout of our own places it.
//!
//! Choice: krilla (with krilla-svg for the charts) rather than the typst compiler. An earlier
//! version laid the report out with typst used as a library. typst does the whole layout, but
//! it brings about 270 crates; measured on this project's two-core build machine, its first
//! debug build added far more than the few minutes a CI run can spare (the numbers are in
//! docs/reports.md). krilla is the PDF writer typst itself uses: embedded, subset fonts, real
//! text, tagged PDF, outlines, links, page labels, but no layout. The layout this report
//! needs is small and fixed (headings, paragraphs, tables, a chart per figure, a title page
//! and a contents page), so `layout.rs` does it: greedy line breaking over measured words,
//! page breaks, table rows continued under a repeated header. Nothing here writes PDF syntax.
//!
//! The fonts (`fonts.rs`) are Libertinus Serif from the data-only `typst-assets` crate, built
//! into the binary, so no font is read from the machine. The content (`report.rs`) comes from
//! the same formatted [`View`] as the HTML page, and the text passes the privacy guard before
//! anything is laid out. `write.rs` turns the laid-out pages into the tagged PDF.

mod fonts;
mod layout;
mod report;
mod write;

use std::sync::Arc;

use anyhow::Context as _;
use kompas_engine::report::RoundReport;

use self::fonts::{FAMILY, Fonts};
use self::layout::Layout;
use self::report::TocEntry;
use super::view::View;

/// The report of a round as a PDF document.
pub fn round(report: &RoundReport) -> anyhow::Result<Vec<u8>> {
    let view = View::of(report);
    // Everything the PDF shows is in the view (the charts were drawn from the checked
    // report); it passes the privacy guard before anything is laid out.
    let data = serde_json::to_string(&view).context("het rapport kan niet als JSON")?;
    kompas_engine::report::check_output("rapport", &data)?;
    let fonts = Fonts::load()?;
    let charts = charts(&view, &fonts);
    let sizes: Vec<Option<(f32, f32)>> = charts
        .iter()
        .map(|t| t.as_ref().map(|t| (t.size().width(), t.size().height())))
        .collect();

    // First pass: where the headings fall among the numbered pages.
    let mut first = Layout::new(&fonts);
    report::sections(&mut first, &view, &sizes);
    let entries: Vec<TocEntry> = first
        .headings
        .iter()
        .enumerate()
        .filter(|(_, h)| h.outlined && h.level <= 2)
        .map(|(i, h)| TocEntry {
            heading: i,
            level: h.level,
            label: h.label.clone(),
            page: h.page + 1,
        })
        .collect();

    // Second pass: title page, contents, then the same sections again.
    let mut layout = Layout::new(&fonts);
    report::title_page(&mut layout, &view);
    report::contents(&mut layout, &entries);
    let front_pages = layout.pages.len();
    layout.page_break();
    report::sections(&mut layout, &view, &sizes);

    let made = report.made.to_jiff().unwrap_or_default();
    let utc = made.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    let part = |v: i8| u8::try_from(v).unwrap_or(0);
    let info = write::Info {
        title: format!("{}: {}", view.partnership, view.title),
        author: view.made_by.clone(),
        header: view.title.clone(),
        made: (
            u16::try_from(utc.year()).unwrap_or(1970),
            part(utc.month()),
            part(utc.day()),
            part(utc.hour()),
            part(utc.minute()),
            part(utc.second()),
        ),
        front_pages,
    };
    write::write(&layout, &charts, &info)
}

/// The charts as SVG trees, their text in the report's font (`None`: unreadable, left out).
fn charts(view: &View, fonts: &Fonts) -> Vec<Option<usvg::Tree>> {
    let mut db = usvg::fontdb::Database::new();
    for data in &fonts.files {
        db.load_font_data(data.to_vec());
    }
    db.set_serif_family(FAMILY);
    db.set_sans_serif_family(FAMILY);
    let options = usvg::Options {
        font_family: FAMILY.into(),
        fontdb: Arc::new(db),
        ..Default::default()
    };
    view.figures
        .iter()
        .map(|f| usvg::Tree::from_str(&f.svg, &options).ok())
        .collect()
}
