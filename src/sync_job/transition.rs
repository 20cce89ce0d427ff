//! Elasticsearch's rule for cancel, as one table that both update strategies use: the scripted
//! update receives it as parameters, the optimistic path looks it up in Rust.

use serde_json::{Map, Value};

use super::status::ConnectorSyncStatus;

pub const STATUS: &str = "status";
pub const CANCELATION_REQUESTED_AT: &str = "cancelation_requested_at";
pub const CANCELED_AT: &str = "canceled_at";
pub const COMPLETED_AT: &str = "completed_at";

/// What a cancel does to a job in a status it may leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancelTransition {
    pub to: ConnectorSyncStatus,
    /// Fields set to the one timestamp of the request.
    pub stamped_fields: &'static [&'static str],
}

/// The transition a cancel makes from `from`. When the protocol forbids it, the error carries the
/// status the cancel would have moved to, as Elasticsearch names it in its message.
pub fn cancel_transition(from: ConnectorSyncStatus) -> Result<CancelTransition, ConnectorSyncStatus> {
    use ConnectorSyncStatus::*;
    match from {
        // A job that is not running is canceled at once, never passing through `canceling`.
        Pending | Suspended => Ok(CancelTransition {
            to: Canceled,
            stamped_fields: &[CANCELATION_REQUESTED_AT, CANCELED_AT, COMPLETED_AT],
        }),
        // A running job is asked to stop; its connector writes `canceled` when it has.
        InProgress => Ok(CancelTransition {
            to: Canceling,
            stamped_fields: &[CANCELATION_REQUESTED_AT],
        }),
        Canceling | Canceled | Completed | Error => Err(Canceling),
    }
}

impl CancelTransition {
    /// The fields this transition writes, every timestamp being `now`.
    pub fn partial_document(&self, now: &str) -> Map<String, Value> {
        let mut doc = Map::with_capacity(1 + self.stamped_fields.len());
        doc.insert(STATUS.to_owned(), Value::from(self.to.as_str()));
        for field in self.stamped_fields {
            doc.insert((*field).to_owned(), Value::from(now));
        }
        doc
    }
}

/// The whole table as a map from each status a cancel may leave to the fields it writes.
pub fn cancel_table(now: &str) -> Map<String, Value> {
    ConnectorSyncStatus::ALL
        .into_iter()
        .filter_map(|from| {
            let transition = cancel_transition(from).ok()?;
            Some((
                from.as_str().to_owned(),
                Value::Object(transition.partial_document(now)),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use ConnectorSyncStatus::*;

    #[test]
    fn the_table_is_elasticsearchs_rule() {
        assert_eq!(cancel_transition(Pending).unwrap().to, Canceled);
        assert_eq!(cancel_transition(Suspended).unwrap().to, Canceled);
        assert_eq!(cancel_transition(InProgress).unwrap().to, Canceling);
        for from in [Canceling, Canceled, Completed, Error] {
            assert_eq!(cancel_transition(from), Err(Canceling));
        }
    }

    #[test]
    fn the_script_parameters_hold_exactly_the_allowed_rows() {
        let now = "2026-01-02T03:04:05.678Z";
        assert_eq!(
            Value::Object(cancel_table(now)),
            json!({
                "pending": {"status": "canceled", "cancelation_requested_at": now, "canceled_at": now, "completed_at": now},
                "suspended": {"status": "canceled", "cancelation_requested_at": now, "canceled_at": now, "completed_at": now},
                "in_progress": {"status": "canceling", "cancelation_requested_at": now},
            })
        );
    }
}
