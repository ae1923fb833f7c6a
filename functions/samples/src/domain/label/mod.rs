//! Printable sample labels (docs/domain.md, Labels): every label carries the barcode twice,
//! as Code 128 for line scanners and as a Data Matrix for 2-D readers and tiny tubes, with
//! the barcode, name, type and project in print. The same layout, measured in millimetres,
//! is drawn as a PDF page (any printer) or as ZPL (Zebra printers).

mod pdf;
mod symbols;
mod zpl;

pub use pdf::pdf;
pub use symbols::{code128, datamatrix};
pub use zpl::zpl;

use crate::model::Sample;

tracseq_core::named_enum!(
    /// A label stock: width × height in millimetres.
    LabelSize {
        Tube25x13 => "25x13",
        Tube38x13 => "38x13",
        Label50x25 => "50x25",
        Label102x51 => "102x51",
    }
);

tracseq_core::named_enum!(
    /// How a label is rendered: a PDF page per label, or ZPL for Zebra printers.
    LabelFormat {
        Pdf => "pdf",
        Zpl => "zpl",
    }
);

tracseq_core::named_enum!(
    /// A Zebra printer's resolution.
    PrinterDpi {
        Dpi203 => "203",
        Dpi300 => "300",
    }
);

impl LabelSize {
    /// Width and height in millimetres.
    pub fn mm(self) -> (f32, f32) {
        match self {
            Self::Tube25x13 => (25.0, 13.0),
            Self::Tube38x13 => (38.0, 13.0),
            Self::Label50x25 => (50.0, 25.0),
            Self::Label102x51 => (102.0, 51.0),
        }
    }
}

impl PrinterDpi {
    pub fn dots_per_mm(self) -> f32 {
        match self {
            Self::Dpi203 => 8.0,
            Self::Dpi300 => 12.0,
        }
    }
}

/// What one label says: the barcode (encoded and printed) and up to three lines of text.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub barcode: String,
    pub lines: Vec<String>,
}

impl Label {
    /// A sample's label: barcode; name (when it is not the barcode); type and project;
    /// collection date.
    pub fn of(sample: &Sample) -> Self {
        let mut lines = Vec::new();
        if sample.name != sample.barcode && !sample.name.trim().is_empty() {
            lines.push(sample.name.trim().to_owned());
        }
        let kind = sample.sample_type.as_str();
        lines.push(match sample.details.project.as_deref().map(str::trim) {
            Some(p) if !p.is_empty() => format!("{kind} · {p}"),
            _ => kind.to_owned(),
        });
        if let Some(d) = &sample.details.collection_date {
            lines.push(d.clone());
        }
        Self {
            barcode: sample.barcode.clone(),
            lines,
        }
    }
}

/// A rectangle in millimetres from the label's top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// Where things go on a label of one size: the Code 128 across the top (with its quiet
/// zones), the Data Matrix square below on the left, the text beside it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    pub width: f32,
    pub height: f32,
    pub bars: Area,
    pub matrix: Area,
    pub text: Area,
    /// Text size in millimetres (cap height ≈ 0.7 of it).
    pub font: f32,
}

/// Code 128 asks for ten modules of quiet zone on each side; Data Matrix for one.
pub const CODE128_QUIET: usize = 10;

impl Layout {
    pub fn of(size: LabelSize) -> Self {
        let (width, height) = size.mm();
        let margin = (height * 0.06).max(0.8);
        let bar_h = height * 0.36;
        let gap = height * 0.04;
        let side = height - 2.0 * margin - bar_h - gap;
        let text_x = margin + side + gap * 2.0;
        Self {
            width,
            height,
            bars: Area {
                x: margin,
                y: margin,
                w: width - 2.0 * margin,
                h: bar_h,
            },
            matrix: Area {
                x: margin,
                y: margin + bar_h + gap,
                w: side,
                h: side,
            },
            text: Area {
                x: text_x,
                y: margin + bar_h + gap,
                w: width - text_x - margin,
                h: side,
            },
            font: (side / 4.2).min(4.0),
        }
    }

