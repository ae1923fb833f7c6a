//! The events service's table access for its API and pipeline records: the lab's
//! notification settings, the inbox, delivery records and the event history. Handlers
//! reach the table only through these modules.

pub mod deliveries;
pub mod history;
pub mod inbox;
pub mod settings;
