//! The connector secrets API (`/_connector/_secret`), against both backends: Elasticsearch's
//! answers, its body validation, the `.connector-secrets` layout, and secret values kept out of
//! errors, logs and metrics.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    encode, es_error, spawn_app, unique_id, Node, ServiceProcess, TestApp, BOTH, ELASTICSEARCH,
};
use crate::security::{
    call_as, forwarding_app as secure_app, secure_node, secure_url, trusting_the_test_ca, ELASTIC, READER,
    WRITER,
};

const ALIAS: &str = ".connector-secrets";

fn secret_path(id: &str) -> String {
    format!("/_connector/_secret/{}", encode(id))
}

/// The stored document, read from the node directly.
async fn stored(node: &Node, id: &str) -> Option<Value> {
    node.read_in(ALIAS, id).await.map(|stored| stored.source)
}

fn missing(id: &str) -> Value {
    es_error(
        "resource_not_found_exception",
        &format!("No secret with id [{id}]"),
        404,
    )
}

#[tokio::test]
async fn a_secret_is_posted_read_replaced_and_deleted() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        let value = unique_id("posted-value");
        let (status, answer) = app
            .call("POST", "/_connector/_secret", Some(json!({ "value": value })))
            .await;
        assert_eq!(status, 200, "{}: {answer}", backend.name);
        let id = answer["id"].as_str().unwrap().to_owned();
        assert_eq!(answer, json!({ "id": id }));
        assert_eq!(id.len(), 20, "an id in Elasticsearch's form: {id}");
        assert_eq!(stored(&app.node, &id).await, Some(json!({ "value": value })));

        let read = app.call("GET", &secret_path(&id), None).await;
        assert_eq!(read, (200, json!({ "id": id, "value": value })));

        let replaced = unique_id("replaced-value");
        let put = app
            .call("PUT", &secret_path(&id), Some(json!({ "value": replaced })))
            .await;
        assert_eq!(put, (200, json!({"result": "updated"})), "{}", backend.name);
        let read = app.call("GET", &secret_path(&id), None).await;
        assert_eq!(read, (200, json!({ "id": id, "value": replaced })));

        let named = unique_id("named secret/ä");
        let put = app
            .call("PUT", &secret_path(&named), Some(json!({ "value": "v" })))
            .await;
        assert_eq!(put, (201, json!({"result": "created"})), "{}", backend.name);
        let read = app.call("GET", &secret_path(&named), None).await;
        assert_eq!(read, (200, json!({ "id": named, "value": "v" })));

        for id in [&id, &named] {
            let deleted = app.call("DELETE", &secret_path(id), None).await;
            assert_eq!(deleted, (200, json!({"deleted": true})), "{}", backend.name);
            assert_eq!(stored(&app.node, id).await, None);
            assert_eq!(app.call("GET", &secret_path(id), None).await, (404, missing(id)));
            assert_eq!(
                app.call("DELETE", &secret_path(id), None).await,
                (404, missing(id))
            );
        }
    }
}

#[tokio::test]
async fn the_secrets_index_is_laid_out_as_elasticsearch_lays_out_connector_secrets() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        let (status, answer) = app
            .call("POST", "/_connector/_secret", Some(json!({"value": "v"})))
            .await;
        assert_eq!(status, 200, "{answer}");
        let index = app
            .node
            .call(Method::GET, &format!("/{ALIAS}?expand_wildcards=all"), None)
            .await;
        let concrete = &index[format!("{ALIAS}-1")];
        assert_eq!(
            concrete["aliases"],
            json!({ ALIAS: {} }),
            "{}: {index}",
            backend.name
        );
        assert_eq!(concrete["mappings"]["dynamic"], "false");
        assert_eq!(
            concrete["mappings"]["properties"],
            json!({"value": {"type": "keyword", "index": false}})
        );
        let settings = &concrete["settings"]["index"];
        assert_eq!(settings["hidden"], "true");
        assert_eq!(settings["number_of_shards"], "1");
        assert_eq!(settings["auto_expand_replicas"], "0-1");
        assert_eq!(settings["priority"], "100");
        assert_eq!(settings["refresh_interval"], "1s");
    }
}

