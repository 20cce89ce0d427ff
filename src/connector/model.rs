//! The connector document: the one a new connector starts as, its status and the state machine
//! `_status` follows, and the closed sets of names Elasticsearch parses its enums from.

use serde_json::{json, Map, Value};

use super::errors::ConnectorError;
use super::requests::{PutConnector, UpdateFeatures, UpdatePipeline};
use super::status::ConnectorStatus;
use super::{filtering, scheduling};
use crate::documents::Source;

/// The prefix an index attached to an Elastic-managed (native) connector must have.
pub(crate) const MANAGED_INDEX_PREFIX: &str = "content-";

pub(crate) const STATUS: &str = "status";
pub(crate) const INDEX_NAME: &str = "index_name";
pub(crate) const IS_NATIVE: &str = "is_native";
pub(crate) const DELETED: &str = "deleted";

/// A closed set of names, read as Elasticsearch reads one of its enums: `Unknown <Enum> [x].`
/// for anything else.
pub(crate) struct Names {
    /// The Java enum, as the message names it.
    pub kind: &'static str,
    /// The names as they are stored.
    pub names: &'static [&'static str],
    /// Whether a name may be given in any case (Elasticsearch compares some enums by name,
    /// ignoring case, and others by their exact value).
    pub ignore_case: bool,
}

impl Names {
    /// The stored spelling of `value`, or the refusal naming the set.
    pub(crate) fn parse(&self, value: &str) -> Result<&'static str, ConnectorError> {
        self.names
            .iter()
            .copied()
            .find(|name| {
                if self.ignore_case {
                    name.eq_ignore_ascii_case(value)
                } else {
                    *name == value
                }
            })
            .ok_or_else(|| ConnectorError::UnknownName {
                kind: self.kind,
                value: value.to_owned(),
            })
    }
}

/// The refusal of a status that is not a `ConnectorStatus`.
pub(crate) fn unknown_status(value: &str) -> ConnectorError {
    ConnectorError::UnknownName {
        kind: "ConnectorStatus",
        value: value.to_owned(),
    }
}

/// The document of a new connector, field for field in the order Elasticsearch writes it;
/// `now` stamps the default filtering.
pub(crate) fn new_connector(creation: &PutConnector, now: &str) -> Source {
    let mut doc = Map::new();
    let mut put = |name: &str, value: Value| {
        doc.insert(name.to_owned(), value);
    };
    put("configuration", json!({}));
    put("custom_scheduling", json!({}));
    if let Some(description) = &creation.description {
        put("description", description.as_str().into());
    }
    put("filtering", json!([filtering::default_filtering(now)]));
    if let Some(index_name) = &creation.index_name {
        put(INDEX_NAME, index_name.as_str().into());
    }
    put(IS_NATIVE, creation.is_native.into());
    if let Some(language) = &creation.language {
        put("language", language.as_str().into());
    }
    put("name", creation.name.as_deref().unwrap_or_default().into());
    put("scheduling", scheduling::default_scheduling());
    if let Some(service_type) = &creation.service_type {
        put("service_type", service_type.as_str().into());
    }
    let status = if creation.is_native {
        ConnectorStatus::NeedsConfiguration
    } else {
        ConnectorStatus::Created
    };
    put(STATUS, status.as_str().into());
    put("sync_now", false.into());
    put(DELETED, false.into());
    doc
}

/// The features of `_features` as Elasticsearch writes them: only those given.
pub(crate) fn features(given: &UpdateFeatures) -> Value {
    let enabled = |enabled: bool| json!({ "enabled": enabled });
    let mut out = Map::new();
    for (name, feature) in [
        ("document_level_security", given.document_level_security),
        ("incremental_sync", given.incremental_sync),
        ("native_connector_api_keys", given.native_connector_api_keys),
    ] {
        if let Some(feature) = feature {
            out.insert(name.into(), enabled(feature));
        }
    }
    if let Some(sync_rules) = &given.sync_rules {
        let mut features = Map::new();
        for (name, feature) in [("advanced", sync_rules.advanced), ("basic", sync_rules.basic)] {
            if let Some(feature) = feature {
                features.insert(name.into(), enabled(feature));
            }
        }
        out.insert("sync_rules".into(), Value::Object(features));
    }
    Value::Object(out)
}

/// The pipeline of `_pipeline` as Elasticsearch writes it.
pub(crate) fn pipeline(given: &UpdatePipeline) -> Value {
    json!({
        "extract_binary_content": given.extract_binary_content,
        "name": given.name,
        "reduce_whitespace": given.reduce_whitespace,
        "run_ml_inference": given.run_ml_inference,
    })
}

/// Whether a stored connector is soft-deleted.
pub(crate) fn is_deleted(source: &Source) -> bool {
    source.get(DELETED).and_then(Value::as_bool) == Some(true)
}

/// The index name a stored connector holds, if any.
pub(crate) fn index_name(source: &Source) -> Option<&str> {
    source.get(INDEX_NAME).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_elasticsearch_reads_its_enums() {
        assert_eq!(filtering::POLICY.parse("INCLUDE").unwrap(), "include");
        assert!(matches!(
            filtering::POLICY.parse("bogus"),
            Err(ConnectorError::UnknownName { kind: "FilteringPolicy", value }) if value == "bogus"
        ));
        assert!(filtering::RULE_CONDITION.parse("EQUALS").is_err());
    }

    #[test]
    fn a_new_connector_has_exactly_elasticsearchs_fields_in_its_order() {
        let doc = new_connector(
            &PutConnector {
                index_name: Some("search-x".into()),
                name: Some("n".into()),
                ..PutConnector::default()
            },
            "T",
        );
        let keys: Vec<&str> = doc.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "configuration",
                "custom_scheduling",
                "filtering",
                "index_name",
                "is_native",
                "name",
                "scheduling",
                "status",
                "sync_now",
                "deleted"
            ]
        );
        assert_eq!(doc["status"], "created");
        let native = new_connector(
            &PutConnector {
                is_native: true,
                ..PutConnector::default()
            },
            "T",
        );
        assert_eq!(native["status"], "needs_configuration");
        assert_eq!(native["name"], "");
    }
}
