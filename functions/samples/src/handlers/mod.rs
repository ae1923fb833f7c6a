//! The samples service's HTTP handlers, one module per resource.

pub mod imports;
pub mod samples;
pub mod search;
pub mod templates;

pub use imports::*;
pub use samples::*;
pub use search::*;
pub use templates::*;
