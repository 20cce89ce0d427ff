//! Filtering (drafts, validation, activation, the whole list) and configuration (schema and
//! values), on both strategies.

use reqwest::Method;
use serde_json::{json, Value};

use crate::connector::{connector_body, filtering_at, validation_error, ConnectorApp};
use crate::helpers::{es_error, unique_id, BOTH};

fn rule(id: &str, order: i64) -> Value {
    json!({"field": "f", "id": id, "order": order, "policy": "include", "rule": "equals", "value": "v",
        "created_at": "2024-05-01T10:00:00.000Z", "updated_at": "2024-05-01T10:00:00.000Z"})
}

/// The connector's first filtering element, as stored.
async fn filtering(api: &ConnectorApp, id: &str) -> Value {
    api.stored(id).await.unwrap()["filtering"].clone()
}

#[tokio::test]
async fn a_draft_gets_its_rules_sorted_ends_with_the_default_rule_and_waits_for_validation() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        api.create("c", connector_body(&unique_id("search"))).await;
        let active_before = filtering(&api, "c").await[0]["active"].clone();
        let default_rule = json!({"field": "_", "id": "DEFAULT", "order": 9, "policy": "INCLUDE", "rule": "regex",
            "value": ".*", "created_at": "2023-01-01T00:00:00Z"});
        let body = json!({
            "rules": [rule("second", 5), default_rule, rule("first", 2)],
            "advanced_snippet": {"value": [{"tables": ["some_table"]}], "created_at": "2023-05-25T12:30:00.000Z"},
        });

        assert_eq!(
            api.update("c", "_filtering", body).await,
            (200, json!({"result": "updated"}))
        );

        let stored = filtering(&api, "c").await;
        let draft = &stored[0]["draft"];
        let ids: Vec<&str> = draft["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|rule| rule["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["first", "second", "DEFAULT"], "{}", backend.name);
        assert_eq!(draft["rules"][0], rule("first", 2));
        assert_eq!(
            draft["rules"][2],
            json!({"created_at": "2023-01-01T00:00:00.000Z", "field": "_", "id": "DEFAULT", "order": 6,
                "policy": "include", "rule": "regex", "updated_at": "2023-01-01T00:00:00.000Z", "value": ".*"})
        );
        assert_eq!(
            draft["advanced_snippet"]["value"],
            json!([{"tables": ["some_table"]}])
        );
        assert_eq!(
            draft["advanced_snippet"]["created_at"],
            "2023-05-25T12:30:00.000Z"
        );
        assert!(draft["advanced_snippet"]["updated_at"].is_string());
        assert_eq!(draft["validation"], json!({"errors": [], "state": "edited"}));
        assert_eq!(
            stored[0]["active"], active_before,
            "the active rules are untouched"
        );

        // Only the snippet: the rules stay; an empty rule list is the default rule alone.
        api.update(
            "c",
            "_filtering",
            json!({"advanced_snippet": {"value": {"a": 1}}}),
        )
        .await;
        let draft = filtering(&api, "c").await[0]["draft"].clone();
        assert_eq!(draft["rules"].as_array().unwrap().len(), 3);
        assert_eq!(draft["advanced_snippet"]["value"], json!({"a": 1}));
        api.update("c", "_filtering", json!({"rules": []})).await;
        let draft = filtering(&api, "c").await[0]["draft"].clone();
        assert_eq!(draft["rules"].as_array().unwrap().len(), 1);
        assert_eq!(draft["rules"][0]["id"], "DEFAULT");
        assert_eq!(draft["rules"][0]["order"], 0);
        api.clean_up().await;
    }
}

