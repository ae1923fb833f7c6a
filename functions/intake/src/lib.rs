//! The document intake service: submission forms uploaded as TXT, PDF, DOCX or EML are
//! read, split into cited passages, retrieved per field group and extracted (offline by
//! default, or by the lab's LLM provider), reviewed by a person and submitted through
//! the submission saga.

pub mod domain;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
