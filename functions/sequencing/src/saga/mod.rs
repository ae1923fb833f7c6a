//! The sequencing service's saga tasks (docs/sagas.md): the run start saga's steps
//! ([`run`]) and the sample submission saga's optional sequencing-job step ([`job`]).

pub mod job;
pub mod run;
