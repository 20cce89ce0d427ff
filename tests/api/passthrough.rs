//! Pass-through: with the service as their only cluster address, clients get the cluster's own
//! answers to everything the service does not serve itself, streamed both ways.

use std::io;
use std::time::{Duration, Instant};

use futures::future::join_all;
use futures::stream::{self, StreamExt};
use reqwest::header::HeaderMap;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use connector_sync_proxy::config::{PassthroughSettings, ServiceCredentials};

use crate::helpers::{
    es_error, header_value, metrics_text, read_head, spawn_app, spawn_app_with, unique_id, Node,
    ServiceProcess, TestApp, ELASTICSEARCH,
};
use crate::proxy::{Fault, FaultProxy};

/// A client that leaves bodies as they come (no decompression) and waits as long as it takes.
fn plain() -> reqwest::Client {
    reqwest::Client::builder().no_gzip().build().unwrap()
}

/// An answer as received: status, headers and the body's bytes.
#[derive(Debug)]
struct Captured {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Captured {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

async fn capture(http: &reqwest::Client, method: Method, url: &str, body: Option<&Value>) -> Captured {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap_or_else(|err| panic!("{url}: {err}"));
    Captured {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.unwrap().to_vec(),
    }
}

/// An index of the test's own on the node: one shard, no replica.
async fn fresh_index(node: &Node, label: &str) -> String {
    let index = unique_id(label);
    let settings = json!({"settings": {"number_of_shards": 1, "number_of_replicas": 0}});
    node.call(Method::PUT, &format!("/{index}"), Some(&settings))
        .await;
    index
}

async fn count(node: &Node, index: &str) -> u64 {
    node.call(Method::POST, &format!("/{index}/_refresh"), None).await;
    node.call(Method::GET, &format!("/{index}/_count"), None).await["count"]
        .as_u64()
        .unwrap()
}

/// A URL where nothing listens: connections to it are refused.
async fn refusing_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// A raw answer: status, head (the header lines, lower case) and the body's bytes.
struct Raw {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Raw {
    /// The value of a header line, if the head has it.
    fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.head, name)
    }
}

const NO_ANSWER: &str = "the connection closed before an answer";

/// Sends `request` as written to `address` and reads the answer until the server closes.
async fn raw(address: &str, request: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(address.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(request).await.unwrap();
    let (status, head) = read_head(&mut stream).await.expect(NO_ANSWER);
    let mut body = Vec::new();
    stream.read_to_end(&mut body).await.unwrap();
    Raw { status, head, body }
}

/// Gzip or gunzip bytes with the system's gzip.
fn gzip(args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("gzip")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip is needed");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    output.stdout
}

#[tokio::test]
async fn what_the_service_does_not_serve_is_answered_by_the_cluster_byte_for_byte() {
    let app = spawn_app(ELASTICSEARCH).await;
    let http = plain();
    let index = unique_id("pt-same");

    let created = capture(
        &http,
        Method::PUT,
        &format!("{}/{index}", app.address),
        Some(&json!({"settings": {"number_of_shards": 1, "number_of_replicas": 0}})),
    )
    .await;
    assert_eq!(created.status, 200, "{created:?}");
    assert_eq!(created.json()["acknowledged"], true);
    assert!(app.node.index_exists(&index).await, "the index was not created");
    let indexed = capture(
        &http,
        Method::PUT,
        &format!("{}/{index}/_doc/1?refresh=true", app.address),
        Some(&json!({"title": "drop-in"})),
    )
    .await;
    assert_eq!(indexed.status, 201, "{indexed:?}");

    let bad_query = json!({"query": {"no_such_query": {}}});
    let reads: Vec<(Method, String, Option<&Value>)> = vec![
        (Method::GET, "/".into(), None),
        (Method::GET, "/_license".into(), None),
        (Method::GET, format!("/{index}/_doc/1"), None),
        (Method::GET, format!("/{index}/_doc/1?pretty"), None),
        (Method::GET, format!("/{index}/_doc/missing"), None),
        (Method::HEAD, format!("/{index}"), None),
        (Method::HEAD, format!("/{index}/_doc/missing"), None),
        (Method::GET, format!("/{index}/_mapping"), None),
        (
            Method::GET,
            format!("/_cat/indices/{index}?v&h=index,docs.count"),
            None,
        ),
        (Method::GET, "/no-such-index-pt/_search".into(), None),
        (Method::POST, format!("/{index}/_search"), Some(&bad_query)),
        (
            Method::GET,
            "/_connector/pt-connector/_no_such_endpoint".into(),
            None,
        ),
    ];
    for (method, path, body) in reads {
        let what = format!("{method} {path}");
        let through = capture(&http, method.clone(), &format!("{}{path}", app.address), body).await;
        let straight = capture(&http, method, &format!("{}{path}", app.node.url), body).await;
        assert_eq!(through.status, straight.status, "{what}");
        assert_eq!(
            String::from_utf8_lossy(&through.body),
            String::from_utf8_lossy(&straight.body),
            "{what}"
        );
        for name in [
            "content-type",
            "content-length",
            "transfer-encoding",
            "x-elastic-product",
            "allow",
            "warning",
        ] {
            assert_eq!(through.header(name), straight.header(name), "{what}: {name}");
        }
    }

    let deleted = capture(&http, Method::DELETE, &format!("{}/{index}", app.address), None).await;
    assert_eq!(deleted.status, 200);
    assert!(!app.node.index_exists(&index).await, "the index was not deleted");
}

/// The Elasticsearch node, a recording proxy in front of it, and the service sending through
/// the proxy: what reaches the node can be read back from the proxy.
async fn behind_a_recorder() -> (Node, FaultProxy, TestApp) {
    let node = Node::connect(&ELASTICSEARCH).await;
    let proxy = FaultProxy::start(&node.url, Fault::Record).await;
    let app = spawn_app_with(ELASTICSEARCH, |settings| {
        settings.es_urls = vec![proxy.url.parse().unwrap()]
    })
    .await;
    (node, proxy, app)
}

#[tokio::test]
async fn a_request_reaches_the_node_as_sent_less_the_hop_by_hop_headers() {
    let (node, proxy, app) = behind_a_recorder().await;
    let index = fresh_index(&node, "pt-record").await;
    let body = r#"{"title":"as sent"}"#;
    let target = format!("/{index}/_doc/rec-1?refresh=true&routing=r%201");
    let request = format!(
        "PUT {target} HTTP/1.1\r\nHost: client.example\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nAccept: application/json\r\nX-Opaque-Id: rec-42\r\nX-Custom: kept\r\n\
         Connection: close, X-Hop\r\nX-Hop: dropped\r\nKeep-Alive: timeout=5\r\n\
         Proxy-Authorization: Basic c2VjcmV0\r\nTE: trailers\r\n\r\n{body}",
        body.len()
    );

    let answer = raw(&app.address, request.as_bytes()).await;

    assert_eq!(answer.status, 201, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.header("x-opaque-id"), Some("rec-42"), "the node's echo");
    assert_eq!(answer.header("x-elastic-product"), Some("elasticsearch"));
    let sent = proxy.sent();
    let (head, sent_body) = sent.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with(&format!("PUT {target} HTTP/1.1\r\n")),
        "method, path and query unchanged: {head}"
    );
    let lines: Vec<String> = head.lines().skip(1).map(str::to_ascii_lowercase).collect();
    let has = |name: &str| lines.iter().any(|line| line.starts_with(&format!("{name}:")));
    let proxy_host = proxy.url.trim_start_matches("http://");
    for kept in [
        format!("host: {proxy_host}"),
        format!("content-length: {}", body.len()),
        "content-type: application/json".to_owned(),
        "accept: application/json".to_owned(),
        "x-opaque-id: rec-42".to_owned(),
        "x-custom: kept".to_owned(),
    ] {
        assert!(lines.contains(&kept), "{kept} missing in {head}");
    }
    for dropped in [
        "x-hop",
        "keep-alive",
        "proxy-authorization",
        "te",
        "connection",
        "transfer-encoding",
    ] {
        assert!(!has(dropped), "{dropped} was passed on: {head}");
    }
    assert_eq!(sent_body, body, "the body unchanged");
    let stored = node
        .call(Method::GET, &format!("/{index}/_doc/rec-1?routing=r%201"), None)
        .await;
    assert_eq!(stored["_source"]["title"], "as sent");
    node.call(Method::DELETE, &format!("/{index}"), None).await;
}

#[tokio::test]
async fn chunked_gzip_head_and_expect_continue_pass_as_they_are() {
    let (node, proxy, app) = behind_a_recorder().await;
    let index = fresh_index(&node, "pt-framing").await;

    // A gzip-encoded request body goes on compressed: the node inflates it itself.
    let document = br#"{"title":"compressed on the way in"}"#;
    let compressed = gzip(&["-c"], document);
    let mut request = format!(
        "PUT /{index}/_doc/gz?refresh=true HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
         Content-Encoding: gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        compressed.len()
    )
    .into_bytes();
    request.extend_from_slice(&compressed);
    let answer = raw(&app.address, &request).await;
    assert_eq!(answer.status, 201, "{}", String::from_utf8_lossy(&answer.body));
    let sent = proxy.sent().to_ascii_lowercase();
    assert!(sent.contains("content-encoding: gzip"), "{sent}");
    assert!(
        sent.contains(&format!("content-length: {}", compressed.len())),
        "the compressed length, so the body was not inflated: {sent}"
    );

    // A gzip answer comes back compressed, as the node sent it.
    let http = plain();
    let path = format!("/{index}/_doc/gz");
    let fetch = |base: String| {
        let http = http.clone();
        let path = path.clone();
        async move {
            let response = http
                .get(format!("{base}{path}"))
                .header("accept-encoding", "gzip")
                .send()
                .await
                .unwrap();
            let encoding = response.headers().get("content-encoding").cloned();
            (encoding, response.bytes().await.unwrap().to_vec())
        }
    };
    let (encoding, through) = fetch(app.address.clone()).await;
    let (_, straight) = fetch(node.url.clone()).await;
    assert_eq!(encoding.unwrap(), "gzip");
    assert_eq!(&through[..2], &[0x1f, 0x8b], "still gzip");
    assert_eq!(gzip(&["-dc"], &through), gzip(&["-dc"], &straight));
    let stored: Value = serde_json::from_slice(&gzip(&["-dc"], &through)).unwrap();
    assert_eq!(stored["_source"]["title"], "compressed on the way in");

    // A GET whose body is chunked reaches the node chunked (an HTTP client would drop it).
    let request = format!(
        "GET /{index}/_search?filter_path=hits.total.value HTTP/1.1\r\nHost: t\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         9\r\n{{\"query\":\r\n1a\r\n{{\"ids\":{{\"values\":[\"gz\"]}}}}}}\r\n0\r\n\r\n"
    );
    let answer = raw(&app.address, request.as_bytes()).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert!(
        String::from_utf8_lossy(&answer.body).contains(r#"{"hits":{"total":{"value":1}}}"#),
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let sent = proxy.sent().to_ascii_lowercase();
    let search = &sent[sent.find(&format!("get /{index}/_search")).unwrap()..];
    assert!(search.contains("transfer-encoding: chunked"), "{search}");

    // HEAD keeps the node's framing headers, whatever they are.
    for path in [
        format!("/{index}/_doc/gz"),
        format!("/{index}/_doc/missing"),
        format!("/{index}"),
    ] {
        let request = format!("HEAD {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        let through = raw(&app.address, request.as_bytes()).await;
        let straight = raw(&node.url, request.as_bytes()).await;
        assert_eq!(through.status, straight.status, "HEAD {path}");
        assert_eq!(
            through.header("content-length"),
            straight.header("content-length"),
            "HEAD {path}"
        );
        assert_eq!(
            through.header("transfer-encoding"),
            straight.header("transfer-encoding"),
            "HEAD {path}"
        );
        assert!(through.body.is_empty(), "HEAD {path} has a body");
    }

    // Expect: 100-continue is answered by the service; the node gets the body without it.
    let body = br#"{"title":"after continue"}"#;
    let mut stream = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "PUT /{index}/_doc/expect?refresh=true HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (interim, _) = tokio::time::timeout(Duration::from_secs(5), read_head(&mut stream))
        .await
        .expect("no 100 Continue")
        .expect(NO_ANSWER);
    assert_eq!(interim, 100);
    stream.write_all(body).await.unwrap();
    let (status, _) = read_head(&mut stream).await.expect(NO_ANSWER);
    assert_eq!(status, 201);
    let sent = proxy.sent().to_ascii_lowercase();
    let put = &sent[sent.find(&format!("put /{index}/_doc/expect")).unwrap()..];
    assert!(!put.contains("expect:"), "{put}");
    assert_eq!(count(&node, &index).await, 2);
    node.call(Method::DELETE, &format!("/{index}"), None).await;
}

#[tokio::test]
async fn the_services_own_routes_stay_its_own_and_everything_else_is_the_clusters() {
    let app = spawn_app(ELASTICSEARCH).await;
    let http = plain();

    let cancel = capture(&http, Method::PUT, &app.cancel_url("pt-no-such-job"), None).await;
    assert_eq!(cancel.status, 404, "the service's own answer");
    assert_eq!(cancel.json()["error"]["type"], "resource_not_found_exception");
    assert!(cancel.json()["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("pt-no-such-job"));
    let live = capture(&http, Method::GET, &format!("{}/-/live", app.address), None).await;
    assert_eq!(live.json(), json!({"status": "live"}));
    let post_live = capture(&http, Method::POST, &format!("{}/-/live", app.address), None).await;
    assert_eq!(post_live.status, 405, "the service's path, another method");
    assert_eq!(post_live.header("allow"), Some("GET"));

    // A compatible-with version the service refuses for its own APIs is the cluster's to judge.
    for (path, accept) in [
        ("/_connector/pt-connector/_no_such_endpoint", "application/json"),
        (
            "/.elastic-connectors-sync-jobs/_search?size=0",
            "application/vnd.elasticsearch+json; compatible-with=7",
        ),
        (
            "/.elastic-connectors-sync-jobs/_search?size=0",
            "application/vnd.elasticsearch+json; compatible-with=8",
        ),
    ] {
        let send = |base: &str| http.get(format!("{base}{path}")).header("accept", accept).send();
        let through = send(&app.address).await.unwrap();
        let straight = send(&app.node.url).await.unwrap();
        assert_eq!(through.status(), straight.status(), "{path} {accept}");
        assert_eq!(
            through.headers().get("content-type"),
            straight.headers().get("content-type"),
            "{path} {accept}"
        );
        let through: Value = through.json().await.unwrap();
        let mut straight: Value = straight.json().await.unwrap();
        if straight.get("took").is_some() {
            straight["took"] = through["took"].clone();
        }
        assert_eq!(through, straight, "{path} {accept}");
    }
}

#[tokio::test]
async fn with_passthrough_off_other_paths_answer_404_as_before() {
    let app = spawn_app_with(ELASTICSEARCH, |settings| settings.passthrough = None).await;
    let index = unique_id("pt-off");
    for (method, path) in [
        (Method::GET, "/".to_owned()),
        (Method::GET, "/_cat/indices".to_owned()),
        (Method::PUT, format!("/{index}")),
    ] {
        let answer = capture(&plain(), method.clone(), &format!("{}{path}", app.address), None).await;
        assert_eq!(answer.status, 404, "{method} {path}");
        let reason = format!("no handler found for uri [{path}] and method [{method}]");
        assert_eq!(
            answer.json(),
            es_error("resource_not_found_exception", &reason, 404)
        );
        assert_eq!(answer.header("x-elastic-product"), Some("Elasticsearch"));
    }
    assert!(!app.node.index_exists(&index).await);
}

#[tokio::test]
async fn bad_requests_on_passed_through_paths_are_refused_and_the_service_keeps_serving() {
    let (_node, proxy, app) = behind_a_recorder().await;
    let request = |target: &str, extra: &str| {
        format!("GET {target} HTTP/1.1\r\nHost: t\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n")
    };
    let huge_header = format!("X-Filler: {}\r\n", "a".repeat(20_000));
    let long_url = format!("/_search?q={}", "1".repeat(5000));
    let catalogue = [
        // The HTTP client would resolve these segments and send the request to another path.
        (
            "dot dot",
            request("/pt-any/_doc/..", ""),
            400,
            "illegal_argument_exception",
        ),
        (
            "encoded dot dot",
            request("/%2e%2E/_search", ""),
            400,
            "illegal_argument_exception",
        ),
        (
            "dot",
            request("/pt-any/./_search", ""),
            400,
            "illegal_argument_exception",
        ),
        // Elasticsearch's own limits on the request line and headers still hold.
        (
            "huge header",
            request("/_cat/health", &huge_header),
            400,
            "too_long_http_header_exception",
        ),
        (
            "over-long URL",
            request(&long_url, ""),
            400,
            "too_long_http_line_exception",
        ),
    ];
    for (what, bytes, status, kind) in catalogue {
        let answer = raw(&app.address, bytes.as_bytes()).await;
        let body: Value = serde_json::from_slice(&answer.body)
            .unwrap_or_else(|_| panic!("{what}: not JSON: {}", String::from_utf8_lossy(&answer.body)));
        assert_eq!(answer.status, status, "{what}: {body}");
        assert_eq!(body["error"]["type"], kind, "{what}: {body}");
        assert_eq!(
            answer.header("x-elastic-product"),
            Some("elasticsearch"),
            "{what}"
        );
    }
    assert!(
        proxy.sent().is_empty(),
        "a refused request reached the node: {}",
        proxy.sent()
    );

    // A chunked body that breaks off mid-way: the connection is closed, nothing is answered in
    // the cluster's name, and the service keeps serving.
    let broken = "POST /pt-any/_bulk HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-ndjson\r\n\
                  Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n{\"ind\r\nzz\r\n";
    let mut stream = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(broken.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "a broken body got: {answer}"
    );
    let health = capture(
        &plain(),
        Method::GET,
        &format!("{}/_cluster/health", app.address),
        None,
    )
    .await;
    assert_eq!(health.status, 200, "the service no longer serves");
}

#[tokio::test]
async fn service_credentials_reach_a_passed_through_request_only_with_the_unsafe_setting() {
    let node = Node::connect(&ELASTICSEARCH).await;
    let key = ServiceCredentials::ApiKey(SecretString::from("c2VydmljZS1rZXk="));
    let user = ServiceCredentials::Basic {
        username: "svc".into(),
        password: SecretString::from("svc-password"),
    };
    // (credentials, unsafe setting, the caller's Authorization, what the node must get)
    let cases = [
        (Some(key.clone()), false, None, None),
        (Some(user.clone()), false, None, None),
        (Some(key.clone()), true, None, Some("apikey c2vydmljzs1rzxk=")),
        (
            Some(user.clone()),
            true,
            None,
            Some("basic c3zjonn2yy1wyxnzd29yza=="),
        ),
        (
            Some(key),
            true,
            Some("Bearer caller-token"),
            Some("bearer caller-token"),
        ),
        (
            None,
            false,
            Some("Bearer caller-token"),
            Some("bearer caller-token"),
        ),
    ];
    for (credentials, lend, caller, expected) in cases {
        let what = format!("{credentials:?}, unsafe {lend}, caller {caller:?}");
        let proxy = FaultProxy::start(&node.url, Fault::Record).await;
        let app = spawn_app_with(ELASTICSEARCH, |settings| {
            settings.es_urls = vec![proxy.url.parse().unwrap()];
            settings.credentials = credentials;
            settings.passthrough = Some(PassthroughSettings {
                service_credentials: lend,
                ..PassthroughSettings::default()
            });
            // auto would ask the node about security with the service credentials, and the
            // proxy would record that question beside the passed-through request.
            settings.authorization = connector_sync_proxy::config::Authorization::Forward;
        })
        .await;
        let mut request = plain().get(format!("{}/_cluster/health", app.address));
        if let Some(caller) = caller {
            request = request.header("authorization", caller);
        }
        assert_eq!(request.send().await.unwrap().status(), 200, "{what}");
        let sent = proxy.sent().to_ascii_lowercase();
        let authorization = sent
            .lines()
            .find_map(|line| line.strip_prefix("authorization: "))
            .map(str::trim);
        assert_eq!(authorization, expected, "{what}: {sent}");
    }
}

#[tokio::test]
async fn a_node_that_refuses_connections_is_skipped_even_for_a_write_with_a_body() {
    let node = Node::connect(&ELASTICSEARCH).await;
    let refusing = refusing_url().await;
    let app = spawn_app_with(ELASTICSEARCH, |settings| {
        settings.es_urls = vec![refusing.parse().unwrap(), node.url.parse().unwrap()]
    })
    .await;
    let index = fresh_index(&node, "pt-skip").await;
    let http = plain();
    // Round-robin: every other request tries the refusing node first.
    for n in 0..4 {
        let created = capture(
            &http,
            Method::PUT,
            &format!("{}/{index}/_doc/{n}", app.address),
            Some(&json!({"n": n})),
        )
        .await;
        assert_eq!(created.status, 201, "{n}: {created:?}");
    }
    // A chunked body (unknown length) is handed over whole as well.
    for n in 4..6 {
        let chunks = ["{\"n\":", "4", "}"].map(|chunk| Ok::<_, io::Error>(chunk.as_bytes().to_vec()));
        let created = http
            .put(format!("{}/{index}/_doc/{n}", app.address))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream::iter(chunks)))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201, "{n}: {}", created.text().await.unwrap());
    }
    assert_eq!(count(&node, &index).await, 6, "each write landed once");
    node.call(Method::DELETE, &format!("/{index}"), None).await;

    let nowhere = spawn_app_with(ELASTICSEARCH, |settings| {
        settings.es_urls = vec![refusing.parse().unwrap()]
    })
    .await;
    let started = Instant::now();
    let unavailable = capture(
        &http,
        Method::GET,
        &format!("{}/_cat/health", nowhere.address),
        None,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(unavailable.status, 503);
    assert_eq!(
        unavailable.json()["error"]["type"],
        "cluster_unavailable_exception"
    );
    assert_eq!(unavailable.json()["status"], 503);
    assert_eq!(unavailable.header("x-elastic-product"), Some("Elasticsearch"));
}

#[tokio::test]
async fn a_lost_answer_is_asked_for_again_on_a_get_and_never_on_a_post() {
    let node = Node::connect(&ELASTICSEARCH).await;
    let index = fresh_index(&node, "pt-lost").await;
    node.call(
        Method::PUT,
        &format!("/{index}/_doc/1?refresh=true"),
        Some(&json!({"n": 1})),
    )
    .await;
    let cutting = FaultProxy::start(&node.url, Fault::CutAnswer).await;
    let app = spawn_app_with(ELASTICSEARCH, |settings| {
        settings.es_urls = vec![cutting.url.parse().unwrap(), node.url.parse().unwrap()]
    })
    .await;
    let http = plain();
    for _ in 0..2 {
        let got = capture(
            &http,
            Method::GET,
            &format!("{}/{index}/_doc/1", app.address),
            None,
        )
        .await;
        assert_eq!(got.status, 200, "{got:?}");
        assert_eq!(got.json()["_source"]["n"], 1);
    }
    assert!(cutting.cuts() >= 1, "the first node never cut an answer");

    let only_cutting = spawn_app_with(ELASTICSEARCH, |settings| {
        settings.es_urls = vec![cutting.url.parse().unwrap()]
    })
    .await;
    let cuts = cutting.cuts();
    let posted = capture(
        &http,
        Method::POST,
        &format!("{}/{index}/_doc?refresh=true", only_cutting.address),
        Some(&json!({"n": 2})),
    )
    .await;
    assert_eq!(posted.status, 502, "{posted:?}");
    assert_eq!(posted.json()["error"]["type"], "cluster_error_exception");
    assert_eq!(cutting.cuts(), cuts + 1, "the POST went out once");
    assert_eq!(count(&node, &index).await, 2, "the write landed once");

    let got = capture(
        &http,
        Method::GET,
        &format!("{}/{index}/_doc/1", only_cutting.address),
        None,
    )
    .await;
    assert_eq!(got.status, 502, "every answer lost");
    assert_eq!(cutting.cuts(), cuts + 3, "the GET was sent twice");
    node.call(Method::DELETE, &format!("/{index}"), None).await;
}

#[tokio::test]
async fn passthrough_has_its_own_timeout_and_the_cancels_does_not_apply() {
    let node = Node::connect(&ELASTICSEARCH).await;
    let http = plain();
    let slow = FaultProxy::start(&node.url, Fault::Delay(Duration::from_millis(2500))).await;
    let app = spawn_app_with(ELASTICSEARCH, |settings| {
        settings.es_urls = vec![slow.url.parse().unwrap()];
        settings.upstream_timeout = Duration::from_secs(1);
    })
    .await;
    let started = Instant::now();
    let health = capture(
        &http,
        Method::GET,
        &format!("{}/_cluster/health", app.address),
        None,
    )
    .await;
    assert_eq!(health.status, 200, "{health:?}");
    assert!(started.elapsed() >= Duration::from_millis(2500));

    let hanging = FaultProxy::start(&node.url, Fault::Hang).await;
    let app = spawn_app_with(ELASTICSEARCH, |settings| {
        settings.es_urls = vec![hanging.url.parse().unwrap()];
        settings.passthrough = Some(PassthroughSettings {
            timeout: Some(Duration::from_secs(1)),
            ..PassthroughSettings::default()
        });
    })
    .await;
    let started = Instant::now();
    let timed_out = capture(
        &http,
        Method::GET,
        &format!("{}/_cluster/health", app.address),
        None,
    )
    .await;
    let took = started.elapsed();
    assert_eq!(timed_out.status, 504, "{timed_out:?}");
    assert_eq!(timed_out.json()["error"]["type"], "cluster_timeout_exception");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn passed_through_requests_are_counted_and_logged_apart_without_bodies_or_credentials() {
    let node = Node::connect(&ELASTICSEARCH).await;
    let index = fresh_index(&node, "pt-observed").await;
    let mut service = ServiceProcess::start(&["--es-url", &node.url, "--log-format", "json"]);
    let http = plain();
    let created = http
        .post(format!(
            "{}/{index}/_doc?refresh=true&routing=query-secret",
            service.address
        ))
        .header("authorization", "ApiKey credential-secret")
        .json(&json!({"field": "body-secret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let missing = http
        .get(format!("{}/{index}/_doc/missing", service.address))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let metrics = metrics_text(&http, &service.address).await;
    for line in [
        r#"connector_sync_proxy_passthrough_requests_total{method="POST",status_class="2xx"} 1"#,
        r#"connector_sync_proxy_passthrough_requests_total{method="GET",status_class="4xx"} 1"#,
        r#"connector_sync_proxy_passthrough_request_duration_seconds_count{method="POST"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} missing in\n{metrics}");
    }
    assert!(
        !metrics.contains("route=\"unmatched\""),
        "pass-through counted as the service's own: {metrics}"
    );

    let lines = service.stop_and_collect_log();
    let passed: Vec<Value> = lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        // Its request lines, not its warnings, which share the logger.
        .filter(|line| {
            line["log.logger"] == "connector_sync_proxy::passthrough"
                && line.get("http.request.method").is_some()
        })
        .collect();
    assert_eq!(passed.len(), 2, "{lines:?}");
    assert_eq!(passed[0]["http.request.method"], "POST");
    assert_eq!(
        passed[0]["url.path"],
        format!("/{index}/_doc"),
        "the path without the query"
    );
    assert_eq!(passed[0]["http.response.status_code"], 201);
    assert!(passed[0]["event.duration"].is_u64());
    assert_eq!(passed[0]["client.address"], "127.0.0.1");
    assert_eq!(passed[1]["http.response.status_code"], 404);
    assert!(
        lines.iter().all(|line| !line.contains("secret")),
        "a body, query or credential was logged: {lines:?}"
    );
    node.call(Method::DELETE, &format!("/{index}"), None).await;
}

/// Bulk lines of a fixed length: the action, then a document padded to `DOC_BYTES`. (Elasticsearch
/// keeps every item's answer until the bulk ends, so fewer, larger documents fit its heap.)
const DOC_BYTES: usize = 4096;

fn bulk_line(n: u64) -> Vec<u8> {
    let head = format!("{{\"index\":{{}}}}\n{{\"n\":\"{n:012}\",\"pad\":\"");
    let mut line = head.into_bytes();
    line.resize(DOC_BYTES - 3, b'x');
    line.extend_from_slice(b"\"}\n");
    line
}

/// `docs` bulk lines as a stream of 64 KiB chunks, made as they are asked for.
fn bulk_stream(docs: u64) -> impl futures::Stream<Item = io::Result<Vec<u8>>> + Send + 'static {
    const PER_CHUNK: u64 = 16;
    stream::iter((0..docs).step_by(PER_CHUNK as usize)).map(move |first| {
        let mut chunk = Vec::with_capacity(PER_CHUNK as usize * DOC_BYTES);
        for n in first..(first + PER_CHUNK).min(docs) {
            chunk.extend_from_slice(&bulk_line(n));
        }
        Ok(chunk)
    })
}

/// Samples the process's resident memory every 100 ms until `stop` is set; returns the highest.
fn sample_rss(pid: u32, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut highest = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let rss = status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|value| value.trim().trim_end_matches(" kB").trim().parse().ok())
                .unwrap_or(0);
            highest = highest.max(rss);
            std::thread::sleep(Duration::from_millis(100));
        }
        highest
    })
}

/// The bulk size: CSP_PASSTHROUGH_BULK_MIB per request, 32 unless set, and
/// CSP_PASSTHROUGH_BULK_REQUESTS requests one after the other, 8 unless set
/// (scripts/passthrough-bulk.sh sends 3 of 2000 MiB: Elasticsearch takes at most 2 GiB in one).
/// Elasticsearch 8.x holds a whole bulk request before it indexes it and its in-flight breaker
/// counts twice the body, so one 256 MiB request trips the breaker of a 512 MiB heap node that
/// already holds the suite's other indices; 32 MiB requests stay clear of it and still show
/// buffering, which would raise the service's memory by a whole request.
fn bulk_size() -> (u64, u64) {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|raw| raw.parse().ok())
            .unwrap_or(default)
    };
    (
        var("CSP_PASSTHROUGH_BULK_MIB", 32),
        var("CSP_PASSTHROUGH_BULK_REQUESTS", 8).max(1),
    )
}

#[tokio::test]
async fn a_large_bulk_streams_through_with_the_services_memory_flat() {
    let node = Node::connect(&ELASTICSEARCH).await;
    let index = unique_id("pt-bulk");
    // The node keeps as little as it can: no _source, no indexed fields.
    let layout = json!({
        "settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"},
        "mappings": {"dynamic": false, "_source": {"enabled": false}},
    });
    node.call(Method::PUT, &format!("/{index}"), Some(&layout)).await;
    let service = ServiceProcess::start(&["--es-url", &node.url]);
    let (mib, requests) = bulk_size();
    let docs = mib * 1024 * 1024 / DOC_BYTES as u64;
    let bytes = docs * DOC_BYTES as u64;
    let idle = service.rss_kib();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = sample_rss(service.pid(), stop.clone());

