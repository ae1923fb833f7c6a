//! Custody requests and their planner: what a request says ([`request`]) and, against what
//! was read for it, each sample's complete change or every refusal ([`plan`]).

pub mod plan;
pub mod request;
