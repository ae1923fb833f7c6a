//! Barcodes (docs/domain.md, Samples): `[A-Z0-9-]`, at most 32 characters (a Code 128 label
//! limit). Generated ones are `{PREFIX}-{YYYYMMDD}-{NNNNNN}` from a per-lab atomic
//! counter, so two requests can never draw the same number.

pub const MAX_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BarcodeError {
    #[error("a barcode must not be empty")]
    Empty,
    #[error("a barcode has at most 32 characters")]
    TooLong,
    #[error("a barcode may contain only A-Z, 0-9 and '-'")]
    Charset,
}

impl BarcodeError {
    pub fn rule(self) -> &'static str {
        match self {
            Self::Empty => "required",
            Self::TooLong => "max_length",
            Self::Charset => "barcode",
        }
    }
}

/// The barcode as stored: trimmed; lowercase letters are refused rather than folded, so a
/// printed label always reads exactly as the record.
pub fn check(raw: &str) -> Result<&str, BarcodeError> {
    let code = raw.trim();
    if code.is_empty() {
        Err(BarcodeError::Empty)
    } else if code.len() > MAX_LEN {
        Err(BarcodeError::TooLong)
    } else if !code
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
    {
        Err(BarcodeError::Charset)
    } else {
        Ok(code)
    }
}

/// `{PREFIX}-{YYYYMMDD}-{NNNNNN}`; numbers past 999,999 simply grow a digit.
pub fn generate(prefix: &str, date: time::Date, n: u64) -> String {
    format!(
        "{prefix}-{:04}{:02}{:02}-{n:06}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A lab prefix usable in generated barcodes: 1–8 of `[A-Z0-9]`.
pub fn valid_prefix(p: &str) -> bool {
    (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_and_length_are_enforced() {
        assert_eq!(check(" LAB20240001 "), Ok("LAB20240001"));
        assert_eq!(check("TS-20261127-000001"), Ok("TS-20261127-000001"));
        assert_eq!(check("lab1"), Err(BarcodeError::Charset));
        assert_eq!(check("A B"), Err(BarcodeError::Charset));
        assert_eq!(check("Ä1"), Err(BarcodeError::Charset));
        assert_eq!(check(""), Err(BarcodeError::Empty));
        assert_eq!(check(&"A".repeat(32)), Ok(&*"A".repeat(32)));
        assert_eq!(check(&"A".repeat(33)), Err(BarcodeError::TooLong));
    }

    #[test]
    fn generated_codes_follow_the_format_and_pass_the_check() {
        let d = time::macros::date!(2026 - 11 - 27);
        let code = generate("TS", d, 42);
        assert_eq!(code, "TS-20261127-000042");
        assert!(check(&code).is_ok());
        assert_eq!(generate("LONGPFX1", d, 1_000_000).len(), 25);
        assert!(valid_prefix("TS") && !valid_prefix("ts") && !valid_prefix("") && !valid_prefix("ABCDEFGHI"));
    }
}
