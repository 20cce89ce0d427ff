//! The connector API against both strategies: each endpoint's success and error paths, the
//! document a new connector starts as, the indices the first connector creates.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{
    assert_refused, es_error, spawn_app_with, unique_id, Backend, TestApp, BOTH, ELASTICSEARCH,
};

/// The service in front of connector and sync-job indices of the test's own (created by the
/// service when the test creates the first connector or job).
pub(crate) struct ConnectorApp {
    pub app: TestApp,
    pub alias: String,
    pub jobs: String,
}

impl ConnectorApp {
    pub(crate) async fn start(backend: Backend) -> Self {
        let alias = unique_id("csp-connectors");
        let jobs = unique_id("csp-jobs");
        let (connectors_index, sync_jobs_index) = (alias.clone(), jobs.clone());
        let app = spawn_app_with(backend, move |settings| {
            settings.connectors_index = connectors_index;
            settings.sync_jobs_index = sync_jobs_index;
        })
        .await;
        Self { app, alias, jobs }
    }

    /// Sends a request with an optional JSON body; the status and the JSON answer.
    pub(crate) async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .app
            .http
            .request(method, format!("{}{path}", self.app.address));
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.expect("the service did not answer")).await
    }

    /// Sends a body exactly as written.
    pub(crate) async fn call_raw(&self, method: Method, path: &str, body: &str) -> (u16, Value) {
        let request = self
            .app
            .http
            .request(method, format!("{}{path}", self.app.address))
            .header("content-type", "application/json")
            .body(body.to_owned());
        answer(request.send().await.expect("the service did not answer")).await
    }

    /// `PUT /_connector/{id}/{endpoint}` with a body.
    pub(crate) async fn update(&self, id: &str, endpoint: &str, body: Value) -> (u16, Value) {
        self.call(Method::PUT, &format!("/_connector/{id}/{endpoint}"), Some(body))
            .await
    }

    /// Creates a connector, which must succeed.
    pub(crate) async fn create(&self, id: &str, body: Value) {
        let (status, answer) = self
            .call(Method::PUT, &format!("/_connector/{id}"), Some(body))
            .await;
        assert!(status == 201 || status == 200, "creating {id}: {status} {answer}");
    }

    /// The stored document, read from the node itself; `None` when it (or the index) is not there.
    pub(crate) async fn stored(&self, id: &str) -> Option<Value> {
        Some(self.app.node.read_in(&self.alias, id).await?.source)
    }

    /// Every connector document with its sequence number.
    pub(crate) async fn snapshot(&self) -> Vec<(String, crate::helpers::Stored)> {
        if !self.app.node.index_exists(&self.alias).await {
            return Vec::new();
        }
        self.app.node.snapshot(&self.alias).await
    }

    /// The index-name reservations: name to connector.
    pub(crate) async fn reservations(&self) -> Vec<(String, String)> {
        let index = format!("{}-index-names", self.alias);
        if !self.app.node.index_exists(&index).await {
            return Vec::new();
        }
        self.app
            .node
            .snapshot(&index)
            .await
            .into_iter()
            .map(|(name, stored)| (name, stored.source["connector_id"].as_str().unwrap().to_owned()))
            .collect()
    }

    /// Deletes the indices the test made.
    pub(crate) async fn clean_up(self) {
        for index in [
            self.alias.clone(),
            format!("{}-index-names", self.alias),
            self.jobs.clone(),
        ] {
            self.app.node.delete_index(&index).await;
        }
    }
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(response.headers()["x-elastic-product"], "Elasticsearch");
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Elasticsearch's validation error for these problems.
pub(crate) fn validation_error(problems: &[&str]) -> Value {
    let reason: String = problems
        .iter()
        .enumerate()
        .map(|(n, problem)| format!("{}: {problem};", n + 1))
        .collect();
    es_error(
        "action_request_validation_exception",
        &format!("Validation Failed: {reason}"),
        400,
    )
}

pub(crate) fn not_found(id: &str) -> Value {
    es_error(
        "resource_not_found_exception",
        &format!("connector [{id}] not found"),
        404,
    )
}

pub(crate) fn document_missing(id: &str, index: &str) -> Value {
    let reason = format!("[{id}]: document missing");
    json!({
        "error": {
            "root_cause": [{"type": "document_missing_exception", "reason": reason, "index": index}],
            "type": "document_missing_exception", "reason": reason, "index": index,
        },
        "status": 404,
    })
}

pub(crate) fn invalid_index_name(name: &str, reason: &str) -> String {
    format!(
        "[{name}] org.elasticsearch.indices.InvalidIndexNameException: Invalid index name [{name}], {reason}"
    )
}

/// The body of a connector as YAML tests create it.
pub(crate) fn connector_body(index_name: &str) -> Value {
    json!({"index_name": index_name, "name": "my-connector", "language": "pl", "is_native": false, "service_type": "super-connector"})
}

pub(crate) fn filtering_at(at: &str) -> Value {
    let rules = json!({
        "advanced_snippet": {"created_at": at, "updated_at": at, "value": {}},
        "rules": [{"created_at": at, "field": "_", "id": "DEFAULT", "order": 0, "policy": "include",
            "rule": "regex", "updated_at": at, "value": ".*"}],
        "validation": {"errors": [], "state": "valid"},
    });
    json!([{"active": rules, "domain": "DEFAULT", "draft": rules}])
}

fn keys(value: &Value) -> Vec<&str> {
    value.as_object().unwrap().keys().map(String::as_str).collect()
}

