//! Text out of each accepted format, with well-kept crates: PDF through `pdf-extract`,
//! DOCX through its XML (`zip`, `quick-xml`), EML with its MIME parts (`mail-parser`), and
//! TXT in whatever encoding `chardetng` finds. The bytes decide the format; a file whose
//! name or type says otherwise is refused.

use super::chunk::Text;
use quick_xml::events::Event;
use std::io::Read;

/// The largest document accepted (the upload is signed for its length).
pub const MAX_BYTES: u64 = 50 * 1024 * 1024;
/// The most a DOCX's XML may inflate to: a zip bomb stops here.
const MAX_XML: u64 = 32 * 1024 * 1024;
/// Text beyond this is not read (a 50-page form is well under it).
const MAX_TEXT: usize = 4 * 1024 * 1024;

tracseq_core::named_enum!(
    /// A document's format.
    Format as "DocumentFormat" {
        Txt => "txt",
        Pdf => "pdf",
        Docx => "docx",
        Eml => "eml",
    }
);

/// Why a file gave no text; each has a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    Empty,
    TooLarge,
    /// The bytes are another format than the name or type says.
    Mismatch {
        declared: Format,
        found: Option<Format>,
    },
    Unsupported,
    /// A PDF with pages but no text layer (a scan): it needs OCR first.
    NoTextLayer,
    /// The file is damaged or hostile (a zip bomb, a broken PDF).
    Unreadable(String),
}

impl FormatError {
    pub fn code(&self) -> &'static str {
        match self {
            FormatError::Empty => "empty_file",
            FormatError::TooLarge => "file_too_large",
            FormatError::Mismatch { .. } => "type_mismatch",
            FormatError::Unsupported => "unsupported_format",
            FormatError::NoTextLayer => "no_text_layer",
            FormatError::Unreadable(_) => "unreadable_file",
        }
    }

    pub fn detail(&self) -> String {
        match self {
            FormatError::Empty => "the file is empty".into(),
            FormatError::TooLarge => format!("documents are at most {MAX_BYTES} bytes"),
            FormatError::Mismatch { declared, found } => format!(
                "the file is named as {} but its content is {}",
                declared.as_str(),
                found.map_or("not a supported format", |f| f.as_str())
            ),
            FormatError::Unsupported => "supported formats: TXT, PDF, DOCX, EML".into(),
            FormatError::NoTextLayer => {
                "the PDF has no text layer (a scanned image); run it through OCR or upload the original".into()
            }
            FormatError::Unreadable(why) => format!("the file cannot be read: {why}"),
        }
    }
}

/// The format a file name or media type declares.
pub fn declared(filename: &str, content_type: Option<&str>) -> Option<Format> {
    let by_type = content_type.and_then(|t| match t.split(';').next().unwrap_or(t).trim() {
        "text/plain" => Some(Format::Txt),
        "application/pdf" => Some(Format::Pdf),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => Some(Format::Docx),
        "message/rfc822" => Some(Format::Eml),
        _ => None,
    });
    let ext = filename.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    by_type.or(match ext.as_deref() {
        Some("txt" | "text" | "csv" | "md") => Some(Format::Txt),
        Some("pdf") => Some(Format::Pdf),
        Some("docx") => Some(Format::Docx),
        Some("eml") => Some(Format::Eml),
        _ => None,
    })
}

/// The format the bytes are.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    let head = &bytes[..bytes.len().min(4096)];
    if head.starts_with(b"%PDF-") {
        return Some(Format::Pdf);
    }
    if head.starts_with(b"PK\x03\x04") {
        return is_docx(bytes).then_some(Format::Docx);
    }
    // Binary: NULs or many control bytes.
    let control = head.iter().filter(|b| **b < 0x09 || (**b > 0x0d && **b < 0x20)).count();
    if head.contains(&0) && !(head.starts_with(&[0xff, 0xfe]) || head.starts_with(&[0xfe, 0xff]))
        || control > head.len() / 10
    {
        return None;
    }
    let text = String::from_utf8_lossy(head);
    let mut headers = text.lines().take_while(|l| !l.trim().is_empty());
    let mail = headers.clone().any(|l| l.to_ascii_lowercase().starts_with("from:"))
        && headers.any(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("subject:") || l.starts_with("mime-version:") || l.starts_with("message-id:")
        });
    Some(if mail { Format::Eml } else { Format::Txt })
}

fn is_docx(bytes: &[u8]) -> bool {
    zip::ZipArchive::new(std::io::Cursor::new(bytes)).is_ok_and(|z| z.index_for_name("word/document.xml").is_some())
}

