//! What each connector request accepts: its body parser, named as Elasticsearch names it in
//! its errors, and beside it the one function that builds the typed request from what the
//! parser read.

use serde_json::Value;

use super::{configuration, filtering};
use crate::connector::cron;
use crate::connector::requests::{
    PutConnector, Schedule, SyncRulesFeatures, UpdateApiKeyId, UpdateConfiguration, UpdateError,
    UpdateFeatures, UpdateFiltering, UpdateFilteringValidation, UpdateIndexName, UpdateLastSync, UpdateName,
    UpdateNative, UpdatePipeline, UpdateScheduling, UpdateServiceType, UpdateStatus,
};
use crate::connector::status::ConnectorStatus;
use crate::error::{ApiError, ErrorType};
use crate::http::json::{Json, JsonValue};
use crate::http::request::{read_bool, BodyParser, Fields, Kind, Nested};
use crate::sync_job::status::ConnectorSyncStatus;

/// A text field, `None` when absent or null.
fn text(body: &Fields, name: &str) -> Option<String> {
    body.str(name).map(str::to_owned)
}

/// PUT and POST `/_connector`: Elasticsearch uses one parser for both.
pub(crate) const PUT: BodyParser = BodyParser {
    name: "connector_put_request",
    fields: &[
        ("description", Kind::Str),
        ("index_name", Kind::StrOrNull),
        ("is_native", Kind::Bool),
        ("language", Kind::Str),
        ("name", Kind::Str),
        ("service_type", Kind::Str),
    ],
    required: &[],
};

pub(crate) fn put_connector(body: &Fields) -> PutConnector {
    PutConnector {
        description: text(body, "description"),
        index_name: text(body, "index_name"),
        is_native: body.bool("is_native").unwrap_or(false),
        language: text(body, "language"),
        name: text(body, "name"),
        service_type: text(body, "service_type"),
    }
}

pub(crate) const API_KEY_ID: BodyParser = BodyParser {
    name: "connector_update_api_key_id_request",
    fields: &[
        ("api_key_id", Kind::StrOrNull),
        ("api_key_secret_id", Kind::StrOrNull),
    ],
    required: &[],
};

pub(crate) fn update_api_key_id(body: &Fields) -> UpdateApiKeyId {
    UpdateApiKeyId {
        api_key_id: text(body, "api_key_id"),
        api_key_secret_id: text(body, "api_key_secret_id"),
    }
}

pub(crate) const CONFIGURATION: BodyParser = BodyParser {
    name: "connector_update_configuration_request",
    fields: &[
        ("configuration", Kind::NestedMap(&configuration::ENTRY)),
        ("values", Kind::Object),
    ],
    required: &[],
};

pub(crate) fn update_configuration(body: &Fields) -> UpdateConfiguration {
    UpdateConfiguration {
        configuration: body.object("configuration").map(|schema| {
            schema
                .iter()
                .map(|(key, given)| (key.clone(), configuration::entry(given)))
                .collect()
        }),
        values: body.object("values"),
    }
}

pub(crate) const ERROR: BodyParser = BodyParser {
    name: "connector_update_error_request",
    fields: &[("error", Kind::StrOrNull)],
    required: &["error"],
};

pub(crate) fn update_error(body: &Fields) -> UpdateError {
    UpdateError {
        error: text(body, "error"),
    }
}

const FEATURE: Nested = Nested {
    parser: BodyParser {
        name: "connector_feature_enabled",
        fields: &[("enabled", Kind::Bool)],
        required: &["enabled"],
    },
    lenient: true,
    build: None,
};

const SYNC_RULES_FEATURES: Nested = Nested {
    parser: BodyParser {
        name: "sync_rules_features",
        fields: &[
            ("advanced", Kind::Nested(&FEATURE)),
            ("basic", Kind::Nested(&FEATURE)),
        ],
        required: &[],
    },
    lenient: true,
    build: None,
};

const FEATURES_OBJECT: Nested = Nested {
    parser: BodyParser {
        name: "connector_features",
        fields: &[
            ("document_level_security", Kind::Nested(&FEATURE)),
            ("incremental_sync", Kind::Nested(&FEATURE)),
            ("native_connector_api_keys", Kind::Nested(&FEATURE)),
            ("sync_rules", Kind::Nested(&SYNC_RULES_FEATURES)),
        ],
        required: &[],
    },
    lenient: true,
    build: None,
};

