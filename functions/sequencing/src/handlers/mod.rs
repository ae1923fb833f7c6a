//! HTTP handlers of the sequencing service.

pub mod libraries;
pub mod pools;
pub mod reference;

pub use libraries::*;
pub use pools::*;
pub use reference::*;
