//! A small PDF writer for the documents the desk generates (the addendum, its executed copy
//! and certificate page): US Letter pages of positioned text and rules in DejaVu Sans,
//! embedded as a subset (so any name a client has prints, and nothing is fetched at run
//! time), and, when the document is to be sealed, one invisible signature field whose
//! signature is filled in afterwards (`seal`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

const REGULAR: &[u8] = include_bytes!("../../static/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../static/fonts/DejaVuSans-Bold.ttf");

/// US Letter, in points.
pub const PAGE_WIDTH: f32 = 612.0;
pub const PAGE_HEIGHT: f32 = 792.0;
pub const MARGIN: f32 = 64.0;

/// Bytes reserved for the CMS signature (hex-encoded, twice as many characters): a signature
/// with its certificate chain of one to three certificates is 1.5-6 KB.
pub const SIGNATURE_SPACE: usize = 12 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Style {
    Regular,
    Bold,
}

impl Style {
    fn font(self) -> &'static [u8] {
        match self {
            Style::Regular => REGULAR,
            Style::Bold => BOLD,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Style::Regular => "DejaVuSans",
            Style::Bold => "DejaVuSans-Bold",
        }
    }
}

fn face(style: Style) -> ttf_parser::Face<'static> {
    ttf_parser::Face::parse(style.font(), 0).expect("the shipped font parses")
}

/// Text laid out in the DejaVu fonts: widths for wrapping.
pub struct Metrics {
    regular: ttf_parser::Face<'static>,
    bold: ttf_parser::Face<'static>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            regular: face(Style::Regular),
            bold: face(Style::Bold),
        }
    }
}

impl Metrics {
    fn face(&self, style: Style) -> &ttf_parser::Face<'static> {
        match style {
            Style::Regular => &self.regular,
            Style::Bold => &self.bold,
        }
    }

    /// The first character of `text` the typeface has no glyph for (it would print as "?").
    pub fn unprintable(&self, text: &str) -> Option<char> {
        text.chars()
            .find(|c| !c.is_whitespace() && self.regular.glyph_index(*c).is_none())
    }

    /// The sentence for a field whose text the document could not print, if it could not.
    pub fn refuse_unprintable(&self, text: &str) -> Result<(), String> {
        match self.unprintable(text) {
            None => Ok(()),
            Some(c) => Err(format!(
                "The document's typeface has no “{c}”: type this in Latin, Greek or Cyrillic letters."
            )),
        }
    }

    /// The width of `text` at `size` points.
    pub fn width(&self, text: &str, style: Style, size: f32) -> f32 {
        let face = self.face(style);
        let units: u32 = text
            .chars()
            .map(|c| {
                let glyph = face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
                u32::from(face.glyph_hor_advance(glyph).unwrap_or(0))
            })
            .sum();
        units as f32 * size / f32::from(face.units_per_em())
    }

    /// `text` broken into lines no wider than `width` (at spaces; a word longer than the line
    /// is broken where it must be).
    pub fn wrap(&self, text: &str, style: Style, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            for word in paragraph.split(' ') {
                let candidate = if line.is_empty() {
                    word.to_string()
                } else {
                    format!("{line} {word}")
                };
                if self.width(&candidate, style, size) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                for c in word.chars() {
                    let mut next = line.clone();
                    next.push(c);
                    if !line.is_empty() && self.width(&next, style, size) > width {
                        lines.push(std::mem::take(&mut line));
                        next = c.to_string();
                    }
                    line = next;
                }
            }
            lines.push(line);
        }
        lines
    }
}

/// One run of text at a position (from the page's bottom left, in points).
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub x: f32,
    pub y: f32,
    pub size: f32,
    pub style: Style,
    pub gray: bool,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub texts: Vec<Text>,
    /// Horizontal rules: (x1, x2, y).
    pub rules: Vec<(f32, f32, f32)>,
}

