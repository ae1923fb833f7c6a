//! The lab's domain model shared by the services, with no AWS code: sample kinds and
//! statuses, barcodes, typed values, a sample's fields, the sample record itself, and the
//! keys of every entity more than one service reads or writes. A cross-service write (a
//! placement updating its sample) goes through this model, never through another
//! service's handlers. Rules: docs/domain.md; storage: docs/data-model.md.

pub mod barcode;
pub mod fields;
pub mod keys;
pub mod kinds;
pub mod sample;
pub mod status;
pub mod value;
