//! Lambda `bootstrap` for the submissions functions; `_HANDLER` picks one.

#[tokio::main]
async fn main() -> Result<(), tracseq_aws::lambda::BoxError> {
    tracseq_aws::lambda::main(tracseq_submissions::FUNCTIONS).await
}