/// What a sealed document says of its signature, in its signature dictionary.
#[derive(Debug, Clone)]
pub struct SealField {
    pub signer: String,
    pub reason: String,
    /// PDF date, `D:YYYYMMDDHHmmSS+00'00'`.
    pub time: String,
}

#[derive(Debug, Clone, Default)]
pub struct Document {
    pub title: String,
    pub pages: Vec<Page>,
}

/// Where the signature's placeholders are in a written document.
#[derive(Debug, Clone, Copy)]
pub struct Placeholders {
    /// Offset of the ByteRange array's first number (four 10-digit numbers apart by spaces).
    pub byte_range: usize,
    /// Offset of `<` opening the Contents hex string, and of the byte after its `>`.
    pub contents: (usize, usize),
}

/// Characters a PDF name or string cannot carry, in every text shown: control characters are
/// dropped (the forms refuse them; this keeps a stray one from breaking a document).
fn printable(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().filter(|c| !c.is_control())
}

/// A PDF text string: UTF-16BE with its byte-order mark, hex-encoded (any character, no
/// escaping).
fn text_string(text: &str) -> String {
    let mut out = String::from("<FEFF");
    for unit in printable(text).collect::<String>().encode_utf16() {
        let _ = write!(out, "{unit:04X}");
    }
    out.push('>');
    out
}

fn number(value: f32) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    let s = format!("{rounded:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A font as embedded: its subset's glyphs, keyed by the characters shown.
struct Embedded {
    style: Style,
    /// Character → (glyph in the full font, glyph in the subset).
    glyphs: BTreeMap<char, (u16, u16)>,
    remapper: subsetter::GlyphRemapper,
}

impl Embedded {
    fn new(style: Style) -> Self {
        Embedded {
            style,
            glyphs: BTreeMap::new(),
            remapper: subsetter::GlyphRemapper::new(),
        }
    }

    /// The text as the subset's glyph ids, hex-encoded two bytes each.
    fn encode(&mut self, face: &ttf_parser::Face<'_>, text: &str) -> String {
        let mut out = String::with_capacity(text.len() * 4 + 2);
        out.push('<');
        for c in printable(text) {
            // A character the font lacks prints, and reads back, as "?" (its glyph 0 would
            // give every such character one code and the text map conflicting meanings).
            let c = if face.glyph_index(c).is_some() {
                c
            } else {
                '?'
            };
            let (_, new) = *self.glyphs.entry(c).or_insert_with(|| {
                let old = face.glyph_index(c).map_or(0, |g| g.0);
                (old, self.remapper.remap(old))
            });
            let _ = write!(out, "{new:04X}");
        }
        out.push('>');
        out
    }

    /// Six capitals naming this subset (PDF's subset tag), the same for the same glyphs.
    fn tag(&self) -> String {
        let mut hash = Sha256::new();
        for (c, (old, _)) in &self.glyphs {
            hash.update(u32::from(*c).to_be_bytes());
            hash.update(old.to_be_bytes());
        }
        hash.finalize()[..6]
            .iter()
            .map(|b| char::from(b'A' + b % 26))
            .collect()
    }
}

/// The PDF being written: objects by number, written out in order with their offsets.
struct Objects {
    bodies: Vec<Vec<u8>>,
}

impl Objects {
    /// Reserves an object number (1-based) to be filled later.
    fn reserve(&mut self) -> usize {
        self.bodies.push(Vec::new());
        self.bodies.len()
    }

    fn set(&mut self, id: usize, body: impl Into<Vec<u8>>) {
        self.bodies[id - 1] = body.into();
    }

    fn add(&mut self, body: impl Into<Vec<u8>>) -> usize {
        let id = self.reserve();
        self.set(id, body);
        id
    }

    fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut out = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
        out.extend_from_slice(data);
        out.extend_from_slice(b"\nendstream");
        out
    }
}

