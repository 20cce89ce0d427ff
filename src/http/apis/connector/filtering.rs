//! What the filtering of a connector accepts (its filtering rules, advanced snippets and
//! validation results), as Elasticsearch's model parsers read it, and the typed values built
//! from what they read.

use serde_json::Value;

use super::names;
use crate::connector::filtering::{POLICY, RULE_CONDITION, VALIDATION_STATE};
use crate::connector::model::Names;
use crate::connector::requests::{
    AdvancedSnippet, Filtering, FilteringRule, FilteringRules, FilteringValidation, FilteringValidationError,
};
use crate::error::{ApiError, ErrorType};
use crate::http::json::Json;
use crate::http::request::{read_long, BodyParser, Kind, Nested, Token};
use crate::time::parse_date;

/// A date field: `strict_date_optional_time||epoch_millis`, or null where the field takes it.
pub(crate) fn check_date(value: &Json) -> Result<(), ApiError> {
    match value.to_value() {
        Value::String(text) if parse_date(&text).is_none() => Err(ApiError::new(
            ErrorType::IllegalArgument,
            format!(
                "failed to parse date field [{text}] with format [strict_date_optional_time||epoch_millis]"
            ),
        )),
        _ => Ok(()),
    }
}

const DATE: Kind = Kind::Checked(&Kind::Str, check_date);

pub(crate) const RULE: Nested = Nested {
    parser: BodyParser {
        name: "connector_filtering_rule",
        fields: &[
            ("created_at", DATE),
            ("field", Kind::Str),
            ("id", Kind::Str),
            ("order", Kind::Long),
            ("policy", Kind::Checked(&Kind::Str, |value| names(&POLICY, value))),
            (
                "rule",
                Kind::Checked(&Kind::Str, |value| names(&RULE_CONDITION, value)),
            ),
            ("updated_at", DATE),
            ("value", Kind::Str),
        ],
        required: &["field", "id", "order", "policy", "rule", "value"],
    },
    lenient: true,
    build: None,
};

pub(crate) const ADVANCED_SNIPPET: Nested = Nested {
    parser: BodyParser {
        name: "connector_filtering_advanced_snippet",
        fields: &[
            ("created_at", DATE),
            ("updated_at", DATE),
            ("value", Kind::Tokens(&[Token::Object, Token::Array])),
        ],
        required: &["value"],
    },
    lenient: true,
    build: None,
};

const VALIDATION_ERROR: Nested = Nested {
    parser: BodyParser {
        name: "connector_filtering_validation",
        fields: &[("ids", Kind::StrArray), ("messages", Kind::StrArray)],
        required: &["ids", "messages"],
    },
    lenient: true,
    build: None,
};

pub(crate) const VALIDATION: Nested = Nested {
    parser: BodyParser {
        name: "filtering_validation_info",
        fields: &[
            ("errors", Kind::NestedArray(&VALIDATION_ERROR)),
            (
                "state",
                Kind::Checked(&Kind::Str, |value| names(&VALIDATION_STATE, value)),
            ),
        ],
        required: &["errors", "state"],
    },
    lenient: true,
    build: None,
};

const RULES: Nested = Nested {
    parser: BodyParser {
        name: "connector_filtering_rules",
        fields: &[
            ("advanced_snippet", Kind::Nested(&ADVANCED_SNIPPET)),
            ("rules", Kind::NestedArray(&RULE)),
            ("validation", Kind::Nested(&VALIDATION)),
        ],
        required: &["advanced_snippet", "rules", "validation"],
    },
    lenient: true,
    build: None,
};

/// One element of a connector's `filtering` list.
pub(crate) const FILTERING: Nested = Nested {
    parser: BodyParser {
        name: "connector_filtering",
        fields: &[("active", Kind::Nested(&RULES)), ("draft", Kind::Nested(&RULES))],
        required: &["active", "draft"],
    },
    lenient: true,
    build: None,
};

/// The items of a value read by `Kind::NestedArray` or `Kind::StrArray`: an array, or one item.
pub(crate) fn items(value: Option<&Value>) -> Vec<Value> {
    match value {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(one) => vec![one.clone()],
    }
}

/// The items of a string list, each read as text as Elasticsearch reads them.
pub(crate) fn strings(value: Option<&Value>) -> Vec<Value> {
    items(value)
        .into_iter()
        .map(|item| match item {
            Value::String(_) | Value::Null => item,
            other => Value::String(other.to_string()),
        })
        .collect()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn date(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

/// The stored spelling of a name that passed its check.
pub(crate) fn stored(names: &Names, value: &Value) -> &'static str {
    value
        .as_str()
        .and_then(|text| names.parse(text).ok())
        .unwrap_or_default()
}

/// A filtering rule that passed `RULE`.
pub(crate) fn rule(given: &Value) -> FilteringRule {
    FilteringRule {
        created_at: date(given.get("created_at")),
        field: text(&given["field"]),
        id: text(&given["id"]),
        order: read_long(&given["order"]).unwrap_or_default(),
        policy: stored(&POLICY, &given["policy"]),
        rule: stored(&RULE_CONDITION, &given["rule"]),
        updated_at: date(given.get("updated_at")),
        value: text(&given["value"]),
    }
}

/// An advanced snippet that passed `ADVANCED_SNIPPET`.
pub(crate) fn advanced_snippet(given: &Value) -> AdvancedSnippet {
    AdvancedSnippet {
        created_at: date(given.get("created_at")),
        updated_at: date(given.get("updated_at")),
        value: given["value"].clone(),
    }
}

/// A validation result that passed `VALIDATION`.
pub(crate) fn validation(given: &Value) -> FilteringValidation {
    FilteringValidation {
        errors: items(given.get("errors"))
            .iter()
            .map(|error| FilteringValidationError {
                ids: strings(error.get("ids")),
                messages: strings(error.get("messages")),
            })
            .collect(),
        state: stored(&VALIDATION_STATE, &given["state"]),
    }
}

fn rules(given: &Value) -> FilteringRules {
    FilteringRules {
        advanced_snippet: advanced_snippet(&given["advanced_snippet"]),
        rules: items(given.get("rules")).iter().map(rule).collect(),
        validation: validation(&given["validation"]),
    }
}

/// A filtering list that passed `FILTERING` (one element, or an array of them).
pub(crate) fn filtering(given: &Value) -> Vec<Filtering> {
    items(Some(given))
        .iter()
        .map(|element| Filtering {
            active: rules(&element["active"]),
            draft: rules(&element["draft"]),
        })
        .collect()
}
