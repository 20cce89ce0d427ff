//! What each connector request accepts: its body parser, named as Elasticsearch names it in
//! its errors, and the nested objects only one request takes (features, pipeline).

use serde_json::{json, Map, Value};

use super::status::ConnectorStatus;
use super::{configuration, filtering, scheduling};
use crate::error::{ApiError, ErrorType};
use crate::http::json::{Json, JsonValue};
use crate::http::request::{read_bool, BodyParser, Kind, Nested};
use crate::sync_job::status::ConnectorSyncStatus;

/// PUT and POST `/_connector`: Elasticsearch uses one parser for both.
pub const PUT: BodyParser = BodyParser {
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

pub const API_KEY_ID: BodyParser = BodyParser {
    name: "connector_update_api_key_id_request",
    fields: &[
        ("api_key_id", Kind::StrOrNull),
        ("api_key_secret_id", Kind::StrOrNull),
    ],
    required: &[],
};

pub const CONFIGURATION: BodyParser = BodyParser {
    name: "connector_update_configuration_request",
    fields: &[
        ("configuration", Kind::NestedMap(&configuration::ENTRY)),
        ("values", Kind::Object),
    ],
    required: &[],
};

pub const ERROR: BodyParser = BodyParser {
    name: "connector_update_error_request",
    fields: &[("error", Kind::StrOrNull)],
    required: &["error"],
};

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
pub const FEATURES: BodyParser = BodyParser {
    name: "connector_update_features_request",
    fields: &[("features", Kind::Nested(&FEATURES_OBJECT))],
    required: &["features"],
};

pub const FILTERING: BodyParser = BodyParser {
    name: "connector_update_filtering_request",
    fields: &[
        ("filtering", Kind::NestedArray(&filtering::FILTERING)),
        ("rules", Kind::NestedArray(&filtering::RULE)),
        ("advanced_snippet", Kind::Nested(&filtering::ADVANCED_SNIPPET)),
    ],
    required: &[],
};

pub const FILTERING_VALIDATION: BodyParser = BodyParser {
    name: "connector_update_filtering_validation",
    fields: &[("validation", Kind::Nested(&filtering::VALIDATION))],
    required: &["validation"],
};

pub const INDEX_NAME: BodyParser = BodyParser {
    name: "connector_update_index_name_request",
    fields: &[("index_name", Kind::StrOrNull)],
    required: &["index_name"],
};

fn check_sync_status(value: &Json) -> Result<(), ApiError> {
    match &value.value {
        JsonValue::String(text) if ConnectorSyncStatus::from_param(text).is_none() => Err(ApiError::new(
            ErrorType::IllegalArgument,
            format!("Unknown ConnectorSyncStatus [{text}]."),
        )),
        _ => Ok(()),
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
        None => Err(super::model::unknown_status(text)),
    }
}

const DATE_OR_NULL: Kind = Kind::Checked(&Kind::StrOrNull, filtering::check_date);
const SYNC_STATUS_OR_NULL: Kind = Kind::Checked(&Kind::StrOrNull, check_sync_status);

/// The fields of `_last_sync`, in the order Elasticsearch writes them.
pub const LAST_SYNC: BodyParser = BodyParser {
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

pub const NAME: BodyParser = BodyParser {
    name: "connector_update_name_request",
    fields: &[("name", Kind::StrOrNull), ("description", Kind::StrOrNull)],
    required: &[],
};

pub const NATIVE: BodyParser = BodyParser {
    name: "connector_update_native_request",
    fields: &[("is_native", Kind::Bool)],
    required: &["is_native"],
};

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

pub const PIPELINE: BodyParser = BodyParser {
    name: "connector_update_pipeline_request",
    fields: &[("pipeline", Kind::Nested(&PIPELINE_OBJECT))],
    required: &["pipeline"],
};

pub const SCHEDULING: BodyParser = BodyParser {
    name: "connector_update_scheduling_request",
    fields: &[("scheduling", Kind::Nested(&scheduling::SCHEDULING))],
    required: &["scheduling"],
};

pub const SERVICE_TYPE: BodyParser = BodyParser {
    name: "connector_update_service_type_request",
    fields: &[("service_type", Kind::Str)],
    required: &["service_type"],
};

pub const STATUS: BodyParser = BodyParser {
    name: "connector_update_status_request",
    fields: &[("status", Kind::Checked(&Kind::Str, check_status))],
    required: &[],
};

fn enabled(feature: &Value) -> Value {
    json!({"enabled": read_bool(&feature["enabled"])})
}

/// The features of a request that passed `FEATURES`, as Elasticsearch writes them: only those
/// given.
pub fn features(given: &Value) -> Value {
    let mut out = Map::new();
    for name in [
        "document_level_security",
        "incremental_sync",
        "native_connector_api_keys",
    ] {
        if let Some(feature) = given.get(name) {
            out.insert(name.into(), enabled(feature));
        }
    }
    if let Some(sync_rules) = given.get("sync_rules") {
        let mut rules = Map::new();
        for name in ["advanced", "basic"] {
            if let Some(feature) = sync_rules.get(name) {
                rules.insert(name.into(), enabled(feature));
            }
        }
        out.insert("sync_rules".into(), Value::Object(rules));
    }
    Value::Object(out)
}

/// The pipeline of a request that passed `PIPELINE`, as Elasticsearch writes it.
pub fn pipeline(given: &Value) -> Value {
    json!({
        "extract_binary_content": read_bool(&given["extract_binary_content"]),
        "name": given["name"],
        "reduce_whitespace": read_bool(&given["reduce_whitespace"]),
        "run_ml_inference": read_bool(&given["run_ml_inference"]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let given = json!({"sync_rules": {"basic": {"enabled": true}}, "document_level_security": {"enabled": "false", "x": 1}});
        assert_eq!(
            features(&given),
            json!({"document_level_security": {"enabled": false}, "sync_rules": {"basic": {"enabled": true}}})
        );
        assert_eq!(
            pipeline(
                &json!({"name": "p", "run_ml_inference": true, "extract_binary_content": false, "reduce_whitespace": "true"})
            ),
            json!({"extract_binary_content": false, "name": "p", "reduce_whitespace": true, "run_ml_inference": true})
        );
    }
}
