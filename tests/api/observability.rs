//! What operators and tracing see: forwarded headers, health, readiness, metrics, JSON logs.

use serde_json::Value;

use crate::helpers::{job, spawn_app, spawn_app_with, unique_id, Node, ServiceProcess, BOTH, ELASTICSEARCH};
use crate::proxy::{Fault, FaultProxy};

#[tokio::test]
async fn opaque_id_trace_context_and_credentials_go_on_to_the_cluster() {
    for backend in BOTH {
        let node = Node::connect(&backend).await;
        let proxy = FaultProxy::start(&node.url, Fault::Record).await;
        let app = spawn_app_with(backend, |settings| {
            settings.es_urls = vec![proxy.url.parse().unwrap()]
        })
        .await;
        let id = unique_id("forward");
        node.seed(&id, job("in_progress")).await;
        let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

        let response = app
            .http
            .put(app.cancel_url(&id))
            .header("x-opaque-id", "opaque-42")
            .header("traceparent", traceparent)
            .header("authorization", "Basic dXNlcjpwYXNz")
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), 200, "{}", backend.name);
        assert_eq!(response.headers()["x-opaque-id"], "opaque-42", "echoed");
        let sent = proxy.sent().to_ascii_lowercase();
        assert!(
            sent.contains("x-opaque-id: opaque-42"),
            "{}: {sent}",
            backend.name
        );
        assert!(sent.contains(&format!("traceparent: {traceparent}")), "{sent}");
        assert!(sent.contains("authorization: basic dxnlcjpwyxnz"), "{sent}");
    }
}

#[tokio::test]
async fn without_credentials_of_its_own_a_request_sends_none() {
    let node = Node::connect(&ELASTICSEARCH).await;
    let proxy = FaultProxy::start(&node.url, Fault::Record).await;
    let app = spawn_app_with(ELASTICSEARCH, |settings| {
        settings.es_urls = vec![proxy.url.parse().unwrap()]
    })
    .await;
    let id = unique_id("no-credentials");
    node.seed(&id, job("in_progress")).await;

    assert_eq!(app.cancel(&id).await.status(), 200);

    assert!(
        !proxy.sent().to_ascii_lowercase().contains("authorization:"),
        "{}",
        proxy.sent()
    );
}

#[tokio::test]
async fn liveness_and_readiness_follow_the_process_and_the_cluster() {
    let app = spawn_app(ELASTICSEARCH).await;
    for (path, expected) in [("/-/live", "live"), ("/-/ready", "ready")] {
        let response = app
            .http
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.json::<Value>().await.unwrap()["status"], expected);
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nowhere = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let cut_off = spawn_app_with(ELASTICSEARCH, |settings| {
        settings.es_urls = vec![nowhere.parse().unwrap()]
    })
    .await;
    let live = cut_off
        .http
        .get(format!("{}/-/live", cut_off.address))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200, "alive without a cluster");
    let ready = cut_off
        .http
        .get(format!("{}/-/ready", cut_off.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503, "not ready without a cluster");
    assert_eq!(
        ready.json::<Value>().await.unwrap()["error"]["type"],
        "cluster_unavailable_exception"
    );
}