/// `features` is required here; Elasticsearch accepts a body without it and then fails with a
/// server error.
pub(crate) const FEATURES: BodyParser = BodyParser {
    name: "connector_update_features_request",
    fields: &[("features", Kind::Nested(&FEATURES_OBJECT))],
    required: &["features"],
};

pub(crate) fn update_features(body: &Fields) -> UpdateFeatures {
    let given = body.value("features").unwrap_or_default();
    let enabled = |feature: Option<&Value>| feature.map(|feature| read_bool(&feature["enabled"]));
    UpdateFeatures {
        document_level_security: enabled(given.get("document_level_security")),
        incremental_sync: enabled(given.get("incremental_sync")),
        native_connector_api_keys: enabled(given.get("native_connector_api_keys")),
        sync_rules: given.get("sync_rules").map(|sync_rules| SyncRulesFeatures {
            advanced: enabled(sync_rules.get("advanced")),
            basic: enabled(sync_rules.get("basic")),
        }),
    }
}

pub(crate) const FILTERING: BodyParser = BodyParser {
    name: "connector_update_filtering_request",
    fields: &[
        ("filtering", Kind::NestedArray(&filtering::FILTERING)),
        ("rules", Kind::NestedArray(&filtering::RULE)),
        ("advanced_snippet", Kind::Nested(&filtering::ADVANCED_SNIPPET)),
    ],
    required: &[],
};

pub(crate) fn update_filtering(body: &Fields) -> UpdateFiltering {
    UpdateFiltering {
        filtering: body.value("filtering").map(|list| filtering::filtering(&list)),
        rules: body.value("rules").map(|rules| {
            filtering::items(Some(&rules))
                .iter()
                .map(filtering::rule)
                .collect()
        }),
        advanced_snippet: body
            .value("advanced_snippet")
            .map(|snippet| filtering::advanced_snippet(&snippet)),
    }
}

pub(crate) const FILTERING_VALIDATION: BodyParser = BodyParser {
    name: "connector_update_filtering_validation",
    fields: &[("validation", Kind::Nested(&filtering::VALIDATION))],
    required: &["validation"],
};

pub(crate) fn update_filtering_validation(body: &Fields) -> UpdateFilteringValidation {
    UpdateFilteringValidation {
        validation: filtering::validation(&body.value("validation").unwrap_or_default()),
    }
}

pub(crate) const INDEX_NAME: BodyParser = BodyParser {
    name: "connector_update_index_name_request",
    fields: &[("index_name", Kind::StrOrNull)],
    required: &["index_name"],
};

pub(crate) fn update_index_name(body: &Fields) -> UpdateIndexName {
    UpdateIndexName {
        index_name: text(body, "index_name"),
    }
}

fn check_sync_status(value: &Json) -> Result<(), ApiError> {
    match &value.value {
        JsonValue::String(text) if ConnectorSyncStatus::from_param(text).is_none() => Err(ApiError::new(
            ErrorType::IllegalArgument,
            format!("Unknown ConnectorSyncStatus [{text}]."),
        )),
        _ => Ok(()),
    }
}

const DATE_OR_NULL: Kind = Kind::Checked(&Kind::StrOrNull, filtering::check_date);
const SYNC_STATUS_OR_NULL: Kind = Kind::Checked(&Kind::StrOrNull, check_sync_status);

/// The fields of `_last_sync`, in the order Elasticsearch writes them.
pub(crate) const LAST_SYNC: BodyParser = BodyParser {
    name: "connector_update_last_sync_stats_request",
    fields: &[
        ("last_access_control_sync_error", Kind::StrOrNull),
        ("last_access_control_sync_scheduled_at", DATE_OR_NULL),
        ("last_access_control_sync_status", SYNC_STATUS_OR_NULL),
        ("last_deleted_document_count", Kind::Long),
        ("last_incremental_sync_scheduled_at", DATE_OR_NULL),
        ("last_indexed_document_count", Kind::Long),
        ("last_sync_error", Kind::StrOrNull),
        ("last_sync_scheduled_at", DATE_OR_NULL),
        ("last_sync_status", SYNC_STATUS_OR_NULL),
        ("last_synced", DATE_OR_NULL),
        ("sync_cursor", Kind::ObjectOrNull),
    ],
    required: &[],
};

