//! Reading a manifest file into a grid of cells: CSV (UTF-8 with or without BOM, or
//! Latin-1/Windows-1252; comma, semicolon or tab separated) and XLSX (a named sheet or the
//! first). Rows are numbered as a spreadsheet shows them: the header is row 1.

use super::template::Cell;
use std::borrow::Cow;
use std::io::Cursor;

pub const MAX_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_ROWS: usize = 10_000;
const MAX_COLUMNS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    /// XLSX files are ZIP archives; anything else is read as delimited text.
    pub fn detect(bytes: &[u8]) -> Self {
        if bytes.starts_with(b"PK\x03\x04") {
            Format::Xlsx
        } else {
            Format::Csv
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("the file is larger than {MAX_BYTES} bytes")]
    TooLarge,
    #[error("the file has {rows} data rows; at most {MAX_ROWS} are accepted")]
    TooManyRows { rows: usize },
    #[error("the file has more than {MAX_COLUMNS} columns")]
    TooManyColumns,
    #[error("the file has no header row")]
    NoHeader,
    #[error("the workbook has no sheet {name:?} (sheets: {available})")]
    UnknownSheet { name: String, available: String },
    #[error("the file cannot be read: {0}")]
    Unreadable(String),
}

impl ManifestError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge => "file_too_large",
            Self::TooManyRows { .. } => "too_many_rows",
            Self::TooManyColumns => "too_many_columns",
            Self::NoHeader => "no_header",
            Self::UnknownSheet { .. } => "unknown_sheet",
            Self::Unreadable(_) => "unreadable_file",
        }
    }
}

/// Header and data rows; each data row keeps its spreadsheet row number.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub headers: Vec<String>,
    pub rows: Vec<(u32, Vec<Cell>)>,
}

/// Read `bytes` as `format`; `sheet` picks a worksheet of an XLSX (default: the first).
pub fn read(bytes: &[u8], format: Format, sheet: Option<&str>) -> Result<Sheet, ManifestError> {
    if bytes.len() > MAX_BYTES {
        return Err(ManifestError::TooLarge);
    }
    let grid = match format {
        Format::Csv => read_csv(&decode(bytes))?,
        Format::Xlsx => read_xlsx(bytes, sheet)?,
    };
    into_sheet(grid)
}

/// UTF-8 (a BOM is dropped); bytes that are not UTF-8 are read as Windows-1252, the
/// superset of Latin-1 that Excel writes on Windows.
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0,
    }
}

/// The delimiter that splits the header line into the most fields.
fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&d| (header.bytes().filter(|&b| b == d).count(), d == b','))
        .unwrap_or(b',')
}

type Grid = Vec<(u32, Vec<Cell>)>;

fn read_csv(text: &str) -> Result<Grid, ManifestError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(text))
        .from_reader(text.as_bytes());
    let mut grid = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut row = 0u32;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                // The line a text editor (and a spreadsheet, barring multi-line cells) shows;
                // the csv reader skips blank lines, a spreadsheet does not.
                row = record.position().map_or(row + 1, |p| p.line() as u32);
                let cells = record
                    .iter()
                    .map(|c| {
                        if c.trim().is_empty() {
                            Cell::Empty
                        } else {
                            Cell::Text(c.to_owned())
                        }
                    })
                    .collect();
                grid.push((row, cells));
                if grid.len() > MAX_ROWS + 1 + 1000 {
                    // Far past the limit: stop reading, the count is already decisive.
                    break;
                }
            }
            Err(e) => return Err(ManifestError::Unreadable(format!("CSV row {}: {e}", row + 1))),
        }
    }
    Ok(grid)
}

/// The worksheets of an XLSX, in order.
pub fn sheet_names(bytes: &[u8]) -> Result<Vec<String>, ManifestError> {
    use calamine::Reader;
    let wb: calamine::Xlsx<_> =
        calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| ManifestError::Unreadable(e.to_string()))?;
    Ok(wb.sheet_names())
}

