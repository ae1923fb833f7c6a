pub mod fold;
pub mod histogram;
pub mod period;
pub mod report;