pub(crate) fn update_last_sync(body: &Fields) -> UpdateLastSync {
    let sync_status = |name: &str| body.str(name).and_then(ConnectorSyncStatus::from_param);
    UpdateLastSync {
        last_access_control_sync_error: text(body, "last_access_control_sync_error"),
        last_access_control_sync_scheduled_at: text(body, "last_access_control_sync_scheduled_at"),
        last_access_control_sync_status: sync_status("last_access_control_sync_status"),
        last_deleted_document_count: body.long("last_deleted_document_count"),
        last_incremental_sync_scheduled_at: text(body, "last_incremental_sync_scheduled_at"),
        last_indexed_document_count: body.long("last_indexed_document_count"),
        last_sync_error: text(body, "last_sync_error"),
        last_sync_scheduled_at: text(body, "last_sync_scheduled_at"),
        last_sync_status: sync_status("last_sync_status"),
        last_synced: text(body, "last_synced"),
        sync_cursor: body.object("sync_cursor"),
    }
}

pub(crate) const NAME: BodyParser = BodyParser {
    name: "connector_update_name_request",
    fields: &[("name", Kind::StrOrNull), ("description", Kind::StrOrNull)],
    required: &[],
};

pub(crate) fn update_name(body: &Fields) -> UpdateName {
    UpdateName {
        name: text(body, "name"),
        description: text(body, "description"),
    }
}

pub(crate) const NATIVE: BodyParser = BodyParser {
    name: "connector_update_native_request",
    fields: &[("is_native", Kind::Bool)],
    required: &["is_native"],
};

pub(crate) fn update_native(body: &Fields) -> UpdateNative {
    UpdateNative {
        is_native: body.bool("is_native").unwrap_or(false),
    }
}

const PIPELINE_OBJECT: Nested = Nested {
    parser: BodyParser {
        name: "connector_ingest_pipeline",
        fields: &[
            ("extract_binary_content", Kind::Bool),
            ("name", Kind::Str),
            ("reduce_whitespace", Kind::Bool),
            ("run_ml_inference", Kind::Bool),
        ],
        required: &[
            "extract_binary_content",
            "name",
            "reduce_whitespace",
            "run_ml_inference",
        ],
    },
    lenient: true,
    build: None,
};

pub(crate) const PIPELINE: BodyParser = BodyParser {
    name: "connector_update_pipeline_request",
    fields: &[("pipeline", Kind::Nested(&PIPELINE_OBJECT))],
    required: &["pipeline"],
};

pub(crate) fn update_pipeline(body: &Fields) -> UpdatePipeline {
    let given = body.value("pipeline").unwrap_or_default();
    UpdatePipeline {
        extract_binary_content: read_bool(&given["extract_binary_content"]),
        name: given["name"].as_str().unwrap_or_default().to_owned(),
        reduce_whitespace: read_bool(&given["reduce_whitespace"]),
        run_ml_inference: read_bool(&given["run_ml_inference"]),
    }
}

/// One schedule. Elasticsearch builds its cron expression once both fields arrived, so a bad
/// expression is reported under the later of the two.
const SCHEDULE: Nested = Nested {
    parser: BodyParser {
        name: "schedule_config",
        fields: &[("enabled", Kind::Bool), ("interval", Kind::Str)],
        required: &["enabled", "interval"],
    },
    lenient: true,
    build: Some(|fields| cron::check(fields.str("interval").unwrap_or_default()).map_err(ApiError::from)),
};

const SCHEDULING_OBJECT: Nested = Nested {
    parser: BodyParser {
        name: "connector_scheduling",
        fields: &[
            ("access_control", Kind::Nested(&SCHEDULE)),
            ("full", Kind::Nested(&SCHEDULE)),
            ("incremental", Kind::Nested(&SCHEDULE)),
        ],
        required: &[],
    },
    lenient: true,
    build: None,
};

pub(crate) const SCHEDULING: BodyParser = BodyParser {
    name: "connector_update_scheduling_request",
    fields: &[("scheduling", Kind::Nested(&SCHEDULING_OBJECT))],
    required: &["scheduling"],
};

