//! HTTP handlers of the sequencing service.

pub mod jobs;
pub mod libraries;
pub mod pools;
pub mod qc_settings;
pub mod reference;
pub mod run_samples;
pub mod runs;

pub use jobs::*;
pub use libraries::*;
pub use pools::*;
pub use qc_settings::*;
pub use reference::*;
pub use run_samples::SampleSync;
pub use runs::*;
