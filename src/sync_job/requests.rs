//! What each sync-job API asks for, as plain values: built at the HTTP edge from the request
//! (`http::apis::sync_job`), taken by the operations of `SyncJobs`.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::errors::SyncJobError;
use super::status::ConnectorSyncStatus;
use super::transitions::{JobType, TriggerMethod};

/// `POST /_connector/_sync_job`: a new job for a connector.
#[derive(Debug, Clone, PartialEq)]
pub struct PostJob {
    /// The connector's id; empty is refused by the operation.
    pub connector_id: String,
    pub job_type: JobType,
    pub trigger_method: TriggerMethod,
}

/// `GET /_connector/_sync_job`: a page of jobs, newest first, filtered.
#[derive(Debug, Clone, PartialEq)]
pub struct ListJobs {
    pub from: i32,
    pub size: i32,
    pub connector_id: Option<String>,
    pub status: Option<ConnectorSyncStatus>,
    /// Any of these types; empty is every type.
    pub job_types: Vec<JobType>,
}

/// `PUT /_connector/_sync_job/{id}/_claim`
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimJob {
    pub worker_hostname: String,
    /// Merged into the job's copy of the connector when given.
    pub sync_cursor: Option<Map<String, Value>>,
}

/// `PUT /_connector/_sync_job/{id}/_error`
#[derive(Debug, Clone, PartialEq)]
pub struct SetJobError {
    /// The message; empty is refused by the operation.
    pub error: String,
}

/// `PUT /_connector/_sync_job/{id}/_stats`
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateJobStats {
    pub counts: Counts,
    /// The job's last sign of life; the request's own time when not given.
    pub last_seen: Option<DateTime<Utc>>,
    pub metadata: Option<Map<String, Value>>,
}

/// The document counts of a stats update: three always given, the total when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub deleted_document_count: i64,
    pub indexed_document_count: i64,
    pub indexed_document_volume: i64,
    pub total_document_count: Option<i64>,
}

impl Counts {
    /// Each count given, under its stored field name, in the order of `transitions::COUNTS`.
    pub fn given(&self) -> Vec<(&'static str, i64)> {
        let [deleted, indexed, volume, total] = super::transitions::COUNTS;
        let mut given = vec![
            (deleted, self.deleted_document_count),
            (indexed, self.indexed_document_count),
            (volume, self.indexed_document_volume),
        ];
        given.extend(self.total_document_count.map(|count| (total, count)));
        given
    }

    /// No count may be negative: the refusal names every one that is.
    pub fn check(&self) -> Result<(), SyncJobError> {
        let negative: Vec<&'static str> = self
            .given()
            .into_iter()
            .filter(|(_, count)| *count < 0)
            .map(|(name, _)| name)
            .collect();
        if negative.is_empty() {
            Ok(())
        } else {
            Err(SyncJobError::NegativeCounts(negative))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_negative_count_is_named_in_field_order() {
        let counts = Counts {
            deleted_document_count: 0,
            indexed_document_count: -1,
            indexed_document_volume: 5,
            total_document_count: Some(-2),
        };
        match counts.check() {
            Err(SyncJobError::NegativeCounts(names)) => {
                assert_eq!(names, ["indexed_document_count", "total_document_count"])
            }
            other => panic!("{other:?}"),
        }
        let fine = Counts {
            total_document_count: None,
            indexed_document_count: 0,
            ..counts
        };
        assert!(fine.check().is_ok());
        assert_eq!(fine.given().len(), 3);
    }
}
