//! Reading a manifest file into a grid of cells: CSV (UTF-8 with or without BOM, or
//! Latin-1/Windows-1252; comma, semicolon or tab separated) and XLSX (a named sheet or the
//! first). Rows are numbered as a spreadsheet shows them: the header is row 1.

use super::template::Cell;
use std::borrow::Cow;
use std::io::Cursor;

pub const MAX_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_ROWS: usize = 10_000;
const MAX_COLUMNS: usize = 500;
/// Rows (with blank ones) read before a file is refused: the header, [`MAX_ROWS`] data rows
/// and room for blank lines; the row count decides the rest.
const ROW_CAP: usize = MAX_ROWS + 1 + 1000;

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

/// How much an XLSX may inflate to, all parts together, and per part relative to its size
/// in the zip: a manifest of 10,000 rows is a few MB of XML; a zip bomb is thousands of
/// times its size.
const MAX_INFLATED: u64 = 64 * 1024 * 1024;
const MAX_RATIO: u64 = 200;
const MAX_PARTS: usize = 1_000;

/// Inflate every part of the zip through a capped reader before calamine opens it, so a
/// zip bomb ends here, having cost at most [`MAX_INFLATED`] bytes of work and none of memory.
fn check_zip(bytes: &[u8]) -> Result<(), ManifestError> {
    let bomb = || ManifestError::Unreadable("the workbook inflates far beyond its size (a zip bomb?)".into());
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ManifestError::Unreadable(format!("not a workbook: {e}")))?;
    if zip.len() > MAX_PARTS {
        return Err(ManifestError::Unreadable(format!(
            "the workbook has more than {MAX_PARTS} parts"
        )));
    }
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut part = zip
            .by_index(i)
            .map_err(|e| ManifestError::Unreadable(format!("not a workbook: {e}")))?;
        let budget = (part.compressed_size().max(1024) * MAX_RATIO).min(MAX_INFLATED - total);
        // Whatever the part's header claims, count what it really inflates to.
        let read = std::io::copy(&mut std::io::Read::take(&mut part, budget + 1), &mut std::io::sink())
            .map_err(|e| ManifestError::Unreadable(format!("a damaged workbook part: {e}")))?;
        if read > budget {
            return Err(bomb());
        }
        total += read;
    }
    Ok(())
}

fn read_xlsx(bytes: &[u8], sheet: Option<&str>) -> Result<Grid, ManifestError> {
    use calamine::{DataRef, Reader};
    check_zip(bytes)?;
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
    let mut cells = wb
        .worksheet_cells_reader(&name)
        .map_err(|e| ManifestError::Unreadable(e.to_string()))?;
    // The declared dimensions first (a sheet says A1:XFD1048576 before any cell), then every
    // cell as it streams by: no grid is built from what the file claims.
    let dim = cells.dimensions();
    let (rows_declared, cols_declared) = (
        dim.end.0.saturating_sub(dim.start.0) as usize + 1,
        dim.end.1 as usize + 1,
    );
    if cols_declared > MAX_COLUMNS {
        return Err(ManifestError::TooManyColumns);
    }
    if rows_declared > ROW_CAP {
        return Err(ManifestError::TooManyRows {
            rows: rows_declared - 1,
        });
    }
    let mut grid: Grid = Vec::new();
    while let Some(cell) = cells
        .next_cell()
        .map_err(|e| ManifestError::Unreadable(e.to_string()))?
    {
        let (row, col) = cell.get_position();
        let col = col as usize;
        if col >= MAX_COLUMNS {
            return Err(ManifestError::TooManyColumns);
        }
        let value = match cell.get_value() {
            DataRef::Empty | DataRef::Error(_) => continue,
            DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) if s.trim().is_empty() => continue,
            DataRef::SharedString(s) if s.trim().is_empty() => continue,
            DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Cell::Text(s.clone()),
            DataRef::SharedString(s) => Cell::Text((*s).to_owned()),
            DataRef::Float(f) => Cell::Number(*f),
            DataRef::Int(n) => Cell::Number(*n as f64),
            DataRef::Bool(b) => Cell::Bool(*b),
            DataRef::DateTime(dt) => match super::value::date_from_serial(dt.as_f64()) {
                Some(d) => Cell::Date(d),
                None => Cell::Number(dt.as_f64()),
            },
        };
        let row = row + 1;
        if grid.last().is_none_or(|(r, _)| *r != row) {
            if grid.len() >= ROW_CAP {
                return Err(ManifestError::TooManyRows { rows: grid.len() });
            }
            grid.push((row, Vec::new()));
        }
        if let Some((_, cells)) = grid.last_mut() {
            if cells.len() <= col {
                cells.resize(col + 1, Cell::Empty);
            }
            cells[col] = value;
        }
    }
    grid.sort_by_key(|(r, _)| *r);
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

    #[test]
    fn hostile_workbooks_fail_before_a_grid_is_built() {
        // Two cells at the grid's far corners: calamine's range would be 17 billion cells.
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write(0, 0, "Sample_ID").unwrap();
        ws.write(1_048_575, 16_383, "x").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let t = std::time::Instant::now();
        assert_eq!(read(&bytes, Format::Xlsx, None).unwrap_err().code(), "too_many_columns");
        // The same corners a column apart: still refused, by rows.
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write(0, 0, "Sample_ID").unwrap();
        ws.write(1_048_575, 0, "x").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        assert_eq!(read(&bytes, Format::Xlsx, None).unwrap_err().code(), "too_many_rows");
        assert!(t.elapsed() < std::time::Duration::from_secs(2), "{:?}", t.elapsed());
    }

    #[test]
    fn fifty_thousand_rows_are_refused() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write(0, 0, "Sample_ID").unwrap();
        for r in 1..=50_000u32 {
            ws.write(r, 0, r).unwrap();
        }
        let bytes = wb.save_to_buffer().unwrap();
        let err = read(&bytes, Format::Xlsx, None).unwrap_err();
        assert_eq!(err.code(), "too_many_rows", "{err}");
    }
}