#[tokio::test]
async fn only_a_validated_draft_can_be_activated() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        api.create("c", connector_body(&unique_id("search"))).await;
        api.update("c", "_filtering", json!({"rules": [rule("r1", 1)]}))
            .await;
        let activate = || api.call(Method::PUT, "/_connector/c/_filtering/_activate", None);
        let refused = |state: &str| {
            es_error(
                "status_exception",
                &format!("Filtering draft needs to be validated by the connector service before activation. Current filtering draft validation state [{state}] is not equal to [valid]."),
                400,
            )
        };
        let before = api.snapshot().await;
        assert_eq!(activate().await, (400, refused("edited")));
        assert_eq!(api.snapshot().await, before, "a refused activation wrote");

        let invalid = json!({"validation": {"state": "INVALID", "errors": [{"ids": ["r1"], "messages": ["bad rule"]}]}});
        assert_eq!(
            api.update("c", "_filtering/_validation", invalid).await,
            (200, json!({"result": "updated"}))
        );
        assert_eq!(
            filtering(&api, "c").await[0]["draft"]["validation"],
            json!({"errors": [{"ids": ["r1"], "messages": ["bad rule"]}], "state": "invalid"})
        );
        assert_eq!(activate().await, (400, refused("invalid")));

        let valid = json!({"validation": {"state": "valid", "errors": []}});
        assert_eq!(
            api.update("c", "_filtering/_validation", valid.clone()).await,
            (200, json!({"result": "updated"}))
        );
        assert_eq!(
            api.update("c", "_filtering/_validation", valid).await,
            (200, json!({"result": "noop"}))
        );
        assert_eq!(activate().await, (200, json!({"result": "updated"})));
        let stored = filtering(&api, "c").await;
        assert_eq!(stored[0]["active"], stored[0]["draft"]);
        assert_eq!(stored[0]["active"]["rules"][0]["id"], "r1");
        assert_eq!(
            activate().await,
            (200, json!({"result": "noop"})),
            "activating again changes nothing"
        );

        let (status, answer) = api
            .update(
                "c",
                "_filtering/_validation",
                json!({"validation": {"state": "done", "errors": []}}),
            )
            .await;
        assert_eq!(status, 400);
        assert_eq!(
            answer["error"]["caused_by"]["caused_by"]["reason"],
            "Unknown FilteringValidationState [done]."
        );
        assert_eq!(
            api.update("c", "_filtering/_validation", json!({})).await,
            (
                400,
                es_error("illegal_argument_exception", "Required [validation]", 400)
            )
        );
        api.clean_up().await;
    }
}

#[tokio::test]
async fn the_whole_filtering_list_is_replaced_with_the_default_domain() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        api.create("c", connector_body(&unique_id("search"))).await;
        let rules = |id: &str, value: Value| {
            json!({
                "advanced_snippet": {"created_at": "2023-05-25T12:30:00.000Z", "updated_at": "2023-05-25T12:30:00.000Z", "value": value},
                "rules": [rule(id, 0)],
                "validation": {"errors": [], "state": "valid"},
            })
        };
        let body = json!({"filtering": [
            {"active": rules("RULE-ACTIVE-0", json!({"some_filtering_key": "some_filtering_value"})), "domain": "SOMETHING", "draft": rules("RULE-DRAFT-0", json!({}))},
            {"active": rules("RULE-ACTIVE-1", json!([{"tables": ["t"]}])), "domain": "TEST", "draft": rules("RULE-DRAFT-1", json!({}))},
        ]});
        assert_eq!(
            api.update("c", "_filtering", body.clone()).await,
            (200, json!({"result": "updated"}))
        );
        let stored = filtering(&api, "c").await;
        assert_eq!(stored.as_array().unwrap().len(), 2);
        assert_eq!(stored[0]["domain"], "DEFAULT");
        assert_eq!(stored[1]["domain"], "DEFAULT");
        assert_eq!(
            stored[0]["active"]["advanced_snippet"]["created_at"],
            "2023-05-25T12:30:00.000Z"
        );
        assert_eq!(
            stored[0]["active"]["advanced_snippet"]["value"]["some_filtering_key"],
            "some_filtering_value"
        );
        assert_eq!(
            stored[1]["active"]["advanced_snippet"]["value"][0]["tables"][0],
            "t"
        );
        assert_eq!(stored[0]["draft"]["rules"][0]["id"], "RULE-DRAFT-0");
        assert_eq!(
            api.update("c", "_filtering", body).await,
            (200, json!({"result": "noop"}))
        );

        // A draft change keeps only the first element, as Elasticsearch does.
        api.update("c", "_filtering", json!({"rules": []})).await;
        assert_eq!(filtering(&api, "c").await.as_array().unwrap().len(), 1);
        api.clean_up().await;
    }
}