#[tokio::test]
async fn a_new_connector_is_the_document_elasticsearch_writes() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        let id = unique_id("put");
        let index_name = unique_id("search");
        let mut body = connector_body(&index_name);
        body["description"] = "a description".into();

        let (status, answer) = api
            .call(Method::PUT, &format!("/_connector/{id}"), Some(body.clone()))
            .await;

        assert_eq!((status, answer), (201, json!({"id": id, "result": "created"})));
        let stored = api.stored(&id).await.unwrap();
        let at = stored["filtering"][0]["active"]["advanced_snippet"]["created_at"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(at.ends_with('Z') && at.len() >= 24, "{at}");
        let expected = json!({
            "configuration": {}, "custom_scheduling": {}, "description": "a description",
            "filtering": filtering_at(&at), "index_name": index_name, "is_native": false, "language": "pl",
            "name": "my-connector",
            "scheduling": {
                "access_control": {"enabled": false, "interval": "0 0 0 * * ?"},
                "full": {"enabled": false, "interval": "0 0 0 * * ?"},
                "incremental": {"enabled": false, "interval": "0 0 0 * * ?"},
            },
            "service_type": "super-connector", "status": "created", "sync_now": false, "deleted": false,
        });
        assert_eq!(stored, expected, "{}", backend.name);
        assert_eq!(keys(&stored), keys(&expected), "fields in Elasticsearch's order");

        let (status, got) = api.call(Method::GET, &format!("/_connector/{id}"), None).await;
        assert_eq!(status, 200);
        assert_eq!(keys(&got)[0], "id");
        let mut with_id = json!({"id": id});
        with_id
            .as_object_mut()
            .unwrap()
            .extend(expected.as_object().unwrap().clone());
        assert_eq!(got, with_id);

        // A second PUT replaces the connector with fresh defaults.
        api.update(&id, "_name", json!({"name": "renamed"})).await;
        let (status, answer) = api
            .call(
                Method::PUT,
                &format!("/_connector/{id}"),
                Some(json!({"index_name": index_name})),
            )
            .await;
        assert_eq!((status, answer), (200, json!({"id": id, "result": "updated"})));
        let stored = api.stored(&id).await.unwrap();
        assert_eq!(stored["name"], "");
        assert!(stored.get("language").is_none() && stored.get("description").is_none());
        api.clean_up().await;
    }
}

#[tokio::test]
async fn connectors_without_an_id_or_a_body_get_a_new_id() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        for (method, path) in [
            (Method::POST, "/_connector"),
            (Method::PUT, "/_connector"),
            (Method::PUT, "/_connector/with-id-no-body"),
        ] {
            let (status, answer) = api.call(method.clone(), path, None).await;
            assert_eq!(status, 201, "{method} {path}: {answer}");
            assert_eq!(answer["result"], "created");
            let id = answer["id"].as_str().unwrap();
            if path == "/_connector" {
                assert_eq!(id.len(), 20, "{id}");
                assert!(id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            }
            let stored = api.stored(id).await.unwrap();
            assert_eq!(stored["name"], "");
            assert_eq!(stored["status"], "created");
            assert!(stored.get("index_name").is_none(), "no index attached: {stored}");
        }
        let (status, answer) = api
            .call(
                Method::POST,
                "/_connector",
                Some(json!({"service_type": "super-connector", "index_name": null})),
            )
            .await;
        assert_eq!(status, 201);
        let stored = api.stored(answer["id"].as_str().unwrap()).await.unwrap();
        assert_eq!(stored["service_type"], "super-connector");
        assert!(stored.get("index_name").is_none());
        api.clean_up().await;
    }
}

#[tokio::test]
async fn the_first_connector_creates_the_indices_as_elasticsearch_lays_them_out() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        let node = &api.app.node;
        assert!(!node.index_exists(&api.alias).await);

        api.create("first", json!({"index_name": unique_id("search")}))
            .await;

        let index: Value = node.call(Method::GET, &format!("/{}-v1", api.alias), None).await;
        let index = &index[format!("{}-v1", api.alias)];
        assert_eq!(index["aliases"], json!({ &api.alias: {} }));
        assert_eq!(index["settings"]["index"]["hidden"], "true");
        assert_eq!(index["settings"]["index"]["number_of_shards"], "1");
        assert_eq!(index["settings"]["index"]["auto_expand_replicas"], "0-1");
        assert_eq!(index["mappings"]["dynamic"], "false");
        assert_eq!(
            index["mappings"]["_meta"]["pipeline"]["default_name"],
            "search-default-ingestion"
        );
        assert_eq!(index["mappings"]["properties"]["index_name"]["type"], "keyword");
        assert_eq!(
            index["mappings"]["properties"]["scheduling"]["properties"]["full"]["properties"]["interval"]
                ["type"],
            "text"
        );
        let names: Value = node
            .call(Method::GET, &format!("/{}-index-names-v1", api.alias), None)
            .await;
        let names = &names[format!("{}-index-names-v1", api.alias)];
        assert_eq!(names["settings"]["index"]["hidden"], "true");
        assert_eq!(names["mappings"]["properties"]["connector_id"]["type"], "keyword");
        api.clean_up().await;
    }
}

/// Every endpoint that changes a connector, with a body it accepts, and whether Elasticsearch
/// looks the connector up first (`true`) or updates it directly.
pub(crate) fn updates(index_name: &str) -> Vec<(&'static str, Option<Value>, bool)> {
    vec![
        ("_check_in", None, false),
        ("_api_key_id", Some(json!({"api_key_id": "key"})), false),
        ("_configuration", Some(json!({"values": {}})), true),
        ("_error", Some(json!({"error": "boom"})), false),
        (
            "_features",
            Some(json!({"features": {"incremental_sync": {"enabled": true}}})),
            false,
        ),
        ("_filtering", Some(json!({"rules": []})), true),
        (
            "_filtering",
            Some(json!({"filtering": filtering_at("2024-01-01T00:00:00.000Z")})),
            false,
        ),
        (
            "_filtering/_validation",
            Some(json!({"validation": {"state": "valid", "errors": []}})),
            true,
        ),
        ("_filtering/_activate", None, true),
        ("_index_name", Some(json!({"index_name": index_name})), true),
        ("_last_sync", Some(json!({"last_sync_error": "oh no"})), false),
        ("_name", Some(json!({"name": "n"})), false),
        ("_native", Some(json!({"is_native": false})), true),
        (
            "_pipeline",
            Some(
                json!({"pipeline": {"extract_binary_content": true, "name": "p", "reduce_whitespace": true, "run_ml_inference": false}}),
            ),
            false,
        ),
        (
            "_scheduling",
            Some(json!({"scheduling": {"full": {"enabled": true, "interval": "0 0 1 * * ?"}}})),
            false,
        ),
        ("_service_type", Some(json!({"service_type": "s"})), true),
        ("_status", Some(json!({"status": "error"})), true),
    ]
}

