//! A connector's configuration: the schema of each entry as Elasticsearch reads and writes it,
//! and the two ways `_configuration` changes it (the whole schema, or only values of entries
//! that exist).

use serde_json::{json, Map, Value};

use super::model::{Names, STATUS};
use super::status::ConnectorStatus;
use crate::documents::{merged, Source};
use crate::error::{ApiError, ErrorType};
use crate::http::json::{Json, JsonValue};
use crate::http::request::{read_bool, read_long, token_of, BodyParser, Kind, Nested, Token};

pub const DISPLAY: Names = Names {
    kind: "ConfigurationDisplayType",
    names: &["textbox", "textarea", "numeric", "toggle", "dropdown", "text"],
    ignore_case: true,
};

pub const FIELD_TYPE: Names = Names {
    kind: "ConfigurationFieldType",
    names: &["str", "int", "list", "bool"],
    ignore_case: false,
};

pub const VALIDATION_TYPE: Names = Names {
    kind: "ConfigurationValidationType",
    names: &["less_than", "greater_than", "list_type", "included_in", "regex"],
    ignore_case: true,
};

/// Elasticsearch's `VALUE` token types: a string, number, boolean or null.
const SCALAR: &[Token] = &[Token::String, Token::Number, Token::Bool, Token::Null];

/// Elasticsearch reads these values itself and refuses what it has no reading for.
fn unsupported(value: &Json, allowed: &[Token]) -> Result<(), ApiError> {
    if allowed.contains(&token_of(value)) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorType::XContentParse,
        format!("Unsupported token [{}]", value.token()),
    ))
}

const DEPENDENCY: Nested = Nested {
    parser: BodyParser {
        name: "connector_configuration_dependency",
        fields: &[("field", Kind::Str), ("value", Kind::Tokens(SCALAR))],
        required: &["field", "value"],
    },
    lenient: true,
    build: None,
};

const SELECT_OPTION: Nested = Nested {
    parser: BodyParser {
        name: "connector_configuration_select_option",
        fields: &[
            ("label", Kind::Str),
            ("value", Kind::Tokens(&[Token::String, Token::Number])),
        ],
        required: &["label", "value"],
    },
    lenient: true,
    build: None,
};

const VALIDATION: Nested = Nested {
    parser: BodyParser {
        name: "connector_configuration_validation",
        fields: &[
            (
                "constraint",
                Kind::Checked(&Kind::Any, |value| {
                    unsupported(value, &[Token::String, Token::Number, Token::Array])
                }),
            ),
            (
                "type",
                Kind::Checked(&Kind::Str, |value| VALIDATION_TYPE.check(value)),
            ),
        ],
        required: &["constraint", "type"],
    },
    lenient: true,
    build: None,
};

/// One configuration entry.
pub const ENTRY: Nested = Nested {
    parser: BodyParser {
        name: "connector_configuration",
        fields: &[
            ("category", Kind::Str),
            ("default_value", Kind::Tokens(SCALAR)),
            ("depends_on", Kind::NestedArray(&DEPENDENCY)),
            (
                "display",
                Kind::Checked(&Kind::StrOrNull, |value| DISPLAY.check(value)),
            ),
            ("label", Kind::Str),
            ("options", Kind::NestedArray(&SELECT_OPTION)),
            ("order", Kind::Long),
            ("placeholder", Kind::StrOrNull),
            ("required", Kind::Bool),
            ("sensitive", Kind::Bool),
            ("tooltip", Kind::StrOrNull),
            (
                "type",
                Kind::Checked(&Kind::StrOrNull, |value| match value.value {
                    JsonValue::Null => Ok(()),
                    _ => FIELD_TYPE.check(value),
                }),
            ),
            ("ui_restrictions", Kind::StrArray),
            ("validations", Kind::NestedArray(&VALIDATION)),
            (
                "value",
                Kind::Checked(&Kind::Any, |value| {
                    unsupported(
                        value,
                        &[
                            Token::String,
                            Token::Number,
                            Token::Bool,
                            Token::Object,
                            Token::Null,
                        ],
                    )
                }),
            ),
        ],
        required: &["label"],
    },
    lenient: true,
    build: None,
};

