//! Filtering (sync rules): how Elasticsearch reads the rules, advanced snippets and validation
//! results a request gives, how it writes them back, the default filtering of a new connector,
//! and the draft, validation and activation steps of `_filtering`.

use serde_json::{json, Map, Value};

use super::errors::ConnectorError;
use super::model::Names;
use super::requests::{AdvancedSnippet, Filtering, FilteringRule, FilteringRules, FilteringValidation};
use crate::documents::Source;
use crate::time::{format_instant, parse_date};

pub(crate) const POLICY: Names = Names {
    kind: "FilteringPolicy",
    names: &["exclude", "include"],
    ignore_case: true,
};

pub(crate) const RULE_CONDITION: Names = Names {
    kind: "FilteringRuleCondition",
    names: &[
        "contains",
        "ends_with",
        "equals",
        ">",
        "<",
        "regex",
        "starts_with",
    ],
    ignore_case: false,
};

pub(crate) const VALIDATION_STATE: Names = Names {
    kind: "FilteringValidationState",
    names: &["edited", "invalid", "valid"],
    ignore_case: true,
};

/// The filtering every new connector starts with: one rule that includes everything, in both the
/// active and the draft set, all stamped `now`.
pub(crate) fn default_filtering(now: &str) -> Value {
    let rules = json!({
        "advanced_snippet": {"created_at": now, "updated_at": now, "value": {}},
        "rules": [default_rule(0, now)],
        "validation": {"errors": [], "state": "valid"},
    });
    json!({"active": rules, "domain": "DEFAULT", "draft": rules})
}

fn default_rule(order: i64, at: &str) -> Value {
    json!({
        "created_at": at, "field": "_", "id": "DEFAULT", "order": order,
        "policy": "include", "rule": "regex", "updated_at": at, "value": ".*",
    })
}

/// A date as Elasticsearch writes it back, or `now` when none was given.
fn date_or(value: Option<&str>, now: &str) -> String {
    value
        .and_then(parse_date)
        .map(format_instant)
        .unwrap_or_else(|| now.to_owned())
}

/// The order of a written filtering rule.
fn order(rule: &Value) -> i64 {
    rule["order"].as_i64().unwrap_or_default()
}

/// A filtering rule as Elasticsearch writes it.
pub(crate) fn rule(given: &FilteringRule, now: &str) -> Value {
    json!({
        "created_at": date_or(given.created_at.as_deref(), now),
        "field": given.field,
        "id": given.id,
        "order": given.order,
        "policy": given.policy,
        "rule": given.rule,
        "updated_at": date_or(given.updated_at.as_deref(), now),
        "value": given.value,
    })
}

/// An advanced snippet as Elasticsearch writes it.
pub(crate) fn advanced_snippet(given: &AdvancedSnippet, now: &str) -> Value {
    json!({
        "created_at": date_or(given.created_at.as_deref(), now),
        "updated_at": date_or(given.updated_at.as_deref(), now),
        "value": given.value,
    })
}

/// A validation result as Elasticsearch writes it.
pub(crate) fn validation(given: &FilteringValidation) -> Value {
    let errors: Vec<Value> = given
        .errors
        .iter()
        .map(|error| json!({"ids": error.ids, "messages": error.messages}))
        .collect();
    json!({"errors": errors, "state": given.state})
}

fn rules_set(given: &FilteringRules, now: &str) -> Value {
    json!({
        "advanced_snippet": advanced_snippet(&given.advanced_snippet, now),
        "rules": given.rules.iter().map(|one| rule(one, now)).collect::<Vec<_>>(),
        "validation": validation(&given.validation),
    })
}

/// A `filtering` list as Elasticsearch writes it from a request: every element kept, each with
/// the domain `DEFAULT` whatever was sent.
pub(crate) fn filtering_list(given: &[Filtering], now: &str) -> Value {
    given
        .iter()
        .map(|element| {
            json!({
                "active": rules_set(&element.active, now),
                "domain": "DEFAULT",
                "draft": rules_set(&element.draft, now),
            })
        })
        .collect()
}

fn is_default_rule(rule: &Value) -> bool {
    rule["field"] == "_"
        && rule["id"] == "DEFAULT"
        && rule["policy"] == "include"
        && rule["rule"] == "regex"
        && rule["value"] == ".*"
}

/// The draft rules Elasticsearch keeps from the rules of a request (already written as by
/// `rule`): every other rule by `order` (stably), then one default rule after the last, stamped
/// with the first default rule the request gave, or `now`.
pub(crate) fn draft_rules(given: Vec<Value>, now: &str) -> Vec<Value> {
    let stamp = given
        .iter()
        .find(|rule| is_default_rule(rule))
        .and_then(|rule| rule["created_at"].as_str())
        .unwrap_or(now)
        .to_owned();
    let mut rules: Vec<Value> = given.into_iter().filter(|rule| !is_default_rule(rule)).collect();
    rules.sort_by_key(order);
    let next = rules.last().map_or(0, |rule| order(rule) + 1);
    rules.push(default_rule(next, &stamp));
    rules
}

/// The first filtering element of a stored connector, the only one the draft steps work on (a
/// connector without one starts from the default); the domain is written as `DEFAULT`.
fn first_element(source: &Source, now: &str) -> Map<String, Value> {
    let mut element = source
        .get("filtering")
        .and_then(|filtering| filtering.get(0))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(|| match default_filtering(now) {
            Value::Object(element) => element,
            _ => Map::new(),
        });
    element.insert("domain".into(), "DEFAULT".into());
    element
}

