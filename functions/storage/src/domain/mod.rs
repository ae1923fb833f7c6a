//! The storage service's rules, free of any storage: what may contain what, temperature
//! zones and which sample types they accept, box grids and their position labels,
//! capacity levels, and how free positions are suggested. Tested directly here; the
//! handlers only add the table around them.

pub mod capacity;
pub mod grid;
pub mod kinds;
pub mod suggest;
pub mod zone;
