//! The storage service's rules, free of any storage: what may contain what, temperature
//! zones and which sample types they accept, box grids and their position labels,
//! capacity levels, how free positions are suggested, and the custody planner (each
//! sample's change of a placement, move, check-out, check-in or disposal, or why not).
//! Tested directly here; the handlers only add the table around them.

pub mod capacity;
pub mod custody;
pub mod grid;
pub mod kinds;
pub mod monitor;
pub mod suggest;
pub mod zone;
