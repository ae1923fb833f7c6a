//! Account mail (password reset and invitation links): the publisher's stream batches carry
//! the `entity = account_mail` INSERTs too (one stream reader, not two), and each becomes
//! one email delivery to the account's own address, never an event. Subscriptions never see these items, so
//! no subscriber, channel or webhook can receive another user's link; the email worker
//! swaps the placeholder for the link only when the delivery is addressed to the item's
//! own recipient (see `send::email`).

use crate::compose::{Texts, event_vars};
use crate::directory;
use crate::domain::channel::ChannelKind;
use crate::domain::delivery::{DeliveryStatus, delivery_id};
use crate::domain::priority::Priority;
use crate::error::WorkError;
use crate::feed::FeedEvent;
use crate::model::{Delivery, Message, Target};
use crate::router::{channels, unavailable};
use crate::state::EventsState;
use crate::store::deliveries::{self, Outbox};
use serde_json::json;
use tracseq_aws::account_mail::{AccountMail, ENTITY};
use tracseq_aws::batch::StreamBatch;
use tracseq_core::events::CloudEvent;
use tracseq_core::function::FunctionError;

/// The account mail of a stream batch; how many items were handled.
pub async fn handle(st: &EventsState, batch: &StreamBatch) -> Result<usize, FunctionError> {
    let mut jobs = Outbox::default();
    let mut queued = 0;
    for inserted in batch.inserted(ENTITY) {
        let mail = match AccountMail::from_item(inserted.item) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "an account-mail item does not read; skipped");
                continue;
            }
        };
        // A failure fails the batch, and the stream hands it back: the delivery's fixed id
        // makes the second pass write nothing new.
        delivery(st, &mail, &mut jobs).await.map_err(FunctionError::transient)?;
        queued += 1;
    }
    jobs.flush(st).await.map_err(FunctionError::transient)?;
    Ok(queued)
}

/// The envelope a delivery record needs; it is never published.
fn envelope(mail: &AccountMail) -> Result<FeedEvent, WorkError> {
    let mut event = CloudEvent::new(
        mail.purpose.template_event(),
        &mail.lab_id,
        &format!("user/{}", mail.user_id),
        &mail.id,
        json!({ "user_id": mail.user_id }),
    )
    .map_err(|e| WorkError::Store(tracseq_aws::store::StoreError::Invalid(e.to_string())))?;
    event.id = mail.id.clone();
    event.time = mail.created_at.clone();
    Ok(FeedEvent { event, replayid: None })
}

async fn delivery(st: &EventsState, mail: &AccountMail, jobs: &mut Outbox) -> Result<(), WorkError> {
    let fe = envelope(mail)?;
    let kind = ChannelKind::Email;
    let person = directory::person(st, &mail.lab_id, &mail.user_id).await?;
    let configs = channels(st, &mail.lab_id).await?;
    let texts = Texts::load(st, &mail.lab_id).await?;
    let vars = event_vars(&st.settings.app_url, &fe, person.as_ref());
    let mut reason = unavailable(kind, configs.get(&kind));
    match &person {
        None => reason = Some("the account is disabled or gone".into()),
        Some(p) if !mail.is_addressed_to(&p.email) => {
            reason = Some("the account's address changed after the link was made".into());
        }
        Some(_) => {}
    }
    let (subject, body) = match texts.render(kind, &vars) {
        Ok(t) => t,
        Err(e) => {
            reason = reason.or(Some(format!("no template renders: {e}")));
            (None, String::new())
        }
    };
    let id = delivery_id(
        &mail.id,
        fe.time_ms(),
        None,
        "account",
        &format!("email:{}", mail.user_id),
    );
    let d = Delivery {
        user_id: Some(mail.user_id.clone()),
        secret_ref: Some(mail.id.clone()),
        status: if reason.is_some() {
            DeliveryStatus::Skipped
        } else {
            DeliveryStatus::Pending
        },
        reason,
        ..Delivery::new(
            id,
            &fe,
            &Target::Channel(kind),
            Priority::Urgent,
            Message {
                to: Some(mail.to.clone()),
                subject,
                body,
                link: None,
            },
        )
    };
    deliveries::create(st, &d, jobs).await
}
