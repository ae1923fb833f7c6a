//! Tables people take away: one header and rows of cells, written as CSV (RFC 4180, CRLF)
//! or as an XLSX workbook. Both defuse formulas: a CSV cell starting with `=`, `+`, `-`
//! or `@` gets a leading apostrophe (a spreadsheet would otherwise run it), and XLSX text
//! is written as text, which a spreadsheet never runs.
//!
//! A [`Format`] is what the client asked for (`Accept`, or `format=` on an export);
//! [`Sheet`] holds a small table in memory; [`CsvRows`] and [`XlsxRows`] write a large one
//! row by row (an export streams the CSV to storage part by part; the workbook keeps only
//! the current row in memory).

use crate::Problem;

/// The CSV media type, with its charset as sent.
pub const CSV: &str = "text/csv; charset=utf-8";
/// The XLSX media type.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// Excel's last row: a workbook holds the header and at most this many rows less one.
pub const XLSX_MAX_ROWS: u64 = 1_048_575;

/// A file format for a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = TableFormat)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "xlsx" => Some(Self::Xlsx),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Self::Csv => CSV,
            Self::Xlsx => XLSX,
        }
    }

    /// The format an `Accept` header asks for, if it names one (JSON otherwise).
    pub fn from_accept(accept: &str) -> Option<Self> {
        if accept.contains(XLSX) {
            Some(Self::Xlsx)
        } else if accept.contains("text/csv") {
            Some(Self::Csv)
        } else {
            None
        }
    }
}

/// One cell: text, a number, or nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Self {
        s.map_or(Self::Empty, Self::Text)
    }
}

impl From<Option<&str>> for Cell {
    fn from(s: Option<&str>) -> Self {
        s.map_or(Self::Empty, Cell::from)
    }
}

impl From<f64> for Cell {
    fn from(x: f64) -> Self {
        Self::Number(x)
    }
}

impl From<Option<f64>> for Cell {
    fn from(x: Option<f64>) -> Self {
        x.map_or(Self::Empty, Self::Number)
    }
}

impl From<u64> for Cell {
    fn from(x: u64) -> Self {
        Self::Number(x as f64)
    }
}

/// A CSV field: formula-defused, quoted when it holds a separator, quote or line break.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Appends one CSV line (CRLF-terminated) to `out`.
pub fn csv_line<'a>(out: &mut Vec<u8>, cells: impl IntoIterator<Item = &'a Cell>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match cell {
            Cell::Text(s) => out.extend_from_slice(csv_field(s).as_bytes()),
            Cell::Number(x) => out.extend_from_slice(x.to_string().as_bytes()),
            Cell::Empty => {}
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// CSV written row by row into a buffer the caller drains (`take`) as it fills.
#[derive(Debug, Default)]
pub struct CsvRows {
    buf: Vec<u8>,
}

impl CsvRows {
    pub fn new(header: &[&str]) -> Self {
        let mut rows = Self::default();
        let cells: Vec<Cell> = header.iter().map(|h| Cell::from(*h)).collect();
        csv_line(&mut rows.buf, &cells);
        rows
    }

    pub fn push(&mut self, cells: &[Cell]) {
        csv_line(&mut self.buf, cells);
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The bytes written since the last take.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

/// A one-sheet workbook written row by row; rows go to a temporary file as they are
/// written, so a large export does not hold the sheet in memory.
pub struct XlsxRows {
    book: rust_xlsxwriter::Workbook,
    next: u32,
}

fn xlsx_failed(e: rust_xlsxwriter::XlsxError) -> Problem {
    tracing::error!(error = %e, "workbook failed");
    Problem::internal()
}

/// A worksheet name Excel accepts from any text: without `[]:*?/\\`, not starting or
/// ending with an apostrophe, at most 31 characters, `sheet` when nothing is left.
pub fn sheet_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c) && !c.is_control())
        .take(31)
        .collect();
    let cleaned = cleaned.trim_matches(['\'', ' ']).to_owned();
    if cleaned.is_empty() {
        "sheet".to_owned()
    } else {
        cleaned
    }
}

