//! What every answer looks like: Elasticsearch's envelope, its headers, its media types.

use serde_json::Value;

use crate::helpers::{self, es_error, job, raw_request, spawn_app, spawn_app_with, unique_id, ELASTICSEARCH};

fn assert_elasticsearch_headers(response: &reqwest::Response, what: &str) {
    assert_eq!(response.headers()["x-elastic-product"], "Elasticsearch", "{what}");
    assert_eq!(response.headers()["content-type"], "application/json", "{what}");
}

#[tokio::test]
async fn every_answer_carries_the_product_header_and_a_json_content_type() {
    // Pass-through off, so that unknown routes are the service's own 404 (with it on, they are
    // the cluster's answers: tests/api/passthrough.rs).
    let app = spawn_app_with(ELASTICSEARCH, |settings| settings.passthrough = None).await;
    let id = unique_id("headers");
    app.node.seed(&id, job("in_progress")).await;
    let cases = [
        ("PUT", app.cancel_url(&id), 200),
        ("PUT", app.cancel_url(&id), 400),
        ("PUT", app.cancel_url("no-such-job"), 404),
        ("GET", app.cancel_url(&id), 405),
        ("GET", format!("{}/_cluster/health", app.address), 404),
        (
            "PUT",
            format!("{}/_connector/_sync_job/no-such-job/_check_in", app.address),
            404,
        ),
    ];
    for (method, url, status) in cases {
        let response = app
            .http
            .request(method.parse().unwrap(), &url)
            .send()
            .await
            .unwrap();
        let what = format!("{method} {url}");
        assert_eq!(response.status(), status, "{what}");
        assert_elasticsearch_headers(&response, &what);
        let body: Value = response.json().await.unwrap();
        if status != 200 {
            assert_eq!(body["status"], status, "{what}: {body}");
            assert_eq!(
                body["error"]["root_cause"][0]["type"], body["error"]["type"],
                "{what}"
            );
        }
    }
}

#[tokio::test]
async fn wrong_methods_are_refused_with_the_allowed_one() {
    let app = spawn_app(ELASTICSEARCH).await;
    for method in ["GET", "POST", "DELETE", "PATCH"] {
        let url = app.cancel_url("job-1");
        let response = app
            .http
            .request(method.parse().unwrap(), &url)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method}");
        assert_eq!(response.headers()["allow"], "PUT");
        let reason = format!(
            "Incorrect HTTP method for uri [/_connector/_sync_job/job-1/_cancel] and method [{method}], allowed: [PUT]"
        );
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            es_error("method_not_allowed_exception", &reason, 405)
        );
    }
}

#[tokio::test]
async fn with_passthrough_off_unknown_routes_are_not_found() {
    let app = spawn_app_with(ELASTICSEARCH, |settings| settings.passthrough = None).await;
    for path in [
        "/",
        "/_connector/_sync_job/a/b/_cancel",
        "/.elastic-connectors-sync-jobs/_doc/x",
    ] {
        let response = app
            .http
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let reason = format!("no handler found for uri [{path}] and method [GET]");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            es_error("resource_not_found_exception", &reason, 404)
        );
    }
}

#[tokio::test]
async fn compatible_with_is_answered_in_the_same_media_type() {
    let app = spawn_app(ELASTICSEARCH).await;
    for version in ["8", "9"] {
        let id = unique_id("compat");
        app.node.seed(&id, job("pending")).await;
        for (url, status) in [(app.cancel_url(&id), 200), (app.cancel_url("no-such-job"), 404)] {
            let response = app
                .http
                .put(url)
                .header(
                    "accept",
                    format!("application/vnd.elasticsearch+json; compatible-with={version}"),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), status);
            assert_eq!(
                response.headers()["content-type"],
                format!("application/vnd.elasticsearch+json;compatible-with={version}").as_str()
            );
            assert_eq!(response.headers()["x-elastic-product"], "Elasticsearch");
        }
    }
}

#[tokio::test]
async fn an_unsupported_compatible_with_version_is_refused_and_writes_nothing() {
    let app = spawn_app(ELASTICSEARCH).await;
    let id = unique_id("compat7");
    app.node.seed(&id, job("pending")).await;
    let before = app.node.read(&id).await.unwrap();
    let response = app
        .http
        .put(app.cancel_url(&id))
        .header("accept", "application/vnd.elasticsearch+json; compatible-with=7")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        es_error(
            "media_type_header_exception",
            "Invalid media-type value on headers [Accept]",
            400
        )
    );
    assert_eq!(app.node.read(&id).await.unwrap(), before);
}

