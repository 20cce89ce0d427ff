//! What the sync-job domain refuses, as values. The HTTP layer turns each into Elasticsearch's
//! answer (`http::apis::sync_job`), which holds the wording.

use serde_json::Value;

use super::status::ConnectorSyncStatus;
use crate::error::ApiError;

#[derive(Debug)]
pub enum SyncJobError {
    /// A post that names no connector.
    NoConnectorId,
    /// An error report without a message.
    NoErrorMessage,
    /// Stats whose counts are negative: their field names.
    NegativeCounts(Vec<&'static str>),
    /// A status name the protocol does not know.
    UnknownStatus(String),
    /// A job type name the protocol does not know.
    UnknownJobType(String),
    /// A trigger method name the protocol does not know.
    UnknownTriggerMethod(String),
    /// The connector a post names does not exist.
    ConnectorNotFound { connector_id: String },
    /// The connectors index does not exist.
    ConnectorsIndexMissing { index: String },
    /// The connector has no index to sync into.
    NoIndexAttached { connector_id: String },
    /// The connector has no service type.
    NoServiceType { connector_id: String },
    /// A read found the jobs index but no job with the id.
    NoDocument { id: String },
    /// No job with the id: its index does not exist, or a write without a read found none.
    NotFound { id: String },
    /// The protocol forbids the change from the job's status.
    InvalidTransition {
        from: ConnectorSyncStatus,
        to: ConnectorSyncStatus,
    },
    /// The stored status is missing (`Null`) or not one the protocol knows; the job is left as
    /// it is.
    UnknownStoredStatus { id: String, found: Value },
    /// The cluster's own error, passed along.
    Cluster(ApiError),
}

impl From<ApiError> for SyncJobError {
    fn from(err: ApiError) -> Self {
        Self::Cluster(err)
    }
}
