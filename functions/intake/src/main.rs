//! Lambda `bootstrap` for the intake functions; `_HANDLER` picks one.

#[tokio::main]
async fn main() -> Result<(), tracseq_aws::lambda::BoxError> {
    tracseq_aws::lambda::main(tracseq_intake::FUNCTIONS).await
}