#[tokio::test]
async fn updates_of_a_connector_that_is_not_there_are_not_found_and_create_no_index() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        let concrete = format!("{}-v1", api.alias);
        for round in ["no index", "no document"] {
            for (endpoint, body, looked_up) in updates(&unique_id("search")) {
                let (status, answer) = match &body {
                    Some(body) => api.update("nope", endpoint, body.clone()).await,
                    None => {
                        api.call(Method::PUT, &format!("/_connector/nope/{endpoint}"), None)
                            .await
                    }
                };
                let expected = if looked_up {
                    not_found("nope")
                } else {
                    document_missing("nope", &concrete)
                };
                assert_eq!(
                    (status, &answer),
                    (404, &expected),
                    "{} {round}: {endpoint} {body:?}",
                    backend.name
                );
            }
            assert_eq!(
                api.call(Method::GET, "/_connector/nope", None).await,
                (404, not_found("nope"))
            );
            assert_eq!(
                api.call(Method::DELETE, "/_connector/nope", None).await,
                (404, not_found("nope"))
            );
            assert_eq!(
                api.call(Method::DELETE, "/_connector/nope?hard=true", None).await,
                (404, not_found("nope"))
            );
            let (status, listed) = api.call(Method::GET, "/_connector", None).await;
            assert_eq!(status, 200);
            assert_eq!(listed["count"], if round == "no index" { 0 } else { 1 });
            if round == "no index" {
                assert!(
                    !api.app.node.index_exists(&api.alias).await,
                    "an update created the index"
                );
                assert!(
                    !api.app
                        .node
                        .index_exists(&format!("{}-index-names", api.alias))
                        .await,
                    "an update created the reservations index"
                );
                api.create("other", json!({})).await;
            }
        }
        api.clean_up().await;
    }
}

#[tokio::test]
async fn a_soft_deleted_connector_is_gone_for_lookups_but_direct_updates_still_reach_it() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        api.create("deleted", connector_body(&unique_id("search"))).await;
        assert_eq!(
            api.call(Method::DELETE, "/_connector/deleted", None).await,
            (200, json!({"acknowledged": true}))
        );
        for (endpoint, body, looked_up) in updates(&unique_id("search")) {
            let (status, answer) = match &body {
                Some(body) => api.update("deleted", endpoint, body.clone()).await,
                None => {
                    api.call(Method::PUT, &format!("/_connector/deleted/{endpoint}"), None)
                        .await
                }
            };
            if looked_up {
                assert_eq!((status, answer), (404, not_found("deleted")), "{endpoint}");
            } else {
                assert_eq!(status, 200, "{endpoint}: {answer}");
            }
        }
        let stored = api.stored("deleted").await.unwrap();
        assert_eq!(stored["deleted"], true);
        assert_eq!(
            stored["name"], "n",
            "the direct update reached the deleted connector"
        );
        api.clean_up().await;
    }
}

#[tokio::test]
async fn get_answers_the_stored_connector_and_hides_deleted_ones_unless_asked() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        api.create("c", connector_body(&unique_id("search"))).await;
        let (status, got) = api
            .call(Method::GET, "/_connector/c?include_deleted=false", None)
            .await;
        assert_eq!(
            (status, &got["id"], &got["deleted"]),
            (200, &json!("c"), &json!(false))
        );

        api.call(Method::DELETE, "/_connector/c", None).await;
        assert_eq!(
            api.call(Method::GET, "/_connector/c", None).await,
            (404, not_found("c"))
        );
        let (status, got) = api.call(Method::GET, "/_connector/c?include_deleted", None).await;
        assert_eq!((status, &got["deleted"]), (200, &json!(true)));
        assert_eq!(got["name"], "my-connector");

        let (status, answer) = api
            .call(Method::GET, "/_connector/c?include_deleted=yes", None)
            .await;
        assert_eq!(
            (status, answer),
            (
                400,
                es_error(
                    "illegal_argument_exception",
                    "Failed to parse value [yes] as only [true] or [false] are allowed.",
                    400
                )
            )
        );
        let (status, answer) = api.call(Method::GET, "/_connector/c?hard=true", None).await;
        assert_eq!(
            (status, answer),
            (
                400,
                es_error(
                    "illegal_argument_exception",
                    "request [/_connector/c] contains unrecognized parameter: [hard]",
                    400
                )
            )
        );
        let (status, answer) = api.call_raw(Method::GET, "/_connector/c", "{}").await;
        assert_eq!(
            (status, answer),
            (
                400,
                es_error(
                    "illegal_argument_exception",
                    "request [GET /_connector/c] does not support having a body",
                    400
                )
            )
        );
        api.clean_up().await;
    }
}

#[tokio::test]
async fn invalid_creations_are_refused_and_write_nothing() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        api.create("existing", connector_body(&unique_id("search"))).await;
        let before = api.snapshot().await;
        let bad = "_this-is-invalid-index-name";
        let cases: Vec<(Value, Value)> = vec![
            (
                json!({"index_name": bad}),
                validation_error(&[&invalid_index_name(bad, "must not start with '_', '-', or '+'")]),
            ),
            (
                json!({"index_name": ""}),
                validation_error(&[&invalid_index_name("", "must not be empty")]),
            ),
            (
                json!({"index_name": "wrong-prefix-index", "is_native": true}),
                validation_error(&["Index [wrong-prefix-index] is invalid. Index attached to an Elastic-managed connector must start with the prefix: [content-]"]),
            ),
            (
                json!({"index_name": "a#b", "is_native": true}),
                validation_error(&[
                    &invalid_index_name("a#b", "must not contain '#'"),
                    "Index [a#b] is invalid. Index attached to an Elastic-managed connector must start with the prefix: [content-]",
                ]),
            ),
            (
                json!({"name": 123}),
                es_error(
                    "x_content_parse_exception",
                    "[1:9] [connector_put_request] name doesn't support values of type: VALUE_NUMBER",
                    400,
                ),
            ),
            (
                json!({"nam": "x"}),
                es_error(
                    "x_content_parse_exception",
                    "[1:2] [connector_put_request] unknown field [nam] did you mean [name]?",
                    400,
                ),
            ),
            (
                json!({"description": null}),
                es_error(
                    "x_content_parse_exception",
                    "[1:16] [connector_put_request] description doesn't support values of type: VALUE_NULL",
                    400,
                ),
            ),
        ];
        for (body, expected) in cases {
            for (method, path) in [
                (Method::PUT, "/_connector/new-one"),
                (Method::POST, "/_connector"),
            ] {
                let (status, answer) = api.call(method.clone(), path, Some(body.clone())).await;
                assert_eq!(
                    (status, &answer),
                    (400, &expected),
                    "{} {method} {body}",
                    backend.name
                );
            }
        }
        let not_a_boolean = json!({"is_native": "yes"});
        assert_refused(
            &api.call(Method::PUT, "/_connector/new-one", Some(not_a_boolean))
                .await,
            Some("[1:14] [connector_put_request] failed to parse field [is_native]"),
            Some("Failed to parse value [yes] as only [true] or [false] are allowed."),
        );
        assert_eq!(api.snapshot().await, before, "a refused request wrote");
        assert_eq!(api.stored("new-one").await, None);
        api.clean_up().await;
    }
}