#[tokio::test]
async fn secrets_paths_are_the_services_not_a_connector_id_nor_the_clusters() {
    let app = spawn_app(ELASTICSEARCH).await;
    // Once caught by `/_connector/{connector_id}` (405) or passed through to the cluster.
    let (status, answer) = app
        .call("POST", "/_connector/_secret", Some(json!({"value": "v"})))
        .await;
    assert_eq!(status, 200, "{answer}");
    let id = unique_id("never-stored");
    for method in ["GET", "DELETE"] {
        assert_eq!(
            app.call(method, &secret_path(&id), None).await,
            (404, missing(&id))
        );
    }
    let (status, answer) = app.call("PATCH", &secret_path(&id), None).await;
    assert_eq!(status, 405, "{answer}");
    assert_eq!(answer["error"]["type"], "method_not_allowed_exception");
    // `_check_in` here is a secret's id, as Elasticsearch's routing reads it.
    let (status, answer) = app.call("GET", "/_connector/_secret/_check_in", None).await;
    assert_eq!((status, answer), (404, missing("_check_in")));
}

/// A request with a raw body (or none), the status and the answer.
async fn raw(app: &TestApp, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    match body {
        Some(body) => app.call_raw(method, path, body).await,
        None => app.call(method, path, None).await,
    }
}

