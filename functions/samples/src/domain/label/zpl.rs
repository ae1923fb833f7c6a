//! Labels as ZPL II for Zebra printers: the same layout in printer dots, the symbols drawn
//! by the printer (`^BC` Code 128 in automatic subset mode, `^BX` Data Matrix ECC 200) so
//! they are sharp at its resolution. Text goes through `^FH` hex escapes: a sample's name
//! cannot inject a ZPL command.

use super::{CODE128_QUIET, Label, LabelSize, Layout, PrinterDpi, code128, datamatrix, printed_lines};
use std::fmt::Write;

/// One `^XA … ^XZ` format per label, in order.
pub fn zpl(labels: &[Label], size: LabelSize, dpi: PrinterDpi) -> String {
    let l = Layout::of(size);
    let dots = |mm: f32| (mm * dpi.dots_per_mm()).round() as u32;
    let mut out = String::new();
    for label in labels {
        let _ = write!(out, "^XA^CI28^PW{}^LL{}^LH0,0", dots(l.width), dots(l.height));
        // Bars: the widest whole-dot module that fits with the quiet zones.
        let modules = code128(&label.barcode).len() + 2 * CODE128_QUIET;
        let module = (dots(l.bars.w) / modules.max(1) as u32).clamp(1, 10);
        let _ = write!(
            out,
            "^FO{},{}^BY{module},3^BCN,{},N,N,N,A^FD{}^FS",
            dots(l.bars.x) + module * CODE128_QUIET as u32,
            dots(l.bars.y),
            dots(l.bars.h),
            escape(&label.barcode),
        );
        if let Some(m) = datamatrix(&label.barcode) {
            let module = (dots(l.matrix.w) / (m.width as u32 + 2)).max(1);
            let _ = write!(
                out,
                "^FO{},{}^BXN,{module},200^FH_^FD{}^FS",
                dots(l.matrix.x) + module,
                dots(l.matrix.y) + module,
                escape(&label.barcode),
            );
        }
        for (i, (line, size)) in printed_lines(label, &l).iter().enumerate() {
            let font = dots(*size);
            let _ = write!(
                out,
                "^FO{},{}^A0N,{font},{font}^FH_^FD{}^FS",
                dots(l.text.x),
                dots(l.text.y + l.font * 1.15 * i as f32),
                escape(line),
            );
        }
        out.push_str("^XZ\n");
    }
    out
}

/// Field data with everything but letters, digits, space and `-.,:/()` written as `_XX`
/// hex bytes of its UTF-8 (`^CI28`), so `^`, `~` and `_` never reach the printer raw.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() || " -.,:/()".contains(ch) {
            out.push(ch);
        } else {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "_{b:02X}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_is_one_format_with_both_symbols_and_its_text() {
        let label = Label {
            barcode: "TS-20261204-000123".into(),
            lines: vec!["Liver 7".into()],
        };
        let z = zpl(&[label.clone(), label], LabelSize::Label50x25, PrinterDpi::Dpi203);
        assert_eq!(z.matches("^XA").count(), 2);
        assert_eq!(z.matches("^XZ").count(), 2);
        assert!(z.contains("^PW400^LL200"), "{z}");
        assert!(z.contains("^BCN,") && z.contains("^FDTS-20261204-000123^FS"), "{z}");
        assert!(z.contains("^BXN,"), "{z}");
        assert!(z.contains("^FDLiver 7^FS"), "{z}");
        let fine = zpl(
            &[Label {
                barcode: "A-1".into(),
                lines: vec![],
            }],
            LabelSize::Label50x25,
            PrinterDpi::Dpi300,
        );
        assert!(fine.contains("^PW600^LL300"), "{fine}");
    }

    #[test]
    fn hostile_text_cannot_inject_commands() {
        let label = Label {
            barcode: "A-1".into(),
            lines: vec!["x^XZ^XA~JR_é".into()],
        };
        let z = zpl(&[label], LabelSize::Label102x51, PrinterDpi::Dpi203);
        assert_eq!(z.matches("^XA").count(), 1, "{z}");
        assert!(z.contains("^FDx_5EXZ_5EXA_7EJR_5F_C3_A9^FS"), "{z}");
    }
}
