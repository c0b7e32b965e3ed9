//! A small page layout for the report: blocks (headings, paragraphs, tables, charts) are
//! broken into lines and placed on A4 pages, with the structure each piece belongs to, so the
//! writer can tag it. Greedy line breaking at spaces; table rows that do not fit continue on
//! the next page under a repeated header; level-1 headings start a page.

use super::fonts::{Face, Fonts};

/// Page size and margins in points (A4; 2.3 cm left and right, 2.5 cm top and bottom).
pub const PAGE_W: f32 = 595.28;
pub const PAGE_H: f32 = 841.89;
pub const MARGIN_X: f32 = 65.2;
pub const MARGIN_TOP: f32 = 70.9;
pub const MARGIN_BOTTOM: f32 = 70.9;
pub const WIDTH: f32 = PAGE_W - 2.0 * MARGIN_X;

/// An RGB colour.
pub type Colour = (u8, u8, u8);

pub const BLACK: Colour = (20, 20, 20);
pub const GREY: Colour = (90, 90, 90);
pub const GOOD: Colour = (10, 107, 61);
pub const BAD: Colour = (176, 0, 32);
pub const WARN: Colour = (154, 74, 0);

/// How a piece of text looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    pub face: Face,
    pub size: f32,
    pub colour: Colour,
}

impl Style {
    pub const fn body() -> Style {
        Style {
            face: Face::Regular,
            size: 10.5,
            colour: BLACK,
        }
    }
    pub const fn bold(self) -> Style {
        Style {
            face: Face::Bold,
            ..self
        }
    }
    pub const fn italic(self) -> Style {
        Style {
            face: Face::Italic,
            ..self
        }
    }
    pub const fn sized(self, size: f32) -> Style {
        Style { size, ..self }
    }
    pub const fn coloured(self, colour: Colour) -> Style {
        Style { colour, ..self }
    }
    /// Small grey text for sources, dates and notes.
    pub const fn meta() -> Style {
        Style {
            face: Face::Regular,
            size: 9.0,
            colour: GREY,
        }
    }
}

/// A stretch of text in one style; a `\n` in it breaks the line.
#[derive(Debug, Clone)]
pub struct Run {
    pub text: String,
    pub style: Style,
}

pub fn run(text: impl Into<String>, style: Style) -> Run {
    Run {
        text: text.into(),
        style,
    }
}

/// The kinds of structure the tagged PDF has.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Title,
    Heading(u16, String),
    Paragraph,
    List,
    ListItem,
    Table,
    Row,
    HeaderCell,
    Cell,
    Figure(String),
    Caption,
    Toc,
    TocItem,
}

/// A structure element: its kind and parent (`None`: the document).
#[derive(Debug, Clone)]
pub struct Node {
    pub kind: Kind,
    pub parent: Option<usize>,
}

/// One thing drawn on a page.
#[derive(Debug, Clone)]
pub enum Item {
    /// Text with its baseline at `y`, part of structure element `node`.
    Text {
        x: f32,
        y: f32,
        text: String,
        style: Style,
        node: usize,
    },
    /// A filled rectangle (background), not part of the content.
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        colour: Colour,
    },
    /// A line, not part of the content.
    Rule { x1: f32, y1: f32, x2: f32, y2: f32 },
    /// Chart `index` drawn in the box, part of structure element `node`.
    Chart {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        index: usize,
        node: usize,
    },
    /// A link to the place of heading `heading`.
    Link {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        heading: usize,
    },
}

/// A heading as placed: for the table of contents and the bookmarks.
#[derive(Debug, Clone)]
pub struct Placed {
    pub level: u16,
    pub label: String,
    pub page: usize,
    pub y: f32,
    pub outlined: bool,
}

/// Pages under construction.
pub struct Layout<'f> {
    pub fonts: &'f Fonts,
    pub pages: Vec<Vec<Item>>,
    pub nodes: Vec<Node>,
    pub headings: Vec<Placed>,
    y: f32,
}

const LEADING: f32 = 1.35;
const CELL_PAD: f32 = 4.0;

