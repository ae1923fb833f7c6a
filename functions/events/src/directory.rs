//! The lab's people, as the notification service needs them: who they are and where to
//! reach them. Read from the users service's items (docs/data-model.md), never written.

use crate::model::keys;
use crate::state::EventsState;
use serde::Deserialize;
use tracseq_aws::store::{GSI1, PageQuery, StoreError, from_item};
use tracseq_core::auth::Role;
use tracseq_core::keyed::lab_key;
use tracseq_core::pagination::PageRequest;

#[derive(Debug, Clone, Deserialize)]
pub struct Person {
    pub id: String,
    pub email: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    pub status: String,
    pub role: Role,
}

impl Person {
    /// Disabled accounts hear nothing; a locked one still gets its reset link.
    pub fn reachable(&self) -> bool {
        self.status != "disabled"
    }

    /// Where `channel` reaches this person: an email address, a phone number, or nothing
    /// (the other channels reach the lab or the inbox).
    pub fn address(&self, channel: crate::domain::channel::ChannelKind) -> Option<String> {
        use crate::domain::channel::ChannelKind::{Email, Sms};
        match channel {
            Email => Some(self.email.clone()),
            Sms => self.phone.clone(),
            _ => None,
        }
    }
}

pub async fn person(st: &EventsState, lab: &str, user_id: &str) -> Result<Option<Person>, StoreError> {
    if !tracseq_core::keyed::is_valid_id(user_id) {
        return Ok(None);
    }
    let item = st.table.get(&keys::lab(lab), &format!("USER#{user_id}")).await?;
    Ok(item.map(from_item).transpose()?.filter(Person::reachable))
}

/// Every reachable user holding `role` (the users index by role; at most 1,000 read).
pub async fn with_role(st: &EventsState, lab: &str, role: Role) -> Result<Vec<Person>, StoreError> {
    let pk = lab_key(lab, &["USERS", role.as_str()]);
    let page = st
        .table
        .query_page(&PageQuery::of(&pk).on_index(GSI1), &PageRequest::first(1000))
        .await
        .map_err(|p| StoreError::Invalid(p.detail))?;
    let people: Vec<Person> = page.items.into_iter().map(from_item).collect::<Result<_, _>>()?;
    Ok(people.into_iter().filter(Person::reachable).collect())
}