#[tokio::test]
async fn bad_requests_get_a_clear_error_and_change_nothing() {
    let app = spawn_app(ELASTICSEARCH).await;
    let id = unique_id("bad-request");
    app.node.seed(&id, job("in_progress")).await;
    let before = app.node.read(&id).await.unwrap();
    let long_id = "x".repeat(513);

    let cases = [
        (
            app.http.put(app.cancel_url("")),
            "action_request_validation_exception",
            "Validation Failed: 1: [connector_sync_job_id] of the connector sync job cannot be null or empty.;"
                .to_owned(),
        ),
        (
            app.http.put(app.cancel_url(&long_id)),
            "action_request_validation_exception",
            format!("Validation Failed: 1: id [{long_id}] is too long, must be no longer than 512 bytes but was: 513;"),
        ),
        (
            app.http.put(app.cancel_url(&id)).body("{\"reason\":\"user asked\"}"),
            "illegal_argument_exception",
            format!("request [PUT /_connector/_sync_job/{id}/_cancel] does not support having a body"),
        ),
        (
            app.http.put(format!("{}?force=true", app.cancel_url(&id))),
            "illegal_argument_exception",
            format!("request [/_connector/_sync_job/{id}/_cancel] contains unrecognized parameter: [force]"),
        ),
        (
            app.http.put(app.cancel_url("%FF%FE")),
            "illegal_argument_exception",
            "[connector_sync_job_id] [%FF%FE] is not valid UTF-8 once percent-decoded".to_owned(),
        ),
    ];
    for (request, kind, reason) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 400, "{reason}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            es_error(kind, &reason, 400)
        );
    }
    // HTTP client libraries resolve dot segments; a raw request does not.
    for dots in ["..", "%2E%2E", ".", "%2e"] {
        let (status, body) = raw_request(&app, "PUT", &format!("/_connector/_sync_job/{dots}/_cancel")).await;
        assert_eq!(status, 400, "{dots}");
        let reason = "Validation Failed: 1: [connector_sync_job_id] cannot be [.] or [..];";
        assert_eq!(
            body,
            es_error("action_request_validation_exception", reason, 400),
            "{dots}"
        );
    }
    assert_eq!(
        app.node.read(&id).await.unwrap(),
        before,
        "a refused request changed the job"
    );
    assert_eq!(app.cancel(&id).await.status(), 200, "the service still serves");
}

#[tokio::test]
async fn pretty_and_global_parameters_are_accepted() {
    let app = spawn_app(ELASTICSEARCH).await;
    let id = unique_id("pretty");
    app.node.seed(&id, job("pending")).await;
    let response = app
        .http
        .put(format!(
            "{}?pretty&human=true&error_trace=true",
            app.cancel_url(&id)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        "{\n  \"result\" : \"updated\"\n}\n"
    );
}

#[tokio::test]
async fn a_pretty_answer_is_byte_for_byte_the_nodes_own_pretty_rendering() {
    let app = spawn_app(ELASTICSEARCH).await;
    let id = unique_id("pretty-job");
    // Nested objects, arrays, empty ones, nulls and numbers: every shape the printer lays out.
    let mut stored = job("in_progress");
    stored["metadata"] = serde_json::json!({"empty": {}, "list": [], "nested": [1, {"n": null}]});
    app.node.seed(&id, stored).await;
    let path = format!("/_connector/_sync_job/{}", helpers::encode(&id));
    let ours = |query: &'static str| {
        let request = app.http.get(format!("{}{path}{query}", app.address));
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let (compact, pretty) = (ours("").await, ours("?pretty").await);

    // The node renders the same answer, stored as a document of an unmapped index.
    let scratch = unique_id("pretty-check");
    let node = &app.node;
    node.call(
        reqwest::Method::PUT,
        &format!("/{scratch}"),
        Some(&serde_json::json!({"mappings": {"enabled": false}})),
    )
    .await;
    let answer: Value = serde_json::from_str(&compact).unwrap();
    node.call(
        reqwest::Method::PUT,
        &format!("/{scratch}/_doc/1?refresh=true"),
        Some(&answer),
    )
    .await;
    let theirs = node
        .http
        .get(format!("{}/{scratch}/_source/1?pretty", node.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    node.call(reqwest::Method::DELETE, &format!("/{scratch}"), None)
        .await;
    assert!(theirs.contains("[ ]") && theirs.contains("{ }"), "{theirs}");
    assert_eq!(pretty, theirs);
}
