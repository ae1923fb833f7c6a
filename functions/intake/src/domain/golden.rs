//! The extractor against documents with answers written by hand (tests/documents):
//! precision and recall per group, the thresholds the README quotes, and the same
//! fields from the reference form as TXT, PDF and DOCX.

use super::Prepared;
use super::eval::{Golden, Score, same, score};
use super::extraction::{Extraction, assess};
use super::formats::{Format, declared, extract};
use crate::testkit;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/documents")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap()
}

fn golden(stem: &str) -> Golden {
    serde_json::from_slice(&read(&format!("{stem}.golden.json"))).unwrap()
}

fn run(name: &str, bytes: &[u8]) -> Extraction {
    let (_, text) = extract(bytes, declared(name, None)).unwrap();
    Prepared::new(&text).extract_offline()
}

fn report(name: &str, s: &Score) {
    println!("{name}");
    for (g, c) in &s.groups {
        println!(
            "  {g:16} precision {:.2} recall {:.2} ({}/{} of {})",
            c.precision(),
            c.recall(),
            c.correct,
            c.extracted,
            c.expected
        );
    }
    println!(
        "  critical         precision {:.2} recall {:.2}\n  overall          precision {:.2} recall {:.2}",
        s.critical.precision(),
        s.critical.recall(),
        s.overall.precision(),
        s.overall.recall()
    );
}

#[test]
fn the_reference_form_meets_the_recall_targets() {
    let bytes = read("reference_submission.txt");
    // Printed for the README (an unoptimised build's time bounds an optimised one's).
    let started = std::time::Instant::now();
    let x = run("reference_submission.txt", &bytes);
    println!(
        "offline extraction of the reference form: {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    let s = score(&x, &golden("reference_submission"));
    report("reference_submission.txt", &s);
    assert!(s.critical.recall() >= 0.9, "{:?}", s.critical);
    assert!(s.overall.recall() >= 0.8, "{:?}", s.overall);
    assert!(s.overall.precision() >= 0.9, "{:?}", s.overall);
    let a = assess(&x);
    assert!(a.confidence >= 0.85 && a.missing_critical.is_empty(), "{a:?}");
    // Every value cites the passage it came from, and the quote is in the document.
    let text = String::from_utf8(read("reference_submission.txt")).unwrap();
    for (name, f) in x.fields.iter().chain(x.samples.iter().flatten()) {
        let c = f.citation.as_ref().unwrap_or_else(|| panic!("{name} has no citation"));
        assert!(text.contains(&c.quote), "{name}: {:?}", c.quote);
        let at: String = text
            .chars()
            .skip(c.offset as usize)
            .take(c.quote.chars().count())
            .collect();
        assert!(
            c.quote.starts_with(at.trim()) || at.starts_with(c.quote.trim()),
            "{name}: offset {} shows {at:?}",
            c.offset
        );
    }
}

#[test]
fn the_other_layouts_score_and_the_short_note_needs_review() {
    for (file, stem, min_recall) in [
        ("email_submission.eml", "email_submission", 0.9),
        ("table_form.txt", "table_form", 0.9),
        ("short_note.txt", "short_note", 0.0),
    ] {
        let x = run(file, &read(file));
        let s = score(&x, &golden(stem));
        report(file, &s);
        assert!(s.overall.recall() >= min_recall, "{file}: {:?}", s.overall);
        assert!(s.overall.precision() >= 0.9, "{file}: {:?}", s.overall);
        let a = assess(&x);
        if stem == "short_note" {
            assert!(a.confidence < 0.7, "{a:?}");
            assert!(a.missing_critical.contains(&"submitter_email".to_owned()), "{a:?}");
        } else {
            assert!(a.missing_critical.is_empty(), "{file}: {a:?}");
        }
    }
}

fn assert_same_fields(a: &Extraction, b: &Extraction, what: &str) {
    let names = |x: &Extraction| x.fields.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(a), names(b), "{what}: field names");
    for (name, f) in &a.fields {
        let (x, y) = (f.value.items(), b.fields[name].value.items());
        assert_eq!(x.len(), y.len(), "{what}: {name}");
        for (p, q) in x.iter().zip(&y) {
            assert!(same(p, q), "{what}: {name}: {p:?} vs {q:?}");
        }
    }
    assert_eq!(a.samples.len(), b.samples.len(), "{what}: rows");
    for (r, s) in a.samples.iter().zip(&b.samples) {
        for (col, f) in r {
            let g = s.get(col).unwrap_or_else(|| panic!("{what}: row lost {col}"));
            assert!(
                same(&f.value.items().join(","), &g.value.items().join(",")),
                "{what}: {col}"
            );
        }
    }
}

#[test]
fn the_reference_form_as_pdf_and_docx_gives_the_same_fields() {
    let txt = String::from_utf8(read("reference_submission.txt")).unwrap();
    let from_txt = run("form.txt", txt.as_bytes());
    let pdf = testkit::pdf(&txt);
    let (format, text) = extract(&pdf, Some(Format::Pdf)).unwrap();
    assert_eq!(format, Format::Pdf);
    assert!(text.pages.len() >= 4, "{} pages", text.pages.len());
    let from_pdf = Prepared::new(&text).extract_offline();
    assert_same_fields(&from_txt, &from_pdf, "pdf");
    // Citations on later pages name their page.
    assert!(
        from_pdf
            .samples
            .last()
            .and_then(|r| r["sample_id"].citation.as_ref())
            .is_some_and(|c| c.page > 1)
    );
    let from_docx = run("form.docx", &testkit::docx(&txt));
    assert_same_fields(&from_txt, &from_docx, "docx");
    let table = String::from_utf8(read("table_form.txt")).unwrap();
    assert_same_fields(
        &run("t.txt", table.as_bytes()),
        &run("t.docx", &testkit::docx(&table)),
        "table docx",
    );
}

#[test]
fn hostile_files_are_refused_with_their_reason() {
    let scan = testkit::pdf_without_text(3);
    assert_eq!(extract(&scan, Some(Format::Pdf)).unwrap_err().code(), "no_text_layer");
    let bomb = testkit::docx_bomb(64);
    assert!(bomb.len() < 1024 * 1024, "{} bytes", bomb.len());
    assert_eq!(
        extract(&bomb, Some(Format::Docx)).unwrap_err().code(),
        "unreadable_file"
    );
    assert_eq!(
        extract(b"%PDF-1.4\n%garbage", Some(Format::Pdf)).unwrap_err().code(),
        "unreadable_file"
    );
    assert_eq!(
        extract(&testkit::docx("x"), Some(Format::Pdf)).unwrap_err().code(),
        "type_mismatch"
    );
}

#[test]
fn questions_are_answered_with_the_lines_that_say_it() {
    let x = String::from_utf8(read("email_submission.eml")).unwrap();
    let (_, text) = extract(x.as_bytes(), Some(Format::Eml)).unwrap();
    let doc = Prepared::new(&text);
    let lines: Vec<_> = doc
        .answer_lines("Which reference genome should be used?", 3)
        .into_iter()
        .map(|i| &doc.lines[i])
        .collect();
    assert!(lines[0].text.contains("GRCm39"), "{lines:?}");
    let reference = String::from_utf8(read("reference_submission.txt")).unwrap();
    let doc = Prepared::new(&super::chunk::Text::single(reference));
    let lines: Vec<_> = doc
        .answer_lines("What is the data delivery method?", 3)
        .into_iter()
        .map(|i| &doc.lines[i])
        .collect();
    assert!(lines.iter().any(|l| l.text.contains("Secure FTP")), "{lines:?}");
}