#[tokio::test]
async fn bodies_and_ids_are_checked_as_elasticsearch_checks_them_and_nothing_is_written() {
    let validation = |problems: &str| {
        es_error(
            "action_request_validation_exception",
            &format!("Validation Failed: {problems}"),
            400,
        )
    };
    let required = es_error("parse_exception", "request body is required", 400);
    let post_empty = validation("1: [value] of the connector secret cannot be [null] or [\"\"];");
    let put_empty = validation("1: [value] cannot be [null] or [\"\"];");
    let id_empty = validation("1: [id] of the connector secret cannot be null or empty.;");
    for backend in BOTH {
        let app = spawn_app(backend).await;
        let id = unique_id("refused");
        let put = secret_path(&id);
        let parse = |reason: &str| es_error("x_content_parse_exception", reason, 400);
        let cases: Vec<(&str, String, Option<&str>, Value)> = vec![
            ("POST", "/_connector/_secret".into(), None, required.clone()),
            ("POST", "/_connector/_secret".into(), Some(" \n"), required.clone()),
            ("POST", "/_connector/_secret".into(), Some("{}"), post_empty.clone()),
            ("POST", "/_connector/_secret".into(), Some(r#"{"value":""}"#), post_empty.clone()),
            (
                "POST",
                "/_connector/_secret".into(),
                Some(r#"{"value":null}"#),
                parse("[1:10] [post_secret_request] value doesn't support values of type: VALUE_NULL"),
            ),
            (
                "POST",
                "/_connector/_secret".into(),
                Some(r#"{"value":5}"#),
                parse("[1:10] [post_secret_request] value doesn't support values of type: VALUE_NUMBER"),
            ),
            (
                "POST",
                "/_connector/_secret".into(),
                Some(r#"{"value":"v","valeu":"w"}"#),
                parse("[1:14] [post_secret_request] unknown field [valeu] did you mean [value]?"),
            ),
            (
                "POST",
                "/_connector/_secret".into(),
                Some(r#"["v"]"#),
                parse("[1:1] [post_secret_request] Expected START_OBJECT but was: START_ARRAY"),
            ),
            ("PUT", put.clone(), None, required.clone()),
            (
                "PUT",
                put.clone(),
                Some("{}"),
                es_error("illegal_argument_exception", "Required [value]", 400),
            ),
            ("PUT", put.clone(), Some(r#"{"value":""}"#), put_empty.clone()),
            (
                "PUT",
                "/_connector/_secret/".into(),
                Some(r#"{"value":""}"#),
                validation("1: [id] cannot be [null] or [\"\"];2: [value] cannot be [null] or [\"\"];"),
            ),
            (
                "PUT",
                "/_connector/_secret/".into(),
                Some(r#"{"value":"v"}"#),
                validation("1: [id] cannot be [null] or [\"\"];"),
            ),
            (
                "PUT",
                put.clone(),
                Some(r#"{"value":{"a":"b"}}"#),
                parse(
                    "[1:10] [connector_secret_put_request] value doesn't support values of type: START_OBJECT",
                ),
            ),
            (
                "PUT",
                put.clone(),
                Some(r#"{"value":"v","other":1}"#),
                parse("[1:14] [connector_secret_put_request] unknown field [other]"),
            ),
            ("GET", "/_connector/_secret/".into(), None, id_empty.clone()),
            ("DELETE", "/_connector/_secret/".into(), None, id_empty.clone()),
            (
                "GET",
                put.clone(),
                Some(r#"{"value":"v"}"#),
                es_error(
                    "illegal_argument_exception",
                    &format!("request [GET {put}] does not support having a body"),
                    400,
                ),
            ),
        ];
        for (method, path, body, expected) in cases {
            let answer = raw(&app, method, &path, body).await;
            assert_eq!(
                answer,
                (400, expected),
                "{}: {method} {path} {body:?}",
                backend.name
            );
        }
        assert_eq!(stored(&app.node, &id).await, None, "a refused request wrote");
    }
}

#[tokio::test]
async fn an_error_never_repeats_the_secret() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        // Unquoted, the value is a token a JSON parser names in its error (one that starts
        // like `true` is read as a word).
        let token = unique_id("token").replace('-', "_");
        let (status, answer) = app
            .call_raw("POST", "/_connector/_secret", &format!(r#"{{"value": {token}}}"#))
            .await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(
            answer["error"]["reason"],
            "[1:11] Unrecognized token '***': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        );
        let (status, answer) = app
            .call_raw("PUT", &secret_path("x"), &format!(r#"{{"value": {token}}}"#))
            .await;
        assert_eq!(status, 400, "{answer}");
        assert!(!answer.to_string().contains(&token), "{answer}");

        // Longer than a keyword can hold: the cluster refuses the document, and its answer
        // previews the value.
        let marker = unique_id("immense");
        let value = marker.repeat(40_000 / marker.len() + 1);
        let id = unique_id("immense-secret");
        for (method, path) in [
            ("POST", "/_connector/_secret".to_owned()),
            ("PUT", secret_path(&id)),
        ] {
            let (status, answer) = app.call(method, &path, Some(json!({ "value": value }))).await;
            assert_eq!(status, 400, "{}: {method}: {answer}", backend.name);
            let text = answer.to_string();
            assert!(
                !text.contains(&marker[..12]),
                "{}: {method} repeats the value: {text}",
                backend.name
            );
            let bytes: Vec<String> = marker.bytes().take(6).map(|byte| byte.to_string()).collect();
            assert!(
                !text.contains(&bytes.join(", ")),
                "{}: {method} repeats the value's bytes: {text}",
                backend.name
            );
        }
        assert_eq!(stored(&app.node, &id).await, None);
    }
}

#[tokio::test]
async fn secret_values_stay_out_of_the_log_and_the_metrics() {
    let node = Node::connect(&ELASTICSEARCH).await;
    let mut service = ServiceProcess::start(&["--es-url", &node.url]);
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", service.address);
    let posted = unique_id("log-posted");
    let put = unique_id("log-put");
    let unquoted = unique_id("true_log").replace('-', "_");
    let immense = unique_id("log-immense");

    let answer: Value = http
        .post(url("/_connector/_secret"))
        .json(&json!({ "value": posted }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = answer["id"].as_str().unwrap().to_owned();
    let response = http
        .put(url(&secret_path(&id)))
        .json(&json!({ "value": put }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let read: Value = http
        .get(url(&secret_path(&id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["value"], put.as_str());
    let response = http
        .post(url("/_connector/_secret"))
        .header("content-type", "application/json")
        .body(format!(r#"{{"value": {unquoted}}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = http
        .put(url(&secret_path(&unique_id("log-immense"))))
        .json(&json!({ "value": immense.repeat(40_000 / immense.len() + 1) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let metrics = http
        .get(url("/-/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("post_connector_secret"), "{metrics}");
    let response = http.delete(url(&secret_path(&id))).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let lines = service.stop_and_collect_log();
    assert!(
        lines.iter().any(|line| line.contains("/_connector/_secret")),
        "the requests are logged: {lines:?}"
    );
    for value in [&posted, &put, &unquoted, &immense] {
        let shown: Vec<&String> = lines
            .iter()
            .filter(|line| line.contains(value.as_str()))
            .collect();
        assert!(shown.is_empty(), "{value} is in the log: {shown:?}");
        assert!(!metrics.contains(value.as_str()), "{value} is in the metrics");
    }
}

/// The stored secret, read as `elastic`.
async fn stored_securely(node: &reqwest::Client, id: &str) -> Option<Value> {
    let url = format!("{}/{ALIAS}/_doc/{}", secure_url(), encode(id));
    crate::helpers::read_doc(node.get(url).basic_auth(ELASTIC.0, Some(ELASTIC.1)))
        .await
        .map(|stored| stored.source)
}

/// In `forward` mode the caller's index privileges on `.connector-secrets` decide; the default
/// mode's cluster privileges (read/write_connector_secrets) are tested in authorization.rs.
#[tokio::test]
async fn on_a_secured_cluster_only_callers_with_privileges_on_connector_secrets_use_them() {
    let node = secure_node().await;
    let app = secure_app(trusting_the_test_ca(), None).await;
    let value = unique_id("secure-value");

    let (status, answer) = call_as(
        &app,
        Some(ELASTIC),
        Method::POST,
        "/_connector/_secret",
        Some(json!({ "value": value })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let id = answer["id"].as_str().unwrap().to_owned();
    let (status, answer) = call_as(&app, Some(ELASTIC), Method::GET, &secret_path(&id), None).await;
    assert_eq!(
        (status, answer),
        (StatusCode::OK, json!({ "id": id, "value": value }))
    );

    // The connectors roles hold `.elastic-connectors*`, nothing of `.connector-secrets`.
    let newcomer = unique_id("secure-refused");
    for user in [WRITER, READER] {
        for (method, path, body) in [
            (Method::GET, secret_path(&id), None),
            (
                Method::PUT,
                secret_path(&id),
                Some(json!({"value": "overwritten"})),
            ),
            (Method::PUT, secret_path(&newcomer), Some(json!({"value": "new"}))),
            (
                Method::POST,
                "/_connector/_secret".to_owned(),
                Some(json!({"value": "new"})),
            ),
            (Method::DELETE, secret_path(&id), None),
        ] {
            let (status, answer) = call_as(&app, Some(user), method.clone(), &path, body).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{} {method} {path}: {answer}",
                user.0
            );
            assert_eq!(
                answer["error"]["type"], "security_exception",
                "{} {method} {path}",
                user.0
            );
            assert!(!answer.to_string().contains(&value), "{answer}");
        }
    }
    let (status, _) = call_as(&app, None, Method::GET, &secret_path(&id), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(stored_securely(&node, &id).await, Some(json!({ "value": value })));
    assert_eq!(stored_securely(&node, &newcomer).await, None);

    let (status, answer) = call_as(&app, Some(ELASTIC), Method::DELETE, &secret_path(&id), None).await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"deleted": true})));
    assert_eq!(stored_securely(&node, &id).await, None);
}
