//! Lambda `bootstrap` for the reports functions; `_HANDLER` picks one.

#[tokio::main]
async fn main() -> Result<(), tracseq_aws::lambda::BoxError> {
    tracseq_aws::lambda::main(tracseq_reports::FUNCTIONS).await
}
