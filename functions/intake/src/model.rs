//! A document as stored and shown, its status machine, and the bodies its API takes.

use crate::domain::extraction::{Assessment, Extraction, FieldValue};
use crate::domain::formats::Format;
use serde::{Deserialize, Serialize};
use tracseq_core::Problem;
use tracseq_core::named_enum;

named_enum!(
    /// Where a document is: `uploaded → extracting → needs_review | ready → submitted`,
    /// or `rejected` (by a person, or by the reader for an unreadable file).
    DocumentStatus {
        AwaitingUpload => "awaiting_upload",
        Uploaded => "uploaded",
        Extracting => "extracting",
        NeedsReview => "needs_review",
        Ready => "ready",
        Submitted => "submitted",
        Rejected => "rejected",
    }
);

/// What moves a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The upload's S3 event arrived.
    Arrived,
    /// The worker began reading it.
    Extract,
    /// The extraction finished, confident enough (or not).
    Extracted {
        ready: bool,
    },
    /// The file could not be read.
    Unreadable,
    /// A person corrected fields; the document's confidence was assessed again.
    Corrected {
        ready: bool,
    },
    Submit,
    Reject,
}

impl DocumentStatus {
    /// Not read yet: waiting for its file, or being read.
    pub fn is_unread(self) -> bool {
        matches!(
            self,
            DocumentStatus::AwaitingUpload | DocumentStatus::Uploaded | DocumentStatus::Extracting
        )
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, DocumentStatus::Submitted | DocumentStatus::Rejected)
    }

    /// The one transition function: the next status, or 409 naming why not.
    pub fn next(self, step: Step) -> Result<DocumentStatus, Problem> {
        use DocumentStatus as S;
        let review = |ready: bool| if ready { S::Ready } else { S::NeedsReview };
        let next = match (self, step) {
            (S::AwaitingUpload, Step::Arrived) => Some(S::Uploaded),
            (S::Uploaded | S::Extracting, Step::Extract) => Some(S::Extracting),
            (S::Extracting, Step::Extracted { ready }) => Some(review(ready)),
            (S::AwaitingUpload | S::Uploaded | S::Extracting, Step::Unreadable) => Some(S::Rejected),
            (S::NeedsReview | S::Ready, Step::Corrected { ready }) => Some(review(ready)),
            (S::NeedsReview | S::Ready, Step::Submit) => Some(S::Submitted),
            (S::AwaitingUpload | S::Uploaded | S::NeedsReview | S::Ready, Step::Reject) => Some(S::Rejected),
            _ => None,
        };
        next.ok_or_else(|| {
            Problem::conflict(
                "invalid_status",
                format!("a document that is {} cannot be {}", self.as_str(), step.verb()),
            )
        })
    }
}

impl Step {
    fn verb(self) -> &'static str {
        match self {
            Step::Arrived => "uploaded again",
            Step::Extract => "extracted",
            Step::Extracted { .. } => "given an extraction",
            Step::Unreadable => "refused as unreadable",
            Step::Corrected { .. } => "corrected",
            Step::Submit => "submitted",
            Step::Reject => "rejected",
        }
    }
}

/// Why the reader refused a file, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReadError {
    /// `empty_file | file_too_large | type_mismatch | unsupported_format | no_text_layer | unreadable_file`
    pub code: String,
    pub detail: String,
}

impl From<&crate::domain::formats::FormatError> for ReadError {
    fn from(e: &crate::domain::formats::FormatError) -> Self {
        Self {
            code: e.code().into(),
            detail: e.detail(),
        }
    }
}

/// How far extraction has got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Progress {
    /// `reading | retrieving | extracting | assessing`
    pub stage: String,
    #[schema(minimum = 0, maximum = 100)]
    pub percent: u8,
}

/// One person's change to one field: who, when, from what, to what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Correction {
    pub field: String,
    pub from: Option<FieldValue>,
    pub to: Option<FieldValue>,
    pub by: String,
    pub at: String,
}