/// A line of placed pieces: offset from the line start, text, style.
type Line = Vec<(f32, String, Style)>;

impl<'f> Layout<'f> {
    pub fn new(fonts: &'f Fonts) -> Self {
        Layout {
            fonts,
            pages: vec![Vec::new()],
            nodes: Vec::new(),
            headings: Vec::new(),
            y: MARGIN_TOP,
        }
    }

    /// A new structure element.
    pub fn node(&mut self, kind: Kind, parent: Option<usize>) -> usize {
        self.nodes.push(Node { kind, parent });
        self.nodes.len() - 1
    }

    fn page(&mut self) -> &mut Vec<Item> {
        self.pages.last_mut().expect("a layout always has a page")
    }

    fn at_top(&self) -> bool {
        self.y <= MARGIN_TOP + 0.1
    }

    /// Starts a new page unless the current one is still empty.
    pub fn page_break(&mut self) {
        if !self.at_top() || !self.page_is_empty() {
            self.pages.push(Vec::new());
            self.y = MARGIN_TOP;
        }
    }

    fn page_is_empty(&self) -> bool {
        self.pages.last().is_none_or(Vec::is_empty)
    }

    fn room(&self) -> f32 {
        PAGE_H - MARGIN_BOTTOM - self.y
    }

    /// Makes sure `h` points fit, starting a new page if not.
    fn need(&mut self, h: f32) {
        if self.room() < h && !self.at_top() {
            self.pages.push(Vec::new());
            self.y = MARGIN_TOP;
        }
    }

    pub fn space(&mut self, h: f32) {
        if !self.at_top() {
            self.y += h;
        }
    }

    /// Moves down by `h` points (also at the top of a page).
    pub fn skip(&mut self, h: f32) {
        self.y += h;
    }

    /// Breaks runs into lines no wider than `width`.
    fn lines(&self, runs: &[Run], width: f32) -> Vec<Line> {
        let mut lines: Vec<Line> = vec![Vec::new()];
        let mut x = 0.0_f32;
        for r in runs {
            let space = self.fonts.width(r.style.face, r.style.size, " ");
            for (i, hard) in r.text.split('\n').enumerate() {
                if i > 0 {
                    lines.push(Vec::new());
                    x = 0.0;
                }
                for word in hard.split(' ').filter(|w| !w.is_empty()) {
                    for piece in self.fit_word(word, r.style, width) {
                        let w = self.fonts.width(r.style.face, r.style.size, &piece);
                        let line = lines.last_mut().expect("at least one line");
                        let gap = if line.is_empty() { 0.0 } else { space };
                        if !line.is_empty() && x + gap + w > width {
                            lines.push(vec![(0.0, piece, r.style)]);
                            x = w;
                        } else {
                            match line.last_mut() {
                                // The same style goes on in one piece of text.
                                Some(last) if last.2 == r.style => {
                                    last.1.push(' ');
                                    last.1.push_str(&piece);
                                }
                                _ => line.push((x + gap, piece, r.style)),
                            }
                            x += gap + w;
                        }
                    }
                }
            }
        }
        lines
    }

    /// A word as pieces that each fit `width` (only very long words are cut).
    fn fit_word(&self, word: &str, style: Style, width: f32) -> Vec<String> {
        if self.fonts.width(style.face, style.size, word) <= width {
            return vec![word.to_string()];
        }
        let mut pieces = Vec::new();
        let mut current = String::new();
        for c in word.chars() {
            current.push(c);
            if self.fonts.width(style.face, style.size, &current) > width && current.len() > 1 {
                current.pop();
                pieces.push(std::mem::take(&mut current));
                current.push(c);
            }
        }
        pieces.push(current);
        pieces
    }

    fn line_height(line: &Line, fallback: f32) -> f32 {
        line.iter().map(|(_, _, s)| s.size).fold(fallback, f32::max) * LEADING
    }

