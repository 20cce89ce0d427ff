//! Malformed and hostile requests: each gets a 4xx in Elasticsearch's envelope, the index stays
//! as it was, and the service keeps serving.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{
    encode, header_value, job, raw_exchange, read_head, spawn_app_with, unique_id, Node, TestApp,
    ELASTICSEARCH, SCRIPTING,
};

/// The service in front of a jobs index of the test's own, holding one pending job. Pass-through
/// is off: unknown paths get the service's own 404 (tests/api/passthrough.rs covers them with
/// pass-through on).
async fn app_with_own_index(backend: crate::helpers::Backend) -> (TestApp, String, String) {
    let alias = unique_id("csp-hostile");
    let node = Node::connect(&backend).await;
    node.create_jobs_index(&alias, json!({"number_of_shards": 1, "number_of_replicas": 0}))
        .await;
    let id = unique_id("target");
    node.seed_into(&alias, &id, job("pending")).await;
    let index = alias.clone();
    let app = spawn_app_with(backend, move |settings| {
        settings.sync_jobs_index = index;
        settings.client_timeout = Duration::from_secs(1);
        settings.passthrough = None;
    })
    .await;
    (app, alias, id)
}

pub(crate) fn request(method: &str, target: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} {target} HTTP/1.1\r\nHost: test\r\n{extra_headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn a_catalogue_of_bad_requests_gets_clear_errors_and_changes_nothing() {
    let (app, alias, target) = app_with_own_index(ELASTICSEARCH).await;
    let before = app.node.snapshot(&alias).await;
    let cancel = |raw_id: &str| format!("/_connector/_sync_job/{raw_id}/_cancel");
    let target_path = cancel(&encode(&target));
    let long_id = "x".repeat(600);
    let huge_header = format!("X-Filler: {}\r\n", "a".repeat(20_000));
    let many_headers: String = (0..90)
        .map(|n| format!("X-Header-{n}: {}\r\n", "b".repeat(200)))
        .collect();
    let long_url = format!("{}?pretty={}", target_path, "1".repeat(5000));

    let catalogue: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("empty id", request("PUT", &cancel(""), "", ""), 400, "action_request_validation_exception"),
        ("id over 512 bytes", request("PUT", &cancel(&long_id), "", ""), 400, "action_request_validation_exception"),
        ("encoded slash", request("PUT", &cancel("a%2Fb"), "", ""), 404, "resource_not_found_exception"),
        ("encoded NUL", request("PUT", &cancel("a%00b"), "", ""), 404, "resource_not_found_exception"),
        ("dot dot", request("PUT", &cancel(".."), "", ""), 400, "action_request_validation_exception"),
        ("encoded dot dot", request("PUT", &cancel("%2e%2E"), "", ""), 400, "action_request_validation_exception"),
        ("traversal", request("PUT", &cancel("..%2F..%2F_doc"), "", ""), 404, "resource_not_found_exception"),
        ("invalid UTF-8", request("PUT", &cancel("%C3%28"), "", ""), 400, "illegal_argument_exception"),
        ("bad percent escape", request("PUT", &cancel("%ZZ"), "", ""), 404, "resource_not_found_exception"),
        ("body on cancel", request("PUT", &target_path, "Content-Type: application/json\r\n", "{}"), 400, "illegal_argument_exception"),
        ("unknown parameter", request("PUT", &format!("{target_path}?refresh=false"), "", ""), 400, "illegal_argument_exception"),
        ("garbage query", request("PUT", &format!("{target_path}?%FF%00=1"), "", ""), 400, "illegal_argument_exception"),
        ("huge header", request("PUT", &target_path, &huge_header, ""), 400, "too_long_http_header_exception"),
        ("many headers", request("PUT", &target_path, &many_headers, ""), 400, "too_long_http_header_exception"),
        ("bad compatible-with", request("PUT", &target_path, "Accept: application/vnd.elasticsearch+json; compatible-with=x\r\n", ""), 400, "media_type_header_exception"),
        ("over-long URL", request("PUT", &long_url, "", ""), 400, "too_long_http_line_exception"),
        ("GET", request("GET", &target_path, "", ""), 405, "method_not_allowed_exception"),
        ("DELETE", request("DELETE", &target_path, "", ""), 405, "method_not_allowed_exception"),
        ("POST with body", request("POST", &target_path, "", "{\"x\":1}"), 405, "method_not_allowed_exception"),
        ("no method on a job", request("PUT", "/_connector/_sync_job/_cancel", "", ""), 405, "method_not_allowed_exception"),
        ("unknown path", request("PUT", "/_connector/_sync_job/a/b/_cancel", "", ""), 404, "resource_not_found_exception"),
        ("index path", request("PUT", &format!("/{alias}/_doc/x"), "", "{}"), 404, "resource_not_found_exception"),
        ("HTTP/1.0", b"PUT /_connector/_sync_job/nope/_cancel HTTP/1.0\r\n\r\n".to_vec(), 404, "resource_not_found_exception"),
        (
            "broken chunked body",
            format!("PUT {target_path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n").into_bytes(),
            400,
            "illegal_argument_exception",
        ),
    ];
    for (what, bytes, status, kind) in catalogue {
        let (got, headers, body) = raw_exchange(&app, &bytes).await;
        assert_eq!(got, status, "{what}: {body}");
        assert_eq!(body["error"]["type"], kind, "{what}: {body}");
        assert_eq!(body["status"], status, "{what}");
        assert!(
            headers.contains("x-elastic-product: Elasticsearch"),
            "{what}: {headers}"
        );
    }

    assert_eq!(
        app.node.snapshot(&alias).await,
        before,
        "a bad request changed the index"
    );
    assert_eq!(
        app.cancel(&target).await.status(),
        200,
        "the service no longer serves"
    );
    app.node.delete_index(&alias).await;
}