/// The text of a document, checked against the format it declares.
pub fn extract(bytes: &[u8], declared: Option<Format>) -> Result<(Format, Text), FormatError> {
    if bytes.is_empty() {
        return Err(FormatError::Empty);
    }
    if bytes.len() as u64 > MAX_BYTES {
        return Err(FormatError::TooLarge);
    }
    let found = sniff(bytes);
    let format = match (declared, found) {
        (Some(d), Some(f)) if d == f => f,
        // An email saved as .txt is still text; a text file is never refused as "not EML".
        (Some(Format::Txt), Some(Format::Eml)) => Format::Txt,
        (Some(d), found) => return Err(FormatError::Mismatch { declared: d, found }),
        (None, Some(f)) => f,
        (None, None) => return Err(FormatError::Unsupported),
    };
    let text = match format {
        Format::Txt => Text::single(decode(bytes)),
        Format::Pdf => pdf(bytes)?,
        Format::Docx => docx(bytes)?,
        Format::Eml => eml(bytes)?,
    };
    if !text.has_words() {
        return Err(match format {
            Format::Pdf => FormatError::NoTextLayer,
            _ => FormatError::Empty,
        });
    }
    Ok((format, cap(text)))
}

fn cap(mut text: Text) -> Text {
    let mut left = MAX_TEXT;
    for p in &mut text.pages {
        if p.len() > left {
            let cut = (0..=left).rev().find(|i| p.is_char_boundary(*i)).unwrap_or(0);
            p.truncate(cut);
        }
        left -= p.len();
    }
    text
}

/// Text in its own encoding: a BOM, valid UTF-8, or what `chardetng` guesses.
pub fn decode(bytes: &[u8]) -> String {
    if let Some((enc, _)) = encoding_rs::Encoding::for_bom(bytes) {
        return enc.decode_with_bom_removal(bytes).0.into_owned();
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_owned();
    }
    let mut det = chardetng::EncodingDetector::new();
    det.feed(bytes, true);
    det.guess(None, true).decode(bytes).0.into_owned()
}

fn pdf(bytes: &[u8]) -> Result<Text, FormatError> {
    // The parser is not ours: a malformed file must not take the function down with it.
    let owned = bytes.to_vec();
    let pages = std::panic::catch_unwind(move || pdf_extract::extract_text_from_mem_by_pages(&owned))
        .map_err(|_| FormatError::Unreadable("the PDF is malformed".into()))?
        .map_err(|e| FormatError::Unreadable(format!("the PDF is malformed ({e})")))?;
    Ok(Text { pages })
}

fn docx(bytes: &[u8]) -> Result<Text, FormatError> {
    let bad = |why: &str| FormatError::Unreadable(why.to_owned());
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|_| bad("not a valid DOCX archive"))?;
    let entry = zip
        .by_name("word/document.xml")
        .map_err(|_| bad("the DOCX has no document body"))?;
    if entry.size() > MAX_XML {
        return Err(bad("the DOCX body inflates beyond 32 MiB (a zip bomb?)"));
    }
    // The declared size can lie: stop reading at the limit whatever it says.
    let mut xml = Vec::new();
    entry
        .take(MAX_XML + 1)
        .read_to_end(&mut xml)
        .map_err(|_| bad("the DOCX archive is damaged"))?;
    if xml.len() as u64 > MAX_XML {
        return Err(bad("the DOCX body inflates beyond 32 MiB (a zip bomb?)"));
    }
    docx_text(&xml).ok_or_else(|| bad("the DOCX body is not valid XML"))
}

