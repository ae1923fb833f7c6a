//! The samples service's HTTP handlers, one module per resource.

pub mod exports;
pub mod imports;
pub mod labels;
pub mod samples;
pub mod search;
pub mod templates;
