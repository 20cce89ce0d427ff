//! The connector domain's errors in Elasticsearch's words and envelope.

use crate::connector::errors::{ConnectorError, Invalid};
use crate::connector::model::MANAGED_INDEX_PREFIX;
use crate::error::{ApiError, ErrorType};

impl From<ConnectorError> for ApiError {
    fn from(err: ConnectorError) -> Self {
        use ConnectorError::*;
        match err {
            NotFound { connector_id } => ApiError::connector_not_found(&connector_id),
            DocumentMissing {
                connector_id,
                index,
            } => ApiError::document_missing(&connector_id, &index),
            Invalid(problems) => ApiError::validation(problems.iter().map(problem)),
            InvalidTransition { from, to } => {
                let reason = format!(
                    "Invalid transition attempt from [{from}] to [{to}]. Such a status transition is not supported by the Connector Protocol."
                );
                ApiError::new(ErrorType::Status, reason.clone())
                    .caused_by(ApiError::new(ErrorType::ConnectorInvalidStatusTransition, reason))
            }
            UnknownName { kind, value } => {
                ApiError::new(ErrorType::IllegalArgument, format!("Unknown {kind} [{value}]."))
            }
            IndexNameInUse { index_name } => ApiError::new(
                ErrorType::Status,
                format!("Index name [{index_name}] is used by another connector."),
            ),
            UnmanagedIndexName { index_name } => ApiError::new(
                ErrorType::Status,
                format!("Index attached to an Elastic-managed connector must start with the prefix: [{MANAGED_INDEX_PREFIX}]. The index name in the payload [{index_name}] doesn't comply with this requirement."),
            ),
            UnmanagedIndexOfNative {
                connector_id,
                index_name,
            } => ApiError::new(
                ErrorType::Status,
                format!("The index name [{index_name}] attached to the connector [{connector_id}] must start with the required prefix: [{MANAGED_INDEX_PREFIX}] to be Elastic-managed. Please update the attached index first to comply with this requirement."),
            ),
            UnknownConfigurationFields(fields) => ApiError::new(
                ErrorType::Status,
                format!(
                    "Unknown [configuration] fields in the request payload: [{}]. Remove them from request or register their schema first.",
                    fields.join(", ")
                ),
            ),
            DraftNotValidated { state } => ApiError::new(
                ErrorType::Status,
                format!("Filtering draft needs to be validated by the connector service before activation. Current filtering draft validation state [{state}] is not equal to [valid]."),
            ),
            SyncJobsNotDeleted {
                connector_id,
                reasons,
            } => ApiError::new(
                ErrorType::Internal,
                format!(
                    "Error deleting sync jobs associated with connector [{connector_id}] {}",
                    reasons.join("\n")
                ),
            ),
            InvalidCron { expression, reason } => ApiError::new(
                ErrorType::IllegalArgument,
                format!("invalid cron expression [{expression}]"),
            )
            .caused_by(ApiError::new(
                ErrorType::IllegalArgument,
                format!("illegal cron expression format [{reason}]"),
            )),
            Cluster(err) => err,
        }
    }
}

/// One problem of an invalid request, as Elasticsearch's request validation words it.
fn problem(problem: &Invalid) -> String {
    match problem {
        Invalid::IndexName { index_name, reason } => format!(
            "[{index_name}] org.elasticsearch.indices.InvalidIndexNameException: Invalid index name [{index_name}], {reason}"
        ),
        Invalid::UnmanagedIndexName { index_name } => format!(
            "Index [{index_name}] is invalid. Index attached to an Elastic-managed connector must start with the prefix: [{MANAGED_INDEX_PREFIX}]"
        ),
        Invalid::NoConfiguration => "[configuration] and [values] cannot both be null.".to_owned(),
        Invalid::ConfigurationAndValues => {
            "[configuration] and [values] cannot both be provided in the same request.".to_owned()
        }
        Invalid::FilteringAndDraft => "If [filtering] is specified, [rules] and [advanced_snippet] should not be present in the request body.".to_owned(),
        Invalid::NoDraft => "[advanced_snippet] and [rules] cannot be both [null].".to_owned(),
        Invalid::NoSchedule => "[scheduling] object needs to define at least one schedule type: [full | incremental | access_control]".to_owned(),
        Invalid::NoServiceType => "[service_type] cannot be [null] or [\"\"].".to_owned(),
        Invalid::NoStatus => "[status] cannot be [null].".to_owned(),
        Invalid::NeitherGiven { first, second } => format!(
            "[{first}] and [{second}] cannot both be [null]. Please provide a value for at least one of them."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::status::ConnectorStatus;

    fn answer(err: ConnectorError) -> serde_json::Value {
        ApiError::from(err).body()["error"].clone()
    }

    #[test]
    fn each_refusal_is_worded_as_elasticsearch_words_it() {
        let error = answer(ConnectorError::InvalidTransition {
            from: ConnectorStatus::Created,
            to: ConnectorStatus::Connected,
        });
        assert_eq!(
            error["reason"],
            "Invalid transition attempt from [created] to [connected]. Such a status transition is not supported by the Connector Protocol."
        );
        assert_eq!(error["type"], "status_exception");
        assert_eq!(
            error["caused_by"]["type"],
            "connector_invalid_status_transition_exception"
        );
        let error = answer(ConnectorError::Invalid(vec![
            Invalid::IndexName {
                index_name: "_x".into(),
                reason: "must not start with '_', '-', or '+'".into(),
            },
            Invalid::NoStatus,
        ]));
        assert_eq!(
            error["reason"],
            "Validation Failed: 1: [_x] org.elasticsearch.indices.InvalidIndexNameException: Invalid index name [_x], must not start with '_', '-', or '+';2: [status] cannot be [null].;"
        );
        let error = answer(ConnectorError::UnknownName {
            kind: "ConnectorStatus",
            value: "bogus".into(),
        });
        assert_eq!(
            (error["type"].as_str(), error["reason"].as_str()),
            (
                Some("illegal_argument_exception"),
                Some("Unknown ConnectorStatus [bogus].")
            )
        );
        let error = answer(ConnectorError::UnknownConfigurationFields(vec!["zz".into()]));
        assert_eq!(
            error["reason"],
            "Unknown [configuration] fields in the request payload: [zz]. Remove them from request or register their schema first."
        );
        let error = answer(ConnectorError::DraftNotValidated {
            state: "edited".into(),
        });
        assert_eq!(
            error["reason"],
            "Filtering draft needs to be validated by the connector service before activation. Current filtering draft validation state [edited] is not equal to [valid]."
        );
        let error = answer(ConnectorError::NotFound {
            connector_id: "c".into(),
        });
        assert_eq!(error["reason"], "connector [c] not found");
    }
}