    /// How many lines of text fit beside the Data Matrix.
    pub fn text_lines(&self) -> usize {
        ((self.text.h / (self.font * 1.15)).floor() as usize).max(1)
    }

    /// Characters of text that fit on one line (Helvetica averages about 0.55 em; 0.6 keeps
    /// a margin for wide capitals).
    pub fn chars_per_line(&self) -> usize {
        ((self.text.w / (self.font * 0.6)).floor() as usize).max(1)
    }
}

/// `text` cut to `max` characters, with an ellipsis when it was longer.
pub fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The lines a label prints with their text size in millimetres: the barcode first, whole,
/// in a smaller size if it must be (a label that reads differently from its symbols would
/// be worse than small print), then the other lines, cut to fit, as many as fit.
pub fn printed_lines(label: &Label, layout: &Layout) -> Vec<(String, f32)> {
    let max = layout.chars_per_line();
    // Bold capitals and digits run about 0.67 em wide in Helvetica.
    let chars = label.barcode.chars().count().max(1) as f32;
    let barcode_size = layout.font.min(layout.text.w / (chars * 0.67));
    std::iter::once((label.barcode.clone(), barcode_size))
        .chain(label.lines.iter().map(|l| (fit(l, max), layout.font)))
        .take(layout.text_lines())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_size_leaves_room_for_both_symbols_and_a_line_of_text() {
        for &size in LabelSize::ALL {
            let l = Layout::of(size);
            assert!(l.matrix.x + l.matrix.w < l.text.x, "{size:?}");
            assert!(l.text.x + l.text.w <= l.width, "{size:?}");
            assert!(l.matrix.y + l.matrix.h <= l.height, "{size:?}");
            assert!(l.bars.y + l.bars.h <= l.matrix.y, "{size:?}");
            assert!(l.text_lines() >= 1 && l.chars_per_line() >= 8, "{size:?}: {l:?}");
            // A generated barcode gets modules of at least a tenth of a millimetre on
            // every stock; the longest allowed one (32 characters, no digit runs) on the
            // 50 mm labels and up (on tube labels it needs a 300 dpi printer or better).
            let module = |code: &str| l.bars.w / (code128(code).len() + 2 * CODE128_QUIET) as f32;
            assert!(
                module("TS-20261204-000123") >= 0.1,
                "{size:?}: {}",
                module("TS-20261204-000123")
            );
            if l.width >= 50.0 {
                assert!(module(&"A".repeat(32)) >= 0.09, "{size:?}");
            }
        }
    }

    #[test]
    fn long_lines_are_cut_with_an_ellipsis() {
        assert_eq!(fit("Liver biopsy 7", 20), "Liver biopsy 7");
        assert_eq!(fit("abcdefghij", 5), "abcd…");
        let label = Label {
            barcode: "TS-1".into(),
            lines: vec!["a".repeat(200), "DNA".into(), "2026-01-02".into()],
        };
        let layout = Layout::of(LabelSize::Label50x25);
        let lines = printed_lines(&label, &layout);
        assert_eq!(lines[0], ("TS-1".to_owned(), layout.font));
        assert!(lines.iter().all(|(l, _)| l.chars().count() <= layout.chars_per_line()));
        assert!(lines.len() <= layout.text_lines());
        // A long barcode is printed whole, smaller.
        let long = Label {
            barcode: "L99999999999999999999-ABCDEFGHIJ".into(),
            lines: vec![],
        };
        let (text, size) = &printed_lines(&long, &layout)[0];
        assert_eq!(text, &long.barcode);
        assert!(*size < layout.font && size * 0.67 * 32.0 <= layout.text.w + 0.01);
    }

    #[test]
    fn sizes_and_formats_parse_as_people_type_them() {
        assert_eq!(LabelSize::parse("50x25"), Some(LabelSize::Label50x25));
        assert_eq!(LabelSize::parse("102X51"), Some(LabelSize::Label102x51));
        assert_eq!(LabelFormat::parse("ZPL"), Some(LabelFormat::Zpl));
        assert_eq!(PrinterDpi::parse("300"), Some(PrinterDpi::Dpi300));
        assert_eq!(LabelSize::parse("A4"), None);
    }
}
