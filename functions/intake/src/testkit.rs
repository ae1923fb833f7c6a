//! Documents made for tests: the same text as a PDF (one text line per line, 60 lines a
//! page) or a DOCX (one paragraph per line; `a | b` lines as table rows), and hostile
//! files (a PDF with no text layer, a DOCX zip bomb).

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};
use std::io::Write;

const LINES_PER_PAGE: usize = 60;

/// WinAnsi bytes for Helvetica: Latin-1 as is, the Greek mu as the micro sign.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            'μ' => 0xb5,
            c if (c as u32) < 0x100 => c as u8,
            _ => b'?',
        })
        .collect()
}

fn pdf_pages(pages: Vec<Vec<Operation>>) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids = Vec::new();
    for ops in pages {
        let content = Content { operations: ops };
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap_or_default()));
        let page_id = doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => content_id });
        kids.push(Object::from(page_id));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    let _ = doc.save_to(&mut out);
    out
}

/// `text` typeset as a PDF with a text layer.
pub fn pdf(text: &str) -> Vec<u8> {
    let lines: Vec<&str> = text.lines().collect();
    let pages = lines
        .chunks(LINES_PER_PAGE)
        .map(|page| {
            let mut ops = vec![
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F1".into(), 9.into()]),
                Operation::new("TL", vec![12.into()]),
                Operation::new("Td", vec![40.into(), 800.into()]),
            ];
            for l in page {
                ops.push(Operation::new("Tj", vec![Object::string_literal(win_ansi(l))]));
                ops.push(Operation::new("T*", vec![]));
            }
            ops.push(Operation::new("ET", vec![]));
            ops
        })
        .collect();
    pdf_pages(pages)
}

/// A scan: pages with drawing but no text.
pub fn pdf_without_text(pages: usize) -> Vec<u8> {
    pdf_pages(
        (0..pages)
            .map(|_| {
                vec![
                    Operation::new("re", vec![50.into(), 50.into(), 400.into(), 600.into()]),
                    Operation::new("f", vec![]),
                ]
            })
            .collect(),
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn zip_of(entries: &[(&str, &[u8])], level: Option<i64>) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(level);
    for (name, body) in entries {
        let _ = z.start_file(*name, opts);
        let _ = z.write_all(body);
    }
    let _ = z.finish();
    out.into_inner()
}

const CONTENT_TYPES: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;

/// `text` as a Word document: a paragraph per line, `a | b | c` lines as table rows.
pub fn docx(text: &str) -> Vec<u8> {
    let mut body = String::new();
    let mut in_table = false;
    for l in text.lines() {
        let cells: Vec<&str> = l.trim().trim_matches('|').split('|').map(str::trim).collect();
        let row = l.trim_start().starts_with('|') && cells.len() >= 2;
        if row && !in_table {
            body.push_str("<w:tbl>");
            in_table = true;
        }
        if !row && in_table {
            body.push_str("</w:tbl>");
            in_table = false;
        }
        if row {
            if cells.iter().all(|c| c.chars().all(|ch| "-:".contains(ch))) {
                continue;
            }
            body.push_str("<w:tr>");
            for c in cells {
                body.push_str(&format!(
                    "<w:tc><w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p></w:tc>",
                    escape(c)
                ));
            }
            body.push_str("</w:tr>");
        } else {
            body.push_str(&format!(
                "<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                escape(l)
            ));
        }
    }
    if in_table {
        body.push_str("</w:tbl>");
    }
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{body}</w:body></w:document>"
    );
    zip_of(
        &[
            ("[Content_Types].xml", CONTENT_TYPES),
            ("word/document.xml", xml.as_bytes()),
        ],
        None,
    )
}

/// A DOCX whose body inflates to `mib` MiB of one repeated byte.
pub fn docx_bomb(mib: usize) -> Vec<u8> {
    let mut xml = b"<?xml version=\"1.0\"?><w:document xmlns:w=\"x\"><w:body><w:p><w:r><w:t>".to_vec();
    xml.resize(xml.len() + mib * 1024 * 1024, b'A');
    xml.extend_from_slice(b"</w:t></w:r></w:p></w:body></w:document>");
    zip_of(
        &[("[Content_Types].xml", CONTENT_TYPES), ("word/document.xml", &xml)],
        Some(9),
    )
}
