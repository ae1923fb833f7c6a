//! The two symbols of a label as module grids: Code 128 (barcoders) and Data Matrix ECC 200
//! (datamatrix). Barcodes are `[A-Z0-9-]` (tracseq_lab::barcode), so both always encode.

use barcoders::sym::code128::Code128;
use datamatrix::{DataMatrix, SymbolList};

/// Code 128 bars, one `true` per dark module, start to stop pattern (no quiet zone).
/// Runs of four or more digits use code set C (two digits per symbol), which keeps
/// generated barcodes (`TS-20261204-000123`) short enough for a 25 mm tube label.
pub fn code128(data: &str) -> Vec<bool> {
    let input = code_sets(data);
    match Code128::new(&input) {
        Ok(code) => code.encode().into_iter().map(|m| m == 1).collect(),
        // Only reachable with characters outside a barcode's alphabet; an empty symbol
        // prints nothing rather than a wrong code.
        Err(_) => Vec::new(),
    }
}

/// The barcoders input for `data`: `Ɓ` (set B) for text, `Ć` (set C) for even runs of
/// digits at least four long; an odd run leaves its first digit in set B.
fn code_sets(data: &str) -> String {
    const B: char = 'Ɓ';
    const C: char = 'Ć';
    let chars: Vec<char> = data.chars().collect();
    let mut out = String::with_capacity(data.len() + 4);
    let mut set = None;
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if run >= 4 {
            let (single, pairs) = (run % 2, run - run % 2);
            if single == 1 {
                if set != Some(B) {
                    out.push(B);
                }
                out.push(chars[i]);
            }
            out.push(C);
            set = Some(C);
            out.extend(&chars[i + single..i + single + pairs]);
            i += run;
        } else {
            if set != Some(B) {
                out.push(B);
                set = Some(B);
            }
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// A Data Matrix: its side in modules and the dark modules as (column, row) from the top
/// left, without the quiet zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub width: usize,
    pub height: usize,
    pub dark: Vec<(usize, usize)>,
}

/// The smallest square ECC 200 symbol for `data`; `None` if it cannot hold it.
pub fn datamatrix(data: &str) -> Option<Matrix> {
    let code = DataMatrix::encode(data.as_bytes(), SymbolList::default().enforce_square()).ok()?;
    let bitmap = code.bitmap();
    Some(Matrix {
        width: bitmap.width(),
        height: bitmap.height(),
        dark: bitmap.pixels().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_runs_switch_to_code_set_c() {
        assert_eq!(code_sets("TS-20261204-000123"), "ƁTS-Ć20261204Ɓ-Ć000123");
        assert_eq!(code_sets("AB-123"), "ƁAB-123");
        assert_eq!(code_sets("12345"), "Ɓ1Ć2345");
        assert_eq!(code_sets("1234"), "Ć1234");
        // Set C halves the digits' width: the generated shape is shorter than all-B.
        let mixed = code128("TS-20261204-000123").len();
        let plain = Code128::new("ƁTS-20261204-000123").map(|c| c.encode().len()).unwrap();
        assert!(mixed < plain, "{mixed} vs {plain}");
    }

    #[test]
    fn every_barcode_shape_encodes() {
        for code in [
            "A",
            "TS-1",
            "0",
            "99",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
            "--",
            "9-9-9-9",
        ] {
            let bars = code128(code);
            assert!(!bars.is_empty(), "{code}");
            // Start bar dark, ends with the stop pattern's final dark bar.
            assert!(bars[0] && bars[bars.len() - 1], "{code}");
            let m = datamatrix(code).unwrap();
            assert_eq!(m.width, m.height);
            assert!(!m.dark.is_empty());
        }
    }

    #[test]
    fn the_matrix_decodes_back_with_the_crates_own_reader() {
        let m = datamatrix("TS-20261204-000123").unwrap();
        let mut pixels = vec![false; m.width * m.height];
        for (x, y) in &m.dark {
            pixels[y * m.width + x] = true;
        }
        assert_eq!(
            DataMatrix::decode(&pixels, m.width).unwrap(),
            b"TS-20261204-000123".to_vec()
        );
    }
}