#[tokio::test]
async fn native_connectors_need_a_content_index_and_start_by_needing_configuration() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        let index_name = format!("content-{}", unique_id("search"));
        let (status, answer) = api
            .call(
                Method::POST,
                "/_connector",
                Some(json!({"index_name": index_name, "is_native": true})),
            )
            .await;
        assert_eq!(status, 201);
        let stored = api.stored(answer["id"].as_str().unwrap()).await.unwrap();
        assert_eq!(stored["is_native"], true);
        assert_eq!(stored["status"], "needs_configuration");
        api.clean_up().await;
    }
}

#[tokio::test]
async fn an_index_name_used_by_another_live_connector_is_refused() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        let taken = unique_id("search");
        api.create("holder", connector_body(&taken)).await;
        api.create("other", connector_body(&unique_id("search"))).await;
        let before = api.snapshot().await;
        let in_use = es_error(
            "status_exception",
            &format!("Index name [{taken}] is used by another connector."),
            400,
        );
        assert_eq!(
            api.call(Method::PUT, "/_connector/newcomer", Some(connector_body(&taken)))
                .await,
            (400, in_use.clone())
        );
        assert_eq!(
            api.call(Method::POST, "/_connector", Some(connector_body(&taken)))
                .await,
            (400, in_use.clone())
        );
        assert_eq!(
            api.update("other", "_index_name", json!({"index_name": taken}))
                .await,
            (400, in_use.clone())
        );
        assert_eq!(api.snapshot().await, before);

        // Its own name again changes nothing; a connector may take a name its holder let go.
        assert_eq!(
            api.update("holder", "_index_name", json!({"index_name": taken}))
                .await,
            (200, json!({"result": "noop"}))
        );
        assert_eq!(
            api.update("holder", "_index_name", json!({"index_name": null}))
                .await,
            (200, json!({"result": "updated"}))
        );
        assert_eq!(api.stored("holder").await.unwrap()["index_name"], Value::Null);
        assert_eq!(
            api.update("other", "_index_name", json!({"index_name": taken}))
                .await,
            (200, json!({"result": "updated"}))
        );
        // A soft-deleted connector holds no name.
        api.call(Method::DELETE, "/_connector/other", None).await;
        api.create("third", connector_body(&taken)).await;
        assert_eq!(api.stored("third").await.unwrap()["index_name"], json!(taken));
        // Nor does one whose PUT replaced its name.
        let next = unique_id("search");
        api.create("third", connector_body(&next)).await;
        api.create("fourth", connector_body(&taken)).await;
        let reservations = api.reservations().await;
        assert!(
            reservations.contains(&(taken.clone(), "fourth".to_owned())),
            "{reservations:?}"
        );
        assert!(
            reservations.contains(&(next.clone(), "third".to_owned())),
            "{reservations:?}"
        );
        assert_eq!(
            reservations.len(),
            2,
            "released names stay released: {reservations:?}"
        );
        api.clean_up().await;
    }
}

#[tokio::test]
async fn index_name_updates_check_the_name_and_managed_connectors_prefix() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        api.create(
            "native",
            json!({"index_name": format!("content-{}", unique_id("x")), "is_native": true}),
        )
        .await;
        let before = api.snapshot().await;
        let wrong = unique_id("search");
        assert_eq!(
            api.update("native", "_index_name", json!({"index_name": wrong})).await,
            (400, es_error("status_exception", &format!("Index attached to an Elastic-managed connector must start with the prefix: [content-]. The index name in the payload [{wrong}] doesn't comply with this requirement."), 400))
        );
        assert_eq!(
            api.update(
                "native",
                "_index_name",
                json!({"index_name": "_invalid-index-name"})
            )
            .await,
            (
                400,
                validation_error(&[&invalid_index_name(
                    "_invalid-index-name",
                    "must not start with '_', '-', or '+'"
                )])
            )
        );
        assert_eq!(
            api.update("native", "_index_name", json!({"index_name": {"a": 1}})).await,
            (400, es_error("x_content_parse_exception", "[1:15] [connector_update_index_name_request] index_name doesn't support values of type: START_OBJECT", 400))
        );
        assert_eq!(
            api.update("native", "_index_name", json!({})).await,
            (
                400,
                es_error("illegal_argument_exception", "Required [index_name]", 400)
            )
        );
        assert_eq!(api.snapshot().await, before);
        assert!(
            !api.reservations().await.iter().any(|(name, _)| *name == wrong),
            "a refused update kept its claim"
        );
        let right = format!("content-{}", unique_id("x"));
        assert_eq!(
            api.update("native", "_index_name", json!({"index_name": right}))
                .await,
            (200, json!({"result": "updated"}))
        );
        assert_eq!(api.stored("native").await.unwrap()["index_name"], json!(right));
        api.clean_up().await;
    }
}