    let http = plain();
    let started = Instant::now();
    for request in 0..requests {
        let answer = http
            .post(format!(
                "{}/{index}/_bulk?filter_path=errors,took",
                service.address
            ))
            .header("content-type", "application/x-ndjson")
            .header("content-length", bytes)
            .body(reqwest::Body::wrap_stream(bulk_stream(docs)))
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let text = answer.text().await.unwrap();
        assert_eq!(
            status, 200,
            "request {request}: {text} (the node must take {mib} MiB in one request: scripts/node.sh \
             starts it with http.max_content_length raised; a 429 means its heap is too small)"
        );
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap()["errors"],
            false,
            "{text}"
        );
    }
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let highest = sampler.join().unwrap();
    let peak = service.peak_rss_kib();

    assert_eq!(
        count(&node, &index).await,
        docs * requests,
        "every document arrived"
    );
    let total = mib * requests;
    let rate = total as f64 / took.as_secs_f64();
    println!(
        "pass-through bulk: {requests} request(s) of {mib} MiB ({} documents, {total} MiB) in {:.1} s, \
         {rate:.1} MiB/s; service RSS {idle} KiB idle, {highest} KiB highest sampled, peak (VmHWM) {peak} KiB",
        docs * requests,
        took.as_secs_f64()
    );
    // Buffering would hold a whole request: growth must stay under half of one (and 32 MiB).
    let allowed = (mib * 1024 / 2).min(32 * 1024);
    assert!(
        peak < 64 * 1024 && highest.saturating_sub(idle) < allowed,
        "the service's memory grew with the request: {idle} KiB idle, {highest} KiB sampled, peak {peak} KiB"
    );
    node.call(Method::DELETE, &format!("/{index}"), None).await;
}

