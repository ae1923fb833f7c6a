//! Blank manifests built from a template: a CSV header line, or a workbook whose
//! `Samples` sheet has the headers (select columns offer their options as a drop-down)
//! and whose `Fields` sheet explains every column.

use crate::domain::template::{Compiled, FieldType, SelectOption};
use rust_xlsxwriter::{DataValidation, Format, Workbook, XlsxError};

/// The header line, UTF-8 with a BOM so spreadsheet programs read non-ASCII labels right.
pub fn csv(t: &Compiled) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    let mut w = csv::Writer::from_writer(&mut out);
    // Writing to a Vec cannot fail.
    let _ = w.write_record(t.labels());
    let _ = w.flush();
    drop(w);
    out
}

fn describe(f: &crate::domain::template::Field) -> Vec<String> {
    let d = &f.def;
    let r = &d.rules;
    let mut rules = Vec::new();
    if let Some(v) = r.min {
        rules.push(format!("min {v}"));
    }
    if let Some(v) = r.max {
        rules.push(format!("max {v}"));
    }
    if let Some(v) = r.min_length {
        rules.push(format!("min length {v}"));
    }
    if let Some(v) = r.max_length {
        rules.push(format!("max length {v}"));
    }
    if let Some(v) = &r.pattern {
        rules.push(format!("pattern {v}"));
    }
    if let Some(v) = &r.unit {
        rules.push(format!("unit {v}"));
    }
    vec![
        d.label.clone(),
        format!("{:?}", d.kind).to_lowercase(),
        if d.required { "yes".into() } else { "no".into() },
        d.options.iter().map(SelectOption::value).collect::<Vec<_>>().join(", "),
        rules.join("; "),
        d.default.as_ref().map(|v| v.to_string()).unwrap_or_default(),
    ]
}

pub fn xlsx(t: &Compiled) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = wb.add_worksheet().set_name("Samples")?;
    for (c, f) in t.fields.iter().enumerate() {
        let col = c as u16;
        sheet.write_with_format(0, col, &f.def.label, &bold)?;
        sheet.set_column_width(col, (f.def.label.chars().count() as f64 + 4.0).max(12.0))?;
        let options: Vec<&str> = f.def.options.iter().map(SelectOption::value).collect();
        // Excel caps an inline list at 255 characters; longer lists stay documented only.
        if f.def.kind == FieldType::Select && options.iter().map(|o| o.len() + 1).sum::<usize>() <= 255 {
            let v = DataValidation::new().allow_list_strings(&options)?;
            sheet.add_data_validation(1, col, 10_000, col, &v)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    let doc = wb.add_worksheet().set_name("Fields")?;
    for (c, h) in ["Column", "Type", "Required", "Options", "Rules", "Default"]
        .iter()
        .enumerate()
    {
        doc.write_with_format(0, c as u16, *h, &bold)?;
    }
    for (r, f) in t.fields.iter().enumerate() {
        for (c, text) in describe(f).iter().enumerate() {
            doc.write(r as u32 + 1, c as u16, text)?;
        }
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::manifest::{Format as File, read};
    use crate::domain::template::tests::reference_template;

    #[test]
    fn blanks_read_back_as_manifests_with_the_template_headers() {
        let t = reference_template().compile().unwrap();
        let labels: Vec<String> = t.labels().iter().map(|s| s.to_string()).collect();
        let c = read(&csv(&t), File::Csv, None).unwrap();
        assert_eq!(c.headers, labels);
        assert!(c.rows.is_empty());
        let x = xlsx(&t).unwrap();
        assert_eq!(read(&x, File::Xlsx, None).unwrap().headers, labels);
        let fields = read(&x, File::Xlsx, Some("Fields")).unwrap();
        assert_eq!(fields.rows.len(), t.fields.len());
    }
}