impl XlsxRows {
    pub fn new(sheet_name: &str, header: &[&str]) -> Result<Self, Problem> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let ws = book.add_worksheet_with_constant_memory();
        ws.set_name(self::sheet_name(sheet_name)).map_err(xlsx_failed)?;
        for (c, name) in header.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *name, &bold)
                .map_err(xlsx_failed)?;
        }
        ws.set_freeze_panes(1, 0).map_err(xlsx_failed)?;
        Ok(Self { book, next: 1 })
    }

    pub fn push(&mut self, cells: &[Cell]) -> Result<(), Problem> {
        if u64::from(self.next) > XLSX_MAX_ROWS {
            return Err(Problem::new(
                413,
                "too_many_rows",
                format!("a workbook holds at most {XLSX_MAX_ROWS} rows; export as CSV"),
            ));
        }
        let ws = self.book.worksheet_from_index(0).map_err(xlsx_failed)?;
        for (c, cell) in cells.iter().enumerate() {
            match cell {
                Cell::Text(s) => {
                    ws.write_string(self.next, c as u16, s).map_err(xlsx_failed)?;
                }
                Cell::Number(x) => {
                    ws.write_number(self.next, c as u16, *x).map_err(xlsx_failed)?;
                }
                Cell::Empty => {}
            }
        }
        self.next += 1;
        Ok(())
    }

    pub fn finish(mut self) -> Result<Vec<u8>, Problem> {
        self.book.save_to_buffer().map_err(xlsx_failed)
    }
}

/// A small table held whole, answered as a download.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub name: String,
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

impl Sheet {
    pub fn new(name: &str, header: &[&'static str]) -> Self {
        Self {
            name: name.to_owned(),
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    /// The file's bytes in `format`.
    pub fn render(&self, format: Format) -> Result<Vec<u8>, Problem> {
        match format {
            Format::Csv => {
                let mut out = CsvRows::new(&self.header);
                for r in &self.rows {
                    out.push(r);
                }
                Ok(out.take())
            }
            Format::Xlsx => {
                let mut out = XlsxRows::new(&self.name, &self.header)?;
                for r in &self.rows {
                    out.push(r)?;
                }
                out.finish()
            }
        }
    }

    /// The table as an attachment named `{stem}.{csv|xlsx}`.
    pub fn download(&self, format: Format, stem: &str) -> Result<crate::http::Response, Problem> {
        Ok(crate::http::Response::download(
            self.render(format)?,
            format.media_type(),
            &format!("{stem}.{}", format.as_str()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_defuses_formulas_and_quotes_separators() {
        let mut out = Vec::new();
        csv_line(
            &mut out,
            &[
                Cell::from("=SUM(A1)"),
                Cell::from("a,b"),
                Cell::from("say \"hi\""),
                Cell::Number(2.5),
                Cell::Empty,
                Cell::from("-1"),
            ],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "'=SUM(A1),\"a,b\",\"say \"\"hi\"\"\",2.5,,'-1\r\n"
        );
    }

    #[test]
    fn any_text_makes_a_worksheet_name() {
        assert_eq!(sheet_name("Box [A]: 1/2"), "Box A 12");
        assert_eq!(sheet_name(&"é".repeat(40)).chars().count(), 31);
        assert_eq!(sheet_name("'*?'"), "sheet");
        let long = Sheet::new(&"Freezer rack ".repeat(5), &["a"]);
        assert!(long.render(Format::Xlsx).is_ok());
    }

    #[test]
    fn formats_come_from_names_and_accept() {
        assert_eq!(Format::parse(" CSV "), Some(Format::Csv));
        assert_eq!(Format::parse("xls"), None);
        assert_eq!(Format::from_accept(XLSX), Some(Format::Xlsx));
        assert_eq!(Format::from_accept("text/csv, */*"), Some(Format::Csv));
        assert_eq!(Format::from_accept("application/json"), None);
    }

    #[test]
    fn a_sheet_renders_the_same_rows_in_both_formats() {
        use calamine::{Data, Reader, Xlsx};
        let mut sheet = Sheet::new("samples", &["barcode", "volume"]);
        sheet.push(vec![Cell::from("TS-1"), Cell::Number(50.0)]);
        sheet.push(vec![Cell::from("=cmd"), Cell::Empty]);
        let csv = String::from_utf8(sheet.render(Format::Csv).unwrap()).unwrap();
        assert_eq!(csv, "barcode,volume\r\nTS-1,50\r\n'=cmd,\r\n");
        let bytes = sheet.render(Format::Xlsx).unwrap();
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("samples").unwrap();
        let rows: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
        assert_eq!(
            rows[0],
            vec![Data::String("barcode".into()), Data::String("volume".into())]
        );
        assert_eq!(rows[1], vec![Data::String("TS-1".into()), Data::Float(50.0)]);
        // Text stays text: the workbook never runs it.
        assert_eq!(rows[2][0], Data::String("=cmd".into()));
    }
}