#[tokio::test]
async fn a_client_trickling_its_request_is_cut_off_after_the_client_timeout() {
    let (app, alias, target) = app_with_own_index(ELASTICSEARCH).await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&host).await.unwrap();
    slow.write_all(b"PUT /_connector/_sync_job/x/_cancel HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    let started = Instant::now();

    // One byte every 200 ms, for at most 10 s, until the service closes the connection.
    let mut closed = false;
    while started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if slow.write_all(b"X").await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 512];
        if let Ok(Ok(read)) = tokio::time::timeout(Duration::from_millis(1), slow.read(&mut buf)).await {
            let answer = String::from_utf8_lossy(&buf[..read]);
            assert!(read == 0 || answer.starts_with("HTTP/1.1 408"), "{answer}");
            closed = true;
            break;
        }
    }

    assert!(closed, "a client trickling bytes kept its connection for 10 s");
    let held = started.elapsed();
    assert!(
        held < Duration::from_secs(4),
        "the 1 s client timeout let the client hold on for {held:?}"
    );
    assert_eq!(
        app.cancel(&target).await.status(),
        200,
        "the service no longer serves"
    );
    app.node.delete_index(&alias).await;
}

/// Sends one keep-alive GET of the job on `stream` and reads its answer: the status, or None when
/// the service had closed the connection.
async fn get_on(stream: &mut tokio::net::TcpStream, id: &str) -> Option<u16> {
    let head = format!(
        "GET /_connector/_sync_job/{} HTTP/1.1\r\nHost: t\r\n\r\n",
        encode(id)
    );
    stream.write_all(head.as_bytes()).await.ok()?;
    let (status, head) = read_head(stream).await?;
    let length = header_value(&head, "content-length")
        .and_then(|value| value.parse().ok())
        .expect("an answer with a content-length");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(status)
}

/// Opens a connection, gets the job on it, leaves it idle for `idle`, and gets it again: the
/// connection and the second status (None: the service had closed the connection).
async fn get_twice(app: &TestApp, id: &str, idle: Duration) -> (tokio::net::TcpStream, Option<u16>) {
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    assert_eq!(get_on(&mut stream, id).await, Some(200));
    tokio::time::sleep(idle).await;
    let again = get_on(&mut stream, id).await;
    (stream, again)
}