/// The stored record (the extraction itself is an S3 object beside the file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Document {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    /// Bytes, as signed for the upload.
    pub size: u64,
    pub status: DocumentStatus,
    pub format: Option<Format>,
    pub pages: Option<u32>,
    pub progress: Option<Progress>,
    /// The provider that extracted it (`offline`, `anthropic`, `openai`, `bedrock`).
    pub provider: Option<String>,
    /// Why the lab's provider was not used and `offline` answered instead.
    pub fallback: Option<String>,
    pub assessment: Option<Assessment>,
    /// The lab's threshold when it was assessed: at or above it (and no critical field
    /// missing) the document is `ready`.
    pub threshold: f64,
    pub error: Option<ReadError>,
    #[serde(default)]
    pub corrections: Vec<Correction>,
    pub submission_id: Option<String>,
    pub rejection_reason: Option<String>,
    /// Reading attempts: a file that crashes the reader three times is refused.
    #[serde(default)]
    pub attempts: u32,
    /// The uploaded file's object key in the lab's file store.
    pub object_key: String,
    /// The current extraction's object key (a new one per corrected version).
    pub extraction_key: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

/// `POST /api/intake/documents`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDocument {
    #[schema(min_length = 1, max_length = 255, pattern = r"\S")]
    pub filename: String,
    /// `text/plain`, `application/pdf`, the DOCX type or `message/rfc822`; from the file
    /// name when absent.
    #[schema(max_length = 200, pattern = "^[ -~]*$")]
    pub content_type: Option<String>,
    /// Bytes, 1 to 50 MB; the upload link is signed for exactly this length.
    #[schema(required, nullable = false, minimum = 1, maximum = 52428800)]
    pub size: Option<u64>,
}

tracseq_core::ruled_body!(
    /// [`NewDocument`] as the document states it: a format the reader knows, by content
    /// type or else by the file name's extension (415 otherwise).
    NewDocumentWire for NewDocument,
    serde_json::json!({ "anyOf": [
        { "required": ["content_type"], "properties": { "content_type": { "type": "string",
            "pattern": "^\\s*(text/plain|application/pdf|application/vnd\\.openxmlformats-officedocument\\.wordprocessingml\\.document|message/rfc822)\\s*(;.*)?$" } } },
        { "properties": { "filename": {
            "pattern": "\\.([Tt][Xx][Tt]|[Tt][Ee][Xx][Tt]|[Cc][Ss][Vv]|[Mm][Dd]|[Pp][Dd][Ff]|[Dd][Oo][Cc][Xx]|[Ee][Mm][Ll])\\s*$" } } },
    ]})
);

/// `201` to a new document: the record and its upload link.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedDocument {
    pub document: Document,
    pub upload: tracseq_aws::upload::PresignedPut,
}

/// A document with what was extracted from it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentView {
    #[serde(flatten)]
    pub document: Document,
    /// Absent until extraction has finished.
    pub extraction: Option<Extraction>,
}

pub type DocumentPage = tracseq_core::pagination::Page<Document>;

/// `PATCH /api/intake/documents/{id}`: corrected fields (null removes one) and sample
/// rows, at the document's version.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Corrections {
    #[schema(required, nullable = false, minimum = 1)]
    pub version: Option<u64>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: std::collections::BTreeMap<String, Option<FieldValue>>,
    /// Replaces the sample rows when present: each row's columns by name.
    #[schema(max_items = 384)]
    pub samples: Option<Vec<std::collections::BTreeMap<String, String>>>,
}

tracseq_core::ruled_body!(
    /// [`Corrections`] as the document states it: field names from the catalogue, row
    /// columns from the sample columns, each value 1 to 2,000 characters (a row's 1 to
    /// 200), and at least one field or the rows.
    CorrectionsWire for Corrections,
    corrections_rules()
);

fn corrections_rules() -> serde_json::Value {
    use crate::domain::fields::{COLUMNS, FIELDS};
    let text = |max: usize| serde_json::json!({ "type": "string", "minLength": 1, "maxLength": max, "pattern": "\\S" });
    let value = serde_json::json!({ "oneOf": [
        { "type": "null" },
        text(2000),
        { "type": "array", "minItems": 1, "maxItems": 384, "items": { "type": "string", "maxLength": 2000 } },
    ]});
    serde_json::json!({
        "properties": {
            "version": { "type": "integer", "format": "int64", "minimum": 1 },
            "fields": {
                "type": "object",
                "propertyNames": { "enum": FIELDS.iter().map(|f| f.name).collect::<Vec<_>>() },
                "additionalProperties": value,
            },
            "samples": {
                "type": ["array", "null"],
                "maxItems": 384,
                "description": "Replaces the sample rows when present: each row's columns by name.",
                "items": {
                    "type": "object",
                    "propertyNames": { "enum": COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>() },
                    "additionalProperties": text(200),
                },
            },
        },
        "anyOf": [
            { "required": ["fields"], "properties": { "fields": { "minProperties": 1 } } },
            { "required": ["samples"], "properties": { "samples": { "type": "array" } } },
        ],
    })
}

