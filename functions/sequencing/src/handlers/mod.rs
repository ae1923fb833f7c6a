//! HTTP handlers of the sequencing service.

pub mod jobs;
pub mod libraries;
pub mod pools;
pub mod reference;
pub mod runs;

pub use jobs::*;
pub use libraries::*;
pub use pools::*;
pub use reference::*;
pub use runs::*;