/// Writes `document`; with `seal`, with an empty signature to be filled over the returned
/// placeholders.
pub fn write(document: &Document, seal: Option<&SealField>) -> (Vec<u8>, Option<Placeholders>) {
    let mut objects = Objects { bodies: Vec::new() };
    let catalog = objects.reserve();
    let pages_id = objects.reserve();
    let mut fonts = [Embedded::new(Style::Regular), Embedded::new(Style::Bold)];
    let faces = [face(Style::Regular), face(Style::Bold)];

    // Content streams first: they decide which glyphs each subset holds.
    let mut contents = Vec::new();
    for page in &document.pages {
        let mut ops = String::new();
        for (x1, x2, y) in &page.rules {
            let _ = writeln!(
                ops,
                "0.6 G 0.5 w {} {} m {} {} l S",
                number(*x1),
                number(*y),
                number(*x2),
                number(*y)
            );
        }
        for text in &page.texts {
            let index = usize::from(text.style == Style::Bold);
            let encoded = fonts[index].encode(&faces[index], &text.text);
            let gray = if text.gray { "0.35 g" } else { "0 g" };
            let _ = writeln!(
                ops,
                "BT {gray} /F{} {} Tf {} {} Td {encoded} Tj ET",
                index + 1,
                number(text.size),
                number(text.x),
                number(text.y)
            );
        }
        contents.push(ops);
    }

    let mut font_ids = Vec::new();
    for (font, face) in fonts.iter().zip(&faces) {
        font_ids.push(font_objects(&mut objects, font, face));
    }

    let signature = seal.map(|field| {
        let placeholder = "0".repeat(SIGNATURE_SPACE * 2);
        let sig = objects.add(format!(
            "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached \
             /ByteRange [0000000000 0000000000 0000000000 0000000000] \
             /Contents <{placeholder}> /M ({}) /Name {} /Reason {} >>",
            field.time,
            text_string(&field.signer),
            text_string(&field.reason)
        ));
        (sig, objects.reserve())
    });

    let mut page_ids = Vec::new();
    let last = document.pages.len().saturating_sub(1);
    for (i, ops) in contents.iter().enumerate() {
        let content = objects.add(Objects::stream("", ops.as_bytes()));
        let page = objects.reserve();
        let annots = match signature {
            Some((_, widget)) if i == last => format!(" /Annots [{widget} 0 R]"),
            _ => String::new(),
        };
        objects.set(
            page,
            format!(
                "<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {} {}] \
                 /Resources << /Font << /F1 {} 0 R /F2 {} 0 R >> >> /Contents {content} 0 R{annots} >>",
                number(PAGE_WIDTH),
                number(PAGE_HEIGHT),
                font_ids[0],
                font_ids[1]
            ),
        );
        page_ids.push(page);
    }
    let kids: Vec<String> = page_ids.iter().map(|id| format!("{id} 0 R")).collect();
    objects.set(
        pages_id,
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            page_ids.len()
        ),
    );
    let acroform = match signature {
        Some((sig, widget)) => {
            objects.set(
                widget,
                format!(
                    "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Seal) /V {sig} 0 R \
                     /Rect [0 0 0 0] /F 132 /P {} 0 R >>",
                    page_ids[last]
                ),
            );
            format!(" /AcroForm << /Fields [{widget} 0 R] /SigFlags 3 >>")
        }
        None => String::new(),
    };
    objects.set(
        catalog,
        format!(
            "<< /Type /Catalog /Pages {pages_id} 0 R{acroform} \
             /Extensions << /ESIC << /BaseVersion /1.7 /ExtensionLevel 2 >> >> >>"
        ),
    );
    let info = objects.add(format!(
        "<< /Title {} /Producer (Offboarding Desk) >>",
        text_string(&document.title)
    ));

    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.bodies.len());
    let mut placeholders = None;
    let sig_id = signature.map(|(sig, _)| sig);
    for (i, body) in objects.bodies.iter().enumerate() {
        offsets.push(out.len());
        let _ = writeln!(PdfBytes(&mut out), "{} 0 obj", i + 1);
        if Some(i + 1) == sig_id {
            let find = |needle: &[u8]| {
                body.windows(needle.len())
                    .position(|w| w == needle)
                    .expect("the signature dictionary has its placeholders")
            };
            let byte_range = out.len() + find(b"/ByteRange [") + "/ByteRange [".len();
            let open = out.len() + find(b"/Contents <") + "/Contents ".len();
            placeholders = Some(Placeholders {
                byte_range,
                contents: (open, open + SIGNATURE_SPACE * 2 + 2),
            });
        }
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let _ = write!(
        PdfBytes(&mut out),
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.bodies.len() + 1
    );
    for offset in offsets {
        let _ = writeln!(PdfBytes(&mut out), "{offset:010} 00000 n ");
    }
    let id = crate::auth::token::to_hex(&Sha256::digest(&out)[..16]);
    let _ = write!(
        PdfBytes(&mut out),
        "trailer\n<< /Size {} /Root {catalog} 0 R /Info {info} 0 R /ID [<{id}> <{id}>] >>\nstartxref\n{xref}\n%%EOF\n",
        objects.bodies.len() + 1
    );
    (out, placeholders)
}

