//! Lambda `bootstrap` for the auth functions; `_HANDLER` picks one.

#[tokio::main]
async fn main() -> Result<(), tracseq_aws::lambda::BoxError> {
    tracseq_aws::lambda::main(tracseq_auth::FUNCTIONS).await
}
