//! Who may see which events. One rule serves the event history (`GET /api/events`), the
//! subscriptions a user may create, and the recipients the router keeps: account events
//! (`auth.*`) concern other people's accounts and are the lab administrator's; the lab's
//! work (samples, storage, sequencing, imports, templates) is every member's.

use tracseq_core::auth::Role;

/// Event entities only lab administrators see.
const ADMIN_ENTITIES: &[&str] = &["auth", "user", "lab"];

fn entity(kind_or_pattern: &str) -> &str {
    let t = kind_or_pattern.strip_prefix("tracseq.").unwrap_or(kind_or_pattern);
    t.split_once('.').map_or(t, |(e, _)| e)
}

/// The least role that may see events of type `kind` (`tracseq.auth.locked`, `sample.created`).
pub fn least_role(kind: &str) -> Role {
    if ADMIN_ENTITIES.contains(&entity(kind)) {
        Role::LabAdministrator
    } else {
        Role::Guest
    }
}

/// Whether `role` may name `pattern` in a subscription. `*` is allowed to anyone: it means
/// "everything I may see", and the router drops what the recipient may not.
pub fn may_subscribe(role: Role, pattern: &str) -> bool {
    let p = pattern.strip_prefix("tracseq.").unwrap_or(pattern);
    p == "*" || role.includes(least_role(p))
}

/// Whether a recipient holding `role` hears of an event of type `kind` about `subject_user`:
/// the role allows it, or the event is about the recipient's own account.
pub fn may_receive(role: Role, recipient: &str, kind: &str, subject_user: Option<&str>) -> bool {
    role.includes(least_role(kind)) || subject_user == Some(recipient)
}

/// The entity prefixes (`tracseq.auth.`) hidden from `role` in the history.
pub fn hidden_prefixes(role: Role) -> Vec<String> {
    if role.includes(Role::LabAdministrator) {
        return vec![];
    }
    ADMIN_ENTITIES.iter().map(|e| format!("tracseq.{e}.")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_events_are_the_administrators() {
        assert_eq!(
            least_role("tracseq.auth.password_reset_requested"),
            Role::LabAdministrator
        );
        assert_eq!(least_role("auth.*"), Role::LabAdministrator);
        assert_eq!(least_role("tracseq.sample.created"), Role::Guest);
        for role in [Role::Guest, Role::LabTechnician, Role::PrincipalInvestigator] {
            assert!(!may_subscribe(role, "auth.*"), "{role:?}");
            assert!(
                !may_subscribe(role, "tracseq.auth.password_reset_requested"),
                "{role:?}"
            );
            assert!(may_subscribe(role, "sample.*"));
            assert!(may_subscribe(role, "*"));
            assert_eq!(hidden_prefixes(role).len(), 3);
        }
        assert!(may_subscribe(Role::LabAdministrator, "auth.*"));
        assert!(hidden_prefixes(Role::LabAdministrator).is_empty());
    }

    #[test]
    fn one_hears_of_ones_own_account() {
        let reset = "tracseq.auth.password_reset_requested";
        assert!(may_receive(Role::Guest, "U1", reset, Some("U1")));
        assert!(!may_receive(Role::Guest, "U1", reset, Some("U2")));
        assert!(!may_receive(Role::LabTechnician, "U1", reset, None));
        assert!(may_receive(Role::LabAdministrator, "U1", reset, Some("U2")));
        assert!(may_receive(Role::Guest, "U1", "tracseq.sample.created", None));
    }
}