#[tokio::test]
async fn metrics_count_requests_upstream_calls_and_the_strategy() {
    let app = spawn_app(ELASTICSEARCH).await;
    let id = unique_id("metrics");
    app.node.seed(&id, job("in_progress")).await;
    assert_eq!(app.cancel(&id).await.status(), 200);
    assert_eq!(app.cancel(&id).await.status(), 400);
    assert_eq!(app.cancel("no-such-job").await.status(), 404);

    let response = app
        .http
        .get(format!("{}/-/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for line in [
        r#"connector_sync_proxy_http_requests_total{route="cancel_connector_sync_job",status="200"} 1"#,
        r#"connector_sync_proxy_http_requests_total{route="cancel_connector_sync_job",status="400"} 1"#,
        r#"connector_sync_proxy_http_requests_total{route="cancel_connector_sync_job",status="404"} 1"#,
        r#"connector_sync_proxy_update_strategy{strategy="optimistic"} 1"#,
        r#"connector_sync_proxy_update_strategy{strategy="script"} 0"#,
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(
        text.contains(r#"connector_sync_proxy_upstream_request_duration_seconds_count{operation="get"} 3"#),
        "{text}"
    );
    assert!(
        text.contains("connector_sync_proxy_http_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn json_logs_are_ecs_lines_with_one_per_request() {
    let node = Node::connect(&ELASTICSEARCH).await;
    let mut service = ServiceProcess::start(&["--es-url", &node.url, "--log-format", "json"]);
    let http = reqwest::Client::new();
    let response = http
        .put(format!(
            "{}/_connector/_sync_job/no-such-job/_cancel?pretty",
            service.address
        ))
        .header("x-opaque-id", "opaque-ecs")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .header("authorization", "Basic dXNlcjpjcmVkZW50aWFsLXNlY3JldA==")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let plain = http
        .get(format!("{}/-/live", service.address))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);

    let lines = service.stop_and_collect_log();
    let parsed: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    for line in &parsed {
        let keys: Vec<&str> = line.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys[..3], ["@timestamp", "log.level", "message"], "{line}");
        assert_eq!(line["ecs.version"], "1.6.0", "{line}");
        assert_eq!(line["service.name"], "connector-sync-proxy", "{line}");
        assert!(line["service.version"].is_string(), "{line}");
        assert!(line["log.logger"].is_string(), "{line}");
    }
    let requests: Vec<&Value> = parsed
        .iter()
        .filter(|line| line["log.logger"] == "connector_sync_proxy::request")
        .collect();
    assert_eq!(requests.len(), 2, "{lines:?}");
    let cancel = requests[0];
    assert_eq!(cancel["log.level"], "INFO");
    assert_eq!(cancel["http.request.method"], "PUT");
    assert_eq!(
        cancel["url.path"], "/_connector/_sync_job/no-such-job/_cancel",
        "the path without the query"
    );
    assert_eq!(cancel["http.response.status_code"], 404);
    assert!(
        cancel["event.duration"].as_u64().is_some_and(|nanos| nanos > 0),
        "{cancel}"
    );
    assert_eq!(cancel["client.address"], "127.0.0.1");
    assert_eq!(cancel["http.request.id"], "opaque-ecs");
    assert_eq!(cancel["trace.id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(cancel["span.id"], "00f067aa0ba902b7");
    assert_eq!(cancel["error.type"], "resource_not_found_exception");
    assert!(
        cancel["error.message"]
            .as_str()
            .is_some_and(|message| message.contains("no-such-job")),
        "{cancel}"
    );
    let health = requests[1];
    assert_eq!(health["http.response.status_code"], 200);
    for absent in [
        "http.request.id",
        "trace.id",
        "span.id",
        "error.type",
        "error.message",
    ] {
        assert!(health.get(absent).is_none(), "{absent} in {health}");
    }
    assert!(
        lines
            .iter()
            .all(|line| !line.contains("secret") && !line.contains("dXNlcjpj")),
        "a credential was logged: {lines:?}"
    );
}

#[test]
fn secrets_stay_out_of_help_and_logs() {
    let binary = env!("CARGO_BIN_EXE_connector-sync-proxy");
    let help = std::process::Command::new(binary)
        .arg("--help")
        .env("CONNECTOR_SYNC_PROXY_ES_URL", "http://svc:topsecret@127.0.0.1:1")
        .env("CONNECTOR_SYNC_PROXY_ES_USERNAME", "svc")
        .env("CONNECTOR_SYNC_PROXY_ES_PASSWORD", "topsecret")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--es-url"), "{help}");
    assert!(!help.contains("topsecret"), "{help}");

    // The service starts (nothing listens at port 1, which is fine for this) and logs its cluster.
    let mut service = std::process::Command::new(binary)
        .args(["--listen", "127.0.0.1:0"])
        .env("CONNECTOR_SYNC_PROXY_ES_URL", "http://svc:topsecret@127.0.0.1:1")
        .env("CONNECTOR_SYNC_PROXY_ES_USERNAME", "svc")
        .env("CONNECTOR_SYNC_PROXY_ES_PASSWORD", "topsecret")
        .env("RUST_LOG", "debug")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut startup = String::new();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(service.stderr.take().unwrap()));
    while !startup.contains("listening on") {
        startup = lines.next().expect("a startup line").unwrap();
        assert!(!startup.contains("topsecret"), "{startup}");
    }
    assert!(startup.contains("http://127.0.0.1:1/"), "{startup}");
    service.kill().unwrap();
    service.wait().unwrap();
}

#[tokio::test]
async fn a_pass_through_error_is_logged_with_its_type_and_reason_but_no_credentials() {
    // Nothing listens on port 1: every passed-through request gets the service's own 503.
    let mut service = ServiceProcess::start(&[
        "--es-url",
        "http://svc:topsecret@127.0.0.1:1",
        "--log-format",
        "json",
    ]);
    let response = reqwest::Client::new()
        .get(format!("{}/some-index/_search?q=hidden-query", service.address))
        .header("authorization", "ApiKey credential-secret")
        .header("x-opaque-id", "opaque-passthrough")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 503, "{body}");

    let lines = service.stop_and_collect_log();
    let line = lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        // The pass-through's warnings share its logger; its request line has a method.
        .find(|line| {
            line["log.logger"] == "connector_sync_proxy::passthrough" && line["http.request.method"] == "GET"
        })
        .unwrap_or_else(|| panic!("no pass-through line in {lines:?}"));
    assert_eq!(line["http.response.status_code"], 503);
    assert_eq!(line["url.path"], "/some-index/_search");
    assert_eq!(line["http.request.id"], "opaque-passthrough");
    assert_eq!(line["error.type"], body["error"]["type"], "{line}");
    assert_eq!(line["error.message"], body["error"]["reason"], "{line}");
    assert!(
        lines.iter().all(|line| !line.contains("topsecret")
            && !line.contains("credential-secret")
            && !line.contains("hidden-query")),
        "a credential or the query was logged: {lines:?}"
    );
}