/// `POST /api/intake/documents/{id}/submit`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitDocument {
    /// A published template whose custom fields the samples follow.
    #[schema(pattern = "^[0-9A-HJKMNP-TV-Z]{26}$")]
    pub template_id: Option<String>,
    /// Boxes to store the samples in.
    #[schema(max_items = 20)]
    pub storage_location_ids: Option<Vec<String>>,
}

/// The submission a document's samples went to, as the submissions service reported it
/// (follow it at `/api/submissions/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubmissionRef {
    pub id: String,
    /// `running | completed | compensated | failed`
    pub status: String,
    pub sample_count: u32,
}

/// `202` to a submit: the document, now `submitted`, and its submission.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubmittedDocument {
    pub document: Document,
    pub submission: SubmissionRef,
}

/// `POST /api/intake/documents/{id}/reject`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectDocument {
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub reason: String,
}

/// `POST /api/intake/documents/{id}/ask`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub question: String,
}

/// A document's text as it was read, one string per page (page 1 first): what every
/// citation's page and offset point into.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentText {
    pub id: String,
    pub pages: Vec<String>,
}

/// An answer from the document's own passages.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Answer {
    pub answer: String,
    /// `offline` quotes the lines; an LLM provider answers in prose from them.
    pub provider: String,
    /// Why the lab's provider did not answer, when it did not.
    pub fallback: Option<String>,
    pub citations: Vec<crate::domain::extraction::Citation>,
}

/// A lab's intake settings: who extracts its documents and how sure a document must be
/// to be `ready` without review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IntakeSettings {
    pub provider: crate::providers::ProviderKind,
    /// The provider's model (its default when absent).
    #[schema(max_length = 200)]
    pub model: Option<String>,
    #[schema(minimum = 0.5, maximum = 1)]
    pub threshold: f64,
    /// Whether an API key is stored for the provider (the key itself is never shown).
    pub api_key_set: bool,
    pub updated_by: Option<String>,
    pub updated_at: Option<String>,
    pub version: u64,
}

/// `PUT /api/intake/settings`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIntakeSettings {
    pub provider: crate::providers::ProviderKind,
    #[schema(min_length = 1, max_length = 200, pattern = "^[A-Za-z0-9._:/-]+$")]
    pub model: Option<String>,
    /// Default 0.85.
    #[schema(minimum = 0.5, maximum = 1)]
    pub threshold: Option<f64>,
    /// Stored as an SSM SecureString for this lab and provider; never returned or logged.
    #[schema(min_length = 8, max_length = 512, pattern = "^[ -~]+$")]
    pub api_key: Option<String>,
    /// The settings' current version (absent for a lab's first settings).
    #[schema(minimum = 1)]
    pub version: Option<u64>,
}

tracseq_core::ruled_body!(
    /// [`NewIntakeSettings`] as the document states it: an API key only for the providers
    /// that take one.
    NewIntakeSettingsWire for NewIntakeSettings,
    {
        use crate::providers::ProviderKind;
        let keyed: Vec<&str> = ProviderKind::ALL.iter().filter(|k| k.needs_key()).map(|k| k.as_str()).collect();
        serde_json::json!({ "anyOf": [
            { "properties": { "provider": { "enum": keyed } } },
            { "properties": { "api_key": { "type": "null" } } },
        ]})
    }
);

#[cfg(test)]
mod tests {
    use super::DocumentStatus as S;
    use super::*;

    #[test]
    fn the_status_machine() {
        assert_eq!(S::AwaitingUpload.next(Step::Arrived).unwrap(), S::Uploaded);
        assert_eq!(S::Uploaded.next(Step::Extract).unwrap(), S::Extracting);
        assert_eq!(S::Extracting.next(Step::Extract).unwrap(), S::Extracting);
        assert_eq!(S::Extracting.next(Step::Extracted { ready: true }).unwrap(), S::Ready);
        assert_eq!(S::Ready.next(Step::Corrected { ready: false }).unwrap(), S::NeedsReview);
        assert_eq!(S::NeedsReview.next(Step::Submit).unwrap(), S::Submitted);
        let e = S::Submitted.next(Step::Submit).unwrap_err();
        assert_eq!(e.status, 409);
        assert!(S::Submitted.next(Step::Reject).is_err());
        assert!(S::Extracting.next(Step::Submit).is_err());
        assert!(S::Rejected.next(Step::Extract).is_err());
    }
}