    /// A paragraph at `indent`, part of `node`; `shade` fills the background behind it.
    pub fn paragraph(&mut self, runs: &[Run], indent: f32, node: usize, shade: Option<Colour>) {
        let fallback = runs.first().map_or(10.5, |r| r.style.size);
        let pad = if shade.is_some() { 6.0 } else { 0.0 };
        let lines = self.lines(runs, WIDTH - indent - 2.0 * pad);
        for (i, line) in lines.iter().enumerate() {
            let h = Self::line_height(line, fallback);
            let top_pad = if i == 0 { pad } else { 0.0 };
            let bottom_pad = if i + 1 == lines.len() { pad } else { 0.0 };
            self.need(h + top_pad + bottom_pad);
            if let Some(colour) = shade {
                let (x, y) = (MARGIN_X + indent, self.y);
                self.page().push(Item::Fill {
                    x,
                    y,
                    w: WIDTH - indent,
                    h: h + top_pad + bottom_pad,
                    colour,
                });
            }
            self.y += top_pad;
            let baseline = self.y + h * 0.78;
            for (dx, text, style) in line {
                let x = MARGIN_X + indent + pad + dx;
                self.page().push(Item::Text {
                    x,
                    y: baseline,
                    text: text.clone(),
                    style: *style,
                    node,
                });
            }
            self.y += h + bottom_pad;
        }
    }

    /// A heading; level 1 starts a new page. `outlined` headings go into the contents.
    pub fn heading(&mut self, level: u16, label: &str, outlined: bool) {
        let size = match level {
            1 => 16.0,
            2 => 13.0,
            _ => 11.0,
        };
        if level == 1 {
            self.page_break();
        } else {
            self.space(if level == 2 { 12.0 } else { 9.0 });
            // Keep the heading with at least three lines of what follows.
            self.need(size * LEADING + 3.0 * 10.5 * LEADING);
        }
        let node = self.node(Kind::Heading(level, label.to_string()), None);
        self.headings.push(Placed {
            level,
            label: label.to_string(),
            page: self.pages.len() - 1,
            y: self.y,
            outlined,
        });
        self.paragraph(
            &[run(label, Style::body().bold().sized(size))],
            0.0,
            node,
            None,
        );
        self.y += if level == 1 { 8.0 } else { 4.0 };
    }

    /// A paragraph of its own structure element.
    pub fn para(&mut self, runs: &[Run]) {
        let node = self.node(Kind::Paragraph, None);
        self.space(4.0);
        self.paragraph(runs, 0.0, node, None);
    }

    /// A bulleted list.
    pub fn list(&mut self, items: &[Vec<Run>]) {
        let list = self.node(Kind::List, None);
        for item in items {
            let node = self.node(Kind::ListItem, Some(list));
            let mut runs = vec![run("•  ", Style::body())];
            runs.extend(item.iter().cloned());
            self.space(2.0);
            self.paragraph(&runs, 12.0, node, None);
        }
    }

