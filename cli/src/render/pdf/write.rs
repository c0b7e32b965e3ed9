//! Writes laid-out pages as a tagged PDF with krilla: the text as real text in the embedded
//! fonts, the charts through krilla-svg, running header and "pagina N van M" footer as
//! artifacts, page labels, bookmarks for the headings, links from the contents, and the tag
//! tree built from the layout's structure elements.

use std::num::{NonZeroU16, NonZeroU32};

use krilla::Document;
use krilla::annotation::{Annotation, LinkAnnotation, Target};
use krilla::color::rgb;
use krilla::destination::{Destination, XyzDestination};
use krilla::geom::{PathBuilder, Point, Rect, Size};
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::{NumberingStyle, PageLabel, PageSettings};
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::tagging::{
    ArtifactType, ContentTag, Identifier, ListNumbering, SpanTag, TableHeaderScope, Tag, TagGroup,
    TagKind, TagTree,
};
use krilla::text::TextDirection;
use krilla_svg::{SurfaceExt as _, SvgSettings};

use super::fonts::Fonts;
use super::layout::{
    Colour, GREY, Item, Kind, Layout, MARGIN_BOTTOM, MARGIN_TOP, MARGIN_X, PAGE_H, PAGE_W, Style,
    WIDTH,
};

/// What the PDF says about itself.
pub struct Info {
    pub title: String,
    pub author: String,
    /// The running header of the numbered pages.
    pub header: String,
    /// Year, month, day, hour, minute, second (UTC) of making.
    pub made: (u16, u8, u8, u8, u8, u8),
    /// The pages before the first numbered one (title page, contents).
    pub front_pages: usize,
}

fn colour((r, g, b): Colour) -> rgb::Color {
    rgb::Color::new(r, g, b)
}

fn fill(c: Colour) -> Fill {
    Fill {
        paint: colour(c).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

fn text(surface: &mut Surface<'_>, fonts: &Fonts, x: f32, y: f32, t: &str, style: Style) {
    surface.set_fill(Some(fill(style.colour)));
    surface.draw_text(
        Point::from_xy(x, y),
        fonts.font(style.face),
        style.size,
        t,
        false,
        TextDirection::Auto,
    );
}

/// The PDF of `layout`'s pages.
pub fn write(
    layout: &Layout<'_>,
    charts: &[Option<usvg::Tree>],
    info: &Info,
) -> anyhow::Result<Vec<u8>> {
    let fonts = layout.fonts;
    let mut document = Document::new();
    let mut leaves: Vec<Vec<Identifier>> = vec![Vec::new(); layout.nodes.len()];
    let total = layout.pages.len();
    let numbered = total.saturating_sub(info.front_pages);
    let size = Size::from_wh(PAGE_W, PAGE_H).ok_or_else(|| anyhow::anyhow!("paginamaat"))?;
    for (index, items) in layout.pages.iter().enumerate() {
        let label = if index < info.front_pages {
            PageLabel::new(
                Some(NumberingStyle::LowerRoman),
                None,
                NonZeroU32::new(u32::try_from(index + 1).unwrap_or(1)),
            )
        } else {
            PageLabel::new(
                Some(NumberingStyle::Arabic),
                None,
                NonZeroU32::new(u32::try_from(index + 1 - info.front_pages).unwrap_or(1)),
            )
        };
        let mut page = document.start_page_with(PageSettings::new(size).with_page_label(label));
        for item in items {
            if let Item::Link {
                x,
                y,
                w,
                h,
                heading,
            } = item
            {
                let Some(target) = layout.headings.get(*heading) else {
                    continue;
                };
                if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                    page.add_annotation(Annotation::new_link(
                        LinkAnnotation::new(
                            rect,
                            Target::Destination(Destination::Xyz(XyzDestination::new(
                                target.page,
                                Point::from_xy(0.0, target.y),
                            ))),
                        ),
                        Some(target.label.clone()),
                    ));
                }
            }
        }
        let mut surface = page.surface();
        // Backgrounds and rules first, as artifacts.
        surface.start_tagged(ContentTag::Artifact(ArtifactType::Other));
        for item in items {
            match item {
                Item::Fill { x, y, w, h, colour } => {
                    let mut pb = PathBuilder::new();
                    if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                        pb.push_rect(rect);
                    }
                    if let Some(path) = pb.finish() {
                        surface.set_stroke(None);
                        surface.set_fill(Some(fill(*colour)));
                        surface.draw_path(&path);
                    }
                }
                Item::Rule { x1, y1, x2, y2 } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(*x1, *y1);
                    pb.line_to(*x2, *y2);
                    if let Some(path) = pb.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            paint: rgb::Color::new(170, 170, 170).into(),
                            width: 0.5,
                            ..Default::default()
                        }));
                        surface.draw_path(&path);
                    }
                }
                _ => {}
            }
        }
        surface.end_tagged();
        surface.set_stroke(None);
        for item in items {
            match item {
                Item::Text {
                    x,
                    y,
                    text: t,
                    style,
                    node,
                } => {
                    let id = surface.start_tagged(ContentTag::Span(SpanTag::empty()));
                    text(&mut surface, fonts, *x, *y, t, *style);
                    surface.end_tagged();
                    leaves[*node].push(id);
                }
                Item::Chart {
                    x,
                    y,
                    w,
                    h,
                    index,
                    node,
                } => {
                    let (Some(tree), Some(size)) = (
                        charts.get(*index).and_then(Option::as_ref),
                        Size::from_wh(*w, *h),
                    ) else {
                        continue;
                    };
                    let id = surface.start_tagged(ContentTag::Other);
                    surface.push_transform(&krilla::geom::Transform::from_translate(*x, *y));
                    surface.draw_svg(tree, size, SvgSettings::default());
                    surface.pop();
                    surface.end_tagged();
                    leaves[*node].push(id);
                }
                _ => {}
            }
        }
        if index >= info.front_pages {
            let meta = Style::meta();
            surface.start_tagged(ContentTag::Artifact(ArtifactType::Header));
            text(
                &mut surface,
                fonts,
                MARGIN_X,
                MARGIN_TOP - 28.0,
                &info.header,
                meta,
            );
            surface.end_tagged();
            let footer = format!("pagina {} van {numbered}", index + 1 - info.front_pages);
            let w = fonts.width(meta.face, meta.size, &footer);
            surface.start_tagged(ContentTag::Artifact(ArtifactType::Footer));
            text(
                &mut surface,
                fonts,
                MARGIN_X + WIDTH - w,
                PAGE_H - MARGIN_BOTTOM + 30.0,
                &footer,
                meta.coloured(GREY),
            );
            surface.end_tagged();
        }
        surface.finish();
        page.finish();
    }

    document.set_outline(outline(layout));
    document.set_tag_tree(tag_tree(layout, &mut leaves));
    let (year, month, day, hour, minute, second) = info.made;
    document.set_metadata(
        Metadata::new()
            .title(info.title.clone())
            .authors(vec![info.author.clone()])
            .language("nl-NL".into())
            .creator("kompas".into())
            .creation_date(
                DateTime::new(year)
                    .month(month)
                    .day(day)
                    .hour(hour)
                    .minute(minute)
                    .second(second)
                    .utc_offset_hour(0)
                    .utc_offset_minute(0),
            ),
    );
    document
        .finish()
        .map_err(|e| anyhow::anyhow!("het schrijven van de PDF mislukte: {e:?}"))
}

