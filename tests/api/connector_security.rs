//! Connectors on the node with security on (scripts/secure-node.sh), in `forward` mode: the
//! caller's own index privileges decide, and a refused request writes nothing.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{encode, read_doc, unique_id, Stored, CONNECTORS_INDEX};
use crate::security::{
    call_as, forwarding_app, secure_node, secure_url, trusting_the_test_ca, ELASTIC, READER, WRITER,
};

/// The stored document, read as `elastic`.
async fn stored(node: &reqwest::Client, index: &str, id: &str) -> Option<Stored> {
    let url = format!("{}/{index}/_doc/{}", secure_url(), encode(id));
    read_doc(node.get(url).basic_auth(ELASTIC.0, Some(ELASTIC.1))).await
}

#[tokio::test]
async fn a_reader_reads_connectors_a_writer_manages_them_and_a_refusal_writes_nothing() {
    let node = secure_node().await;
    let app = forwarding_app(trusting_the_test_ca(), None).await;
    let names = format!("{CONNECTORS_INDEX}-index-names");
    let id = unique_id("secure-connector");
    let index_name = unique_id("search-secure");

    let (status, answer) = call_as(
        &app,
        Some(WRITER),
        Method::PUT,
        &format!("/_connector/{id}"),
        Some(json!({"index_name": index_name, "service_type": "s"})),
    )
    .await;
    assert_eq!(status, 201, "{answer}");

    let (status, got) = call_as(
        &app,
        Some(READER),
        Method::GET,
        &format!("/_connector/{id}"),
        None,
    )
    .await;
    assert_eq!((status, &got["index_name"]), (StatusCode::OK, &json!(index_name)));
    let (status, listed) = call_as(
        &app,
        Some(READER),
        Method::GET,
        &format!("/_connector?index_name={index_name}"),
        None,
    )
    .await;
    assert_eq!((status, &listed["count"]), (StatusCode::OK, &json!(1)));

    let before = stored(&node, CONNECTORS_INDEX, &id).await.unwrap();
    let newcomer = unique_id("secure-refused");
    let refused_name = unique_id("search-refused");
    for (method, path, body) in [
        (
            Method::PUT,
            format!("/_connector/{newcomer}"),
            Some(json!({"index_name": refused_name})),
        ),
        (
            Method::POST,
            "/_connector".to_owned(),
            Some(json!({"index_name": refused_name})),
        ),
        (
            Method::PUT,
            format!("/_connector/{id}/_name"),
            Some(json!({"name": "by the reader"})),
        ),
        (
            Method::PUT,
            format!("/_connector/{id}/_status"),
            Some(json!({"status": "needs_configuration"})),
        ),
        (
            Method::PUT,
            format!("/_connector/{id}/_index_name"),
            Some(json!({"index_name": refused_name})),
        ),
        (Method::PUT, format!("/_connector/{id}/_check_in"), None),
        (Method::DELETE, format!("/_connector/{id}"), None),
    ] {
        let (status, answer) = call_as(&app, Some(READER), method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["type"], "security_exception", "{method} {path}");
    }
    assert_eq!(
        stored(&node, CONNECTORS_INDEX, &id).await.unwrap(),
        before,
        "a refused request changed the connector"
    );
    assert_eq!(stored(&node, CONNECTORS_INDEX, &newcomer).await, None);
    assert_eq!(
        stored(&node, &names, &refused_name).await,
        None,
        "a refused request claimed a name"
    );

    let (status, _) = call_as(&app, None, Method::GET, &format!("/_connector/{id}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, answer) = call_as(
        &app,
        Some(WRITER),
        Method::PUT,
        &format!("/_connector/{id}/_name"),
        Some(json!({"name": "by the writer"})),
    )
    .await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"result": "updated"})));
    let (status, answer) = call_as(
        &app,
        Some(WRITER),
        Method::DELETE,
        &format!("/_connector/{id}?hard=true&delete_sync_jobs=true"),
        None,
    )
    .await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"acknowledged": true})));
    assert_eq!(stored(&node, CONNECTORS_INDEX, &id).await, None);
    assert_eq!(
        stored(&node, &names, &index_name).await,
        None,
        "the name was released"
    );
}