#[tokio::test]
async fn list_sorts_by_index_name_filters_pages_and_counts() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        assert_eq!(
            api.call(Method::GET, "/_connector", None).await,
            (200, json!({"count": 0, "results": []})),
            "no index yet"
        );
        let suffix = unique_id("");
        let a = format!("search-1-test{suffix}");
        let b = format!("content-search-2-test{suffix}");
        let c = format!("search-3-test{suffix}");
        api.create("connector-a", json!({"index_name": a, "name": "my-connector-1", "language": "pl", "is_native": false, "service_type": "super-connector", "description": "first of all"})).await;
        api.create("connector-c", json!({"index_name": c, "name": "my-connector-3", "language": "nl", "is_native": false, "service_type": "super-connector"})).await;
        api.create("connector-b", json!({"index_name": b, "name": "my-connector-2", "language": "en", "is_native": true, "service_type": "extra-connector"})).await;
        let ids = |answer: &Value| -> Vec<String> {
            answer["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|result| result["id"].as_str().unwrap().to_owned())
                .collect()
        };
        let list = |query: String| {
            let api = &api;
            async move {
                let (status, answer) = api.call(Method::GET, &format!("/_connector{query}"), None).await;
                assert_eq!(status, 200, "{query}: {answer}");
                (answer["count"].as_u64().unwrap(), ids(&answer))
            }
        };
        assert_eq!(
            list(String::new()).await,
            (
                3,
                vec!["connector-b".into(), "connector-a".into(), "connector-c".into()]
            )
        );
        let (_, all) = api.call(Method::GET, "/_connector", None).await;
        assert_eq!(all["results"][1]["language"], "pl");
        assert_eq!(keys(&all["results"][1])[0], "id");
        assert_eq!(
            list("?from=1".into()).await,
            (3, vec!["connector-a".into(), "connector-c".into()])
        );
        assert_eq!(
            list("?size=2".into()).await,
            (3, vec!["connector-b".into(), "connector-a".into()])
        );
        assert_eq!(
            list(format!("?index_name={a}")).await,
            (1, vec!["connector-a".into()])
        );
        assert_eq!(
            list(format!("?index_name={a},{b}")).await,
            (2, vec!["connector-b".into(), "connector-a".into()])
        );
        assert_eq!(
            list("?connector_name=my-connector-1,my-connector-2".into())
                .await
                .0,
            2
        );
        assert_eq!(
            list(format!(
                "?connector_name=my-connector-1,my-connector-2&index_name={b}"
            ))
            .await,
            (1, vec!["connector-b".into()])
        );
        assert_eq!(
            list("?service_type=super-connector".into()).await,
            (2, vec!["connector-a".into(), "connector-c".into()])
        );
        assert_eq!(
            list("?service_type=super-connector,extra-connector".into())
                .await
                .0,
            3
        );
        assert_eq!(
            list("?query=my-connector-1".into()).await,
            (1, vec!["connector-a".into()])
        );
        assert_eq!(list("?query=my-connector".into()).await.0, 3);
        assert_eq!(
            list(format!("?query={}", &c[..13])).await,
            (1, vec!["connector-c".into()])
        );
        assert_eq!(
            list("?query=first".into()).await,
            (1, vec!["connector-a".into()]),
            "the description matches too"
        );

        api.call(Method::DELETE, "/_connector/connector-a", None).await;
        assert_eq!(
            list(String::new()).await,
            (2, vec!["connector-b".into(), "connector-c".into()])
        );
        assert_eq!(list("?include_deleted=true".into()).await.0, 3);
        api.call(Method::DELETE, "/_connector/connector-b?hard=true", None)
            .await;
        assert_eq!(
            list("?include_deleted=true&from=1".into()).await,
            (2, vec!["connector-c".into()])
        );

        let illegal = "~.!$$#index-name$$$";
        assert_eq!(
            api.call(
                Method::GET,
                &format!("/_connector?index_name={}", crate::helpers::encode(illegal)),
                None
            )
            .await,
            (
                400,
                validation_error(&[&invalid_index_name(illegal, "must not contain '#'")])
            )
        );
        for (query, reason) in [
            ("from=-1", "Parameter [from] cannot be < 0"),
            ("size=-1", "Parameter [size] cannot be < 0"),
            ("size=x", "Failed to parse int parameter [size] with value [x]"),
            (
                "job_type=full",
                "request [/_connector] contains unrecognized parameter: [job_type]",
            ),
        ] {
            assert_eq!(
                api.call(Method::GET, &format!("/_connector?{query}"), None).await,
                (400, es_error("illegal_argument_exception", reason, 400)),
                "{query}"
            );
        }
        api.clean_up().await;
    }
}

#[tokio::test]
async fn delete_is_soft_unless_hard_and_takes_the_sync_jobs_when_asked() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        for id in ["soft", "hard", "keeps-jobs"] {
            api.create(id, connector_body(&unique_id("search"))).await;
            for _ in 0..3 {
                let (status, answer) = api
                    .call(
                        Method::POST,
                        "/_connector/_sync_job",
                        Some(json!({"id": id, "job_type": "full", "trigger_method": "on_demand"})),
                    )
                    .await;
                assert_eq!(status, 201, "{answer}");
            }
        }
        let jobs_of = |id: &'static str| {
            let api = &api;
            async move {
                let (status, answer) = api
                    .call(
                        Method::GET,
                        &format!("/_connector/_sync_job?connector_id={id}"),
                        None,
                    )
                    .await;
                assert_eq!(status, 200, "{answer}");
                answer["count"].as_u64().unwrap()
            }
        };
        assert_eq!(jobs_of("soft").await, 3);

        assert_eq!(
            api.call(Method::DELETE, "/_connector/soft?delete_sync_jobs=true", None)
                .await,
            (200, json!({"acknowledged": true}))
        );
        assert_eq!(
            api.stored("soft").await.unwrap()["deleted"],
            true,
            "soft: the document stays"
        );
        assert_eq!(jobs_of("soft").await, 0);
        assert_eq!(
            api.call(Method::DELETE, "/_connector/soft", None).await,
            (404, not_found("soft"))
        );

        assert_eq!(
            api.call(
                Method::DELETE,
                "/_connector/hard?hard=true&delete_sync_jobs",
                None
            )
            .await,
            (200, json!({"acknowledged": true}))
        );
        assert_eq!(api.stored("hard").await, None);
        assert_eq!(jobs_of("hard").await, 0);
        assert_eq!(
            api.call(Method::GET, "/_connector/hard?include_deleted=true", None)
                .await,
            (404, not_found("hard"))
        );

        assert_eq!(
            api.call(
                Method::DELETE,
                "/_connector/keeps-jobs?delete_sync_jobs=false",
                None
            )
            .await,
            (200, json!({"acknowledged": true}))
        );
        assert_eq!(jobs_of("keeps-jobs").await, 3);
        // A soft-deleted connector can still be deleted for good.
        assert_eq!(
            api.call(Method::DELETE, "/_connector/keeps-jobs?hard=true", None)
                .await,
            (200, json!({"acknowledged": true}))
        );
        assert!(
            api.reservations().await.is_empty(),
            "deleted connectors hold no names"
        );
        assert_eq!(
            api.call(Method::DELETE, "/_connector/x?hard=maybe", None).await,
            (
                400,
                es_error(
                    "illegal_argument_exception",
                    "Failed to parse value [maybe] as only [true] or [false] are allowed.",
                    400
                )
            )
        );
        api.clean_up().await;
    }
}

