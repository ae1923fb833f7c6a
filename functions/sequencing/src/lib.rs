//! The sequencing service's rules (DOMAIN.md, Sequencing), free of any storage: reference
//! data (instruments, flow cells, a real index kit), the job and run status machines,
//! Illumina sample sheets in both formats with every check DOMAIN.md lists, and QC
//! thresholds. The HTTP functions over them (libraries, pools, jobs, runs) come next.

pub mod domain;