/// `write!` into a byte buffer.
struct PdfBytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for PdfBytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Writes one font's objects (the composite font, its CID font, descriptor, subset and
/// ToUnicode map) and returns the composite font's number.
fn font_objects(objects: &mut Objects, font: &Embedded, face: &ttf_parser::Face<'_>) -> usize {
    let name = format!("{}+{}", font.tag(), font.style.name());
    let subset =
        subsetter::subset(font.style.font(), 0, &font.remapper).expect("the shipped font subsets");
    let file = objects.add(Objects::stream(
        &format!("/Length1 {}", subset.len()),
        &subset,
    ));
    let per_unit = 1000.0 / f32::from(face.units_per_em());
    let scaled = |v: i16| number(f32::from(v) * per_unit);
    let bbox = face.global_bounding_box();
    let descriptor = objects.add(format!(
        "<< /Type /FontDescriptor /FontName /{name} /Flags 32 /FontBBox [{} {} {} {}] \
         /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight {} /StemV 80 /FontFile2 {file} 0 R >>",
        scaled(bbox.x_min),
        scaled(bbox.y_min),
        scaled(bbox.x_max),
        scaled(bbox.y_max),
        scaled(face.ascender()),
        scaled(face.descender()),
        scaled(face.capital_height().unwrap_or(face.ascender())),
    ));
    let mut widths = String::new();
    let mut by_new: Vec<(u16, u16, char)> = font
        .glyphs
        .iter()
        .map(|(c, (old, new))| (*new, *old, *c))
        .collect();
    by_new.sort();
    for (new, old, _) in &by_new {
        let advance = face
            .glyph_hor_advance(ttf_parser::GlyphId(*old))
            .unwrap_or(0);
        let _ = write!(widths, "{new} [{}] ", number(f32::from(advance) * per_unit));
    }
    let cid = objects.add(format!(
        "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} \
         /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
         /FontDescriptor {descriptor} 0 R /W [{widths}] /CIDToGIDMap /Identity >>"
    ));
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for chunk in by_new.chunks(100) {
        let _ = writeln!(cmap, "{} beginbfchar", chunk.len());
        for (new, _, c) in chunk {
            let utf16: String = c
                .encode_utf16(&mut [0; 2])
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            let _ = writeln!(cmap, "<{new:04X}> <{utf16}>");
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend");
    let to_unicode = objects.add(Objects::stream("", cmap.as_bytes()));
    objects.add(format!(
        "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H \
         /DescendantFonts [{cid} 0 R] /ToUnicode {to_unicode} 0 R >>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(text: &str) -> Page {
        Page {
            texts: vec![Text {
                x: MARGIN,
                y: 700.0,
                size: 12.0,
                style: Style::Regular,
                gray: false,
                text: text.into(),
            }],
            rules: vec![(MARGIN, PAGE_WIDTH - MARGIN, 690.0)],
        }
    }

    #[test]
    fn xref_offsets_point_at_their_objects() {
        let document = Document {
            title: "Addendum".into(),
            pages: vec![page("Lakeside RV Center"), page("Łódź Café")],
        };
        let (pdf, none) = write(&document, None);
        assert!(none.is_none());
        let xref = pdf.windows(6).rposition(|w| w == b"\nxref\n").unwrap() + 1;
        let text = String::from_utf8(pdf[xref..].to_vec()).expect("the table is text");
        let entries: Vec<usize> = text
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .map(|l| l[..10].parse().unwrap())
            .collect();
        assert!(entries.len() > 10);
        for (i, offset) in entries.iter().enumerate() {
            assert!(
                pdf[*offset..].starts_with(format!("{} 0 obj\n", i + 1).as_bytes()),
                "object {}",
                i + 1
            );
        }
        assert!(text.ends_with(&format!("startxref\n{xref}\n%%EOF\n")));
    }

    #[test]
    fn the_placeholders_are_where_they_are_said_to_be() {
        let document = Document {
            title: "Addendum".into(),
            pages: vec![page("one"), page("two")],
        };
        let field = SealField {
            signer: "Agency".into(),
            reason: "Sealed".into(),
            time: "D:20261203120000+00'00'".into(),
        };
        let (pdf, at) = write(&document, Some(&field));
        let at = at.expect("a sealed document has placeholders");
        assert!(pdf[at.byte_range..].starts_with(b"0000000000 0000000000 0000000000 0000000000]"));
        assert_eq!(pdf[at.contents.0], b'<');
        assert_eq!(pdf[at.contents.1 - 1], b'>');
        assert!(
            pdf[at.contents.0 + 1..at.contents.1 - 1]
                .iter()
                .all(|b| *b == b'0')
        );
    }

    #[test]
    fn wrapping_keeps_every_word_and_each_line_fits() {
        let metrics = Metrics::default();
        let text = "The client's monthly budget changes from $12,000.00 to $8,500.00 from \
                    the first of next month; Supercalifragilisticexpialidociousness aside.";
        for width in [60.0, 120.0, 300.0, 480.0] {
            let lines = metrics.wrap(text, Style::Regular, 11.0, width);
            for line in &lines {
                assert!(
                    metrics.width(line, Style::Regular, 11.0) <= width || line.chars().count() == 1,
                    "{line:?} at {width}"
                );
            }
            let joined: String = lines.concat().split_whitespace().collect();
            let expected: String = text.split_whitespace().collect();
            assert_eq!(joined, expected, "at {width}");
        }
        assert_eq!(
            metrics.wrap("", Style::Bold, 11.0, 100.0),
            vec![String::new()]
        );
    }

    #[test]
    fn a_character_the_font_lacks_is_a_question_mark_not_glyph_zero() {
        let mut font = Embedded::new(Style::Regular);
        let face = face(Style::Regular);
        let encoded = font.encode(&face, "A漢字?");
        assert_eq!(font.glyphs.len(), 2, "{:?}", font.glyphs);
        assert!(font.glyphs.values().all(|(old, _)| *old != 0));
        // Four characters, the last three one glyph.
        assert_eq!(encoded.len(), 2 + 4 * 4);
        assert_eq!(&encoded[5..9], &encoded[9..13]);
    }

    #[test]
    fn text_strings_carry_any_character_and_no_control_characters() {
        assert_eq!(text_string("Aé"), "<FEFF004100E9>");
        assert_eq!(text_string("a\u{0}\nb"), "<FEFF00610062>");
        assert_eq!(text_string("😀"), "<FEFFD83DDE00>");
    }
}
