//! Labels: `GET /api/samples/{id}/label` for one sample and `POST /api/samples/labels` for
//! many (a box's contents, a batch just registered), as PDF or ZPL in a chosen stock size.
//! Rendering is `domain::label`; this module reads the samples and checks the options.

use crate::domain::label::{Label, LabelFormat, LabelSize, PrinterDpi, pdf, zpl};
use crate::model::Sample;
use crate::state::SamplesState;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response};
use tracseq_core::named::parse_reported;
use tracseq_core::{FieldError, Problem};
use tracseq_lab::status::SampleStatus;

pub const MAX_LABEL_SAMPLES: usize = 500;
pub const MAX_COPIES: u32 = 20;
pub const PDF: &str = "application/pdf";
pub const ZPL: &str = "application/zpl";

/// `POST /api/samples/labels`; every field but `sample_ids` has a default.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"sample_ids": ["01JDX3Q0ZB5V8N7W2K4M6P9R1T"], "size": "25x13", "format": "pdf"}))]
pub struct LabelBatch {
    /// The samples, in print order (1-500; a repeated id prints again).
    #[schema(min_items = 1, max_items = 500, pattern = "^[0-9A-HJKMNP-TV-Z]{26}$")]
    pub sample_ids: Vec<String>,
    /// The label stock (default 50x25).
    #[schema(value_type = Option<LabelSize>)]
    pub size: Option<String>,
    /// pdf (default) or zpl.
    #[schema(value_type = Option<LabelFormat>)]
    pub format: Option<String>,
    /// The Zebra printer's resolution, for zpl (default 203).
    #[schema(value_type = Option<PrinterDpi>)]
    pub dpi: Option<String>,
    /// Copies of each label, 1-20 (default 1).
    #[schema(minimum = 1, maximum = 20)]
    pub copies: Option<u32>,
}

/// The printing options as asked (query or body).
#[derive(Debug, Default)]
struct LabelOptions {
    size: Option<String>,
    format: Option<String>,
    dpi: Option<String>,
    copies: Option<u32>,
}

/// Options checked (every wrong one is named in the caller's errors).
struct Checked {
    size: LabelSize,
    format: LabelFormat,
    dpi: PrinterDpi,
    copies: u32,
}

impl LabelOptions {
    fn from_query(req: &Request) -> Result<Self, Problem> {
        let copies = match req.query("copies") {
            None => None,
            Some(raw) => Some(raw.parse::<u32>().map_err(|_| {
                Problem::validation(vec![
                    FieldError::field("copies", "integer", "a whole number, 1-20").with_value(raw),
                ])
            })?),
        };
        Ok(Self {
            size: req.query("size").map(str::to_owned),
            format: req.query("format").map(str::to_owned),
            dpi: req.query("dpi").map(str::to_owned),
            copies,
        })
    }

    fn check(&self, errors: &mut Vec<FieldError>) -> Option<Checked> {
        let size = match &self.size {
            Some(raw) => parse_reported(errors, "size", raw, LabelSize::parse, LabelSize::names()),
            None => Some(LabelSize::Label50x25),
        };
        let format = match &self.format {
            Some(raw) => parse_reported(errors, "format", raw, LabelFormat::parse, LabelFormat::names()),
            None => Some(LabelFormat::Pdf),
        };
        let dpi = match &self.dpi {
            Some(raw) => parse_reported(errors, "dpi", raw, PrinterDpi::parse, PrinterDpi::names()),
            None => Some(PrinterDpi::Dpi203),
        };
        let copies = self.copies.unwrap_or(1);
        if !(1..=MAX_COPIES).contains(&copies) {
            errors.push(FieldError::field("copies", "range", "1-20").with_value(copies.to_string()));
        }
        Some(Checked {
            size: size?,
            format: format?,
            dpi: dpi?,
            copies,
        })
    }
}

/// `GET /api/samples/{id}/label?size&format&dpi&copies`.
pub async fn sample_label(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let options = LabelOptions::from_query(&req)?;
    let mut errors = Vec::new();
    let checked = options.check(&mut errors);
    let sample = st.sample(&p.lab_id, req.path_param("id")?).await?;
    let Some(checked) = checked.filter(|_| errors.is_empty()) else {
        return Err(Problem::validation(errors));
    };
    if sample.status == SampleStatus::Deleted {
        return Err(Problem::conflict("sample_deleted", "a deleted sample gets no label"));
    }
    let stem = format!("label-{}", sample.barcode);
    Ok(render(&[sample], &checked, &stem))
}

/// `POST /api/samples/labels`: one label (times `copies`) per listed sample, in order.
pub async fn batch_labels(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let batch: LabelBatch = req.json()?;
    let options = LabelOptions {
        size: batch.size,
        format: batch.format,
        dpi: batch.dpi,
        copies: batch.copies,
    };
    let mut errors = Vec::new();
    let checked = options.check(&mut errors);
    if batch.sample_ids.is_empty() || batch.sample_ids.len() > MAX_LABEL_SAMPLES {
        errors.push(FieldError::field("sample_ids", "length", "1-500 sample ids"));
    }
    let Some(checked) = checked.filter(|_| errors.is_empty()) else {
        return Err(Problem::validation(errors));
    };
    let found: HashMap<String, Sample> = st
        .samples(&p.lab_id, &batch.sample_ids)
        .await?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let mut samples = Vec::with_capacity(batch.sample_ids.len());
    for (i, id) in batch.sample_ids.iter().enumerate() {
        match found.get(id) {
            Some(s) if s.status == SampleStatus::Deleted => errors.push(
                FieldError::field(format!("sample_ids[{i}]"), "deleted", "a deleted sample gets no label")
                    .with_value(id),
            ),
            Some(s) => samples.push(s.clone()),
            None => errors.push(
                FieldError::field(format!("sample_ids[{i}]"), "not_found", "no such sample in this lab").with_value(id),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    Ok(render(&samples, &checked, &format!("labels-{}", samples.len())))
}

fn render(samples: &[Sample], o: &Checked, stem: &str) -> Response {
    let labels: Vec<Label> = samples
        .iter()
        .flat_map(|s| std::iter::repeat_n(Label::of(s), o.copies as usize))
        .collect();
    match o.format {
        LabelFormat::Pdf => Response::download(pdf(&labels, o.size), PDF, &format!("{stem}.pdf")),
        LabelFormat::Zpl => Response::download(zpl(&labels, o.size, o.dpi).into_bytes(), ZPL, &format!("{stem}.zpl")),
    }
}