#[tokio::test]
async fn an_idle_connection_stays_open_until_the_client_closes_it_unless_told_otherwise() {
    // As Elasticsearch: a pooled connection is never closed under a client about to send on it.
    let (app, alias, target) = app_with_own_index(ELASTICSEARCH).await;
    // Longer than actix's own default keep-alive (5 s) and than the 1 s client_timeout.
    let (_, again) = get_twice(&app, &target, Duration::from_secs(7)).await;
    assert_eq!(again, Some(200), "the service closed a connection idle for 7 s");

    // With client_idle_timeout set, an idle connection is closed after it, and only then.
    let index = alias.clone();
    let timed = spawn_app_with(ELASTICSEARCH, move |settings| {
        settings.sync_jobs_index = index;
        settings.client_idle_timeout = Some(Duration::from_secs(2));
        settings.passthrough = None;
    })
    .await;
    let (mut idle, again) = get_twice(&timed, &target, Duration::from_secs(1)).await;
    assert_eq!(again, Some(200), "closed before its idle timeout");
    let answered = Instant::now();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), idle.read(&mut buf))
        .await
        .expect("the connection stayed open 10 s past a 2 s idle timeout");
    assert!(matches!(read, Ok(0) | Err(_)), "unexpected bytes: {read:?}");
    let closed_after = answered.elapsed();
    assert!(
        closed_after >= Duration::from_millis(1500) && closed_after < Duration::from_secs(5),
        "closed {closed_after:?} after the last answer, with a 2 s idle timeout"
    );
    app.node.delete_index(&alias).await;
}

/// Ids worth trying besides random bytes.
fn interesting_id() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::collection::vec(any::<u8>(), 500..530),
        "\\PC{0,30}".prop_map(String::into_bytes),
        prop::sample::select(vec![
            ".", "..", "_cancel", "%", "/", "a/b", "sentinel", " ", "\u{0}"
        ])
        .prop_map(|id| id.as_bytes().to_vec()),
    ]
}

/// Each sync-job API that takes an id: method, path suffix, body, the status it answers for a
/// pending job, and whether the job (`None`: deleted) looks as it should afterwards.
type Check = fn(Option<&Value>) -> bool;
const ID_ENDPOINTS: [(&str, &str, &str, u16, Check); 7] = [
    ("PUT", "/_cancel", "", 200, |job| {
        job.is_some_and(|job| job["status"] == "canceled")
    }),
    ("PUT", "/_check_in", "", 200, |job| {
        job.is_some_and(|job| {
            job["status"] == "pending" && job["last_seen"] != self::job("pending")["last_seen"]
        })
    }),
    ("PUT", "/_claim", r#"{"worker_hostname": "prop"}"#, 200, |job| {
        job.is_some_and(|job| job["status"] == "in_progress" && job["worker_hostname"] == "prop")
    }),
    ("PUT", "/_error", r#"{"error": "x"}"#, 400, |job| {
        job.is_some_and(|job| *job == self::job("pending"))
    }),
    (
        "PUT",
        "/_stats",
        r#"{"deleted_document_count": 0, "indexed_document_count": 1, "indexed_document_volume": 2}"#,
        200,
        |job| job.is_some_and(|job| job["indexed_document_count"] == 1),
    ),
    ("GET", "", "", 200, |job| {
        job.is_some_and(|job| *job == self::job("pending"))
    }),
    ("DELETE", "", "", 200, |job| job.is_none()),
];

