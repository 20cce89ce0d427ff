//! The status of a connector sync job, spelled as Elasticsearch and the connector service write it.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorSyncStatus {
    Pending,
    InProgress,
    Canceling,
    Canceled,
    Suspended,
    Completed,
    Error,
}

impl ConnectorSyncStatus {
    pub const ALL: [Self; 7] = [
        Self::Pending,
        Self::InProgress,
        Self::Canceling,
        Self::Canceled,
        Self::Suspended,
        Self::Completed,
        Self::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InProgress => "in_progress",
            Self::Canceling => "canceling",
            Self::Canceled => "canceled",
            Self::Suspended => "suspended",
            Self::Completed => "completed",
            Self::Error => "error",
        }
    }

    /// The status for a value on the wire; `None` for anything the connector protocol does not
    /// know (the two-"l" spellings of the reference docs included).
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == value)
    }

    /// A status named by a client, in any case (`?status=PENDING`), as Elasticsearch reads it.
    pub fn from_param(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(value))
    }

    /// The connector protocol's state machine: whether a job may go from `self` to `to`.
    pub fn may_become(self, to: Self) -> bool {
        use ConnectorSyncStatus::*;
        matches!(
            (self, to),
            (Pending, InProgress | Canceled)
                | (InProgress, Canceling | Completed | Suspended | Error)
                | (Suspended, InProgress | Canceled)
                | (Canceling, Canceled | Error)
        )
    }
}

impl fmt::Display for ConnectorSyncStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_from_its_wire_name() {
        for status in ConnectorSyncStatus::ALL {
            assert_eq!(ConnectorSyncStatus::parse(status.as_str()), Some(status));
        }
    }

    #[test]
    fn terminal_statuses_go_nowhere() {
        for from in [
            ConnectorSyncStatus::Canceled,
            ConnectorSyncStatus::Completed,
            ConnectorSyncStatus::Error,
        ] {
            assert!(
                ConnectorSyncStatus::ALL.iter().all(|to| !from.may_become(*to)),
                "{from}"
            );
        }
        assert!(ConnectorSyncStatus::Pending.may_become(ConnectorSyncStatus::InProgress));
        assert!(!ConnectorSyncStatus::Pending.may_become(ConnectorSyncStatus::Error));
        assert!(ConnectorSyncStatus::Canceling.may_become(ConnectorSyncStatus::Error));
    }

    #[test]
    fn the_reference_docs_spelling_is_not_a_status() {
        assert_eq!(ConnectorSyncStatus::parse("cancelling"), None);
        assert_eq!(ConnectorSyncStatus::parse("Pending"), None);
        assert_eq!(ConnectorSyncStatus::parse(""), None);
    }
}
