//! The options every Elasticsearch API takes on the wire, on the service's own APIs: compressed
//! request bodies and `filter_path` (with `?pretty`), as Elasticsearch applies them.

use std::io::Write;

use flate2::write::{GzEncoder, ZlibEncoder};
use serde_json::{json, Value};

use crate::helpers::{
    connector, job, spawn_app, unique_id, ServiceProcess, TestApp, BOTH, CONNECTORS_INDEX, ELASTICSEARCH,
};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A request with a body in the given `Content-Encoding`; the status and the JSON answer.
async fn send_encoded(
    app_address: &str,
    path: &str,
    encoding: &str,
    body: Vec<u8>,
    chunked: bool,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let request = client
        .put(format!("{app_address}{path}"))
        .header("content-type", "application/json")
        .header("content-encoding", encoding);
    let request = if chunked {
        // A stream of unknown length goes out chunked, as the Java client sends compressed bodies.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            body.chunks(7).map(|chunk| Ok(chunk.to_vec())).collect();
        request.body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
    } else {
        request.body(body)
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn gzip_and_deflate_bodies_are_read_as_elasticsearch_reads_them() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        let claim = br#"{"worker_hostname":"zipped-worker","sync_cursor":{"page":2}}"#;
        for (encoding, body, chunked) in [
            ("gzip", gzip(claim), false),
            ("GZIP", gzip(claim), true),
            ("x-gzip", gzip(claim), false),
            ("deflate", zlib(claim), true),
        ] {
            let id = unique_id("gzip-claim");
            app.node.seed(&id, job("pending")).await;

            let answer = send_encoded(
                &app.address,
                &format!("/_connector/_sync_job/{id}/_claim"),
                encoding,
                body,
                chunked,
            )
            .await;

            assert_eq!(
                answer,
                (200, json!({"result": "updated"})),
                "{encoding} on {}",
                backend.name
            );
            let stored = app.node.read(&id).await.unwrap().source;
            assert_eq!(stored["worker_hostname"], "zipped-worker", "{encoding}");
            assert_eq!(
                stored["connector"]["sync_cursor"],
                json!({"page": 2}),
                "{encoding}"
            );
        }
    }
}