#[tokio::test]
async fn check_in_stamps_last_seen_later_each_time() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        api.create("c", connector_body(&unique_id("search"))).await;
        let path = "/_connector/c/_check_in";
        assert_eq!(
            api.call(Method::PUT, path, None).await,
            (200, json!({"result": "updated"}))
        );
        let first = api.stored("c").await.unwrap()["last_seen"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            api.call(Method::PUT, path, None).await,
            (200, json!({"result": "updated"}))
        );
        let second = api.stored("c").await.unwrap()["last_seen"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(second > first, "{second} after {first}");
        assert_eq!(
            api.call(Method::PUT, "/_connector//_check_in", None).await,
            (
                400,
                validation_error(&["[connector_id] cannot be [null] or [\"\"]."])
            )
        );
        assert_eq!(
            api.call_raw(Method::PUT, path, "{}").await,
            (
                400,
                es_error(
                    "illegal_argument_exception",
                    "request [PUT /_connector/c/_check_in] does not support having a body",
                    400
                )
            )
        );
        api.clean_up().await;
    }
}

#[tokio::test]
async fn direct_updates_merge_their_fields_and_report_noop_when_nothing_changes() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        api.create("c", connector_body(&unique_id("search"))).await;
        let pipeline = json!({"extract_binary_content": true, "name": "test-pipeline", "reduce_whitespace": true, "run_ml_inference": false});
        let steps: Vec<(&str, Value, Value)> = vec![
            (
                "_api_key_id",
                json!({"api_key_id": "test-api-key-id"}),
                json!({"api_key_id": "test-api-key-id"}),
            ),
            (
                "_api_key_id",
                json!({"api_key_secret_id": "secret-id", "api_key_id": null}),
                json!({"api_key_id": "test-api-key-id", "api_key_secret_id": "secret-id"}),
            ),
            (
                "_error",
                json!({"error": "some error"}),
                json!({"error": "some error", "status": "error"}),
            ),
            (
                "_error",
                json!({"error": null}),
                json!({"error": null, "status": "connected"}),
            ),
            (
                "_error",
                json!({"error": ""}),
                json!({"error": "", "status": "connected"}),
            ),
            (
                "_name",
                json!({"name": "test-name"}),
                json!({"name": "test-name"}),
            ),
            (
                "_name",
                json!({"description": "test-description", "name": null}),
                json!({"name": "test-name", "description": "test-description"}),
            ),
            (
                "_pipeline",
                json!({"pipeline": pipeline}),
                json!({"pipeline": pipeline}),
            ),
            (
                "_features",
                json!({"features": {"document_level_security": {"enabled": true}}}),
                json!({"features": {"document_level_security": {"enabled": true}}}),
            ),
            (
                "_features",
                json!({"features": {"native_connector_api_keys": {"enabled": true}, "sync_rules": {"basic": {"enabled": true}}}}),
                json!({"features": {"document_level_security": {"enabled": true}, "native_connector_api_keys": {"enabled": true}, "sync_rules": {"basic": {"enabled": true}}}}),
            ),
            (
                "_scheduling",
                json!({"scheduling": {"incremental": {"enabled": true, "interval": "3 0 0 * * ?"}}}),
                json!({"scheduling": {
                    "access_control": {"enabled": false, "interval": "0 0 0 * * ?"},
                    "full": {"enabled": false, "interval": "0 0 0 * * ?"},
                    "incremental": {"enabled": true, "interval": "3 0 0 * * ?"}}}),
            ),
            (
                "_scheduling",
                json!({"scheduling": {"access_control": {"enabled": true, "interval": "0 0 12 ? * mon-fri"}}}),
                json!({"scheduling": {
                    "access_control": {"enabled": true, "interval": "0 0 12 ? * MON-FRI"},
                    "full": {"enabled": false, "interval": "0 0 0 * * ?"},
                    "incremental": {"enabled": true, "interval": "3 0 0 * * ?"}}}),
            ),
            (
                "_last_sync",
                json!({"last_sync_error": "oh no error", "last_access_control_sync_scheduled_at": "2023-05-25T12:30:00.000Z", "last_sync_status": "CANCELED"}),
                json!({"last_sync_error": "oh no error", "last_access_control_sync_scheduled_at": "2023-05-25T12:30:00.000Z", "last_sync_status": "canceled"}),
            ),
            (
                "_last_sync",
                json!({"last_deleted_document_count": 43, "last_indexed_document_count": "42", "last_synced": "2024-01-01", "last_sync_error": null}),
                json!({"last_deleted_document_count": 43, "last_indexed_document_count": 42, "last_synced": "2024-01-01T00:00:00.000Z", "last_sync_error": "oh no error"}),
            ),
            (
                "_last_sync",
                json!({"sync_cursor": {"pointer": 42}}),
                json!({"sync_cursor": {"pointer": 42}}),
            ),
            (
                "_last_sync",
                json!({"sync_cursor": {"other": 1}}),
                json!({"sync_cursor": {"pointer": 42, "other": 1}}),
            ),
        ];
        for (endpoint, body, expected) in steps {
            let (status, answer) = api.update("c", endpoint, body.clone()).await;
            assert_eq!(
                (status, &answer),
                (200, &json!({"result": "updated"})),
                "{} {endpoint} {body}",
                backend.name
            );
            let stored = api.stored("c").await.unwrap();
            for (field, value) in expected.as_object().unwrap() {
                assert_eq!(&stored[field], value, "{endpoint} {body}: {field} in {stored}");
            }
            assert_eq!(
                api.update("c", endpoint, body.clone()).await,
                (200, json!({"result": "noop"})),
                "{endpoint} {body} again"
            );
        }
        assert_eq!(
            api.update("c", "_last_sync", json!({})).await,
            (200, json!({"result": "noop"}))
        );
        let stored = api.stored("c").await.unwrap();
        assert_eq!(
            keys(&stored).last(),
            Some(&"sync_cursor"),
            "new fields are appended, as a partial update appends them"
        );
        api.clean_up().await;
    }
}

