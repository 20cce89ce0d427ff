//! What each sync-job operation writes: its transition table, and the document a new job starts
//! as. The tables are what `documents::update` applies, by script
//! or by guarded write.

use serde_json::{json, Map, Value};

use super::errors::SyncJobError;
use super::status::ConnectorSyncStatus;
use crate::documents::{Field, Row, Rows, Source, Table};

pub const STATUS: &str = "status";
pub const CANCELATION_REQUESTED_AT: &str = "cancelation_requested_at";
const CANCELED_AT: &str = "canceled_at";
const COMPLETED_AT: &str = "completed_at";
pub const STARTED_AT: &str = "started_at";
pub const LAST_SEEN: &str = "last_seen";

/// The counts a stats update writes, as the job document names them.
pub const COUNTS: [&str; 4] = [
    "deleted_document_count",
    "indexed_document_count",
    "indexed_document_volume",
    "total_document_count",
];

/// The kinds of sync a job runs; a post without one runs a full sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobType {
    #[default]
    Full,
    Incremental,
    AccessControl,
}

impl JobType {
    pub const ALL: [Self; 3] = [Self::Full, Self::Incremental, Self::AccessControl];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Incremental => "incremental",
            Self::AccessControl => "access_control",
        }
    }

    /// A job type named by a client, in any case.
    pub fn parse(value: &str) -> Result<Self, SyncJobError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(value))
            .ok_or_else(|| SyncJobError::UnknownJobType(value.to_owned()))
    }
}

/// What started a job; a post without one was started on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TriggerMethod {
    #[default]
    OnDemand,
    Scheduled,
}

impl TriggerMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnDemand => "on_demand",
            Self::Scheduled => "scheduled",
        }
    }

    /// A trigger method named by a client, in any case.
    pub fn parse(value: &str) -> Result<Self, SyncJobError> {
        [Self::OnDemand, Self::Scheduled]
            .into_iter()
            .find(|method| method.as_str().eq_ignore_ascii_case(value))
            .ok_or_else(|| SyncJobError::UnknownTriggerMethod(value.to_owned()))
    }
}

/// The statuses an operation moves a job to: for each status it may leave, the status it goes
/// to and the fields it writes. The error names the status it would have moved to.
pub struct Transition {
    /// The status named in the refusal.
    pub to: ConnectorSyncStatus,
    /// The row for each status the job may leave, `None` where the protocol forbids it.
    pub row: fn(ConnectorSyncStatus) -> Option<ConnectorSyncStatus>,
}

/// Cancel: a job that is not running is canceled at once; a running one is asked to stop, and
/// its connector writes `canceled` when it has.
pub const CANCEL: Transition = Transition {
    to: ConnectorSyncStatus::Canceling,
    row: |from| match from {
        ConnectorSyncStatus::Pending | ConnectorSyncStatus::Suspended => Some(ConnectorSyncStatus::Canceled),
        ConnectorSyncStatus::InProgress => Some(ConnectorSyncStatus::Canceling),
        _ => None,
    },
};

/// Claim: only a job waiting to run can be claimed (Elasticsearch claims anything; see the
/// README), so of concurrent claims exactly one wins.
pub const CLAIM_TRANSITION: Transition = Transition {
    to: ConnectorSyncStatus::InProgress,
    row: |from| {
        matches!(
            from,
            ConnectorSyncStatus::Pending | ConnectorSyncStatus::Suspended
        )
        .then_some(ConnectorSyncStatus::InProgress)
    },
};

/// Error: wherever the protocol allows a job to fail.
pub const ERROR_TRANSITION: Transition = Transition {
    to: ConnectorSyncStatus::Error,
    row: |from| {
        from.may_become(ConnectorSyncStatus::Error)
            .then_some(ConnectorSyncStatus::Error)
    },
};

impl Transition {
    /// The table for one request: each status the job may leave, mapped to what the request
    /// writes there, `fields(to)` beside the new status. A status without a row is answered by
    /// `refusal`.
    pub fn table<'a>(
        &self,
        fields: impl Fn(ConnectorSyncStatus) -> Row<'a>,
        stamp: Option<(&'static str, &'a str)>,
    ) -> Table<'a> {
        Table {
            field: STATUS,
            rows: self.rows(fields),
            stamp,
        }
    }

    /// The rows of the table: each status the job may leave, mapped to the partial document
    /// written there.
    pub fn rows<'a>(&self, fields: impl Fn(ConnectorSyncStatus) -> Row<'a>) -> Rows<'a> {
        Rows(
            ConnectorSyncStatus::ALL
                .into_iter()
                .filter_map(|from| {
                    let to = (self.row)(from)?;
                    let mut row = vec![(STATUS, Field::Text(to.as_str()))];
                    row.extend(fields(to));
                    Some((from.as_str(), row))
                })
                .collect(),
        )
    }

    /// The refusal when the stored status has no row: a transition the protocol forbids, or a
    /// status that is missing or unknown.
    pub fn refusal(&self, id: &str, found: &Value) -> SyncJobError {
        match found.as_str().and_then(ConnectorSyncStatus::parse) {
            Some(from) => SyncJobError::InvalidTransition { from, to: self.to },
            None => SyncJobError::UnknownStoredStatus {
                id: id.to_owned(),
                found: found.clone(),
            },
        }
    }
}

/// The fields a cancel stamps: every timestamp is the request's own.
pub fn cancel_fields(to: ConnectorSyncStatus, now: &str) -> Row<'_> {
    let stamped: &[&'static str] = match to {
        ConnectorSyncStatus::Canceled => &[CANCELATION_REQUESTED_AT, CANCELED_AT, COMPLETED_AT],
        _ => &[CANCELATION_REQUESTED_AT],
    };
    stamped.iter().map(|field| (*field, Field::Text(now))).collect()
}