#[tokio::test]
async fn an_encoding_elasticsearch_does_not_inflate_is_read_as_it_came() {
    let app = spawn_app(ELASTICSEARCH).await;
    let id = unique_id("br-claim");
    app.node.seed(&id, job("pending")).await;
    let plain = br#"{"worker_hostname":"w"}"#.to_vec();
    let answer = send_encoded(
        &app.address,
        &format!("/_connector/_sync_job/{id}/_claim"),
        "br",
        plain,
        false,
    )
    .await;
    assert_eq!(answer, (200, json!({"result": "updated"})));

    // gzip bytes declared as something else are what they are: not JSON.
    let id = unique_id("zstd-claim");
    app.node.seed(&id, job("pending")).await;
    let (status, answer) = send_encoded(
        &app.address,
        &format!("/_connector/_sync_job/{id}/_claim"),
        "zstd",
        gzip(br#"{"worker_hostname":"w"}"#),
        false,
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["type"], "x_content_parse_exception", "{answer}");
    assert_eq!(app.node.read(&id).await.unwrap().source["status"], "pending");
}

#[tokio::test]
async fn corrupt_streams_and_bombs_are_refused_and_change_nothing_and_memory_stays_flat() {
    let app = spawn_app(ELASTICSEARCH).await;
    let mut service = ServiceProcess::start(&[
        "--es-url",
        &app.node.url,
        "--max-body-size",
        "1mb",
        "--config-file",
        "/dev/null",
    ]);
    let id = unique_id("bomb");
    app.node.seed(&id, job("pending")).await;
    let path = format!("/_connector/_sync_job/{id}/_claim");

    let mut truncated = gzip(br#"{"worker_hostname":"w"}"#);
    truncated.truncate(truncated.len() - 5);
    for (what, encoding, body) in [
        ("truncated gzip", "gzip", truncated),
        ("not gzip at all", "gzip", b"{\"worker_hostname\":\"w\"}".to_vec()),
        ("not deflate", "deflate", vec![0xff; 64]),
    ] {
        let (status, answer) = send_encoded(&service.address, &path, encoding, body, false).await;
        assert_eq!(status, 400, "{what}: {answer}");
        assert_eq!(
            answer["error"]["type"], "illegal_argument_exception",
            "{what}: {answer}"
        );
    }

    // 512 MiB of spaces in half a megabyte: inflated only up to the limit, then refused.
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![b' '; 1024 * 1024];
    for _ in 0..512 {
        encoder.write_all(&block).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    assert!(
        bomb.len() < 1024 * 1024,
        "the bomb itself fits the limit: {}",
        bomb.len()
    );
    let before = service.peak_rss_kib();
    for _ in 0..5 {
        let (status, answer) = send_encoded(&service.address, &path, "gzip", bomb.clone(), false).await;
        assert_eq!(status, 413, "{answer}");
        assert_eq!(answer["error"]["type"], "content_too_long_exception", "{answer}");
    }
    let grown = service.peak_rss_kib().saturating_sub(before);
    assert!(
        grown < 16 * 1024,
        "peak memory grew by {grown} KiB for 1 MiB bodies"
    );
    assert_eq!(
        app.node.read(&id).await.unwrap().source["status"],
        "pending",
        "nothing written"
    );
    let log = service.stop_and_collect_log().join("\n");
    assert!(
        !log.contains("worker_hostname"),
        "bodies are never logged:\n{log}"
    );
}

/// A connector as stored, with empty objects and arrays of objects, for the filters below.
async fn seeded_connector(app: &TestApp) -> String {
    let id = unique_id("filtered");
    let mut doc = connector("search-filtered");
    doc["custom_scheduling"] = json!({});
    doc["features"] = json!({"sync_rules": {"basic": {"enabled": true}, "advanced": {}}});
    app.node.seed_into(CONNECTORS_INDEX, &id, doc).await;
    id
}

#[tokio::test]
async fn filter_path_keeps_what_it_names_on_every_answer_but_errors() {
    let app = spawn_app(ELASTICSEARCH).await;
    let id = seeded_connector(&app).await;

    let (status, answer) = app
        .call("GET", &format!("/_connector/{id}?filter_path=name,status"), None)
        .await;
    assert_eq!(
        (status, answer),
        (200, json!({"name": "test connector", "status": "connected"}))
    );

    let (_, answer) = app
        .call(
            "GET",
            "/_connector?filter_path=results.id,count&connector_name=test%20connector&size=1",
            None,
        )
        .await;
    assert_eq!(answer.as_object().unwrap().len(), 2, "{answer}");
    assert!(
        answer["results"][0].as_object().unwrap().keys().eq(["id"]),
        "{answer}"
    );

    let (_, answer) = app
        .call(
            "GET",
            &format!("/_connector/{id}?filter_path=no_such_field"),
            None,
        )
        .await;
    assert_eq!(answer, json!({}), "filtered to nothing");

    let response = app
        .http
        .get(format!(
            "{}/_connector/{id}?filter_path=filtering.*.validation.state&pretty",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.text().await.unwrap(),
        "{\n  \"filtering\" : [\n    {\n      \"active\" : {\n        \"validation\" : {\n          \"state\" : \"valid\"\n        }\n      },\n      \
         \"draft\" : {\n        \"validation\" : {\n          \"state\" : \"edited\"\n        }\n      }\n    }\n  ]\n}\n"
    );

    // Elasticsearch does not filter its errors.
    let (status, answer) = app
        .call("GET", "/_connector/no-such-connector?filter_path=status", None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        answer["error"]["type"], "resource_not_found_exception",
        "{answer}"
    );

    // Writes are filtered too.
    let (status, answer) = app
        .call(
            "PUT",
            &format!("/_connector/{id}/_check_in?filter_path=-result"),
            None,
        )
        .await;
    assert_eq!((status, answer), (200, json!({})));
}

#[tokio::test]
async fn filter_path_filters_as_the_node_filters_the_same_document() {
    let app = spawn_app(ELASTICSEARCH).await;
    let id = seeded_connector(&app).await;
    for filter in [
        "name,status",
        "filtering.active.rules.id",
        "filtering.*.rules.*",
        "**.enabled",
        "features.**",
        "sched*",
        "-configuration,-filtering",
        "-**.enabled",
        "-features.sync_rules.basic",
        "custom_scheduling",
        "custom_scheduling.x",
        "-custom_scheduling.x",
        "filtering,-filtering.draft",
        "nothing",
    ] {
        let (status, ours) = app
            .call("GET", &format!("/_connector/{id}?filter_path={filter}"), None)
            .await;
        assert_eq!(status, 200, "{filter}: {ours}");
        let on_node: String = filter
            .split(',')
            .map(|path| match path.strip_prefix('-') {
                Some(path) => format!("-_source.{path}"),
                None => format!("_source.{path}"),
            })
            .collect::<Vec<_>>()
            .join(",");
        let theirs: Value = app
            .node
            .http
            .get(format!(
                "{}/{CONNECTORS_INDEX}/_doc/{id}?filter_path={on_node}",
                app.node.url
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut ours = ours;
        ours.as_object_mut().unwrap().remove("id");
        let theirs = theirs.get("_source").cloned().unwrap_or_else(|| json!({}));
        assert_eq!(ours, theirs, "filter_path={filter}");
    }
}
