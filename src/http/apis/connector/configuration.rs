//! What a configuration entry accepts, as Elasticsearch's model parser reads it, and the typed
//! entry built from what it read.

use serde_json::Value;

use super::filtering::{items, strings};
use super::names;
use crate::connector::configuration::{DISPLAY, FIELD_TYPE, VALIDATION_TYPE};
use crate::connector::requests::{ConfigurationEntry, Dependency, SelectOption, Validation};
use crate::error::{ApiError, ErrorType};
use crate::http::json::{Json, JsonValue};
use crate::http::request::{read_bool, read_long, token_of, BodyParser, Kind, Nested, Token};

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
                Kind::Checked(&Kind::Str, |value| names(&VALIDATION_TYPE, value)),
            ),
        ],
        required: &["constraint", "type"],
    },
    lenient: true,
    build: None,
};

/// One configuration entry.
pub(crate) const ENTRY: Nested = Nested {
    parser: BodyParser {
        name: "connector_configuration",
        fields: &[
            ("category", Kind::Str),
            ("default_value", Kind::Tokens(SCALAR)),
            ("depends_on", Kind::NestedArray(&DEPENDENCY)),
            (
                "display",
                Kind::Checked(&Kind::StrOrNull, |value| names(&DISPLAY, value)),
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
                    _ => names(&FIELD_TYPE, value),
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

/// A list that was given and is not null.
fn list(value: Option<&Value>) -> Option<Vec<Value>> {
    value
        .filter(|value| !value.is_null())
        .map(|value| items(Some(value)))
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// An entry that passed `ENTRY`.
pub(crate) fn entry(given: &Value) -> ConfigurationEntry {
    let given_str = |name: &str| given.get(name).and_then(Value::as_str).map(str::to_owned);
    ConfigurationEntry {
        category: given_str("category"),
        default_value: given.get("default_value").cloned().unwrap_or(Value::Null),
        depends_on: list(given.get("depends_on")).map(|depends_on| {
            depends_on
                .iter()
                .map(|dependency| Dependency {
                    field: text(&dependency["field"]),
                    value: dependency["value"].clone(),
                })
                .collect()
        }),
        display: given
            .get("display")
            .and_then(Value::as_str)
            .and_then(|text| DISPLAY.parse(text).ok()),
        label: text(&given["label"]),
        options: list(given.get("options")).map(|options| {
            options
                .iter()
                .map(|option| SelectOption {
                    label: text(&option["label"]),
                    value: option["value"].clone(),
                })
                .collect()
        }),
        order: given.get("order").filter(|order| !order.is_null()).map(read_long),
        placeholder: given_str("placeholder"),
        required: given.get("required").is_some_and(read_bool),
        sensitive: given.get("sensitive").is_some_and(read_bool),
        tooltip: given_str("tooltip"),
        field_type: given_str("type"),
        ui_restrictions: list(given.get("ui_restrictions"))
            .map(|restrictions| strings(Some(&Value::Array(restrictions)))),
        validations: list(given.get("validations")).map(|validations| {
            validations
                .iter()
                .map(|validation| Validation {
                    constraint: validation["constraint"].clone(),
                    validation_type: validation["type"]
                        .as_str()
                        .and_then(|text| VALIDATION_TYPE.parse(text).ok()),
                })
                .collect()
        }),
        value: given.get("value").cloned().unwrap_or(Value::Null),
    }
}