#[tokio::test]
async fn direct_updates_refuse_what_elasticsearch_refuses_and_write_nothing() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        api.create("c", connector_body(&unique_id("search"))).await;
        let before = api.snapshot().await;
        let parse = |reason: &str| es_error("x_content_parse_exception", reason, 400);
        let cases: Vec<(&str, &str, Value)> = vec![
            ("_api_key_id", "{}", validation_error(&["[api_key_id] and [api_key_secret_id] cannot both be [null]. Please provide a value for at least one of them."])),
            ("_api_key_id", r#"{"api_key_id":{"field_1":"test"},"description":"d"}"#, parse("[1:15] [connector_update_api_key_id_request] api_key_id doesn't support values of type: START_OBJECT")),
            ("_error", "{}", es_error("illegal_argument_exception", "Required [error]", 400)),
            ("_error", r#"{"error":{"field_1":"test"}}"#, parse("[1:10] [connector_update_error_request] error doesn't support values of type: START_OBJECT")),
            ("_name", r#"{"name":null}"#, validation_error(&["[name] and [description] cannot both be [null]. Please provide a value for at least one of them."])),
            ("_name", r#"{"name":{"field_1":"test"}}"#, parse("[1:9] [connector_update_name_request] name doesn't support values of type: START_OBJECT")),
            ("_features", "{}", es_error("illegal_argument_exception", "Required [features]", 400)),
            ("_features", r#"{"featuresss":{"not_a_feature":12423}}"#, parse("[1:2] [connector_update_features_request] unknown field [featuresss] did you mean [features]?")),
            ("_pipeline", "{}", es_error("illegal_argument_exception", "Required [pipeline]", 400)),
            ("_pipeline", r#"{"pipeline":"x"}"#, parse("[1:13] [connector_update_pipeline_request] pipeline doesn't support values of type: VALUE_STRING")),
            ("_scheduling", r#"{"scheduling":{}}"#, validation_error(&["[scheduling] object needs to define at least one schedule type: [full | incremental | access_control]"])),
            ("_scheduling", "{}", es_error("illegal_argument_exception", "Required [scheduling]", 400)),
            ("_last_sync", r#"{"last_seen":"2024-01-01T00:00:00Z"}"#, parse("[1:2] [connector_update_last_sync_stats_request] unknown field [last_seen] did you mean [last_synced]?")),
            ("_last_sync", r#"{"last_synced":1700000000000}"#, parse("[1:16] [connector_update_last_sync_stats_request] last_synced doesn't support values of type: VALUE_NUMBER")),
            ("_last_sync", r#"{"sync_cursor":"x"}"#, parse("[1:16] [connector_update_last_sync_stats_request] sync_cursor doesn't support values of type: VALUE_STRING")),
            ("_check_in", "", es_error("illegal_argument_exception", "request [PUT /_connector/c/_check_in] does not support having a body", 400)),
        ];
        for (endpoint, body, expected) in cases {
            let (status, answer) = if endpoint == "_check_in" {
                api.call_raw(Method::PUT, "/_connector/c/_check_in", " x").await
            } else {
                api.call_raw(Method::PUT, &format!("/_connector/c/{endpoint}"), body)
                    .await
            };
            assert_eq!(
                (status, &answer),
                (400, &expected),
                "{} {endpoint} {body}",
                backend.name
            );
        }

        let (status, answer) = api
            .call_raw(
                Method::PUT,
                "/_connector/c/_pipeline",
                r#"{"pipeline":{"extract_binary_content":true,"name":"p","run_ml_inference":false}}"#,
            )
            .await;
        assert_eq!(status, 400);
        assert_eq!(
            answer["error"]["reason"],
            "[1:79] [connector_update_pipeline_request] failed to parse field [pipeline]"
        );
        assert_eq!(
            answer["error"]["caused_by"],
            json!({"type": "illegal_argument_exception", "reason": "Required [reduce_whitespace]"})
        );

        let (status, answer) = api
            .call_raw(
                Method::PUT,
                "/_connector/c/_scheduling",
                r#"{"scheduling":{"access_control":{"enabled":true,"interval":"61 0 0 * * ?"}}}"#,
            )
            .await;
        assert_eq!(status, 400);
        assert_eq!(
            answer["error"]["root_cause"][0]["reason"],
            "Failed to build [schedule_config] after last required field arrived"
        );
        assert_eq!(
            answer["error"]["reason"],
            "[1:60] [connector_update_scheduling_request] failed to parse field [scheduling]"
        );
        let innermost = &answer["error"]["caused_by"]["caused_by"]["caused_by"]["caused_by"];
        assert_eq!(innermost["reason"], "invalid cron expression [61 0 0 * * ?]");
        assert_eq!(
            innermost["caused_by"]["reason"],
            "illegal cron expression format [java.lang.IllegalArgumentException: Minute and Second values must be between 0 and 59]"
        );

        for (body, cause) in [
            (r#"{"last_access_control_sync_scheduled_at":"this is not a timestamp"}"#, "failed to parse date field [this is not a timestamp] with format [strict_date_optional_time||epoch_millis]"),
            (r#"{"last_sync_status":"this is not a valid status"}"#, "Unknown ConnectorSyncStatus [this is not a valid status]."),
            (r#"{"last_indexed_document_count":"many"}"#, "For input string: \"many\""),
        ] {
            let (status, answer) = api.call_raw(Method::PUT, "/_connector/c/_last_sync", body).await;
            assert_eq!(status, 400, "{body}");
            assert_eq!(answer["error"]["type"], "x_content_parse_exception");
            assert_eq!(answer["error"]["caused_by"]["reason"], cause, "{body}");
        }
        let (status, answer) = api
            .call_raw(
                Method::PUT,
                "/_connector/c/_features",
                r#"{"features":{"incremental_sync":{}}}"#,
            )
            .await;
        assert_eq!(status, 400);
        assert_eq!(
            answer["error"]["reason"],
            "[1:34] [connector_update_features_request] failed to parse field [features]"
        );
        assert_eq!(api.snapshot().await, before, "a refused request wrote");
        api.clean_up().await;
    }
}

#[tokio::test]
async fn status_follows_the_connector_protocols_state_machine() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        api.create("c", connector_body(&unique_id("search"))).await;
        let before = api.snapshot().await;
        let invalid = |from: &str, to: &str| {
            let reason = format!("Invalid transition attempt from [{from}] to [{to}]. Such a status transition is not supported by the Connector Protocol.");
            let mut body = es_error("status_exception", &reason, 400);
            body["error"]["caused_by"] =
                json!({"type": "connector_invalid_status_transition_exception", "reason": reason});
            body
        };
        assert_eq!(
            api.update("c", "_status", json!({"status": "connected"})).await,
            (400, invalid("created", "connected"))
        );
        assert_eq!(
            api.update("c", "_status", json!({"status": "created"})).await,
            (400, invalid("created", "created"))
        );
        assert_eq!(
            api.update("c", "_status", json!({})).await,
            (400, validation_error(&["[status] cannot be [null]."]))
        );
        assert_refused(
            &api.update("c", "_status", json!({"status": "_invalid-status"}))
                .await,
            Some("[1:11] [connector_update_status_request] failed to parse field [status]"),
            Some("Unknown ConnectorStatus [_invalid-status]."),
        );
        assert_eq!(
            api.update("c", "_status", json!({"status": {"a": 1}})).await,
            (400, es_error("x_content_parse_exception", "[1:11] [connector_update_status_request] status doesn't support values of type: START_OBJECT", 400))
        );
        assert_eq!(api.snapshot().await, before);

        for (to, result) in [
            ("NEEDS_CONFIGURATION", "updated"),
            ("configured", "updated"),
            ("configured", "noop"),
            ("connected", "updated"),
            ("connected", "noop"),
            ("error", "updated"),
            ("connected", "updated"),
        ] {
            assert_eq!(
                api.update("c", "_status", json!({"status": to})).await,
                (200, json!({"result": result})),
                "{} to {to}",
                backend.name
            );
        }
        assert_eq!(api.stored("c").await.unwrap()["status"], "connected");
        assert_eq!(
            api.update("c", "_status", json!({"status": "needs_configuration"}))
                .await,
            (400, invalid("connected", "needs_configuration"))
        );
        api.clean_up().await;
    }
}

#[tokio::test]
async fn native_and_service_type_change_the_status_as_elasticsearch_does() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        let plain = unique_id("search");
        api.create("c", connector_body(&format!("content-{plain}"))).await;
        api.create("plain", connector_body(&plain)).await;

        assert_eq!(
            api.update(
                "c",
                "_service_type",
                json!({"service_type": "even-better-connector"})
            )
            .await,
            (200, json!({"result": "updated"}))
        );
        let stored = api.stored("c").await.unwrap();
        assert_eq!(
            (&stored["service_type"], &stored["status"]),
            (&json!("even-better-connector"), &json!("created"))
        );

        for to in ["needs_configuration", "configured", "connected"] {
            api.update("c", "_status", json!({"status": to})).await;
        }
        assert_eq!(
            api.update("c", "_native", json!({"is_native": true})).await,
            (200, json!({"result": "updated"}))
        );
        let stored = api.stored("c").await.unwrap();
        assert_eq!(
            (&stored["is_native"], &stored["status"]),
            (&json!(true), &json!("configured"))
        );
        assert_eq!(
            api.update("c", "_native", json!({"is_native": true})).await,
            (200, json!({"result": "noop"}))
        );

        assert_eq!(
            api.update("c", "_service_type", json!({"service_type": "other"}))
                .await,
            (200, json!({"result": "updated"}))
        );
        assert_eq!(api.stored("c").await.unwrap()["status"], "needs_configuration");

        let before = api.snapshot().await;
        assert_eq!(
            api.update("plain", "_native", json!({"is_native": true})).await,
            (400, es_error("status_exception", &format!("The index name [{plain}] attached to the connector [plain] must start with the required prefix: [content-] to be Elastic-managed. Please update the attached index first to comply with this requirement."), 400))
        );
        assert_eq!(
            api.update("plain", "_service_type", json!({"service_type": ""}))
                .await,
            (
                400,
                validation_error(&["[service_type] cannot be [null] or [\"\"]."])
            )
        );
        assert_eq!(
            api.update("plain", "_service_type", json!({"service_type": {"a": 1}})).await,
            (400, es_error("x_content_parse_exception", "[1:17] [connector_update_service_type_request] service_type doesn't support values of type: START_OBJECT", 400))
        );
        assert_eq!(
            api.update("plain", "_native", json!({"is_native": {"a": 1}})).await,
            (400, es_error("x_content_parse_exception", "[1:14] [connector_update_native_request] is_native doesn't support values of type: START_OBJECT", 400))
        );
        assert_eq!(api.snapshot().await, before);
        api.clean_up().await;
    }
}

#[tokio::test]
async fn every_update_needs_a_body_where_elasticsearch_needs_one() {
    let api = ConnectorApp::start(ELASTICSEARCH).await;
    api.create("c", json!({})).await;
    for (endpoint, body, _) in updates("x") {
        if body.is_none() {
            continue;
        }
        assert_eq!(
            api.call(Method::PUT, &format!("/_connector/c/{endpoint}"), None)
                .await,
            (400, es_error("parse_exception", "request body is required", 400)),
            "{endpoint}"
        );
        let (status, answer) = api
            .call_raw(Method::PUT, &format!("/_connector/c/{endpoint}"), "[]")
            .await;
        assert_eq!(status, 400, "{endpoint}");
        assert!(
            answer["error"]["reason"]
                .as_str()
                .unwrap()
                .contains("Expected START_OBJECT but was: START_ARRAY"),
            "{endpoint}: {answer}"
        );
    }
    api.clean_up().await;
}