/// The bookmarks: the outlined headings, level 2 under level 1.
fn outline(layout: &Layout<'_>) -> Outline {
    let mut outline = Outline::new();
    let mut current: Option<OutlineNode> = None;
    for h in layout.headings.iter().filter(|h| h.outlined) {
        let node = OutlineNode::new(
            h.label.clone(),
            XyzDestination::new(h.page, Point::from_xy(0.0, h.y)),
        );
        if h.level <= 1 {
            if let Some(done) = current.take() {
                outline.push_child(done);
            }
            current = Some(node);
        } else if let Some(parent) = current.as_mut() {
            parent.push_child(node);
        } else {
            outline.push_child(node);
        }
    }
    if let Some(done) = current {
        outline.push_child(done);
    }
    outline
}

fn tag_kind(kind: &Kind) -> TagKind {
    match kind {
        Kind::Title => Tag::Title.into(),
        Kind::Heading(level, title) => Tag::Hn(
            NonZeroU16::new(*level).unwrap_or(NonZeroU16::MIN),
            Some(title.clone()),
        )
        .into(),
        Kind::Paragraph => Tag::P.into(),
        Kind::List => Tag::L(ListNumbering::Disc).into(),
        Kind::ListItem => Tag::LI.into(),
        Kind::Table => Tag::Table.into(),
        Kind::Row => Tag::TR.into(),
        Kind::HeaderCell => Tag::TH(TableHeaderScope::Column).into(),
        Kind::Cell => Tag::TD.into(),
        Kind::Figure(alt) => Tag::Figure(Some(alt.clone())).into(),
        Kind::Caption => Tag::Caption.into(),
        Kind::Toc => Tag::TOC.into(),
        Kind::TocItem => Tag::TOCI.into(),
    }
}

/// The tag tree: every structure element with its content, in the order they were laid out.
fn tag_tree(layout: &Layout<'_>, leaves: &mut [Vec<Identifier>]) -> TagTree {
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); layout.nodes.len()];
    let mut roots = Vec::new();
    for (i, n) in layout.nodes.iter().enumerate() {
        match n.parent {
            Some(p) => children[p].push(i),
            None => roots.push(i),
        }
    }
    fn group(
        i: usize,
        layout: &Layout<'_>,
        children: &[Vec<usize>],
        leaves: &mut [Vec<Identifier>],
    ) -> TagGroup {
        let mut g = TagGroup::new(tag_kind(&layout.nodes[i].kind));
        for id in std::mem::take(&mut leaves[i]) {
            g.push(id);
        }
        for c in &children[i] {
            g.push(group(*c, layout, children, leaves));
        }
        g
    }
    let mut tree = TagTree::new().with_lang(Some("nl-NL".into()));
    for r in roots {
        tree.push(group(r, layout, &children, leaves));
    }
    tree
}