pub(crate) fn update_scheduling(body: &Fields) -> UpdateScheduling {
    let given = body.value("scheduling").unwrap_or_default();
    let schedule = |kind: &str| {
        given.get(kind).map(|schedule| Schedule {
            enabled: read_bool(&schedule["enabled"]),
            interval: schedule["interval"].as_str().unwrap_or_default().to_owned(),
        })
    };
    UpdateScheduling {
        access_control: schedule("access_control"),
        full: schedule("full"),
        incremental: schedule("incremental"),
    }
}

pub(crate) const SERVICE_TYPE: BodyParser = BodyParser {
    name: "connector_update_service_type_request",
    fields: &[("service_type", Kind::Str)],
    required: &["service_type"],
};

pub(crate) fn update_service_type(body: &Fields) -> UpdateServiceType {
    UpdateServiceType {
        service_type: text(body, "service_type").unwrap_or_default(),
    }
}

/// A status of `_status` (null reads as the text `null`, as Elasticsearch passes it on).
fn check_status(value: &Json) -> Result<(), ApiError> {
    let text = match &value.value {
        JsonValue::String(text) => text.as_str(),
        _ => "null",
    };
    match ConnectorStatus::parse(text) {
        Some(_) => Ok(()),
        None => Err(crate::connector::model::unknown_status(text).into()),
    }
}

pub(crate) const STATUS: BodyParser = BodyParser {
    name: "connector_update_status_request",
    fields: &[("status", Kind::Checked(&Kind::Str, check_status))],
    required: &[],
};