/// Paragraphs as lines, table rows as `| a | b |` (so tables read as tables), page
/// breaks as pages.
fn docx_text(xml: &[u8]) -> Option<Text> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut pages = vec![String::new()];
    let mut in_text = false;
    let mut buf = Vec::new();
    loop {
        let ev = reader.read_event_into(&mut buf).ok()?;
        let page = pages.last_mut()?;
        match ev {
            Event::Start(e) if e.local_name().as_ref() == b"t" => in_text = true,
            Event::Start(e) if e.local_name().as_ref() == b"tr" => page.push_str("| "),
            Event::End(e) => match e.local_name().as_ref() {
                b"t" => in_text = false,
                b"p" => page.push('\n'),
                b"tc" => {
                    while page.ends_with('\n') {
                        page.pop();
                    }
                    page.push_str(" | ");
                }
                b"tr" => {
                    let trimmed = page.trim_end().len();
                    page.truncate(trimmed);
                    page.push('\n');
                }
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                b"tab" => page.push('\t'),
                b"br" => {
                    let is_page = e
                        .attributes()
                        .flatten()
                        .any(|a| a.key.local_name().as_ref() == b"type" && a.value.as_ref() == b"page");
                    if is_page {
                        pages.push(String::new());
                    } else {
                        page.push('\n');
                    }
                }
                _ => {}
            },
            Event::Text(t) if in_text => {
                let s = t.xml_content().ok()?;
                page.push_str(&s);
            }
            Event::GeneralRef(r) if in_text => {
                let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                let ch = match name.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                };
                page.push_str(ch);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Some(Text { pages })
}

/// The sender, subject and date as header lines, the plain-text bodies, and the text of
/// attachments that are documents themselves.
fn eml(bytes: &[u8]) -> Result<Text, FormatError> {
    use mail_parser::MimeHeaders;
    let msg = mail_parser::MessageParser::default()
        .parse(bytes)
        .ok_or_else(|| FormatError::Unreadable("not a valid email".into()))?;
    let mut out = String::new();
    if let Some(from) = msg.from().and_then(|a| a.first()) {
        let addr = from.address().unwrap_or_default();
        match from.name() {
            Some(n) => out.push_str(&format!("From: {n} <{addr}>\n")),
            None => out.push_str(&format!("From: {addr}\n")),
        }
    }
    if let Some(s) = msg.subject() {
        out.push_str(&format!("Subject: {s}\n"));
    }
    if let Some(d) = msg.date() {
        out.push_str(&format!("Sent: {}\n", d.to_rfc3339()));
    }
    out.push('\n');
    for i in 0..msg.text_body.len() {
        if let Some(body) = msg.body_text(i) {
            out.push_str(&body);
            out.push('\n');
        }
    }
    let mut pages = vec![out];
    for a in msg.attachments() {
        let name = a.attachment_name().unwrap_or("attachment");
        let ctype = a
            .content_type()
            .map(|c| format!("{}/{}", c.c_type, c.c_subtype.as_deref().unwrap_or_default()));
        // One level: an attached document, not an attached email's attachments.
        if a.is_message() {
            continue;
        }
        if let Ok((_, text)) = extract(a.contents(), declared(name, ctype.as_deref())) {
            pages.extend(text.pages.into_iter().map(|p| format!("Attachment: {name}\n{p}")));
        }
    }
    Ok(Text { pages })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    pub fn docx_of(body_xml: &str) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        let mut z = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default();
        z.start_file("[Content_Types].xml", opts).unwrap();
        z.write_all(b"<?xml version=\"1.0\"?><Types/>").unwrap();
        z.start_file("word/document.xml", opts).unwrap();
        z.write_all(
            format!("<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{body_xml}</w:body></w:document>").as_bytes(),
        )
        .unwrap();
        z.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn formats_are_sniffed_from_the_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some(Format::Pdf));
        assert_eq!(sniff(b"Hello\nworld"), Some(Format::Txt));
        assert_eq!(sniff(b"From: a@b.org\nSubject: hi\n\nbody"), Some(Format::Eml));
        assert_eq!(sniff(&[0u8, 1, 2, 3, 0, 0, 9]), None);
        assert_eq!(
            sniff(&docx_of("<w:p><w:r><w:t>x</w:t></w:r></w:p>")),
            Some(Format::Docx)
        );
    }

    #[test]
    fn a_file_whose_name_lies_is_refused() {
        let e = extract(b"%PDF-1.4 not really", Some(Format::Docx)).unwrap_err();
        assert_eq!(e.code(), "type_mismatch");
        assert_eq!(extract(b"", None).unwrap_err(), FormatError::Empty);
    }

    #[test]
    fn docx_paragraphs_tables_and_page_breaks() {
        let xml = "<w:p><w:r><w:t>Email: a@b.org</w:t></w:r></w:p>\
            <w:tbl><w:tr><w:tc><w:p><w:r><w:t>Sample ID</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Type</w:t></w:r></w:p></w:tc></w:tr>\
            <w:tr><w:tc><w:p><w:r><w:t>S1</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>DNA &amp; RNA</w:t></w:r></w:p></w:tc></w:tr></w:tbl>\
            <w:p><w:r><w:br w:type=\"page\"/><w:t>Page two</w:t></w:r></w:p>";
        let (f, t) = extract(&docx_of(xml), Some(Format::Docx)).unwrap();
        assert_eq!(f, Format::Docx);
        assert_eq!(t.pages.len(), 2);
        assert_eq!(t.pages[0], "Email: a@b.org\n| Sample ID | Type |\n| S1 | DNA & RNA |\n");
        assert_eq!(t.pages[1], "Page two\n");
    }

    #[test]
    fn latin1_text_is_decoded() {
        let bytes = b"Temp\xe9rature: -80 \xb0C, r\xe9ception le 12 d\xe9cembre";
        assert!(decode(bytes).contains("Température: -80 °C"));
    }
}