    /// A table: column widths as fractions of the text width, a header row and rows of cells.
    pub fn table(&mut self, widths: &[f32], header: &[&str], rows: &[Vec<Vec<Run>>], size: f32) {
        let total: f32 = widths.iter().sum();
        let wanted: Vec<f32> = widths.iter().map(|w| w / total * WIDTH).collect();
        let head_style = Style::body().bold().sized(size);
        // Every column is at least as wide as its longest word, so words break only between
        // each other.
        let mut least: Vec<f32> = header
            .iter()
            .map(|h| self.longest_word(&[run(*h, head_style)]))
            .collect();
        for row in rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(m) = least.get_mut(i) {
                    *m = m.max(self.longest_word(cell));
                }
            }
        }
        let least: Vec<f32> = least.iter().map(|w| w + 2.0 * CELL_PAD + 0.5).collect();
        let cols = fit_columns(&wanted, &least, WIDTH);
        let table = self.node(Kind::Table, None);
        let head_cells: Vec<Vec<Line>> = header
            .iter()
            .zip(&cols)
            .map(|(h, w)| self.lines(&[run(*h, head_style)], w - 2.0 * CELL_PAD))
            .collect();
        let head_node = self.node(Kind::Row, Some(table));
        let head_ids: Vec<usize> = header
            .iter()
            .map(|_| self.node(Kind::HeaderCell, Some(head_node)))
            .collect();
        let lh = size * LEADING;
        let head_h = Self::rows_height(&head_cells, lh);
        self.space(6.0);
        self.need(head_h + lh + 2.0 * CELL_PAD);
        self.table_row(&cols, &head_cells, &head_ids, 0, usize::MAX, lh, true);
        for row in rows {
            let cells: Vec<Vec<Line>> = row
                .iter()
                .zip(&cols)
                .map(|(c, w)| self.lines(c, w - 2.0 * CELL_PAD))
                .collect();
            let row_node = self.node(Kind::Row, Some(table));
            let ids: Vec<usize> = cells
                .iter()
                .map(|_| self.node(Kind::Cell, Some(row_node)))
                .collect();
            let tallest = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
            let mut start = 0;
            while start < tallest {
                let fits = ((self.room() - 2.0 * CELL_PAD) / lh).floor().max(0.0);
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let fits = fits as usize;
                // Move a row that would be split with little on either side to the next page.
                if fits == 0 || (fits < tallest - start && fits < 3 && !self.at_top()) {
                    self.pages.push(Vec::new());
                    self.y = MARGIN_TOP;
                    self.table_row(&cols, &head_cells, &head_ids, 0, usize::MAX, lh, true);
                    continue;
                }
                let end = (start + fits).min(tallest);
                self.table_row(&cols, &cells, &ids, start, end, lh, false);
                start = end;
            }
        }
        self.y += 4.0;
    }

    /// The width of the widest word of `runs`.
    fn longest_word(&self, runs: &[Run]) -> f32 {
        runs.iter()
            .flat_map(|r| {
                r.text
                    .split_whitespace()
                    .map(move |w| self.fonts.width(r.style.face, r.style.size, w))
            })
            .fold(0.0, f32::max)
    }

    fn rows_height(cells: &[Vec<Line>], lh: f32) -> f32 {
        #[allow(clippy::cast_precision_loss)]
        let n = cells.iter().map(Vec::len).max().unwrap_or(0).max(1) as f32;
        n * lh + 2.0 * CELL_PAD
    }

    /// Lines `start..end` of every cell of a row, with its rules.
    #[allow(clippy::too_many_arguments)]
    fn table_row(
        &mut self,
        cols: &[f32],
        cells: &[Vec<Line>],
        ids: &[usize],
        start: usize,
        end: usize,
        lh: f32,
        header: bool,
    ) {
        let shown = cells
            .iter()
            .map(|c| c.len().min(end).saturating_sub(start))
            .max()
            .unwrap_or(0)
            .max(1);
        #[allow(clippy::cast_precision_loss)]
        let h = shown as f32 * lh + 2.0 * CELL_PAD;
        let top = self.y;
        if header {
            self.page().push(Item::Fill {
                x: MARGIN_X,
                y: top,
                w: WIDTH,
                h,
                colour: (236, 236, 236),
            });
        }
        let mut x = MARGIN_X;
        for ((col, lines), id) in cols.iter().zip(cells).zip(ids) {
            for (i, line) in lines
                .iter()
                .enumerate()
                .skip(start)
                .take(end - start.min(end))
            {
                #[allow(clippy::cast_precision_loss)]
                let baseline = top + CELL_PAD + (i - start) as f32 * lh + lh * 0.78;
                for (dx, text, style) in line {
                    let item = Item::Text {
                        x: x + CELL_PAD + dx,
                        y: baseline,
                        text: text.clone(),
                        style: *style,
                        node: *id,
                    };
                    self.page().push(item);
                }
            }
            x += col;
        }
        let bottom = top + h;
        let page = self.page();
        page.push(Item::Rule {
            x1: MARGIN_X,
            y1: top,
            x2: MARGIN_X + WIDTH,
            y2: top,
        });
        page.push(Item::Rule {
            x1: MARGIN_X,
            y1: bottom,
            x2: MARGIN_X + WIDTH,
            y2: bottom,
        });
        let mut x = MARGIN_X;
        for col in std::iter::once(&0.0).chain(cols) {
            x += col;
            page.push(Item::Rule {
                x1: x,
                y1: top,
                x2: x,
                y2: bottom,
            });
        }
        self.y = bottom;
    }

    /// A chart scaled to the text width (or less, to fit a page), with its caption below (none
    /// when the caption is empty).
    pub fn chart(&mut self, index: usize, size: (f32, f32), alt: &str, caption: &[Run]) {
        let (w, h) = size;
        let max_h = PAGE_H - MARGIN_TOP - MARGIN_BOTTOM - 60.0;
        let scale = (WIDTH / w).min(max_h / h);
        let (w, h) = (w * scale, h * scale);
        self.space(8.0);
        self.need(h + 30.0);
        let figure = self.node(Kind::Figure(alt.to_string()), None);
        let x = MARGIN_X + (WIDTH - w) / 2.0;
        let y = self.y;
        self.page().push(Item::Chart {
            x,
            y,
            w,
            h,
            index,
            node: figure,
        });
        self.y += h + 4.0;
        if caption.iter().any(|r| !r.text.trim().is_empty()) {
            let caption_node = self.node(Kind::Caption, Some(figure));
            self.paragraph(caption, 0.0, caption_node, None);
        }
    }

    /// A shaded box holding one paragraph (a story beside the figures).
    pub fn boxed(&mut self, runs: &[Run]) {
        self.space(6.0);
        let node = self.node(Kind::Paragraph, None);
        self.paragraph(runs, 0.0, node, Some((243, 243, 243)));
    }

    /// Places a link over a contents line, to the heading it names.
    pub fn link(&mut self, heading: usize, h: f32) {
        let y = self.y - h;
        self.page().push(Item::Link {
            x: MARGIN_X,
            y,
            w: WIDTH,
            h,
            heading,
        });
    }

    /// Text placed at an exact spot (title page, contents' page numbers).
    pub fn text_at(&mut self, x: f32, y: f32, text: &str, style: Style, node: usize) {
        self.page().push(Item::Text {
            x,
            y,
            text: text.to_string(),
            style,
            node,
        });
    }

    /// The current position from the top of the page.
    pub fn y(&self) -> f32 {
        self.y
    }
}

