//! How urgent an event is. Subscriptions filter on a minimum priority, and only urgent
//! messages break through quiet hours.

use tracseq_core::named_enum;

named_enum!(
    /// Ordered from least to most urgent.
    Priority as "EventPriority" {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

impl Priority {
    pub fn rank(self) -> u8 {
        match self {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
            Priority::Urgent => 3,
        }
    }

    pub fn at_least(self, min: Priority) -> bool {
        self.rank() >= min.rank()
    }

    /// The priority of an event type (`tracseq.` prefix optional). A freezer at its limit,
    /// a temperature excursion and a password reset the user is waiting for cannot wait;
    /// failures come next; routine bookkeeping is low.
    pub fn of_event(kind: &str) -> Priority {
        let kind = kind.strip_prefix("tracseq.").unwrap_or(kind);
        match kind {
            "storage.capacity_critical"
            | "storage.temperature_alert"
            | "auth.password_reset_requested"
            | "auth.locked"
            | "submission.failed"
            | "run.failed" => Priority::Urgent,
            "sequencing.qc_failed"
            | "import.failed"
            | "submission.compensated"
            | "run.compensated"
            | "document.review_required"
            | "storage.capacity_warning"
            | "storage.temperature_recovered"
            | "auth.password_changed" => Priority::High,
            "sequencing.run_completed"
            | "sequencing.job_status_changed"
            | "sequencing.job_created"
            | "import.completed"
            | "submission.completed"
            | "run.started"
            | "document.extracted"
            | "sample.disposed"
            | "auth.login_failed" => Priority::Normal,
            _ => Priority::Low,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_and_event_priorities() {
        assert!(Priority::Urgent.at_least(Priority::High));
        assert!(!Priority::Low.at_least(Priority::Normal));
        assert_eq!(
            Priority::of_event("tracseq.storage.capacity_critical"),
            Priority::Urgent
        );
        assert_eq!(Priority::of_event("sequencing.qc_failed"), Priority::High);
        assert_eq!(Priority::of_event("tracseq.sample.created"), Priority::Low);
        assert_eq!(Priority::parse("URGENT"), Some(Priority::Urgent));
    }
}
