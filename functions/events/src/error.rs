//! Why background work stopped: worth a retry in every case (the message comes back).

use tracseq_aws::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("queue {queue}: {detail}")]
    Queue { queue: String, detail: String },
    #[error("no queue is configured for {0}")]
    NoQueue(String),
}

impl From<crate::feed::SendError> for WorkError {
    fn from(e: crate::feed::SendError) -> Self {
        WorkError::Queue {
            queue: e.queue,
            detail: e.detail,
        }
    }
}
