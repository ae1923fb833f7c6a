//! Pure rules, tested directly.

pub mod index;
pub mod kits;
pub mod platform;
pub mod pool;
pub mod qc;
pub mod run_samples;
pub mod samplesheet;
pub mod status;