fn list(value: Option<&Value>) -> Option<Vec<Value>> {
    match value? {
        Value::Null => None,
        Value::Array(items) => Some(items.clone()),
        one => Some(vec![one.clone()]),
    }
}

fn boolean(value: Option<&Value>) -> bool {
    value.is_some_and(read_bool)
}

/// An entry as Elasticsearch writes it, from one that passed `ENTRY`: `default_value`,
/// `label`, `required`, `sensitive` and `value` always, the rest when given.
pub fn entry(given: &Value) -> Value {
    let mut out = Map::new();
    let mut put = |name: &str, value: Value| {
        out.insert(name.to_owned(), value);
    };
    let given_str = |name: &str| given.get(name).filter(|value| value.is_string()).cloned();
    if let Some(category) = given_str("category") {
        put("category", category);
    }
    put(
        "default_value",
        given.get("default_value").cloned().unwrap_or(Value::Null),
    );
    if let Some(depends_on) = list(given.get("depends_on")) {
        let depends_on = depends_on
            .iter()
            .map(|dependency| json!({"field": dependency["field"], "value": dependency["value"]}))
            .collect();
        put("depends_on", Value::Array(depends_on));
    }
    if let Some(display) = given.get("display").and_then(|value| DISPLAY.normal(value)) {
        put("display", display.into());
    }
    put("label", given["label"].clone());
    if let Some(options) = list(given.get("options")) {
        let options = options
            .iter()
            .map(|option| json!({"label": option["label"], "value": option["value"]}))
            .collect();
        put("options", Value::Array(options));
    }
    if let Some(order) = given.get("order").filter(|order| !order.is_null()) {
        put("order", read_long(order).map_or(Value::Null, Value::from));
    }
    if let Some(placeholder) = given_str("placeholder") {
        put("placeholder", placeholder);
    }
    put("required", boolean(given.get("required")).into());
    put("sensitive", boolean(given.get("sensitive")).into());
    if let Some(tooltip) = given_str("tooltip") {
        put("tooltip", tooltip);
    }
    if let Some(field_type) = given_str("type") {
        put("type", field_type);
    }
    if let Some(restrictions) = list(given.get("ui_restrictions")) {
        let restrictions = restrictions
            .into_iter()
            .map(|item| match item {
                Value::String(_) | Value::Null => item,
                other => Value::String(other.to_string()),
            })
            .collect();
        put("ui_restrictions", Value::Array(restrictions));
    }
    if let Some(validations) = list(given.get("validations")) {
        let validations = validations
            .iter()
            .map(|validation| {
                json!({"constraint": validation["constraint"], "type": VALIDATION_TYPE.normal(&validation["type"])})
            })
            .collect();
        put("validations", Value::Array(validations));
    }
    put("value", given.get("value").cloned().unwrap_or(Value::Null));
    Value::Object(out)
}

/// `_configuration` with `configuration`: the whole schema replaced, the connector `configured`.
pub fn replace(source: &Source, configuration: &Map<String, Value>) -> Source {
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
pub fn set_values(source: &Source, values: &Map<String, Value>) -> Result<Source, ApiError> {
    let schema = source.get("configuration").and_then(Value::as_object);
    let unknown: Vec<&str> = values
        .keys()
        .filter(|key| !schema.is_some_and(|schema| schema.contains_key(*key)))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::new(
            ErrorType::Status,
            format!(
                "Unknown [configuration] fields in the request payload: [{}]. Remove them from request or register their schema first.",
                unknown.join(", ")
            ),
        ));
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
        let written =
            entry(&json!({"value": 123, "label": "L", "display": "NUMERIC", "order": "4", "tooltip": null}));
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
        assert_eq!(
            err.body()["error"]["reason"],
            "Unknown [configuration] fields in the request payload: [zz]. Remove them from request or register their schema first."
        );
        let replaced = replace(&doc, &source(json!({"b": {"label": "B"}})));
        assert_eq!(
            replaced["configuration"],
            json!({"b": {"default_value": null, "label": "B", "required": false, "sensitive": false, "value": null}})
        );
    }
}
