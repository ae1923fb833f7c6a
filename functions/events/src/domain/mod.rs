//! The rules of events and notifications, free of I/O and tested directly.

pub mod address;
pub mod channel;
pub mod delivery;
pub mod priority;
pub mod quiet;
pub mod render;
pub mod signature;
pub mod subscription;
pub mod templates;
pub mod visibility;
