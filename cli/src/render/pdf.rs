//! The PDF of a round's report, laid out by typst used as a library.
//!
//! Choice: typst (with typst-pdf and the fonts of typst-assets) rather than krilla. krilla
//! writes PDFs well (embedded, subset fonts; tagged PDF) but leaves layout to us: line
//! breaking, tables across pages, a table of contents with page numbers. typst does that layout
//! itself and gives a title page, an outline, numbered headings, page numbers, tables, SVG
//! images, embedded fonts and tagged PDF (on by default), and writes its PDF through krilla.
//! The cost: typst-pdf and its dependencies are about 270 crates. On a two-core machine shared
//! with other builds, the first debug build of the CLI with them took 8.4 minutes of CPU time
//! (28.5 minutes on the wall clock); the debug binary is about 700 MB with its debug info.
//!
//! The layout lives in `cli/templates/rapport/ronde.typ`. It reads the formatted report
//! ([`View`]) as JSON from a virtual file, and the charts as SVG files, so no text from the
//! documents is ever parsed as typst markup. Nothing is read from disk and no package is
//! fetched: the world below serves only those files and the embedded fonts.

use std::collections::HashMap;
use std::sync::OnceLock;

use anyhow::Context as _;
use kompas_engine::report::RoundReport;
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Smart};
use typst::layout::PagedDocument;
use typst::syntax::{FileId, Source, VirtualPath};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

use super::view::View;

/// The layout of the report.
const LAYOUT: &str = include_str!("../../templates/rapport/ronde.typ");

/// The report of a round as a PDF document.
pub fn round(report: &RoundReport) -> anyhow::Result<Vec<u8>> {
    let view = View::of(report);
    let data = serde_json::to_string(&view).context("het rapport kan niet als JSON")?;
    // Everything the PDF will show is in this text (the charts were drawn from the checked
    // report); it passes the privacy guard before typst sees it.
    kompas_engine::report::check_output("rapport", &data)?;
    let mut files = HashMap::new();
    files.insert("/rapport.json".to_string(), data.into_bytes());
    for f in &view.figures {
        files.insert(format!("/{}", f.chart_file), f.svg.clone().into_bytes());
    }
    let made = report.made.to_jiff().unwrap_or_default();
    let utc = made.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    let today = Datetime::from_ymd(
        i32::from(utc.year()),
        u8::try_from(utc.month()).unwrap_or(1),
        u8::try_from(utc.day()).unwrap_or(1),
    );
    let world = ReportWorld::new(LAYOUT, files, today);
    let compiled = typst::compile::<PagedDocument>(&world);
    let document = compiled.output.map_err(|errors| {
        anyhow::anyhow!("de opmaak van het rapport mislukte: {}", describe(&errors))
    })?;
    let stamp = Datetime::from_ymd_hms(
        i32::from(utc.year()),
        u8::try_from(utc.month()).unwrap_or(1),
        u8::try_from(utc.day()).unwrap_or(1),
        u8::try_from(utc.hour()).unwrap_or(0),
        u8::try_from(utc.minute()).unwrap_or(0),
        u8::try_from(utc.second()).unwrap_or(0),
    );
    let options = typst_pdf::PdfOptions {
        ident: Smart::Custom(report.round.id.as_str()),
        timestamp: stamp.map(typst_pdf::Timestamp::new_utc),
        ..Default::default()
    };
    typst_pdf::pdf(&document, &options).map_err(|errors| {
        anyhow::anyhow!("het schrijven van de PDF mislukte: {}", describe(&errors))
    })
}

fn describe(errors: &[SourceDiagnostic]) -> String {
    errors
        .iter()
        .map(|e| e.message.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The embedded fonts and their book, parsed once per process.
fn fonts() -> &'static (Vec<Font>, LazyHash<FontBook>) {
    static FONTS: OnceLock<(Vec<Font>, LazyHash<FontBook>)> = OnceLock::new();
    FONTS.get_or_init(|| {
        let fonts: Vec<Font> = typst_assets::fonts()
            .flat_map(|data| Font::iter(Bytes::new(data)))
            .collect();
        let book = LazyHash::new(FontBook::from_fonts(&fonts));
        (fonts, book)
    })
}

/// Everything typst may read: the layout, the report's JSON and charts, the embedded fonts.
struct ReportWorld {
    library: LazyHash<Library>,
    main: Source,
    files: HashMap<String, Bytes>,
    today: Option<Datetime>,
}

impl ReportWorld {
    fn new(layout: &str, files: HashMap<String, Vec<u8>>, today: Option<Datetime>) -> Self {
        let main = FileId::new(None, VirtualPath::new("/rapport.typ"));
        ReportWorld {
            library: LazyHash::new(Library::default()),
            main: Source::new(main, layout.to_string()),
            files: files.into_iter().map(|(k, v)| (k, Bytes::new(v))).collect(),
            today,
        }
    }
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &fonts().1
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::NotFound(id.vpath().as_rootless_path().into()))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        let path = id.vpath().as_rooted_path().to_string_lossy().into_owned();
        self.files
            .get(&path)
            .cloned()
            .ok_or_else(|| FileError::NotFound(id.vpath().as_rootless_path().into()))
    }

    fn font(&self, index: usize) -> Option<Font> {
        fonts().0.get(index).cloned()
    }

    fn today(&self, _offset: Option<i64>) -> Option<Datetime> {
        self.today
    }
}
