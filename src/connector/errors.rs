//! What a connector operation refuses or fails with, as values. The HTTP layer words each one
//! as Elasticsearch does (`http/apis/connector/errors.rs`).

use super::status::ConnectorStatus;
use crate::error::ApiError;

#[derive(Debug)]
pub enum ConnectorError {
    /// The connector does not exist, is soft-deleted, or its index does not exist.
    NotFound { connector_id: String },
    /// A partial update found no document: Elasticsearch writes those without looking the
    /// connector up.
    DocumentMissing { connector_id: String, index: String },
    /// The request is invalid: every problem, in order.
    Invalid(Vec<Invalid>),
    /// `_status` to a status the connector protocol does not allow from the stored one.
    InvalidTransition {
        from: ConnectorStatus,
        to: ConnectorStatus,
    },
    /// A name outside a closed set; `kind` is the set as Elasticsearch's enum is called.
    UnknownName { kind: &'static str, value: String },
    /// Another connector holds the index name.
    IndexNameInUse { index_name: String },
    /// `_index_name` of an Elastic-managed connector, with a name lacking the managed prefix.
    UnmanagedIndexName { index_name: String },
    /// `_native` of a connector whose index lacks the managed prefix.
    UnmanagedIndexOfNative {
        connector_id: String,
        index_name: String,
    },
    /// `_configuration` values of entries the schema does not have.
    UnknownConfigurationFields(Vec<String>),
    /// `_filtering/_activate` of a draft not validated (its state, lower-cased).
    DraftNotValidated { state: String },
    /// `delete_sync_jobs` failed for some jobs: the reason of each.
    SyncJobsNotDeleted {
        connector_id: String,
        reasons: Vec<String>,
    },
    /// A cron expression Elasticsearch's scheduler refuses, and why.
    InvalidCron { expression: String, reason: String },
    /// An error already in Elasticsearch's shape from below: the cluster's answer, or the
    /// storage's own refusal (a page out of bounds).
    Cluster(ApiError),
}

/// One problem of an invalid request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// An index name Elasticsearch would not create an index by, and why.
    IndexName { index_name: String, reason: String },
    /// An Elastic-managed connector's index name without the managed prefix.
    UnmanagedIndexName { index_name: String },
    /// `_configuration` with neither a schema nor values.
    NoConfiguration,
    /// `_configuration` with both a schema and values.
    ConfigurationAndValues,
    /// `_filtering` with a whole list and a draft.
    FilteringAndDraft,
    /// `_filtering` with neither filtering rules nor an advanced snippet.
    NoDraft,
    /// `_scheduling` without a schedule.
    NoSchedule,
    /// `_service_type` with an empty one.
    NoServiceType,
    /// `_status` without one.
    NoStatus,
    /// An update of two fields with neither given.
    NeitherGiven {
        first: &'static str,
        second: &'static str,
    },
}

impl From<ApiError> for ConnectorError {
    fn from(err: ApiError) -> Self {
        Self::Cluster(err)
    }
}

impl From<Invalid> for ConnectorError {
    fn from(problem: Invalid) -> Self {
        Self::Invalid(vec![problem])
    }
}