/// The fields a claim writes beside the status: the worker, the start (also the last sign of
/// life), and the connector's sync cursor, merged into the job's copy of the connector.
pub fn claim_fields<'a>(
    worker_hostname: &'a str,
    now: &'a str,
    sync_cursor: Option<&Map<String, Value>>,
) -> Row<'a> {
    let mut fields = vec![
        ("worker_hostname", Field::Text(worker_hostname)),
        (STARTED_AT, Field::Text(now)),
        (LAST_SEEN, Field::Text(now)),
    ];
    if let Some(cursor) = sync_cursor {
        fields.push(("connector", Field::Json(json!({ "sync_cursor": cursor }))));
    }
    fields
}

/// The document of a new job for the connector `connector_id` with the stored fields `connector`.
pub fn new_job(
    connector_id: &str,
    connector: &Source,
    index_name: &str,
    job_type: JobType,
    trigger_method: TriggerMethod,
    now: &str,
) -> Source {
    let mut copied = Map::new();
    copied.insert("id".into(), connector_id.into());
    // The job keeps the connector's active filtering, as the connector service applies it.
    if let Some(active) = connector
        .get("filtering")
        .and_then(|filtering| filtering.get(0))
        .and_then(|first| first.get("active"))
        .filter(|active| !active.is_null())
    {
        copied.insert("filtering".into(), active.clone());
    }
    copied.insert("index_name".into(), index_name.into());
    for field in ["language", "pipeline", "service_type", "configuration"] {
        if let Some(value) = connector.get(field).filter(|value| !value.is_null()) {
            copied.insert(field.into(), value.clone());
        }
    }
    let doc = json!({
        "connector": copied,
        "created_at": now,
        "deleted_document_count": 0,
        "indexed_document_count": 0,
        "indexed_document_volume": 0,
        "job_type": job_type.as_str(),
        "last_seen": now,
        "metadata": {},
        "status": ConnectorSyncStatus::Pending.as_str(),
        "total_document_count": 0,
        "trigger_method": trigger_method.as_str(),
    });
    match doc {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectorSyncStatus::*;

    fn rows(transition: &Transition) -> Vec<(ConnectorSyncStatus, ConnectorSyncStatus)> {
        ConnectorSyncStatus::ALL
            .into_iter()
            .filter_map(|from| Some((from, (transition.row)(from)?)))
            .collect()
    }

    #[test]
    fn cancel_is_elasticsearchs_rule() {
        assert_eq!(
            rows(&CANCEL),
            [
                (Pending, Canceled),
                (InProgress, Canceling),
                (Suspended, Canceled)
            ]
        );
    }

    #[test]
    fn claim_takes_only_jobs_waiting_to_run() {
        assert_eq!(
            rows(&CLAIM_TRANSITION),
            [(Pending, InProgress), (Suspended, InProgress)]
        );
    }

    #[test]
    fn error_follows_the_state_machine() {
        assert_eq!(rows(&ERROR_TRANSITION), [(InProgress, Error), (Canceling, Error)]);
    }

    #[test]
    fn every_row_stays_inside_the_state_machine() {
        for transition in [&CANCEL, &CLAIM_TRANSITION, &ERROR_TRANSITION] {
            for (from, to) in rows(transition) {
                assert!(from.may_become(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn the_cancel_table_holds_exactly_the_allowed_rows() {
        let now = "2026-01-02T03:04:05.678Z";
        let table = CANCEL.table(|to| cancel_fields(to, now), None);
        assert_eq!(
            serde_json::to_value(&table.rows).unwrap(),
            json!({
                "pending": {"status": "canceled", "cancelation_requested_at": now, "canceled_at": now, "completed_at": now},
                "in_progress": {"status": "canceling", "cancelation_requested_at": now},
                "suspended": {"status": "canceled", "cancelation_requested_at": now, "canceled_at": now, "completed_at": now},
            })
        );
    }

    #[test]
    fn a_refusal_names_both_statuses_or_the_unknown_value() {
        assert!(matches!(
            CANCEL.refusal("j", &json!("completed")),
            SyncJobError::InvalidTransition {
                from: Completed,
                to: Canceling
            }
        ));
        for found in [json!(null), json!("cancelling"), json!(["pending"])] {
            assert!(
                matches!(
                    CANCEL.refusal("j", &found),
                    SyncJobError::UnknownStoredStatus { ref id, found: ref stored } if id == "j" && *stored == found
                ),
                "{found}"
            );
        }
    }

    #[test]
    fn a_new_job_copies_the_connector() {
        let connector = json!({
            "filtering": [{"active": {"rules": [1]}, "draft": {"rules": [2]}}],
            "index_name": "search-x", "language": "en", "service_type": "mongodb",
            "configuration": {"host": {"value": "h"}}, "pipeline": null, "name": "n"
        });
        let doc = new_job(
            "c1",
            connector.as_object().unwrap(),
            "search-x",
            JobType::Full,
            TriggerMethod::OnDemand,
            "T",
        );
        assert_eq!(
            Value::Object(doc),
            json!({
                "connector": {"id": "c1", "filtering": {"rules": [1]}, "index_name": "search-x",
                    "language": "en", "service_type": "mongodb", "configuration": {"host": {"value": "h"}}},
                "created_at": "T", "deleted_document_count": 0, "indexed_document_count": 0,
                "indexed_document_volume": 0, "job_type": "full", "last_seen": "T", "metadata": {},
                "status": "pending", "total_document_count": 0, "trigger_method": "on_demand"
            })
        );
    }
}