#[tokio::test]
async fn filtering_requests_elasticsearch_refuses_are_refused_and_write_nothing() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        api.create("c", connector_body(&unique_id("search"))).await;
        let before = api.snapshot().await;
        let full = filtering_at("2024-01-01T00:00:00.000Z");
        for (body, expected) in [
            (json!({}), validation_error(&["[advanced_snippet] and [rules] cannot be both [null]."])),
            (
                json!({"filtering": full, "rules": []}),
                validation_error(&["If [filtering] is specified, [rules] and [advanced_snippet] should not be present in the request body."]),
            ),
        ] {
            assert_eq!(api.update("c", "_filtering", body.clone()).await, (400, expected), "{body}");
        }
        let causes = |answer: &Value| {
            let mut reasons = Vec::new();
            let mut error = &answer["error"];
            while error.is_object() {
                reasons.push(error["reason"].as_str().unwrap().to_owned());
                error = &error["caused_by"];
            }
            reasons
        };
        for (body, chain) in [
            (
                r#"{"advanced_snippet":{"value":"string literal"}}"#,
                vec![
                    "[1:30] [connector_update_filtering_request] failed to parse field [advanced_snippet]",
                    "[1:30] [connector_filtering_advanced_snippet] value doesn't support values of type: VALUE_STRING",
                ],
            ),
            (
                r#"{"rules":[{"field":"f","id":"r","order":1,"policy":"maybe","rule":"equals","value":"v"}]}"#,
                vec![
                    "[1:52] [connector_update_filtering_request] failed to parse field [rules]",
                    "[1:52] [connector_filtering_rule] failed to parse field [policy]",
                    "Unknown FilteringPolicy [maybe].",
                ],
            ),
            (
                r#"{"rules":[{"field":"f","id":"r","order":1,"policy":"include","rule":"EQUALS","value":"v"}]}"#,
                vec![
                    "[1:69] [connector_update_filtering_request] failed to parse field [rules]",
                    "[1:69] [connector_filtering_rule] failed to parse field [rule]",
                    "Unknown FilteringRuleCondition [EQUALS].",
                ],
            ),
            (
                r#"{"rules":[{"field":"f","id":"r","policy":"include","rule":"equals","value":"v"}]}"#,
                vec![
                    "[1:79] [connector_update_filtering_request] failed to parse field [rules]",
                    "Required [order]",
                ],
            ),
            (
                r#"{"filtering":[{"domain":"some_domain"}]}"#,
                vec![
                    "[1:38] [connector_update_filtering_request] failed to parse field [filtering]",
                    "Required [active, draft]",
                ],
            ),
            (
                r#"{"advanced_snippet":{"value":{},"created_at":"this-is-not-a-datetime-!!!!"}}"#,
                vec![
                    "[1:46] [connector_update_filtering_request] failed to parse field [advanced_snippet]",
                    "[1:46] [connector_filtering_advanced_snippet] failed to parse field [created_at]",
                    "failed to parse date field [this-is-not-a-datetime-!!!!] with format [strict_date_optional_time||epoch_millis]",
                ],
            ),
        ] {
            let (status, answer) = api.call_raw(Method::PUT, "/_connector/c/_filtering", body).await;
            assert_eq!(status, 400, "{body}");
            assert_eq!(causes(&answer), chain, "{} {body}", backend.name);
        }
        assert_eq!(api.snapshot().await, before, "a refused request wrote");
        api.clean_up().await;
    }
}

/// The configuration of Elasticsearch's YAML test.
fn configuration() -> Value {
    json!({
        "some_field": {"default_value": null, "depends_on": [{"field": "some_field", "value": 31}], "display": "numeric",
            "label": "Very important field", "options": [], "order": 4, "required": true, "sensitive": false,
            "tooltip": "Wow, this tooltip is useful.", "type": "str", "ui_restrictions": [],
            "validations": [{"constraint": 0, "type": "greater_than"}], "value": 123},
        "yet_another_field": {"default_value": null, "depends_on": [{"field": "some_field", "value": 31}], "display": "numeric",
            "label": "Another important field", "options": [], "order": 4, "required": true, "sensitive": false,
            "tooltip": "Wow, this tooltip is useful.", "type": "str", "ui_restrictions": [],
            "validations": [{"constraint": 0, "type": "greater_than"}], "value": "peace & love"},
    })
}