/// Column widths as close to `wanted` as the `least` width of each column allows, summing to
/// `total`: a column below its least is widened, and what it takes comes from the others in
/// proportion to the room they have above their own least. When even the least widths do not
/// fit, every column gets its share of `total` in proportion to its least width.
fn fit_columns(wanted: &[f32], least: &[f32], total: f32) -> Vec<f32> {
    let needed: f32 = least.iter().sum();
    if needed >= total {
        return least.iter().map(|l| l / needed * total).collect();
    }
    let short: f32 = wanted
        .iter()
        .zip(least)
        .map(|(w, l)| (l - w).max(0.0))
        .sum();
    let slack: f32 = wanted
        .iter()
        .zip(least)
        .map(|(w, l)| (w - l).max(0.0))
        .sum();
    wanted
        .iter()
        .zip(least)
        .map(|(w, l)| {
            if w < l {
                *l
            } else if slack > 0.0 {
                w - (w - l) / slack * short
            } else {
                *w
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::fit_columns;

    #[test]
    fn a_narrow_column_is_widened_to_its_longest_word_at_the_others_cost() {
        let cols = fit_columns(&[10.0, 45.0, 45.0], &[30.0, 10.0, 10.0], 100.0);
        assert!((cols[0] - 30.0).abs() < 1e-3, "{cols:?}");
        assert!((cols.iter().sum::<f32>() - 100.0).abs() < 1e-3);
        assert!(cols[1] >= 10.0 && cols[2] >= 10.0);
        assert!((cols[1] - cols[2]).abs() < 1e-3, "taken from both alike");
        // Wide enough already: unchanged.
        assert_eq!(
            fit_columns(&[50.0, 50.0], &[20.0, 20.0], 100.0),
            [50.0, 50.0]
        );
        // Too little room for every longest word: shares by least width.
        let tight = fit_columns(&[50.0, 50.0], &[90.0, 30.0], 100.0);
        assert!((tight[0] - 75.0).abs() < 1e-3, "{tight:?}");
    }
}
