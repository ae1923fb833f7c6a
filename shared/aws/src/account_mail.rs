//! Account mail: messages that carry a secret (a password reset or invitation link) and
//! so go to one account's own address and nowhere else. The auth service writes one item
//! per message in the transaction that creates the token; the events service's stream
//! publisher, whose filter takes [`ENTITY`] beside events, turns it into a single email
//! delivery to [`AccountMail::to`].
//! It is not an event: it never enters the outbox, the event history, the consumer queues,
//! subscriptions, webhooks or a lab export, and the email worker refuses to put its link
//! in a message addressed to anyone but `to`.

use crate::store::{Item, StoreError, from_item, keyed_item, n};
use serde::{Deserialize, Serialize};

pub const ENTITY: &str = "account_mail";
const SK: &str = "ACCOUNTMAIL";

/// Why the message is sent; each has its own email template (`email.account.{purpose}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    PasswordReset,
    Invitation,
}

impl Purpose {
    /// The template event (`account.password_reset`) and the web app's path for the link.
    pub fn template_event(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "account.password_reset",
            Purpose::Invitation => "account.invitation",
        }
    }
    pub fn link_path(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "reset-password",
            Purpose::Invitation => "accept-invitation",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountMail {
    /// A ULID: the message's own id.
    pub id: String,
    pub lab_id: String,
    pub user_id: String,
    /// The account's address when the token was made: the only one the link may go to.
    pub to: String,
    pub purpose: Purpose,
    /// The raw token, readable only by the email worker; the item expires with it.
    pub token: String,
    /// Event-time form (fixed width), so the delivery made from it has a fixed id.
    pub created_at: String,
    pub expires_at: i64,
}

pub fn pk(id: &str) -> String {
    format!("ACCOUNTMAIL#{id}")
}
pub const fn sk() -> &'static str {
    SK
}

impl AccountMail {
    pub fn item(&self) -> Result<Item, StoreError> {
        let mut item = keyed_item(self, &[("PK", pk(&self.id)), ("SK", SK.to_owned())], ENTITY)?;
        // The TTL attribute: DynamoDB removes the token with the item.
        item.insert("expires_at".into(), n(self.expires_at));
        Ok(item)
    }

    pub fn from_item(mut item: Item) -> Result<Self, StoreError> {
        for k in ["PK", "SK", "entity"] {
            item.remove(k);
        }
        from_item(item)
    }

    /// Whether `address` is this message's own recipient (addresses compare without case).
    pub fn is_addressed_to(&self, address: &str) -> bool {
        self.to.trim().eq_ignore_ascii_case(address.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_addressing() {
        let m = AccountMail {
            id: "01J00000000000000000000000".into(),
            lab_id: "L".into(),
            user_id: "U".into(),
            to: "Ada@Example.org".into(),
            purpose: Purpose::Invitation,
            token: "t".into(),
            created_at: "2026-12-03T00:00:00.000000Z".into(),
            expires_at: 10,
        };
        let item = m.item().unwrap();
        assert_eq!(item["entity"].as_s().unwrap(), ENTITY);
        assert_eq!(item["purpose"].as_s().unwrap(), "invitation");
        assert_eq!(AccountMail::from_item(item).unwrap(), m);
        assert!(m.is_addressed_to("ada@example.org "));
        assert!(!m.is_addressed_to("eve@example.org"));
        assert_eq!(Purpose::PasswordReset.template_event(), "account.password_reset");
    }
}
