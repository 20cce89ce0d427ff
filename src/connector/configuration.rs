//! A connector's configuration: the schema of each entry as Elasticsearch reads and writes it,
//! and the two ways `_configuration` changes it (the whole schema, or only values of entries
//! that exist).

use serde_json::{json, Map, Value};

use super::errors::ConnectorError;
use super::model::{Names, STATUS};
use super::requests::ConfigurationEntry;
use super::status::ConnectorStatus;
use crate::documents::{merged, Source};

pub(crate) const DISPLAY: Names = Names {
    kind: "ConfigurationDisplayType",
    names: &["textbox", "textarea", "numeric", "toggle", "dropdown", "text"],
    ignore_case: true,
};

pub(crate) const FIELD_TYPE: Names = Names {
    kind: "ConfigurationFieldType",
    names: &["str", "int", "list", "bool"],
    ignore_case: false,
};

pub(crate) const VALIDATION_TYPE: Names = Names {
    kind: "ConfigurationValidationType",
    names: &["less_than", "greater_than", "list_type", "included_in", "regex"],
    ignore_case: true,
};

/// An entry as Elasticsearch writes it: `default_value`, `label`, `required`, `sensitive` and
/// `value` always, the rest when given.
pub(crate) fn entry(given: &ConfigurationEntry) -> Value {
    let mut out = Map::new();
    let mut put = |name: &str, value: Value| {
        out.insert(name.to_owned(), value);
    };
    if let Some(category) = &given.category {
        put("category", category.as_str().into());
    }
    put("default_value", given.default_value.clone());
    if let Some(depends_on) = &given.depends_on {
        let depends_on = depends_on
            .iter()
            .map(|dependency| json!({"field": dependency.field, "value": dependency.value}))
            .collect();
        put("depends_on", Value::Array(depends_on));
    }
    if let Some(display) = given.display {
        put("display", display.into());
    }
    put("label", given.label.as_str().into());
    if let Some(options) = &given.options {
        let options = options
            .iter()
            .map(|option| json!({"label": option.label, "value": option.value}))
            .collect();
        put("options", Value::Array(options));
    }
    if let Some(order) = given.order {
        put("order", order.map_or(Value::Null, Value::from));
    }
    if let Some(placeholder) = &given.placeholder {
        put("placeholder", placeholder.as_str().into());
    }
    put("required", given.required.into());
    put("sensitive", given.sensitive.into());
    if let Some(tooltip) = &given.tooltip {
        put("tooltip", tooltip.as_str().into());
    }
    if let Some(field_type) = &given.field_type {
        put("type", field_type.as_str().into());
    }
    if let Some(restrictions) = &given.ui_restrictions {
        put("ui_restrictions", Value::Array(restrictions.clone()));
    }
    if let Some(validations) = &given.validations {
        let validations = validations
            .iter()
            .map(
                |validation| json!({"constraint": validation.constraint, "type": validation.validation_type}),
            )
            .collect();
        put("validations", Value::Array(validations));
    }
    put("value", given.value.clone());
    Value::Object(out)
}

/// `_configuration` with `configuration`: the whole schema replaced, the connector `configured`.
pub(crate) fn replace(source: &Source, configuration: &[(String, ConfigurationEntry)]) -> Source {
    let written: Map<String, Value> = configuration
        .iter()
        .map(|(key, given)| (key.clone(), entry(given)))
        .collect();
    let mut doc = source.clone();
    doc.insert("configuration".into(), Value::Object(written));
    doc.insert(STATUS.into(), ConnectorStatus::Configured.as_str().into());
    doc
}

/// `_configuration` with `values`: the value of each named entry, which must exist, merged as a
/// partial update merges; the connector `configured`.
pub(crate) fn set_values(source: &Source, values: &Map<String, Value>) -> Result<Source, ConnectorError> {
    let schema = source.get("configuration").and_then(Value::as_object);
    let unknown: Vec<String> = values
        .keys()
        .filter(|key| !schema.is_some_and(|schema| schema.contains_key(*key)))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(ConnectorError::UnknownConfigurationFields(unknown));
    }
    let configuration: Map<String, Value> = values
        .iter()
        .map(|(key, value)| (key.clone(), json!({ "value": value })))
        .collect();
    let partial = json!({"configuration": configuration, STATUS: ConnectorStatus::Configured.as_str()});
    Ok(merged(
        source.clone(),
        partial.as_object().expect("a JSON object literal"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(value: Value) -> Source {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn entries_are_written_with_their_defaults_in_elasticsearchs_order() {
        let written = entry(&ConfigurationEntry {
            value: json!(123),
            label: "L".into(),
            display: Some("numeric"),
            order: Some(Some(4)),
            ..ConfigurationEntry::default()
        });
        assert_eq!(
            written,
            json!({"default_value": null, "display": "numeric", "label": "L", "order": 4,
                "required": false, "sensitive": false, "value": 123})
        );
        let keys: Vec<&String> = written.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "default_value",
                "display",
                "label",
                "order",
                "required",
                "sensitive",
                "value"
            ]
        );
    }

    #[test]
    fn values_only_reach_entries_that_exist() {
        let doc = source(json!({"configuration": {"a": {"label": "A", "value": 1}}, "status": "created"}));
        let updated = set_values(&doc, &source(json!({"a": 2}))).unwrap();
        assert_eq!(updated["configuration"], json!({"a": {"label": "A", "value": 2}}));
        assert_eq!(updated["status"], "configured");
        let err = set_values(&doc, &source(json!({"a": 1, "zz": 2}))).unwrap_err();
        assert!(matches!(err, ConnectorError::UnknownConfigurationFields(fields) if fields == ["zz"]));
        let b = ConfigurationEntry {
            label: "B".into(),
            ..ConfigurationEntry::default()
        };
        let replaced = replace(&doc, &[("b".to_owned(), b)]);
        assert_eq!(
            replaced["configuration"],
            json!({"b": {"default_value": null, "label": "B", "required": false, "sensitive": false, "value": null}})
        );
    }
}