pub(crate) fn update_status(body: &Fields) -> UpdateStatus {
    UpdateStatus {
        status: body.str("status").and_then(ConnectorStatus::parse),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::connector::model::{features, pipeline};

    fn reason(err: &ApiError) -> String {
        err.body()["error"]["reason"].as_str().unwrap().to_owned()
    }

    #[test]
    fn elasticsearchs_examples_answer_the_same() {
        let err = PUT.parse(br#"{"index_name":"search-x","foo":1}"#).unwrap_err();
        assert_eq!(reason(&err), "[1:26] [connector_put_request] unknown field [foo]");
        let err = PUT.parse(br#"{"nam":"x"}"#).unwrap_err();
        assert_eq!(
            reason(&err),
            "[1:2] [connector_put_request] unknown field [nam] did you mean [name]?"
        );
        let err = FEATURES
            .parse(br#"{"featuresss":{"not_a_feature":12423}}"#)
            .unwrap_err();
        assert_eq!(
            reason(&err),
            "[1:2] [connector_update_features_request] unknown field [featuresss] did you mean [features]?"
        );
        let err = PUT.parse(br#"{"name":123}"#).unwrap_err();
        assert_eq!(
            reason(&err),
            "[1:9] [connector_put_request] name doesn't support values of type: VALUE_NUMBER"
        );
        let err = STATUS.parse(br#"{"status":"bogus"}"#).unwrap_err();
        assert_eq!(
            reason(&err),
            "[1:11] [connector_update_status_request] failed to parse field [status]"
        );
        assert_eq!(
            err.body()["error"]["caused_by"]["reason"],
            "Unknown ConnectorStatus [bogus]."
        );
        let err = LAST_SYNC.parse(br#"{"last_sync_status":"nope"}"#).unwrap_err();
        assert_eq!(
            err.body()["error"]["caused_by"]["reason"],
            "Unknown ConnectorSyncStatus [nope]."
        );
        let err = LAST_SYNC
            .parse(br#"{"last_access_control_sync_scheduled_at":"this is not a timestamp"}"#)
            .unwrap_err();
        assert_eq!(
            reason(&err),
            "[1:42] [connector_update_last_sync_stats_request] failed to parse field [last_access_control_sync_scheduled_at]"
        );
        let err = PIPELINE.parse(b"{}").unwrap_err();
        assert_eq!(reason(&err), "Required [pipeline]");
        let err = PIPELINE
            .parse(br#"{"pipeline":{"extract_binary_content":true,"name":"p","run_ml_inference":false}}"#)
            .unwrap_err();
        assert_eq!(
            reason(&err),
            "[1:79] [connector_update_pipeline_request] failed to parse field [pipeline]"
        );
        assert_eq!(
            err.body()["error"]["caused_by"]["reason"],
            "Required [reduce_whitespace]"
        );
        let err = PIPELINE.parse(br#"{"pipeline":"x"}"#).unwrap_err();
        assert_eq!(
            reason(&err),
            "[1:13] [connector_update_pipeline_request] pipeline doesn't support values of type: VALUE_STRING"
        );
    }

    #[test]
    fn features_and_pipelines_are_written_as_given_in_elasticsearchs_shape() {
        let body = FEATURES
            .parse(br#"{"features":{"sync_rules": {"basic": {"enabled": true}}, "document_level_security": {"enabled": "false", "x": 1}}}"#)
            .unwrap();
        assert_eq!(
            features(&update_features(&body)),
            json!({"document_level_security": {"enabled": false}, "sync_rules": {"basic": {"enabled": true}}})
        );
        let body = PIPELINE
            .parse(br#"{"pipeline":{"name": "p", "run_ml_inference": true, "extract_binary_content": false, "reduce_whitespace": "true"}}"#)
            .unwrap();
        assert_eq!(
            pipeline(&update_pipeline(&body)),
            json!({"extract_binary_content": false, "name": "p", "reduce_whitespace": true, "run_ml_inference": true})
        );
    }

    #[test]
    fn a_bad_interval_fails_the_build_of_its_schedule() {
        let err = SCHEDULING
            .parse(br#"{"scheduling":{"access_control":{"enabled":true,"interval":"61 0 0 * * ?"}}}"#)
            .unwrap_err();
        let body = err.body();
        let mut reasons = Vec::new();
        let mut error = &body["error"];
        while error.is_object() {
            reasons.push(error["reason"].as_str().unwrap());
            error = &error["caused_by"];
        }
        assert_eq!(
            reasons,
            [
                "[1:60] [connector_update_scheduling_request] failed to parse field [scheduling]",
                "[1:60] [connector_scheduling] failed to parse field [access_control]",
                "[1:60] [schedule_config] failed to parse field [interval]",
                "Failed to build [schedule_config] after last required field arrived",
                "invalid cron expression [61 0 0 * * ?]",
                "illegal cron expression format [java.lang.IllegalArgumentException: Minute and Second values must be between 0 and 59]",
            ]
        );
        assert_eq!(
            body["error"]["root_cause"][0]["reason"],
            "Failed to build [schedule_config] after last required field arrived"
        );
    }

    #[test]
    fn configuration_entries_are_read_with_elasticsearchs_coercions() {
        let body = CONFIGURATION
            .parse(br#"{"configuration":{"x":{"value": 123, "label": "L", "display": "NUMERIC", "order": "4", "tooltip": null}}}"#)
            .unwrap();
        let request = update_configuration(&body);
        let (key, entry) = &request.configuration.as_ref().unwrap()[0];
        assert_eq!(key, "x");
        assert_eq!(entry.display, Some("numeric"));
        assert_eq!(entry.order, Some(Some(4)));
        assert_eq!(entry.tooltip, None);
        assert_eq!(entry.value, json!(123));
    }

    #[test]
    fn filtering_rules_are_read_in_their_stored_spelling() {
        let body = FILTERING
            .parse(br#"{"rules":{"field":"f","id":"r","order":"3","policy":"EXCLUDE","rule":"equals","value":"v","created_at":"2023-05-25T12:30:00Z"}}"#)
            .unwrap();
        let rules = update_filtering(&body).rules.unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(
            (rules[0].policy, rules[0].rule, rules[0].order),
            ("exclude", "equals", 3)
        );
        assert_eq!(rules[0].created_at.as_deref(), Some("2023-05-25T12:30:00Z"));
    }

    #[test]
    fn names_of_closed_sets_are_checked() {
        let err = FILTERING
            .parse(br#"{"rules":[{"field":"f","id":"r","order":1,"policy":"maybe","rule":"equals","value":"v"}]}"#)
            .unwrap_err();
        assert_eq!(
            err.body()["error"]["caused_by"]["caused_by"]["reason"],
            "Unknown FilteringPolicy [maybe]."
        );
        assert!(super::super::names(
            &crate::connector::filtering::POLICY,
            &crate::http::json::parse(br#""Include""#).unwrap()
        )
        .is_ok());
    }
}
