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
    /// The job, the index or the route does not exist.
    ResourceNotFound,
    /// The connector protocol does not allow the transition.
    Status,
    /// The request itself is invalid (empty or over-long id).
    ActionRequestValidation,
    /// A parameter, body or document value the operation cannot work with.
    IllegalArgument,
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
            Self::Status => ("status_exception", StatusCode::BAD_REQUEST),
            Self::ActionRequestValidation => ("action_request_validation_exception", StatusCode::BAD_REQUEST),
            Self::IllegalArgument => ("illegal_argument_exception", StatusCode::BAD_REQUEST),
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
#[derive(Debug)]
pub enum ApiError {
    Own {
        kind: ErrorType,
        reason: String,
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
            headers: Vec::new(),
        }
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

    pub fn invalid_transition(from: &str, to: &str) -> Self {
        Self::new(
            ErrorType::Status,
            format!(
                "Invalid transition attempt from [{from}] to [{to}]. Such a ConnectorSyncStatus transition is not supported by the Connector Protocol."
            ),
        )
    }

    /// The type name this error answers with (Elasticsearch's, for a passed-through error).
    pub fn type_name(&self) -> &str {
        match self {
            Self::Own { kind, .. } => kind.name(),
            Self::Upstream { body, .. } => body["error"]["type"].as_str().unwrap_or("unknown"),
        }
    }

    pub fn body(&self) -> Value {
        match self {
            Self::Own { kind, reason, .. } => json!({
                "error": {
                    "root_cause": [{ "type": kind.name(), "reason": reason }],
                    "type": kind.name(),
                    "reason": reason,
                },
                "status": kind.status().as_u16(),
            }),
            Self::Upstream { body, .. } => body.clone(),
        }
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