#[test]
fn any_id_reaches_its_own_job_or_is_refused_and_never_touches_another() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (app, alias, sentinel) = runtime.block_on(app_with_own_index(SCRIPTING));
    let sentinel_before = runtime.block_on(read_in(&app.node, &alias, &sentinel));

    let config = ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(id in interesting_id(), endpoint in 0..ID_ENDPOINTS.len())| {
        runtime.block_on(async {
            let (method, suffix, body, ok_status, check) = ID_ENDPOINTS[endpoint];
            let raw = percent_encoding::percent_encode(&id, percent_encoding::NON_ALPHANUMERIC).to_string();
            // Seed a pending job under this id where Elasticsearch takes the id at all.
            let seeded = match std::str::from_utf8(&id) {
                Ok(text) if !text.is_empty() && text != "." && text != ".." && text != sentinel => {
                    let url = format!("{}/{alias}/_doc/{raw}?refresh=true", app.node.url);
                    app.node.http.put(url).json(&job("pending")).send().await.unwrap().status().is_success()
                }
                _ => false,
            };

            let path = format!("/_connector/_sync_job/{raw}{suffix}");
            let headers = if body.is_empty() { "" } else { "Content-Type: application/json\r\n" };
            let (status, _, answer) = raw_exchange(&app, &request(method, &path, headers, body)).await;

            if seeded {
                let text = std::str::from_utf8(&id).unwrap();
                prop_assert_eq!(status, ok_status, "{} {:?}: {}", path, id, answer);
                if method == "GET" {
                    prop_assert_eq!(&answer["id"], text);
                }
                let stored = read_in(&app.node, &alias, text).await;
                let source = stored.as_ref().map(|stored| &stored["source"]);
                prop_assert!(check(source), "{} {:?} left {:?}", path, id, source);
            } else {
                prop_assert!((400..500).contains(&status), "{} {:?} answered {}: {}", path, id, status, answer);
                prop_assert!(answer["error"]["type"].is_string(), "{}", answer);
            }
            prop_assert_eq!(read_in(&app.node, &alias, &sentinel).await, sentinel_before.clone());
            Ok(())
        })?;
    });
    runtime.block_on(app.node.delete_index(&alias));
}

async fn read_in(node: &Node, index: &str, id: &str) -> Option<Value> {
    let url = format!("{}/{index}/_doc/{}", node.url, encode(id));
    let response = node.http.get(url).send().await.unwrap();
    if response.status() == 404 {
        return None;
    }
    let body: Value = response.json().await.unwrap();
    Some(json!({"source": body["_source"], "seq_no": body["_seq_no"]}))
}

