//! Pure rules, tested directly.

pub mod index;
pub mod kits;
pub mod platform;
pub mod pool;
pub mod qc;
pub mod samplesheet;
pub mod status;
