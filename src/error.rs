//! The one error type of the service, shaped exactly like Elasticsearch's:
//! `{"error":{"root_cause":[{"type":T,"reason":R}],"type":T,"reason":R},"status":N}`.

use std::fmt;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Value};

/// Every exception type this service can answer with, and its HTTP status. A closed list, so a
/// typo cannot invent a new type name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// The job, the connector, the index or the route does not exist.
    ResourceNotFound,
    /// A partial update of a document that does not exist.
    DocumentMissing,
    /// The connector protocol does not allow the change.
    Status,
    /// The cause Elasticsearch gives under a refused sync-job transition.
    SyncJobInvalidStatusTransition,
    /// The cause Elasticsearch gives under a refused connector status change.
    ConnectorInvalidStatusTransition,
    /// The connectors index does not exist.
    IndexNotFound,
    /// The request itself is invalid (empty or over-long id, a value out of bounds).
    ActionRequestValidation,
    /// A parameter, body or document value the operation cannot work with.
    IllegalArgument,
    /// A body that is not the JSON the operation reads (syntax, unknown field, wrong type).
    XContentParse,
    /// The cause Elasticsearch gives when it reads text from a value that has none (an object
    /// inside an array of strings).
    IllegalState,
    /// A body is required and there is none.
    Parse,
    /// The route exists, the method does not.
    MethodNotAllowed,
    /// An `Accept` or `Content-Type` this API cannot answer in.
    MediaTypeHeader,
    /// A request line (URL) longer than the service reads.
    TooLongHttpLine,
    /// Request headers larger than the service reads.
    TooLongHttpHeader,
    /// A request body larger than the server takes.
    ContentTooLong,
    /// A failure inside this service.
    Internal,
    /// Other writers kept changing the document; the retries ran out.
    VersionConflictEngine,
    /// No node of the cluster could be reached.
    UpstreamUnavailable,
    /// The cluster did not answer within the configured timeout.
    UpstreamTimeout,
    /// The cluster answered with something this service cannot use.
    UpstreamError,
}

impl ErrorType {
    pub fn name(self) -> &'static str {
        self.parts().0
    }

    pub fn status(self) -> StatusCode {
        self.parts().1
    }

    fn parts(self) -> (&'static str, StatusCode) {
        match self {
            Self::ResourceNotFound => ("resource_not_found_exception", StatusCode::NOT_FOUND),
            Self::DocumentMissing => ("document_missing_exception", StatusCode::NOT_FOUND),
            Self::Status => ("status_exception", StatusCode::BAD_REQUEST),
            Self::SyncJobInvalidStatusTransition => (
                "connector_sync_job_invalid_status_transition_exception",
                StatusCode::BAD_REQUEST,
            ),
            Self::ConnectorInvalidStatusTransition => (
                "connector_invalid_status_transition_exception",
                StatusCode::BAD_REQUEST,
            ),
            Self::IndexNotFound => ("index_not_found_exception", StatusCode::NOT_FOUND),
            Self::ActionRequestValidation => ("action_request_validation_exception", StatusCode::BAD_REQUEST),
            Self::IllegalArgument => ("illegal_argument_exception", StatusCode::BAD_REQUEST),
            Self::XContentParse => ("x_content_parse_exception", StatusCode::BAD_REQUEST),
            Self::Parse => ("parse_exception", StatusCode::BAD_REQUEST),
            Self::IllegalState => ("illegal_state_exception", StatusCode::INTERNAL_SERVER_ERROR),
            Self::MethodNotAllowed => ("method_not_allowed_exception", StatusCode::METHOD_NOT_ALLOWED),
            Self::MediaTypeHeader => ("media_type_header_exception", StatusCode::BAD_REQUEST),
            Self::TooLongHttpLine => ("too_long_http_line_exception", StatusCode::BAD_REQUEST),
            Self::TooLongHttpHeader => ("too_long_http_header_exception", StatusCode::BAD_REQUEST),
            Self::ContentTooLong => ("content_too_long_exception", StatusCode::PAYLOAD_TOO_LARGE),
            Self::Internal => ("exception", StatusCode::INTERNAL_SERVER_ERROR),
            Self::VersionConflictEngine => ("version_conflict_engine_exception", StatusCode::CONFLICT),
            Self::UpstreamUnavailable => ("cluster_unavailable_exception", StatusCode::SERVICE_UNAVAILABLE),
            Self::UpstreamTimeout => ("cluster_timeout_exception", StatusCode::GATEWAY_TIMEOUT),
            Self::UpstreamError => ("cluster_error_exception", StatusCode::BAD_GATEWAY),
        }
    }
}

