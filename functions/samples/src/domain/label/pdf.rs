//! Labels as PDF: one page per label, the page the size of the stock, so a label printer's
//! PDF driver prints one label per page. Bars and modules are vector rectangles (sharp at
//! any printer resolution); text is the standard Helvetica, which needs no embedded font.

use super::{CODE128_QUIET, Label, LabelSize, Layout, code128, datamatrix, printed_lines};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

const PT_PER_MM: f32 = 72.0 / 25.4;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// A PDF with one page per label, in order.
pub fn pdf(labels: &[Label], size: LabelSize) -> Vec<u8> {
    let layout = Layout::of(size);
    let mut doc = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let (catalog, tree, info, regular, bold) = (alloc(), alloc(), alloc(), alloc(), alloc());
    let pages: Vec<(Ref, Ref)> = labels.iter().map(|_| (alloc(), alloc())).collect();

    doc.catalog(catalog).pages(tree);
    doc.document_info(info)
        .title(TextStr("TracSeq sample labels"))
        .producer(TextStr("TracSeq"));
    doc.pages(tree)
        .kids(pages.iter().map(|(page, _)| *page))
        .count(pages.len() as i32);
    doc.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    doc.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));

    let media = Rect::new(0.0, 0.0, layout.width * PT_PER_MM, layout.height * PT_PER_MM);
    for (label, (page_id, content_id)) in labels.iter().zip(&pages) {
        let mut page = doc.page(*page_id);
        page.media_box(media);
        page.parent(tree);
        page.contents(*content_id);
        page.resources().fonts().pair(REGULAR, regular).pair(BOLD, bold);
        page.finish();
        let content = draw(label, &layout);
        doc.stream(*content_id, &content);
    }
    doc.finish()
}

/// One label's drawing operations.
fn draw(label: &Label, l: &Layout) -> Vec<u8> {
    let mut c = Content::new();
    c.set_fill_gray(0.0);
    // PDF's y axis points up from the bottom; the layout's down from the top.
    let rect = |c: &mut Content, x: f32, y: f32, w: f32, h: f32| {
        c.rect(
            x * PT_PER_MM,
            (l.height - y - h) * PT_PER_MM,
            w * PT_PER_MM,
            h * PT_PER_MM,
        );
    };

    let bars = code128(&label.barcode);
    let module = l.bars.w / (bars.len() + 2 * CODE128_QUIET) as f32;
    let left = l.bars.x + CODE128_QUIET as f32 * module;
    for (start, len) in runs(&bars) {
        rect(
            &mut c,
            left + start as f32 * module,
            l.bars.y,
            len as f32 * module,
            l.bars.h,
        );
    }

    if let Some(m) = datamatrix(&label.barcode) {
        let module = l.matrix.w / (m.width + 2) as f32;
        for y in 0..m.height {
            let row: Vec<bool> = (0..m.width).map(|x| m.dark.contains(&(x, y))).collect();
            for (start, len) in runs(&row) {
                rect(
                    &mut c,
                    l.matrix.x + (start + 1) as f32 * module,
                    l.matrix.y + (y + 1) as f32 * module,
                    len as f32 * module,
                    module,
                );
            }
        }
    }
    c.fill_nonzero();

    for (i, (line, size)) in printed_lines(label, l).iter().enumerate() {
        let baseline = l.text.y + l.font * (1.15 * i as f32 + 0.95);
        c.begin_text();
        c.set_font(if i == 0 { BOLD } else { REGULAR }, size * PT_PER_MM);
        c.next_line(l.text.x * PT_PER_MM, (l.height - baseline) * PT_PER_MM);
        c.show(Str(&win_ansi(line)));
        c.end_text();
    }
    c.finish().into_vec()
}

/// Runs of `true` as (start, length).
fn runs(modules: &[bool]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < modules.len() {
        if modules[i] {
            let len = modules[i..].iter().take_while(|m| **m).count();
            out.push((i, len));
            i += len;
        } else {
            i += 1;
        }
    }
    out
}

/// Text in the standard fonts' WinAnsi encoding: Latin-1 as is, the ellipsis and middle
/// dot we print, `?` for anything the font cannot show, spaces for control characters.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|ch| match ch {
            '…' => 0x85,
            c if c.is_control() => b' ',
            c if (c as u32) < 0x80 || (0xA0..=0xFF).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label() -> Label {
        Label {
            barcode: "TS-20261204-000123".into(),
            lines: vec!["Liver (biopsy) \\ 7".into(), "DNA · P-1".into(), "2026-01-02".into()],
        }
    }

    #[test]
    fn one_page_per_label_at_the_stock_size() {
        let doc = pdf(&[label(), label(), label()], LabelSize::Label50x25);
        let text = String::from_utf8_lossy(&doc);
        assert!(text.starts_with("%PDF-"));
        assert!(text.contains("/Count 3"));
        // 50 mm × 25 mm in points.
        assert!(text.contains("/MediaBox [0 0 141.73228 70.86614]"), "{text}");
        assert!(text.contains("/BaseFont /Helvetica-Bold"));
    }

    #[test]
    fn text_is_escaped_and_encoded_for_the_standard_font() {
        let ops = String::from_utf8_lossy(&draw(&label(), &Layout::of(LabelSize::Label102x51))).into_owned();
        assert!(ops.contains("(TS-20261204-000123) Tj"), "{ops}");
        // Balanced parentheses stay as they are; a backslash is escaped; non-ASCII goes
        // as hex of its WinAnsi bytes (B7 is the middle dot).
        assert!(ops.contains(r"(Liver (biopsy) \\ 7) Tj"), "{ops}");
        assert!(ops.contains("<444E4120B720502D31> Tj"), "{ops}");
        assert_eq!(win_ansi("DNA · é 日\n…"), b"DNA \xB7 \xE9 ? \x85");
    }

    #[test]
    fn runs_merge_neighbouring_dark_modules() {
        assert_eq!(
            runs(&[true, true, false, true, false, false, true]),
            vec![(0, 2), (3, 1), (6, 1)]
        );
        assert!(runs(&[false, false]).is_empty());
    }
}