#[tokio::test]
async fn a_node_that_reads_slowly_slows_the_client_down_instead_of_filling_memory() {
    let node = Node::connect(&ELASTICSEARCH).await;
    let stalled = FaultProxy::start(&node.url, Fault::Stall).await;
    let service = ServiceProcess::start(&["--es-url", &stalled.url]);
    let idle = service.rss_kib();
    let announced: u64 = 1024 * 1024 * 1024;
    let mut stream = TcpStream::connect(service.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /pt-stalled/_bulk HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-ndjson\r\n\
         Content-Length: {announced}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = bulk_stream(64).map(Result::unwrap).concat().await;
    let mut written: u64 = 0;
    // Write until the service stops taking bytes for a second.
    while written < announced {
        match tokio::time::timeout(Duration::from_secs(1), stream.write_all(&chunk)).await {
            Ok(result) => result.unwrap(),
            Err(_) => break,
        }
        written += chunk.len() as u64;
    }
    let rss = service.rss_kib();
    println!(
        "stalled node: the client could write {} MiB of {} MiB; service RSS {idle} KiB idle, {rss} KiB then",
        written / 1024 / 1024,
        announced / 1024 / 1024
    );
    assert!(
        written < 96 * 1024 * 1024,
        "the service took {written} bytes for a node that reads nothing"
    );
    assert!(
        rss.saturating_sub(idle) < 24 * 1024,
        "the service held the request: {idle} KiB idle, {rss} KiB with the stalled upload"
    );
}

#[tokio::test]
async fn a_client_that_reads_slowly_does_not_make_the_service_hold_the_answer() {
    let node = Node::connect(&ELASTICSEARCH).await;
    let index = fresh_index(&node, "pt-slow-reader").await;
    // 2,000 documents of 16 KiB: a search answer of over 32 MiB.
    let pad = "y".repeat(16 * 1024);
    for batch in 0..10 {
        let mut body = String::new();
        for n in 0..200 {
            body.push_str(&format!("{{\"index\":{{\"_id\":\"{}\"}}}}\n", batch * 200 + n));
            body.push_str(&json!({"pad": pad}).to_string());
            body.push('\n');
        }
        let response = node
            .http
            .post(format!("{}/{index}/_bulk", node.url))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(count(&node, &index).await, 2000);
    let service = ServiceProcess::start(&["--es-url", &node.url]);
    let idle = service.rss_kib();

    let mut stream = TcpStream::connect(service.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let request = format!("GET /{index}/_search?size=2000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let (status, _) = read_head(&mut stream).await.expect(NO_ANSWER);
    assert_eq!(status, 200);
    // The client reads nothing for three seconds while the node has the whole answer ready.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = sample_rss(service.pid(), stop.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let stalled = sampler.join().unwrap();
    let mut body = Vec::new();
    stream.read_to_end(&mut body).await.unwrap();
    println!(
        "slow reader: answer of {} MiB; service RSS {idle} KiB idle, {stalled} KiB highest while the client read nothing",
        body.len() / 1024 / 1024
    );
    assert!(body.len() > 30 * 1024 * 1024, "a {} byte answer", body.len());
    assert!(
        stalled.saturating_sub(idle) < 16 * 1024,
        "the service held the answer: {idle} KiB idle, {stalled} KiB while the client waited"
    );
    node.call(Method::DELETE, &format!("/{index}"), None).await;
}

/// On the secured node (scripts/secure-node.sh): whose credentials a passed-through request carries.
mod secured {
    use super::*;
    use crate::security::{secure_node, secure_url, trusting_the_test_ca, READER, WRITER};

    async fn app(service_credentials_for_passthrough: bool) -> TestApp {
        let url = secure_url();
        spawn_app_with(ELASTICSEARCH, move |settings| {
            settings.es_urls = vec![url.parse().unwrap()];
            settings.tls = trusting_the_test_ca();
            settings.credentials = Some(ServiceCredentials::Basic {
                username: WRITER.0.into(),
                password: SecretString::from(WRITER.1),
            });
            settings.passthrough = Some(PassthroughSettings {
                service_credentials: service_credentials_for_passthrough,
                ..PassthroughSettings::default()
            });
        })
        .await
    }

    async fn authenticate(app: &TestApp, user: Option<(&str, &str)>) -> reqwest::Response {
        let request = plain().get(format!("{}/_security/_authenticate", app.address));
        let request = match user {
            Some((name, password)) => request.basic_auth(name, Some(password)),
            None => request,
        };
        request.send().await.unwrap()
    }

    #[tokio::test]
    async fn only_the_callers_credentials_go_through_even_with_service_credentials_configured() {
        secure_node().await;
        let app = app(false).await;

        let reader = authenticate(&app, Some(READER)).await;
        assert_eq!(reader.status(), 200);
        assert_eq!(reader.json::<Value>().await.unwrap()["username"], "reader");

        let anonymous = authenticate(&app, None).await;
        assert_eq!(anonymous.status(), 401, "the service's credentials were added");
        assert!(
            anonymous
                .headers()
                .get_all("www-authenticate")
                .iter()
                .any(|value| value.to_str().unwrap().starts_with("Basic realm=\"security\"")),
            "the cluster's challenge"
        );
        assert_eq!(
            anonymous.json::<Value>().await.unwrap()["error"]["type"],
            "security_exception"
        );
        let health = plain()
            .get(format!("{}/_cluster/health", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 401);

        // Nor do the service's own APIs lend them: in the default mode on this node
        // (cluster_privileges) a request without credentials is refused as the node refuses it.
        let cancel = plain()
            .put(app.cancel_url("pt-secured-missing"))
            .send()
            .await
            .unwrap();
        assert_eq!(cancel.status(), 401, "{}", cancel.text().await.unwrap());
    }

    #[tokio::test]
    async fn node_certificates_are_checked_for_passed_through_requests_too() {
        secure_node().await;
        let url = secure_url();
        let strict = spawn_app_with(ELASTICSEARCH, |settings| {
            settings.es_urls = vec![url.parse().unwrap()];
        })
        .await;
        let refused = plain()
            .get(format!("{}/_security/_authenticate", strict.address))
            .basic_auth(READER.0, Some(READER.1))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 503, "an unknown CA must not be trusted");
        assert_eq!(
            refused.json::<Value>().await.unwrap()["error"]["type"],
            "cluster_unavailable_exception"
        );
        let url = secure_url();
        let insecure = spawn_app_with(ELASTICSEARCH, |settings| {
            settings.es_urls = vec![url.parse().unwrap()];
            settings.tls = connector_sync_proxy::config::TlsVerification::Skip;
        })
        .await;
        let accepted = plain()
            .get(format!("{}/_security/_authenticate", insecure.address))
            .basic_auth(READER.0, Some(READER.1))
            .send()
            .await
            .unwrap();
        assert_eq!(accepted.status(), 200, "verification skipped on request");
    }

    #[tokio::test]
    async fn the_unsafe_setting_lends_the_services_privileges_to_requests_without_credentials() {
        secure_node().await;
        let app = app(true).await;

        let anonymous = authenticate(&app, None).await;
        assert_eq!(anonymous.status(), 200);
        assert_eq!(anonymous.json::<Value>().await.unwrap()["username"], "writer");

        let reader = authenticate(&app, Some(READER)).await;
        assert_eq!(
            reader.json::<Value>().await.unwrap()["username"],
            "reader",
            "the caller's own credentials win"
        );
    }
}

/// On the three-node cluster (scripts/cluster.sh): a node stops under a stream of GETs, and under a bulk.
mod cluster {
    use super::*;
    use crate::cluster::{cluster_script, cluster_urls, connect, wait_green, ONE_AT_A_TIME};

    async fn stop_node(n: usize) {
        tokio::task::spawn_blocking(move || cluster_script(&["stop-node", &n.to_string()]))
            .await
            .unwrap();
    }

    /// Starts node N again when dropped, so that a failing test leaves the cluster whole.
    struct Restarts(usize);

    impl Drop for Restarts {
        fn drop(&mut self) {
            cluster_script(&["start-node", &self.0.to_string()]);
        }
    }

    async fn start_node(n: usize) {
        tokio::task::spawn_blocking(move || cluster_script(&["start-node", &n.to_string()]))
            .await
            .unwrap();
    }

    /// A 400-item bulk streamed over ten seconds through a new service whose first node is
    /// `victim`; 1.5 s in, `scripts/cluster.sh ACTION victim`. Returns the status, the body and
    /// the service's metrics.
    async fn slow_bulk_while(
        urls: &[String],
        victim: usize,
        index: &str,
        label: &'static str,
        action: &'static str,
    ) -> (u16, Value, String) {
        let others = (0..3).filter(|n| *n != victim);
        let es_urls: Vec<url::Url> = std::iter::once(victim)
            .chain(others)
            .map(|n| urls[n].parse().unwrap())
            .collect();
        let app = spawn_app_with(ELASTICSEARCH, |settings| settings.es_urls = es_urls).await;
        let slow_bulk = stream::iter(0..400u64).then(move |n| async move {
            tokio::time::sleep(Duration::from_millis(25)).await;
            let lines = format!("{{\"index\":{{\"_id\":\"{label}-{n}\"}}}}\n{{\"n\":{n}}}\n");
            Ok::<_, io::Error>(lines.into_bytes())
        });
        let bulk = plain()
            .post(format!(
                "{}/{index}/_bulk?filter_path=errors,items.*.status",
                app.address
            ))
            .header("content-type", "application/x-ndjson")
            .body(reqwest::Body::wrap_stream(slow_bulk))
            .send();
        let interrupt = async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            tokio::task::spawn_blocking(move || cluster_script(&[action, &victim.to_string()]))
                .await
                .unwrap();
        };
        let (bulk, ()) = tokio::join!(bulk, interrupt);
        let bulk = bulk.unwrap();
        let status = bulk.status().as_u16();
        let body: Value = bulk.json().await.unwrap();
        let metrics = metrics_text(&plain(), &app.address).await;
        (status, body, metrics)
    }

    #[tokio::test]
    async fn gets_ride_out_a_stopped_node_and_a_bulk_is_drained_or_answered_502_never_sent_twice() {
        let _cluster = ONE_AT_A_TIME.lock().await;
        let urls = cluster_urls();
        assert_eq!(urls.len(), 3, "three cluster URLs are needed: {urls:?}");
        let first = connect(&urls[0]).await;
        wait_green(&first).await;
        let index = unique_id("pt-cluster");
        let layout = json!({"settings": {"number_of_shards": 1, "number_of_replicas": 2}});
        first
            .call(
                Method::PUT,
                &format!("/{index}?wait_for_active_shards=all"),
                Some(&layout),
            )
            .await;
        let mut seed = String::new();
        for n in 0..50 {
            seed.push_str(&format!("{{\"index\":{{\"_id\":\"{n}\"}}}}\n{{\"n\":{n}}}\n"));
        }
        let seeded = first
            .http
            .post(format!("{}/{index}/_bulk?refresh=true", first.url))
            .header("content-type", "application/x-ndjson")
            .body(seed)
            .send()
            .await
            .unwrap();
        assert_eq!(seeded.status(), 200);

        // Eight clients GET documents through the service while node 1 stops.
        let victim = 1;
        let _restarts = Restarts(victim);
        let es_urls: Vec<url::Url> = urls.iter().map(|url| url.parse().unwrap()).collect();
        let app = spawn_app_with(ELASTICSEARCH, |settings| settings.es_urls = es_urls).await;
        let stopped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let clients = (0..8).map(|client| {
            let (app, index, stopped) = (&app, &index, stopped.clone());
            async move {
                let http = plain();
                let mut statuses = Vec::new();
                let mut after_stop = 0;
                for n in (client..).step_by(8) {
                    let url = format!("{}/{index}/_doc/{}", app.address, n % 50);
                    statuses.push(http.get(url).send().await.unwrap().status().as_u16());
                    if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                        after_stop += 1;
                        if after_stop > 40 {
                            break;
                        }
                    }
                }
                statuses
            }
        });
        let stopper = async {
            tokio::time::sleep(Duration::from_millis(800)).await;
            stop_node(victim).await;
            stopped.store(true, std::sync::atomic::Ordering::Relaxed);
        };
        let (results, ()) = tokio::join!(join_all(clients), stopper);
        let statuses: Vec<u16> = results.into_iter().flatten().collect();
        let failed: Vec<&u16> = statuses.iter().filter(|status| **status != 200).collect();
        assert!(
            failed.is_empty(),
            "{} of {} GETs failed while node {victim} stopped: {failed:?}",
            failed.len(),
            statuses.len()
        );
        start_node(victim).await;
        wait_green(&first).await;

        // A bulk streams slowly to node 1 (the first node a new service tries). Stopped
        // (SIGTERM), Elasticsearch drains it: every item lands once, answered 200. Killed, its
        // answer is lost: the bulk is not sent again, and the answer is an error in
        // Elasticsearch's envelope.
        let drained = slow_bulk_while(&urls, victim, &index, "drained", "stop-node").await;
        assert_eq!(drained.0, 200, "{}", drained.1);
        let items = drained.1["items"].as_array().map_or(0, Vec::len);
        assert_eq!(
            (items, &drained.1["errors"]),
            (400, &json!(false)),
            "every item once"
        );
        start_node(victim).await;
        wait_green(&first).await;

        let (status, body, metrics) = slow_bulk_while(&urls, victim, &index, "killed", "kill").await;
        let shown: String = body.to_string().chars().take(600).collect();
        assert!(
            [502, 503].contains(&status),
            "a bulk cut by a dying node answered {status}: {shown}"
        );
        assert_eq!(body["status"], status, "{shown}");
        assert!(body["error"]["type"].is_string(), "{shown}");
        assert!(
            metrics.contains(r#"connector_sync_proxy_upstream_errors_total{kind="answer_lost"} 1"#),
            "one attempt, its answer lost: {metrics}"
        );
        assert!(
            !metrics.contains(r#"passthrough_requests_total{method="POST",status_class="2xx"}"#),
            "the bulk was sent again: {metrics}"
        );
        start_node(victim).await;
        wait_green(&first).await;
        first.call(Method::DELETE, &format!("/{index}"), None).await;
    }
}