#[tokio::test]
async fn bad_sync_job_bodies_get_elasticsearchs_400_and_change_nothing() {
    for backend in [ELASTICSEARCH, SCRIPTING] {
        let (app, alias, target) = app_with_own_index(backend).await;
        let before = app.node.snapshot(&alias).await;
        let job = |suffix: &str| format!("/_connector/_sync_job/{}{suffix}", encode(&target));
        let counts =
            r#""deleted_document_count": 0, "indexed_document_count": 1, "indexed_document_volume": 2"#;
        let deep = format!(
            r#"{{{counts}, "metadata": {{"a": {}1{}}}}}"#,
            "[".repeat(1000),
            "]".repeat(1000)
        );
        let json = "Content-Type: application/json\r\n";
        let catalogue: Vec<(&str, Vec<u8>, u16, &str)> = vec![
            (
                "malformed JSON",
                request("PUT", &job("/_claim"), json, r#"{"worker_hostname": }"#),
                400,
                "x_content_parse_exception",
            ),
            (
                "a string body",
                request("PUT", &job("/_claim"), json, r#""worker""#),
                400,
                "x_content_parse_exception",
            ),
            (
                "an array body",
                request("PUT", &job("/_claim"), json, "[1]"),
                400,
                "x_content_parse_exception",
            ),
            (
                "unknown field",
                request(
                    "PUT",
                    &job("/_claim"),
                    json,
                    r#"{"worker_hostname": "w", "x": 1}"#,
                ),
                400,
                "x_content_parse_exception",
            ),
            (
                "wrong type",
                request("PUT", &job("/_claim"), json, r#"{"worker_hostname": 5}"#),
                400,
                "x_content_parse_exception",
            ),
            (
                "null required field",
                request("PUT", &job("/_claim"), json, r#"{"worker_hostname": null}"#),
                400,
                "x_content_parse_exception",
            ),
            (
                "missing required field",
                request("PUT", &job("/_claim"), json, r#"{"sync_cursor": {}}"#),
                400,
                "illegal_argument_exception",
            ),
            (
                "no body where one is required",
                request("PUT", &job("/_claim"), "", ""),
                400,
                "parse_exception",
            ),
            (
                "duplicate keys",
                request(
                    "PUT",
                    &job("/_claim"),
                    json,
                    r#"{"worker_hostname": "a", "worker_hostname": "b"}"#,
                ),
                400,
                "x_content_parse_exception",
            ),
            (
                "trailing content",
                request("PUT", &job("/_claim"), json, r#"{"worker_hostname": "a"} {}"#),
                400,
                "x_content_parse_exception",
            ),
            (
                "empty error",
                request("PUT", &job("/_error"), json, r#"{"error": ""}"#),
                400,
                "action_request_validation_exception",
            ),
            (
                "negative count",
                request(
                    "PUT",
                    &job("/_stats"),
                    json,
                    r#"{"deleted_document_count": -1, "indexed_document_count": 1, "indexed_document_volume": 2}"#,
                ),
                400,
                "action_request_validation_exception",
            ),
            (
                "count out of range",
                request(
                    "PUT",
                    &job("/_stats"),
                    json,
                    r#"{"deleted_document_count": 1e30, "indexed_document_count": 1, "indexed_document_volume": 2}"#,
                ),
                400,
                "x_content_parse_exception",
            ),
            (
                "nesting over 1000",
                request("PUT", &job("/_stats"), json, &deep),
                400,
                "x_content_parse_exception",
            ),
            (
                "body on check_in",
                request("PUT", &job("/_check_in"), json, "{}"),
                400,
                "illegal_argument_exception",
            ),
            (
                "body on get",
                request("GET", &job(""), json, "{}"),
                400,
                "illegal_argument_exception",
            ),
            (
                "body on delete",
                request("DELETE", &job(""), json, "{}"),
                400,
                "illegal_argument_exception",
            ),
            (
                "body on list",
                request("GET", "/_connector/_sync_job", json, "{}"),
                400,
                "illegal_argument_exception",
            ),
            (
                "unknown enum",
                request("GET", "/_connector/_sync_job?status=done", "", ""),
                400,
                "illegal_argument_exception",
            ),
            (
                "post of a number",
                request("POST", "/_connector/_sync_job", json, "42"),
                400,
                "x_content_parse_exception",
            ),
            (
                "wrong method on list",
                request("PATCH", "/_connector/_sync_job", "", ""),
                405,
                "method_not_allowed_exception",
            ),
        ];
        for (what, bytes, status, kind) in catalogue {
            let (got, headers, body) = raw_exchange(&app, &bytes).await;
            assert_eq!(got, status, "{} {what}: {body}", backend.name);
            assert_eq!(body["error"]["type"], kind, "{what}: {body}");
            assert!(
                headers.contains("x-elastic-product: Elasticsearch"),
                "{what}: {headers}"
            );
        }
        let mut invalid_utf8 = request("PUT", &job("/_claim"), json, "{\"worker_hostname\": \"\u{1}\"}");
        let len = invalid_utf8.len();
        invalid_utf8[len - 3] = 0xff;
        let (got, _, body) = raw_exchange(&app, &invalid_utf8).await;
        assert_eq!(
            (got, &body["error"]["type"]),
            (400, &json!("x_content_parse_exception")),
            "{body}"
        );

        // Over the body limit (10 MiB by default): refused as too large, unread.
        let huge = format!(r#"{{"worker_hostname": "{}"}}"#, "w".repeat(11 * 1024 * 1024));
        let (got, body) = app.call_raw("PUT", &job("/_claim"), &huge).await;
        assert_eq!(got, 413, "{body}");
        assert_eq!(body["error"]["type"], "content_too_long_exception");

        assert_eq!(
            app.node.snapshot(&alias).await,
            before,
            "{}: a bad request changed the index",
            backend.name
        );
        app.node.delete_index(&alias).await;
    }
}