/// The connector with `change` applied to its first filtering element, written back as the
/// only one.
fn with_first_element(
    source: &Source,
    now: &str,
    change: impl FnOnce(&mut Map<String, Value>) -> Result<(), ConnectorError>,
) -> Result<Source, ConnectorError> {
    let mut element = first_element(source, now);
    change(&mut element)?;
    let mut doc = source.clone();
    doc.insert("filtering".into(), json!([element]));
    Ok(doc)
}

fn draft(element: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let draft = element
        .entry("draft")
        .or_insert_with(|| Value::Object(Map::new()));
    if !draft.is_object() {
        *draft = Value::Object(Map::new());
    }
    draft.as_object_mut().expect("an object, made so above")
}

/// `_filtering` with `rules` and/or `advanced_snippet`: a new draft, marked `edited`.
pub(crate) fn update_draft(
    source: &Source,
    rules: Option<Vec<Value>>,
    snippet: Option<Value>,
    now: &str,
) -> Result<Source, ConnectorError> {
    with_first_element(source, now, |element| {
        let draft = draft(element);
        if let Some(snippet) = snippet {
            draft.insert("advanced_snippet".into(), snippet);
        }
        if let Some(rules) = rules {
            draft.insert("rules".into(), Value::Array(draft_rules(rules, now)));
        }
        draft.insert("validation".into(), json!({"errors": [], "state": "edited"}));
        Ok(())
    })
}

/// `_filtering/_validation`: the draft's validation result, as the connector service reports it.
pub(crate) fn set_draft_validation(
    source: &Source,
    validation: Value,
    now: &str,
) -> Result<Source, ConnectorError> {
    with_first_element(source, now, |element| {
        draft(element).insert("validation".into(), validation);
        Ok(())
    })
}

/// `_filtering/_activate`: a draft the connector service validated becomes the active filtering.
pub(crate) fn activate_draft(source: &Source, now: &str) -> Result<Source, ConnectorError> {
    with_first_element(source, now, |element| {
        let draft = draft(element).clone();
        let state = draft
            .get("validation")
            .and_then(|validation| validation.get("state"))
            .and_then(Value::as_str)
            .unwrap_or("null");
        if VALIDATION_STATE.parse(state).ok() != Some("valid") {
            return Err(ConnectorError::DraftNotValidated {
                state: state.to_lowercase(),
            });
        }
        element.insert("active".into(), Value::Object(draft));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given_rule(id: &str, order: i64, created_at: Option<&str>) -> FilteringRule {
        FilteringRule {
            created_at: created_at.map(str::to_owned),
            field: "f".into(),
            id: id.into(),
            order,
            policy: "exclude",
            rule: "equals",
            updated_at: None,
            value: "v".into(),
        }
    }

    #[test]
    fn rules_are_written_as_elasticsearch_writes_them() {
        let written = rule(&given_rule("r", 3, Some("2023-05-25T12:30:00Z")), "NOW");
        assert_eq!(
            written,
            json!({"created_at": "2023-05-25T12:30:00.000Z", "field": "f", "id": "r", "order": 3,
                "policy": "exclude", "rule": "equals", "updated_at": "NOW", "value": "v"})
        );
        let keys: Vec<&String> = written.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "created_at",
                "field",
                "id",
                "order",
                "policy",
                "rule",
                "updated_at",
                "value"
            ]
        );
    }

    #[test]
    fn draft_rules_are_sorted_and_end_with_one_default_rule() {
        let given: Vec<Value> = [
            rule(&given_rule("b", 5, None), "NOW"),
            default_rule(9, "2020-01-01T00:00:00.000Z"),
            rule(&given_rule("a", 2, None), "NOW"),
            rule(&given_rule("c", 5, None), "NOW"),
        ]
        .into();
        let rules = draft_rules(given, "NOW");
        let ids: Vec<&str> = rules.iter().map(|rule| rule["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["a", "b", "c", "DEFAULT"]);
        assert_eq!(rules[3]["order"], 6);
        assert_eq!(rules[3]["created_at"], "2020-01-01T00:00:00.000Z");
        assert_eq!(rules[3]["updated_at"], "2020-01-01T00:00:00.000Z");

        let only_default = draft_rules(Vec::new(), "NOW");
        assert_eq!(only_default, vec![default_rule(0, "NOW")]);
    }

    #[test]
    fn activation_needs_a_valid_draft_and_copies_it() {
        let doc: Source = json!({"filtering": [default_filtering("T"), {"domain": "OTHER"}], "name": "x"})
            .as_object()
            .unwrap()
            .clone();
        let edited = update_draft(&doc, Some(vec![rule(&given_rule("r", 1, None), "N")]), None, "N").unwrap();
        assert_eq!(edited["filtering"].as_array().unwrap().len(), 1);
        assert_eq!(edited["filtering"][0]["draft"]["validation"]["state"], "edited");
        assert_eq!(edited["filtering"][0]["active"], doc["filtering"][0]["active"]);
        let err = activate_draft(&edited, "N").unwrap_err();
        assert!(matches!(err, ConnectorError::DraftNotValidated { state } if state == "edited"));
        let validated = set_draft_validation(&edited, json!({"errors": [], "state": "valid"}), "N").unwrap();
        let active = activate_draft(&validated, "N").unwrap();
        assert_eq!(active["filtering"][0]["active"], active["filtering"][0]["draft"]);
        assert_eq!(active["filtering"][0]["active"]["rules"][0]["id"], "r");
        assert_eq!(
            activate_draft(&active, "N").unwrap(),
            active,
            "activating twice changes nothing"
        );
    }
}
