//! The samples service's rules, free of any storage: status machine, kinds, barcodes,
//! typed values, templates, manifest reading and row validation. Everything here is
//! tested directly; the handlers only add storage around it.

pub mod barcode;
pub mod kinds;
pub mod manifest;
pub mod rows;
pub mod sample;
pub mod status;
pub mod template;
pub mod value;
