//! The report's fonts and the width of text in them.
//!
//! The fonts are Libertinus Serif (regular, bold, italic) from `typst-assets`, a data-only
//! crate, so they are inside the binary and embedded (subset) in every PDF. Widths come from
//! shaping with rustybuzz, the shaper krilla itself draws simple text with, so a measured line
//! is as wide as the drawn one. Word widths are cached per font at one point size.

use std::cell::RefCell;
use std::collections::HashMap;

use krilla::text::Font;
use rustybuzz::ttf_parser;

/// The three faces the report uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Face {
    Regular,
    Bold,
    Italic,
}

/// One loaded face: krilla's font for drawing, rustybuzz's for measuring.
struct Loaded {
    font: Font,
    shaper: rustybuzz::Face<'static>,
    per_em: f32,
    widths: RefCell<HashMap<String, f32>>,
}

/// The report's fonts.
pub struct Fonts {
    regular: Loaded,
    bold: Loaded,
    italic: Loaded,
    /// The raw font files, for the charts' SVG text.
    pub files: Vec<&'static [u8]>,
}

/// The family the charts' `sans-serif` text is drawn in.
pub const FAMILY: &str = "Libertinus Serif";

fn postscript_name(data: &[u8]) -> Option<String> {
    let face = ttf_parser::Face::parse(data, 0).ok()?;
    face.names()
        .into_iter()
        .find(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
        .and_then(|n| n.to_string())
}

fn load(name: &str) -> anyhow::Result<(Loaded, &'static [u8])> {
    let data = typst_assets::fonts()
        .find(|d| postscript_name(d).as_deref() == Some(name))
        .ok_or_else(|| anyhow::anyhow!("het lettertype {name} ontbreekt"))?;
    let font = Font::new(data.into(), 0)
        .ok_or_else(|| anyhow::anyhow!("het lettertype {name} is onleesbaar"))?;
    let shaper = rustybuzz::Face::from_slice(data, 0)
        .ok_or_else(|| anyhow::anyhow!("het lettertype {name} is onleesbaar"))?;
    #[allow(clippy::cast_precision_loss)] // A font's units per em are at most 16384.
    let per_em = shaper.units_per_em() as f32;
    Ok((
        Loaded {
            font,
            shaper,
            per_em,
            widths: RefCell::new(HashMap::new()),
        },
        data,
    ))
}

impl Fonts {
    /// Loads the faces from the embedded font files.
    pub fn load() -> anyhow::Result<Fonts> {
        let (regular, r) = load("LibertinusSerif-Regular")?;
        let (bold, b) = load("LibertinusSerif-Bold")?;
        let (italic, i) = load("LibertinusSerif-Italic")?;
        Ok(Fonts {
            regular,
            bold,
            italic,
            files: vec![r, b, i],
        })
    }

    fn face(&self, face: Face) -> &Loaded {
        match face {
            Face::Regular => &self.regular,
            Face::Bold => &self.bold,
            Face::Italic => &self.italic,
        }
    }

    /// krilla's font for drawing in `face`.
    pub fn font(&self, face: Face) -> Font {
        self.face(face).font.clone()
    }

    /// The width of `text` in `face` at `size` points.
    pub fn width(&self, face: Face, size: f32, text: &str) -> f32 {
        let loaded = self.face(face);
        if let Some(w) = loaded.widths.borrow().get(text) {
            return w * size;
        }
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        let shaped = rustybuzz::shape(&loaded.shaper, &[], buffer);
        let units: i32 = shaped.glyph_positions().iter().map(|p| p.x_advance).sum();
        #[allow(clippy::cast_precision_loss)] // Advances are small integers.
        let per_point = units as f32 / loaded.per_em;
        loaded
            .widths
            .borrow_mut()
            .insert(text.to_string(), per_point);
        per_point * size
    }
}