/// An error answer. Either one of ours, or Elasticsearch's own error passed through unchanged
/// (for example 401/403 from a secured cluster).
#[derive(Debug, Clone)]
pub enum ApiError {
    Own {
        kind: ErrorType,
        reason: String,
        /// Fields Elasticsearch adds beside `type` and `reason` (`index` on a missing document).
        metadata: Vec<(&'static str, Value)>,
        /// The error underneath, shown as `caused_by` (a parse error's cause).
        caused_by: Option<Box<ApiError>>,
        /// Extra response headers (`Allow` on 405).
        headers: Vec<(header::HeaderName, HeaderValue)>,
    },
    Upstream {
        status: StatusCode,
        body: Value,
        headers: Vec<(header::HeaderName, HeaderValue)>,
    },
}

impl ApiError {
    pub fn new(kind: ErrorType, reason: impl Into<String>) -> Self {
        Self::Own {
            kind,
            reason: reason.into(),
            metadata: Vec::new(),
            caused_by: None,
            headers: Vec::new(),
        }
    }

    /// The same error with `cause` as its `caused_by`.
    pub fn caused_by(mut self, cause: ApiError) -> Self {
        if let Self::Own { caused_by, .. } = &mut self {
            *caused_by = Some(Box::new(cause));
        }
        self
    }

    /// The same error with one more field beside `type` and `reason`.
    pub fn with_metadata(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        if let Self::Own { metadata, .. } = &mut self {
            metadata.push((name, value.into()));
        }
        self
    }

    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        match &mut self {
            Self::Own { headers, .. } | Self::Upstream { headers, .. } => headers.push((name, value)),
        }
        self
    }

    pub fn job_not_found(connector_sync_job_id: &str) -> Self {
        Self::new(
            ErrorType::ResourceNotFound,
            format!("connector sync job [{connector_sync_job_id}] not found"),
        )
    }

    /// Elasticsearch's answer for a connector that does not exist, is soft-deleted, or whose
    /// index does not exist.
    pub fn connector_not_found(connector_id: &str) -> Self {
        Self::new(
            ErrorType::ResourceNotFound,
            format!("connector [{connector_id}] not found"),
        )
    }

    /// Elasticsearch's answer to a partial update of a document that does not exist.
    pub fn document_missing(id: &str, index: &str) -> Self {
        Self::new(ErrorType::DocumentMissing, format!("[{id}]: document missing"))
            .with_metadata("index", index)
    }

    /// Elasticsearch's answer to a request validation failure: every problem, numbered.
    pub fn validation<I: IntoIterator<Item = String>>(problems: I) -> Self {
        let reason: String = problems
            .into_iter()
            .enumerate()
            .map(|(n, problem)| format!("{}: {problem};", n + 1))
            .collect();
        Self::new(
            ErrorType::ActionRequestValidation,
            format!("Validation Failed: {reason}"),
        )
    }

    /// A sync-job transition the connector protocol forbids, with the cause Elasticsearch gives.
    pub fn invalid_transition(from: &str, to: &str) -> Self {
        let reason = format!(
            "Invalid transition attempt from [{from}] to [{to}]. Such a ConnectorSyncStatus transition is not supported by the Connector Protocol."
        );
        Self::new(ErrorType::Status, reason.clone())
            .caused_by(Self::new(ErrorType::SyncJobInvalidStatusTransition, reason))
    }