#[tokio::test]
async fn configuration_is_replaced_whole_or_only_its_values_set() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        api.create("c", connector_body(&unique_id("search"))).await;
        assert_eq!(
            api.update("c", "_configuration", json!({"configuration": configuration()}))
                .await,
            (200, json!({"result": "updated"}))
        );
        let stored = api.stored("c").await.unwrap();
        assert_eq!(stored["status"], "configured");
        assert_eq!(stored["configuration"], configuration(), "{}", backend.name);
        // Replacing with the same schema still reports a change, as Elasticsearch's script does.
        assert_eq!(
            api.update("c", "_configuration", json!({"configuration": configuration()}))
                .await,
            (200, json!({"result": "updated"}))
        );

        assert_eq!(
            api.update(
                "c",
                "_configuration",
                json!({"values": {"some_field": 42, "yet_another_field": 456}})
            )
            .await,
            (200, json!({"result": "updated"}))
        );
        let stored = api.stored("c").await.unwrap();
        assert_eq!(stored["configuration"]["some_field"]["value"], 42);
        assert_eq!(
            stored["configuration"]["some_field"]["label"],
            "Very important field"
        );
        assert_eq!(stored["configuration"]["yet_another_field"]["value"], 456);
        assert_eq!(
            api.update(
                "c",
                "_configuration",
                json!({"values": {"yet_another_field": 456}})
            )
            .await,
            (200, json!({"result": "noop"}))
        );
        let before = api.snapshot().await;
        assert_eq!(
            api.update("c", "_configuration", json!({"values": {"field_not_present_in_config": 42}})).await,
            (400, es_error("status_exception", "Unknown [configuration] fields in the request payload: [field_not_present_in_config]. Remove them from request or register their schema first.", 400))
        );
        assert_eq!(api.snapshot().await, before);

        let crawler = json!({"nextSyncConfig": {"label": "nextSyncConfig", "value": {"max_crawl_depth": 3, "sitemap_discovery_disabled": false, "seed_urls": ["https://elastic.co/"]}}});
        api.update("c", "_configuration", json!({"configuration": crawler}))
            .await;
        let stored = api.stored("c").await.unwrap();
        assert!(
            stored["configuration"].get("some_field").is_none(),
            "replaced, not merged"
        );
        assert_eq!(
            stored["configuration"]["nextSyncConfig"],
            json!({"default_value": null, "label": "nextSyncConfig", "required": false, "sensitive": false,
                "value": {"max_crawl_depth": 3, "sitemap_discovery_disabled": false, "seed_urls": ["https://elastic.co/"]}})
        );
        api.update("c", "_configuration", json!({"configuration": {}}))
            .await;
        assert_eq!(api.stored("c").await.unwrap()["configuration"], json!({}));
        api.clean_up().await;
    }
}

#[tokio::test]
async fn configuration_requests_elasticsearch_refuses_are_refused_and_write_nothing() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        api.create("c", connector_body(&unique_id("search"))).await;
        let before = api.snapshot().await;
        assert_eq!(
            api.update("c", "_configuration", json!({})).await,
            (
                400,
                validation_error(&["[configuration] and [values] cannot both be null."])
            )
        );
        assert_eq!(
            api.update("c", "_configuration", json!({"configuration": {}, "values": {}}))
                .await,
            (
                400,
                validation_error(&[
                    "[configuration] and [values] cannot both be provided in the same request."
                ])
            )
        );
        for (entry, innermost) in [
            (json!({"value": 1}), "Required [label]"),
            (
                json!({"label": "l", "display": "some_display_type"}),
                "Unknown ConfigurationDisplayType [some_display_type].",
            ),
            (
                json!({"label": "l", "type": "string"}),
                "Unknown ConfigurationFieldType [string].",
            ),
            (
                json!({"label": "l", "validations": [{"constraint": 0, "type": "unknown_constraint"}]}),
                "Unknown ConfigurationValidationType [unknown_constraint].",
            ),
            (
                json!({"label": "l", "value": [1, 2]}),
                "Unsupported token [START_ARRAY]",
            ),
        ] {
            let (status, answer) = api
                .update(
                    "c",
                    "_configuration",
                    json!({"configuration": {"some_field": entry}}),
                )
                .await;
            assert_eq!(status, 400, "{entry}");
            assert_eq!(answer["error"]["type"], "x_content_parse_exception", "{entry}");
            let mut error = &answer["error"];
            while error["caused_by"].is_object() {
                error = &error["caused_by"];
            }
            assert_eq!(error["reason"], innermost, "{} {entry}: {answer}", backend.name);
        }
        assert_eq!(api.snapshot().await, before, "a refused request wrote");
        api.clean_up().await;
    }
}
