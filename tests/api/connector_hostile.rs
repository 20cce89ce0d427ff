//! Malformed and hostile connector requests: Elasticsearch's 4xx in its envelope, and neither a
//! connector nor a name reservation changed.

use crate::connector::{connector_body, ConnectorApp};
use crate::helpers::{raw_exchange, unique_id, ELASTICSEARCH, SCRIPTING};
use crate::hostile::request;

#[tokio::test]
async fn a_catalogue_of_bad_connector_requests_gets_400_and_changes_nothing() {
    for backend in [SCRIPTING, ELASTICSEARCH] {
        let api = ConnectorApp::start(backend).await;
        let held = unique_id("search");
        api.create("target", connector_body(&held)).await;
        let connectors_before = api.snapshot().await;
        let reservations_before = api.reservations().await;

        let json = "Content-Type: application/json\r\n";
        let put = |path: &str, body: &str| request("PUT", path, json, body);
        let deep = format!(
            "{{\"sync_cursor\":{{\"a\":{}1{}}}}}",
            "[".repeat(1001),
            "]".repeat(1001)
        );
        let invalid_utf8 = [
            format!("PUT /_connector/target/_name HTTP/1.1\r\nHost: test\r\n{json}Content-Length: 12\r\nConnection: close\r\n\r\n").into_bytes(),
            b"{\"name\":\"\xff\"}".to_vec(),
        ]
        .concat();
        let catalogue: Vec<(&str, Vec<u8>, u16, &str)> = vec![
            (
                "malformed JSON",
                put("/_connector/target", r#"{"name":"#),
                400,
                "x_content_parse_exception",
            ),
            (
                "trailing garbage",
                put("/_connector/target", r#"{"name":"n"} x"#),
                400,
                "x_content_parse_exception",
            ),
            (
                "array body",
                put("/_connector/target", "[1,2]"),
                400,
                "x_content_parse_exception",
            ),
            (
                "string body",
                put("/_connector/target/_name", "\"name\""),
                400,
                "x_content_parse_exception",
            ),
            (
                "null body",
                put("/_connector/target/_status", "null"),
                400,
                "x_content_parse_exception",
            ),
            (
                "duplicate keys",
                put("/_connector/target/_name", r#"{"name":"a","name":"b"}"#),
                400,
                "x_content_parse_exception",
            ),
            (
                "invalid UTF-8",
                invalid_utf8.clone(),
                400,
                "x_content_parse_exception",
            ),
            (
                "unknown field on put",
                put("/_connector/target", r#"{"nmae":"x"}"#),
                400,
                "x_content_parse_exception",
            ),
            (
                "unknown field on an update",
                put("/_connector/target/_pipeline", r#"{"pipelines":{}}"#),
                400,
                "x_content_parse_exception",
            ),
            (
                "wrong type",
                put("/_connector/target/_native", r#"{"is_native":null}"#),
                400,
                "x_content_parse_exception",
            ),
            (
                "wrong nested type",
                put(
                    "/_connector/target/_scheduling",
                    r#"{"scheduling":{"full":{"enabled":"yes","interval":"0 0 0 * * ?"}}}"#,
                ),
                400,
                "x_content_parse_exception",
            ),
            (
                "number out of range",
                put(
                    "/_connector/target/_last_sync",
                    r#"{"last_indexed_document_count":1e400}"#,
                ),
                400,
                "x_content_parse_exception",
            ),
            (
                "count not a number",
                put(
                    "/_connector/target/_last_sync",
                    r#"{"last_deleted_document_count":"1; DROP"}"#,
                ),
                400,
                "x_content_parse_exception",
            ),
            (
                "invalid index name",
                put("/_connector/target", r#"{"index_name":"a/b"}"#),
                400,
                "action_request_validation_exception",
            ),
            (
                "invalid index name update",
                put("/_connector/target/_index_name", r#"{"index_name":"A:B"}"#),
                400,
                "action_request_validation_exception",
            ),
            (
                "empty index name",
                put("/_connector/target/_index_name", r#"{"index_name":""}"#),
                400,
                "action_request_validation_exception",
            ),
            (
                "invalid index name filter",
                request("GET", "/_connector?index_name=_x", "", ""),
                400,
                "action_request_validation_exception",
            ),
            (
                "index name in use",
                put("/_connector/other", &format!(r#"{{"index_name":"{held}"}}"#)),
                400,
                "status_exception",
            ),
            (
                "unknown status",
                put("/_connector/target/_status", r#"{"status":"running"}"#),
                400,
                "x_content_parse_exception",
            ),
            (
                "forbidden transition",
                put("/_connector/target/_status", r#"{"status":"connected"}"#),
                400,
                "status_exception",
            ),
            (
                "unknown sync status",
                put("/_connector/target/_last_sync", r#"{"last_sync_status":"done"}"#),
                400,
                "x_content_parse_exception",
            ),
            (
                "unknown policy",
                put(
                    "/_connector/target/_filtering",
                    r#"{"rules":[{"field":"f","id":"r","order":0,"policy":"allow","rule":"regex","value":"v"}]}"#,
                ),
                400,
                "x_content_parse_exception",
            ),
            (
                "unknown display",
                put(
                    "/_connector/target/_configuration",
                    r#"{"configuration":{"k":{"label":"l","display":"slider"}}}"#,
                ),
                400,
                "x_content_parse_exception",
            ),
            (
                "bad cron",
                put(
                    "/_connector/target/_scheduling",
                    r#"{"scheduling":{"full":{"enabled":true,"interval":"every day"}}}"#,
                ),
                400,
                "x_content_parse_exception",
            ),
            (
                "bad date",
                put("/_connector/target/_last_sync", r#"{"last_synced":"yesterday"}"#),
                400,
                "x_content_parse_exception",
            ),
            (
                "unknown configuration keys",
                put("/_connector/target/_configuration", r#"{"values":{"nope":1}}"#),
                400,
                "status_exception",
            ),
            (
                "deep nesting",
                put("/_connector/target/_last_sync", &deep),
                400,
                "x_content_parse_exception",
            ),
            (
                "missing body",
                put("/_connector/target/_error", ""),
                400,
                "parse_exception",
            ),
            (
                "body on check-in",
                put("/_connector/target/_check_in", "{}"),
                400,
                "illegal_argument_exception",
            ),
            (
                "body on delete",
                request("DELETE", "/_connector/target", json, "{}"),
                400,
                "illegal_argument_exception",
            ),
            (
                "unknown parameter",
                put("/_connector/target?refresh=false", "{}"),
                400,
                "illegal_argument_exception",
            ),
            (
                "bad boolean parameter",
                request("DELETE", "/_connector/target?hard=yes", "", ""),
                400,
                "illegal_argument_exception",
            ),
            (
                "empty id",
                put("/_connector//_name", r#"{"name":"x"}"#),
                400,
                "action_request_validation_exception",
            ),
            (
                "id over 512 bytes",
                put(
                    &format!("/_connector/{}/_name", "x".repeat(600)),
                    r#"{"name":"x"}"#,
                ),
                400,
                "action_request_validation_exception",
            ),
            (
                "dot dot id",
                put("/_connector/../_name", r#"{"name":"x"}"#),
                400,
                "action_request_validation_exception",
            ),
            (
                "PATCH",
                request("PATCH", "/_connector/target", json, "{}"),
                405,
                "method_not_allowed_exception",
            ),
        ];
        for (what, bytes, status, kind) in catalogue {
            let (got, headers, body) = raw_exchange(&api.app, &bytes).await;
            assert_eq!(got, status, "{} {what}: {body}", backend.name);
            assert_eq!(body["error"]["type"], kind, "{what}: {body}");
            assert_eq!(body["status"], status, "{what}");
            assert!(
                headers.contains("x-elastic-product: Elasticsearch"),
                "{what}: {headers}"
            );
        }

        // Over the body limit (the service's, and Elasticsearch's far larger 100 MB aside).
        let huge = format!(r#"{{"name":"{}"}}"#, "x".repeat(11 * 1024 * 1024));
        let (status, body) = api
            .call_raw(reqwest::Method::PUT, "/_connector/target/_name", &huge)
            .await;
        assert_eq!(status, 413, "{body}");
        assert_eq!(body["error"]["type"], "content_too_long_exception");

        assert_eq!(
            api.snapshot().await,
            connectors_before,
            "a bad request changed a connector"
        );
        assert_eq!(
            api.reservations().await,
            reservations_before,
            "a bad request claimed a name"
        );
        api.clean_up().await;
    }
}