    /// Elasticsearch's answer for an index that does not exist.
    pub fn index_not_found(index: &str) -> Self {
        Self::new(ErrorType::IndexNotFound, format!("no such index [{index}]"))
            .with_metadata("resource.type", "index_or_alias")
            .with_metadata("resource.id", index)
            .with_metadata("index_uuid", "_na_")
            .with_metadata("index", index)
    }

    /// The type name this error answers with (Elasticsearch's, for a passed-through error).
    pub fn type_name(&self) -> &str {
        match self {
            Self::Own { kind, .. } => kind.name(),
            Self::Upstream { body, .. } => body["error"]["type"].as_str().unwrap_or("unknown"),
        }
    }

    /// The reason this error answers with (Elasticsearch's, for a passed-through error).
    pub fn reason(&self) -> &str {
        match self {
            Self::Own { reason, .. } => reason,
            Self::Upstream { body, .. } => body["error"]["reason"].as_str().unwrap_or(""),
        }
    }

    pub fn body(&self) -> Value {
        match self {
            Self::Own { kind, .. } => json!({
                "error": self.cause_object(true),
                "status": kind.status().as_u16(),
            }),
            Self::Upstream { body, .. } => body.clone(),
        }
    }

    /// `type`, `reason` and metadata; the top-level object also lists `root_cause` first and
    /// carries the chain of causes.
    fn cause_object(&self, top: bool) -> Value {
        let Self::Own {
            kind,
            reason,
            metadata,
            caused_by,
            ..
        } = self
        else {
            return self.body()["error"].clone();
        };
        let mut object = serde_json::Map::new();
        if top {
            object.insert("root_cause".into(), json!([self.root_cause()]));
        }
        object.insert("type".into(), kind.name().into());
        object.insert("reason".into(), reason.as_str().into());
        for (name, value) in metadata {
            object.insert((*name).into(), value.clone());
        }
        if let Some(cause) = caused_by {
            object.insert("caused_by".into(), cause.cause_object(false));
        }
        Value::Object(object)
    }

    /// The error Elasticsearch names as the root cause: the outermost one, except that a parse
    /// error caused by another parse error is unwrapped to the innermost.
    fn root_cause(&self) -> Value {
        if let Self::Own {
            kind: ErrorType::XContentParse,
            caused_by: Some(cause),
            ..
        } = self
        {
            if cause.type_name() == ErrorType::XContentParse.name() {
                return cause.root_cause();
            }
        }
        let mut cause = self.cause_object(false);
        if let Some(object) = cause.as_object_mut() {
            object.remove("caused_by");
        }
        cause
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Own { kind, reason, .. } => write!(f, "{}: {reason}", kind.name()),
            Self::Upstream { status, body, .. } => write!(f, "cluster answered {status}: {body}"),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Own { kind, .. } => kind.status(),
            Self::Upstream { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        let headers = match self {
            Self::Own { headers, .. } | Self::Upstream { headers, .. } => headers,
        };
        for (name, value) in headers {
            response.append_header((name.clone(), value.clone()));
        }
        response.json(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_repeats_the_cause_in_root_cause() {
        let body = ApiError::job_not_found("abc").body();
        assert_eq!(
            body,
            json!({
                "error": {
                    "root_cause": [{"type": "resource_not_found_exception", "reason": "connector sync job [abc] not found"}],
                    "type": "resource_not_found_exception",
                    "reason": "connector sync job [abc] not found"
                },
                "status": 404
            })
        );
    }

    #[test]
    fn status_follows_the_type() {
        let err = ApiError::invalid_transition("completed", "canceling");
        assert_eq!(err.status_code(), StatusCode::BAD_REQUEST);
        assert_eq!(err.body()["error"]["type"], "status_exception");
    }
}