fn read_xlsx(bytes: &[u8], sheet: Option<&str>) -> Result<Grid, ManifestError> {
    use calamine::{Data, Reader};
    let mut wb: calamine::Xlsx<_> =
        calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| ManifestError::Unreadable(e.to_string()))?;
    let names = wb.sheet_names();
    let name = match sheet {
        Some(wanted) => names
            .iter()
            .find(|n| n.as_str() == wanted || n.trim().eq_ignore_ascii_case(wanted.trim()))
            .cloned()
            .ok_or_else(|| ManifestError::UnknownSheet {
                name: wanted.chars().take(100).collect(),
                available: names.join(", "),
            })?,
        None => names.first().cloned().ok_or(ManifestError::NoHeader)?,
    };
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| ManifestError::Unreadable(e.to_string()))?;
    let first_row = range.start().map_or(0, |(r, _)| r);
    let first_col = range.start().map_or(0, |(_, c)| c) as usize;
    if range.width() + first_col > MAX_COLUMNS {
        return Err(ManifestError::TooManyColumns);
    }
    let mut grid = Vec::with_capacity(range.height());
    for (i, r) in range.rows().enumerate() {
        let mut cells = vec![Cell::Empty; first_col];
        cells.extend(r.iter().map(|c| match c {
            Data::Empty | Data::Error(_) => Cell::Empty,
            Data::String(s) if s.trim().is_empty() => Cell::Empty,
            Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
            Data::Float(f) => Cell::Number(*f),
            Data::Int(n) => Cell::Number(*n as f64),
            Data::Bool(b) => Cell::Bool(*b),
            Data::DateTime(dt) => match super::value::date_from_serial(dt.as_f64()) {
                Some(d) => Cell::Date(d),
                None => Cell::Number(dt.as_f64()),
            },
        }));
        grid.push((first_row + i as u32 + 1, cells));
        if grid.len() > MAX_ROWS + 1 + 1000 {
            break;
        }
    }
    Ok(grid)
}

/// First non-empty row is the header; empty rows are skipped; trailing empty header cells
/// are dropped.
fn into_sheet(grid: Grid) -> Result<Sheet, ManifestError> {
    let mut rows = grid
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.is_empty()));
    let (_, header) = rows.next().ok_or(ManifestError::NoHeader)?;
    let mut headers: Vec<String> = header.iter().map(|c| c.text().trim().to_owned()).collect();
    while headers.last().is_some_and(String::is_empty) {
        headers.pop();
    }
    if headers.len() > MAX_COLUMNS {
        return Err(ManifestError::TooManyColumns);
    }
    let rows: Vec<_> = rows.collect();
    if rows.len() > MAX_ROWS {
        return Err(ManifestError::TooManyRows { rows: rows.len() });
    }
    Ok(Sheet { headers, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_bom_semicolons_and_latin1() {
        let utf8 = "\u{FEFF}Sample_ID;Notes\nA1;Café\n\n;\nA2;x\n";
        let s = read(utf8.as_bytes(), Format::Csv, None).unwrap();
        assert_eq!(s.headers, ["Sample_ID", "Notes"]);
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.rows[0], (2, vec![Cell::Text("A1".into()), Cell::Text("Café".into())]));
        assert_eq!(s.rows[1].0, 5, "row numbers count the empty rows a spreadsheet shows");
        let latin1 = b"Sample_ID,Storage\nA1,-80\xB0C\n";
        let s = read(latin1, Format::Csv, None).unwrap();
        assert_eq!(s.rows[0].1[1], Cell::Text("-80°C".into()));
    }

    #[test]
    fn limits_and_broken_files() {
        let mut big = String::from("a\n");
        for i in 0..=MAX_ROWS {
            big.push_str(&format!("{i}\n"));
        }
        assert_eq!(
            read(big.as_bytes(), Format::Csv, None).unwrap_err().code(),
            "too_many_rows"
        );
        assert_eq!(read(b"", Format::Csv, None).unwrap_err(), ManifestError::NoHeader);
        assert_eq!(
            read(b"PK\x03\x04garbage", Format::Xlsx, None).unwrap_err().code(),
            "unreadable_file"
        );
        assert_eq!(Format::detect(b"PK\x03\x04"), Format::Xlsx);
        assert_eq!(Format::detect(b"a,b"), Format::Csv);
    }

    #[test]
    fn xlsx_sheets_by_name_or_first() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let s1 = wb.add_worksheet().set_name("Instructions").unwrap();
        s1.write(0, 0, "Fill in the Samples sheet").unwrap();
        let s2 = wb.add_worksheet().set_name("Samples").unwrap();
        s2.write(0, 0, "Sample_ID").unwrap();
        s2.write(0, 1, "Volume").unwrap();
        s2.write(1, 0, "A1").unwrap();
        s2.write(1, 1, 2.5).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let first = read(&bytes, Format::Xlsx, None).unwrap();
        assert_eq!(first.headers, ["Fill in the Samples sheet"]);
        let samples = read(&bytes, Format::Xlsx, Some("samples")).unwrap();
        assert_eq!(samples.headers, ["Sample_ID", "Volume"]);
        assert_eq!(
            samples.rows,
            vec![(2, vec![Cell::Text("A1".into()), Cell::Number(2.5)])]
        );
        let err = read(&bytes, Format::Xlsx, Some("Nope")).unwrap_err();
        assert_eq!(err.code(), "unknown_sheet");
        assert_eq!(sheet_names(&bytes).unwrap(), ["Instructions", "Samples"]);
    }
}
