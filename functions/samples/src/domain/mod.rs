//! The samples service's rules, free of any storage: templates, manifest reading, row
//! validation and the template-bound part of a sample's fields. The rules other services
//! share (status machine, kinds, barcodes, typed values, the fields themselves) are the
//! lab model's (`tracseq_lab`). Everything here is tested directly; the handlers only add
//! storage around it.

pub use tracseq_lab::{barcode, kinds, status, value};

pub mod label;
pub mod manifest;
pub mod rows;
pub mod sample;
pub mod template;
