//! The sync-job API beyond cancel: post, get, list, delete, check_in, claim, error and
//! update_stats, on both update strategies, each answer read back from the node.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::helpers::{
    assert_refused, connector, encode, es_error, invalid_transition, job, spawn_app, spawn_app_with,
    unique_id, Backend, TestApp, BOTH, ELASTICSEARCH, SCRIPTING,
};

const JOBS: &str = "/_connector/_sync_job";

fn path(id: &str, suffix: &str) -> String {
    format!("{JOBS}/{}{suffix}", encode(id))
}

/// A job seeded straight into the index, as the connector service would find it.
async fn seeded(app: &TestApp, status: &str) -> String {
    let id = unique_id(status);
    app.node.seed(&id, job(status)).await;
    id
}

/// A connector stored as the connector API stores one.
async fn seeded_connector(app: &TestApp) -> (String, String) {
    let id = unique_id("connector");
    let index_name = format!("search-{}", id.to_lowercase());
    app.node.seed_connector(&id, connector(&index_name)).await;
    (id, index_name)
}

fn parse_error(reason: &str) -> Value {
    es_error("x_content_parse_exception", reason, 400)
}

/// The stored job, or a failing test.
async fn stored(app: &TestApp, id: &str) -> Value {
    app.node.read(id).await.expect("the job exists").source
}

fn recent(stamp: &Value) -> bool {
    let Some(at) = stamp.as_str().and_then(|text| text.parse::<DateTime<Utc>>().ok()) else {
        return false;
    };
    let age = Utc::now() - at;
    age >= chrono::Duration::zero() && age < chrono::Duration::seconds(60)
}

#[tokio::test]
async fn post_creates_a_pending_job_from_the_connector() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        let (connector_id, index_name) = seeded_connector(&app).await;

        let (status, body) = app
            .call(
                "POST",
                JOBS,
                Some(json!({"id": connector_id, "job_type": "incremental", "trigger_method": "scheduled"})),
            )
            .await;

        assert_eq!(status, 201, "{}: {body}", backend.name);
        let id = body["id"].as_str().expect("an id").to_owned();
        assert_eq!(body, json!({ "id": id }));
        assert_eq!(id.len(), 20, "an id of Elasticsearch's form: {id}");
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let job = stored(&app, &id).await;
        let source = connector(&index_name);
        assert_eq!(
            job,
            json!({
                "connector": {
                    "id": connector_id,
                    "filtering": source["filtering"][0]["active"],
                    "index_name": index_name,
                    "language": "en",
                    "pipeline": source["pipeline"],
                    "service_type": "mongodb",
                    "configuration": source["configuration"],
                },
                "created_at": job["created_at"],
                "deleted_document_count": 0,
                "indexed_document_count": 0,
                "indexed_document_volume": 0,
                "job_type": "incremental",
                "last_seen": job["created_at"],
                "metadata": {},
                "status": "pending",
                "total_document_count": 0,
                "trigger_method": "scheduled",
            }),
            "{}",
            backend.name
        );
        assert!(recent(&job["created_at"]), "{}", job["created_at"]);
    }
}

#[tokio::test]
async fn post_defaults_to_a_full_on_demand_job_and_reads_names_in_any_case() {
    let app = spawn_app(ELASTICSEARCH).await;
    let (connector_id, index_name) = seeded_connector(&app).await;

    let (status, body) = app.call("POST", JOBS, Some(json!({"id": connector_id}))).await;
    assert_eq!(status, 201, "{body}");
    let job = stored(&app, body["id"].as_str().unwrap()).await;
    assert_eq!(
        (&job["job_type"], &job["trigger_method"]),
        (&json!("full"), &json!("on_demand"))
    );

    let (status, body) = app
        .call(
            "POST",
            JOBS,
            Some(json!({"id": connector_id, "job_type": "ACCESS_CONTROL", "trigger_method": "On_Demand"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let job = stored(&app, body["id"].as_str().unwrap()).await;
    assert_eq!(job["job_type"], "access_control");
    assert_eq!(job["trigger_method"], "on_demand");
    assert_eq!(
        job["connector"]["index_name"],
        format!(".search-acl-filter-{index_name}"),
        "an access-control job writes to the connector's ACL index"
    );
}

#[tokio::test]
async fn post_refuses_what_elasticsearch_refuses_and_writes_nothing() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        let (connector_id, _) = seeded_connector(&app).await;
        let no_index = unique_id("no-index");
        let mut doc = connector("x");
        doc.as_object_mut().unwrap().remove("index_name");
        app.node.seed_connector(&no_index, doc).await;
        let no_service = unique_id("no-service");
        let mut doc = connector("search-no-service");
        doc["service_type"] = Value::Null;
        app.node.seed_connector(&no_service, doc).await;
        let missing = unique_id("missing-connector");
        let parser = "connector_sync_job_post_request";

        let cases: Vec<(&str, String, u16, Value)> = vec![
            (
                "missing connector",
                json!({"id": missing}).to_string(),
                404,
                es_error(
                    "resource_not_found_exception",
                    &format!("Connector with id '{missing}' does not exist."),
                    404,
                ),
            ),
            (
                "connector without an index",
                json!({"id": no_index}).to_string(),
                400,
                es_error(
                    "status_exception",
                    &format!("Cannot start a sync for connector [{no_index}] with no index attached. Set the [index_name] property for the connector to enable syncing data."),
                    400,
                ),
            ),
            (
                "connector without a service type",
                json!({"id": no_service}).to_string(),
                400,
                es_error(
                    "status_exception",
                    &format!("Cannot start a sync for connector [{no_service}] with [service_type] not defined. Set the service type of your connector before starting the sync."),
                    400,
                ),
            ),
            ("no id", "{}".into(), 400, es_error("illegal_argument_exception", "Required [id]", 400)),
            (
                "empty id",
                r#"{"id": ""}"#.into(),
                400,
                es_error(
                    "action_request_validation_exception",
                    "Validation Failed: 1: [id] of the connector cannot be null or empty;",
                    400,
                ),
            ),
            (
                "id of the wrong type",
                r#"{"id": 5}"#.into(),
                400,
                parse_error(&format!("[1:8] [{parser}] id doesn't support values of type: VALUE_NUMBER")),
            ),
            (
                "null job type",
                format!(r#"{{"id": "{connector_id}", "job_type": null}}"#),
                400,
                parse_error(&format!(
                    "[1:{}] [{parser}] job_type doesn't support values of type: VALUE_NULL",
                    connector_id.len() + 24
                )),
            ),
            (
                "misspelt field",
                format!(r#"{{"id": "{connector_id}", "jobtype": "full"}}"#),
                400,
                parse_error(&format!(
                    "[1:{}] [{parser}] unknown field [jobtype] did you mean [job_type]?",
                    connector_id.len() + 12
                )),
            ),
            ("not an object", "[]".into(), 400, parse_error(&format!("[1:1] [{parser}] Expected START_OBJECT but was: START_ARRAY"))),
        ];
        for (what, body, status, expected) in cases {
            let (got, answer) = app.call_raw("POST", JOBS, &body).await;
            assert_eq!(got, status, "{} {what}: {answer}", backend.name);
            assert_eq!(answer, expected, "{} {what}", backend.name);
        }

        // An unknown job type fails the build of the request, reported under the last field
        // when every field was given.
        let nightly = json!({"id": connector_id, "job_type": "nightly"});
        assert_refused(
            &app.call("POST", JOBS, Some(nightly)).await,
            Some(&format!(
                "Failed to build [{parser}] after last required field arrived"
            )),
            Some("Unknown ConnectorSyncJobType [nightly]."),
        );
        let (got, answer) = app
            .call(
                "POST",
                JOBS,
                Some(json!({"id": connector_id, "job_type": "full", "trigger_method": "weekly"})),
            )
            .await;
        assert_eq!(got, 400, "{answer}");
        assert!(
            answer["error"]["reason"]
                .as_str()
                .unwrap()
                .ends_with(&format!("[{parser}] failed to parse field [trigger_method]")),
            "{answer}"
        );
        assert_eq!(
            answer["error"]["root_cause"][0]["reason"],
            format!("Failed to build [{parser}] after last required field arrived")
        );
        assert_eq!(
            answer["error"]["caused_by"]["caused_by"]["reason"],
            "Unknown ConnectorSyncJobTriggerMethod [weekly]."
        );

        let (got, answer) = app.call_raw("POST", JOBS, "").await;
        assert_eq!(
            (got, answer),
            (400, es_error("parse_exception", "request body is required", 400))
        );
        let (got, answer) = app.call_raw("POST", JOBS, "{\"id\": ").await;
        assert_eq!(got, 400);
        assert_eq!(answer["error"]["type"], "x_content_parse_exception", "{answer}");

        for connector_id in [&connector_id, &no_index, &no_service, &missing] {
            let (_, list) = app
                .call(
                    "GET",
                    &format!("{JOBS}?connector_id={}", encode(connector_id)),
                    None,
                )
                .await;
            assert_eq!(
                list["count"], 0,
                "{}: a refused post wrote a job: {list}",
                backend.name
            );
        }
    }
}

#[tokio::test]
async fn post_creates_the_sync_jobs_index_as_elasticsearch_lays_it_out() {
    for backend in BOTH {
        let jobs = unique_id("csp-new-jobs");
        let alias = jobs.clone();
        let app = spawn_app_with(backend, move |settings| settings.sync_jobs_index = alias).await;
        let (connector_id, _) = seeded_connector(&app).await;
        assert!(!app.node.index_exists(&jobs).await);

        let (status, body) = app.call("POST", JOBS, Some(json!({"id": connector_id}))).await;

        assert_eq!(status, 201, "{}: {body}", backend.name);
        let concrete = format!("{jobs}-v1");
        let settings = app
            .node
            .call(
                reqwest::Method::GET,
                &format!("/{concrete}/_settings?expand_wildcards=all"),
                None,
            )
            .await;
        let index = &settings[&concrete]["settings"]["index"];
        assert_eq!(index["hidden"], "true", "{settings}");
        assert_eq!(index["number_of_shards"], "1");
        assert_eq!(index["auto_expand_replicas"], "0-1");
        let mapping = app
            .node
            .call(reqwest::Method::GET, &format!("/{jobs}/_mapping"), None)
            .await;
        let mappings = &mapping[&concrete]["mappings"];
        assert_eq!(mappings["dynamic"], "false", "{mapping}");
        assert_eq!(
            mappings["properties"]["connector"]["properties"]["id"]["type"],
            "keyword"
        );
        assert_eq!(mappings["properties"]["created_at"]["type"], "date");
        let (status, _) = app
            .call("GET", &path(body["id"].as_str().unwrap(), ""), None)
            .await;
        assert_eq!(status, 200);
        app.node.delete_index(&jobs).await;
    }
}

#[tokio::test]
async fn post_without_the_connectors_index_is_not_found_and_creates_nothing() {
    let connectors = unique_id("csp-no-connectors");
    let jobs = unique_id("csp-no-jobs");
    let (c, j) = (connectors.clone(), jobs.clone());
    let app = spawn_app_with(ELASTICSEARCH, move |settings| {
        settings.connectors_index = c;
        settings.sync_jobs_index = j;
    })
    .await;

    let (status, body) = app.call("POST", JOBS, Some(json!({"id": "c1"}))).await;

    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["type"], "index_not_found_exception");
    assert_eq!(body["error"]["reason"], format!("no such index [{connectors}]"));
    assert!(!app.node.index_exists(&connectors).await);
    assert!(!app.node.index_exists(&jobs).await);
}

#[tokio::test]
async fn get_answers_the_stored_job_with_its_id_first() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        let id = seeded(&app, "in_progress").await;

        let response = app
            .http
            .get(format!("{}{}", app.address, path(&id, "")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        assert!(text.starts_with(&format!("{{\"id\":{}", json!(id))), "{text}");
        let mut expected = json!({ "id": id });
        expected
            .as_object_mut()
            .unwrap()
            .extend(job("in_progress").as_object().unwrap().clone());
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), expected);

        let missing = unique_id("missing");
        let (status, body) = app.call("GET", &path(&missing, ""), None).await;
        assert_eq!(
            (status, body),
            (404, es_error("resource_not_found_exception", &missing, 404))
        );
    }
}

#[tokio::test]
async fn every_operation_on_a_missing_index_is_not_found_and_creates_no_index() {
    for backend in BOTH {
        let index = unique_id("csp-absent");
        let alias = index.clone();
        let app = spawn_app_with(backend, move |settings| settings.sync_jobs_index = alias).await;
        let not_found = es_error(
            "resource_not_found_exception",
            "connector sync job [job-1] not found",
            404,
        );
        let stats =
            json!({"deleted_document_count": 0, "indexed_document_count": 1, "indexed_document_volume": 2});
        for (method, suffix, body) in [
            ("GET", "", None),
            ("DELETE", "", None),
            ("PUT", "/_cancel", None),
            ("PUT", "/_check_in", None),
            ("PUT", "/_claim", Some(json!({"worker_hostname": "w"}))),
            ("PUT", "/_error", Some(json!({"error": "boom"}))),
            ("PUT", "/_stats", Some(stats.clone())),
        ] {
            let (status, answer) = app.call(method, &path("job-1", suffix), body).await;
            assert_eq!(
                (status, &answer),
                (404, &not_found),
                "{} {method} {suffix}",
                backend.name
            );
        }
        let (status, answer) = app.call("GET", JOBS, None).await;
        assert_eq!((status, answer), (200, json!({"count": 0, "results": []})));
        assert!(
            !app.node.index_exists(&index).await,
            "{}: an operation created {index}",
            backend.name
        );
    }
}

/// A jobs index of the test's own holding five jobs of two connectors, created a minute apart.
async fn app_with_five_jobs(backend: Backend) -> (TestApp, String, Vec<String>) {
    let alias = unique_id("csp-list");
    let index = alias.clone();
    let app = spawn_app_with(backend, move |settings| settings.sync_jobs_index = index).await;
    app.node
        .call(
            reqwest::Method::PUT,
            &format!("/{alias}-v1"),
            Some(&json!({
                "settings": {"number_of_shards": 1, "number_of_replicas": 0},
                "aliases": {&alias: {}},
                "mappings": serde_json::from_str::<Value>(connector_sync_proxy::documents::layouts::SYNC_JOBS).unwrap()["mappings"],
            })),
        )
        .await;
    let rows = [
        ("c1", "pending", "full"),
        ("c1", "in_progress", "incremental"),
        ("c2", "pending", "access_control"),
        ("c1", "completed", "full"),
        ("c2", "canceled", "full"),
    ];
    let mut ids = Vec::new();
    for (n, (connector_id, status, job_type)) in rows.into_iter().enumerate() {
        let id = format!("job-{n}");
        let mut doc = job(status);
        doc["connector"]["id"] = connector_id.into();
        doc["job_type"] = job_type.into();
        doc["created_at"] = format!("2026-01-01T00:0{n}:00.000Z").into();
        app.node.seed_into(&alias, &id, doc).await;
        ids.push(id);
    }
    (app, alias, ids)
}

fn ids_of(page: &Value) -> Vec<&str> {
    page["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {page}"))
        .iter()
        .map(|job| job["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn list_filters_and_sorts_newest_first_and_counts_every_hit() {
    for backend in BOTH {
        let (app, alias, _) = app_with_five_jobs(backend).await;
        let list = |query: &str| {
            let app = &app;
            let url = format!("{JOBS}{query}");
            async move { app.call("GET", &url, None).await }
        };

        let (status, all) = list("").await;
        assert_eq!(status, 200, "{all}");
        assert_eq!(all["count"], 5);
        assert_eq!(
            ids_of(&all),
            ["job-4", "job-3", "job-2", "job-1", "job-0"],
            "{}",
            backend.name
        );
        assert_eq!(all["results"][0]["connector"]["id"], "c2");
        for (query, expected) in [
            ("?connector_id=c1", vec!["job-3", "job-1", "job-0"]),
            ("?status=pending", vec!["job-2", "job-0"]),
            ("?status=PENDING&connector_id=c2", vec!["job-2"]),
            ("?job_type=full", vec!["job-4", "job-3", "job-0"]),
            ("?job_type=incremental,access_control", vec!["job-2", "job-1"]),
            ("?job_type=", vec!["job-4", "job-3", "job-2", "job-1", "job-0"]),
            ("?connector_id=nobody", vec![]),
        ] {
            let (status, page) = list(query).await;
            assert_eq!(status, 200, "{query}: {page}");
            assert_eq!(ids_of(&page), expected, "{} {query}", backend.name);
            assert_eq!(page["count"], expected.len(), "{query}");
        }
        let (_, page) = list("?from=1&size=2").await;
        assert_eq!(ids_of(&page), ["job-3", "job-2"]);
        assert_eq!(page["count"], 5, "count is every hit, not the page");
        let (_, page) = list("?size=0").await;
        assert_eq!((ids_of(&page).len(), &page["count"]), (0, &json!(5)));

        let refused = [
            (
                "?size=-1",
                "illegal_argument_exception",
                "Parameter [size] cannot be < 0",
            ),
            (
                "?from=-1",
                "illegal_argument_exception",
                "Parameter [from] cannot be < 0",
            ),
            (
                "?from=x",
                "illegal_argument_exception",
                "Failed to parse int parameter [from] with value [x]",
            ),
            (
                "?status=cancelling",
                "illegal_argument_exception",
                "Unknown ConnectorSyncStatus [cancelling].",
            ),
            (
                "?status=pending,canceled",
                "illegal_argument_exception",
                "Unknown ConnectorSyncStatus [pending,canceled].",
            ),
            (
                "?job_type=full,nightly",
                "illegal_argument_exception",
                "Unknown ConnectorSyncJobType [nightly].",
            ),
            (
                "?sort=created_at",
                "illegal_argument_exception",
                "request [/_connector/_sync_job] contains unrecognized parameter: [sort]",
            ),
        ];
        for (query, kind, reason) in refused {
            let (status, answer) = list(query).await;
            assert_eq!(
                (status, answer),
                (400, es_error(kind, reason, 400)),
                "{} {query}",
                backend.name
            );
        }
        let (status, answer) = list("?from=9999&size=2").await;
        assert_eq!(
            status, 400,
            "a window beyond the search limit is the cluster's 400: {answer}"
        );
        app.node.delete_index(&alias).await;
    }
}

#[tokio::test]
async fn delete_removes_the_job_and_a_second_delete_is_not_found() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        let id = seeded(&app, "completed").await;

        let (status, body) = app.call("DELETE", &path(&id, ""), None).await;

        assert_eq!(
            (status, body),
            (200, json!({"acknowledged": true})),
            "{}",
            backend.name
        );
        assert_eq!(app.node.read(&id).await, None);
        let (status, body) = app.call("DELETE", &path(&id, ""), None).await;
        assert_eq!(
            (status, body),
            (404, es_error("resource_not_found_exception", &id, 404))
        );
    }
}

#[tokio::test]
async fn check_in_sets_last_seen_whatever_the_status_and_nothing_else() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        for status in ["in_progress", "canceled"] {
            let id = seeded(&app, status).await;

            let (code, body) = app.call("PUT", &path(&id, "/_check_in"), None).await;

            assert_eq!(
                (code, body),
                (200, json!({"result": "updated"})),
                "{} {status}",
                backend.name
            );
            let stored = stored(&app, &id).await;
            assert!(recent(&stored["last_seen"]), "{}", stored["last_seen"]);
            let mut expected = job(status);
            expected["last_seen"] = stored["last_seen"].clone();
            assert_eq!(stored, expected);
        }
        let missing = unique_id("missing");
        let (code, body) = app.call("PUT", &path(&missing, "/_check_in"), None).await;
        let reason = format!("connector sync job [{missing}] not found");
        assert_eq!(
            (code, body),
            (404, es_error("resource_not_found_exception", &reason, 404))
        );
        assert_eq!(app.node.read(&missing).await, None, "check_in created the job");
        let id = seeded(&app, "in_progress").await;
        let (code, body) = app.call_raw("PUT", &path(&id, "/_check_in"), "{}").await;
        assert_eq!(code, 400, "{body}");
        assert_eq!(body["error"]["type"], "illegal_argument_exception");
    }
}

#[tokio::test]
async fn claim_hands_a_pending_or_suspended_job_to_a_worker() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        for status in ["pending", "suspended"] {
            let id = seeded(&app, status).await;

            let (code, body) = app
                .call(
                    "PUT",
                    &path(&id, "/_claim"),
                    Some(json!({"worker_hostname": "worker-1"})),
                )
                .await;

            assert_eq!(
                (code, body),
                (200, json!({"result": "updated"})),
                "{} {status}",
                backend.name
            );
            let stored = stored(&app, &id).await;
            assert!(recent(&stored["started_at"]));
            let mut expected = job(status);
            expected["status"] = "in_progress".into();
            expected["worker_hostname"] = "worker-1".into();
            expected["started_at"] = stored["started_at"].clone();
            expected["last_seen"] = stored["started_at"].clone();
            assert_eq!(stored, expected, "{} {status}", backend.name);
        }
    }
}

#[tokio::test]
async fn claim_merges_the_sync_cursor_into_the_jobs_connector() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        let id = unique_id("cursor");
        let mut doc = job("pending");
        doc["connector"]["sync_cursor"] = json!({"kept": 1, "replaced": 1});
        app.node.seed(&id, doc).await;

        let (code, body) = app
            .call(
                "PUT",
                &path(&id, "/_claim"),
                Some(json!({"worker_hostname": "w", "sync_cursor": {"replaced": 2, "new": {"a": [1]}}})),
            )
            .await;

        assert_eq!(code, 200, "{body}");
        assert_eq!(
            stored(&app, &id).await["connector"],
            json!({"id": "connector-1", "index_name": "search-docs",
                   "sync_cursor": {"kept": 1, "replaced": 2, "new": {"a": [1]}}}),
            "{}",
            backend.name
        );
    }
}

#[tokio::test]
async fn claim_refuses_a_job_that_is_not_waiting_to_run_and_writes_nothing() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        for status in ["in_progress", "canceling", "canceled", "completed", "error"] {
            let id = seeded(&app, status).await;
            let before = app.node.read(&id).await;

            let (code, body) = app
                .call(
                    "PUT",
                    &path(&id, "/_claim"),
                    Some(json!({"worker_hostname": "w"})),
                )
                .await;

            assert_eq!(code, 400, "{} {status}", backend.name);
            assert_eq!(body, invalid_transition(status, "in_progress"));
            assert_eq!(app.node.read(&id).await, before, "{} {status}", backend.name);
        }
    }
}

#[tokio::test]
async fn claim_reads_its_body_before_it_looks_for_the_job() {
    let app = spawn_app(ELASTICSEARCH).await;
    let missing = unique_id("missing");
    let claim = path(&missing, "/_claim");
    let parser = "claim_connector_sync_job";
    for (body, expected) in [
        (
            "{}",
            es_error("illegal_argument_exception", "Required [worker_hostname]", 400),
        ),
        (
            r#"{"worker_hostname": null}"#,
            parse_error(&format!(
                "[1:21] [{parser}] worker_hostname doesn't support values of type: VALUE_NULL"
            )),
        ),
        (
            r#"{"worker_hostname": "w", "sync_cursor": "x"}"#,
            parse_error(&format!(
                "[1:41] [{parser}] sync_cursor doesn't support values of type: VALUE_STRING"
            )),
        ),
        (
            r#"{"worker": "w"}"#,
            parse_error(&format!("[1:2] [{parser}] unknown field [worker]")),
        ),
    ] {
        let (code, answer) = app.call_raw("PUT", &claim, body).await;
        assert_eq!((code, answer), (400, expected), "{body}");
    }
    let (code, answer) = app
        .call("PUT", &claim, Some(json!({"worker_hostname": "w"})))
        .await;
    assert_eq!(
        (code, answer),
        (404, es_error("resource_not_found_exception", &missing, 404))
    );
    assert_eq!(app.node.read(&missing).await, None);
}

#[tokio::test]
async fn error_fails_a_running_job_and_refuses_one_that_is_not() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        for status in ["in_progress", "canceling"] {
            let id = seeded(&app, status).await;

            let (code, body) = app
                .call("PUT", &path(&id, "/_error"), Some(json!({"error": "disk full"})))
                .await;

            assert_eq!(
                (code, body),
                (200, json!({"result": "updated"})),
                "{} {status}",
                backend.name
            );
            let mut expected = job(status);
            expected["status"] = "error".into();
            expected["error"] = "disk full".into();
            assert_eq!(stored(&app, &id).await, expected);
        }
        for status in ["pending", "suspended", "canceled", "completed", "error"] {
            let id = seeded(&app, status).await;
            let before = app.node.read(&id).await;
            let (code, body) = app
                .call("PUT", &path(&id, "/_error"), Some(json!({"error": "x"})))
                .await;
            assert_eq!(
                (code, body),
                (400, invalid_transition(status, "error")),
                "{} {status}",
                backend.name
            );
            assert_eq!(app.node.read(&id).await, before);
        }
        let id = seeded(&app, "in_progress").await;
        let parser = "connector_sync_job_error_request";
        for (body, expected) in [
            (
                r#"{"error": ""}"#,
                es_error(
                    "action_request_validation_exception",
                    "Validation Failed: 1: [error] of the connector sync job cannot be null or empty;",
                    400,
                ),
            ),
            (
                "{}",
                es_error("illegal_argument_exception", "Required [error]", 400),
            ),
            (
                r#"{"error": null}"#,
                parse_error(&format!(
                    "[1:11] [{parser}] error doesn't support values of type: VALUE_NULL"
                )),
            ),
        ] {
            let (code, answer) = app.call_raw("PUT", &path(&id, "/_error"), body).await;
            assert_eq!((code, answer), (400, expected), "{body}");
        }
        assert_eq!(stored(&app, &id).await, job("in_progress"));
    }
}

#[tokio::test]
async fn update_stats_sets_the_counts_and_last_seen_and_merges_metadata() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        let id = unique_id("stats");
        let mut doc = job("in_progress");
        doc["metadata"] = json!({"kept": 1, "changed": 1});
        app.node.seed(&id, doc.clone()).await;
        let stats = json!({
            "deleted_document_count": 1,
            "indexed_document_count": 20,
            "indexed_document_volume": 300,
            "total_document_count": 4000,
            "last_seen": "2023-12-04T08:45:50.567149Z",
            "metadata": {"changed": 2, "added": {"x": true}},
        });

        let (code, body) = app.call("PUT", &path(&id, "/_stats"), Some(stats.clone())).await;

        assert_eq!(
            (code, body),
            (200, json!({"result": "updated"})),
            "{}",
            backend.name
        );
        let mut expected = doc.clone();
        for field in [
            "deleted_document_count",
            "indexed_document_count",
            "indexed_document_volume",
            "total_document_count",
            "last_seen",
        ] {
            expected[field] = stats[field].clone();
        }
        expected["metadata"] = json!({"kept": 1, "changed": 2, "added": {"x": true}});
        assert_eq!(stored(&app, &id).await, expected, "{}", backend.name);

        let (code, body) = app.call("PUT", &path(&id, "/_stats"), Some(stats)).await;
        assert_eq!(
            (code, body),
            (200, json!({"result": "noop"})),
            "the same stats again change nothing"
        );

        let (code, _) = app
            .call(
                "PUT",
                &path(&id, "/_stats"),
                Some(json!({"deleted_document_count": 0, "indexed_document_count": "5", "indexed_document_volume": 6, "last_seen": "1701679550567"})),
            )
            .await;
        assert_eq!(code, 200);
        let stored = stored(&app, &id).await;
        assert_eq!(
            stored["indexed_document_count"], 5,
            "a count given as a string is read as a number"
        );
        assert_eq!(
            stored["last_seen"], "2023-12-04T08:45:50.567Z",
            "epoch milliseconds are a date"
        );
        let (code, _) = app
            .call(
                "PUT",
                &path(&id, "/_stats"),
                Some(json!({"deleted_document_count": 0, "indexed_document_count": 5, "indexed_document_volume": 6})),
            )
            .await;
        assert_eq!(code, 200);
        assert!(
            recent(&app.node.read(&id).await.unwrap().source["last_seen"]),
            "last_seen defaults to now"
        );
    }
}

#[tokio::test]
async fn update_stats_refuses_bad_bodies_and_writes_nothing() {
    for backend in [ELASTICSEARCH, SCRIPTING] {
        let app = spawn_app(backend).await;
        let id = seeded(&app, "in_progress").await;
        let before = app.node.read(&id).await;
        let parser = "connector_sync_job_update_ingestion_stats";
        let counts =
            r#""deleted_document_count": 0, "indexed_document_count": 1, "indexed_document_volume": 2"#;
        let cases = [
            (
                r#"{"deleted_document_count": -1, "indexed_document_count": -2, "indexed_document_volume": 0, "total_document_count": 0}"#.to_owned(),
                es_error(
                    "action_request_validation_exception",
                    "Validation Failed: 1: [deleted_document_count] cannot be negative.;2: [indexed_document_count] cannot be negative.;",
                    400,
                ),
            ),
            (
                "{}".to_owned(),
                es_error(
                    "illegal_argument_exception",
                    "Required [deleted_document_count, indexed_document_count, indexed_document_volume]",
                    400,
                ),
            ),
            (
                format!(r#"{{{counts}, "last_seen": 5}}"#),
                parse_error(&format!("[1:103] [{parser}] last_seen doesn't support values of type: VALUE_NUMBER")),
            ),
            (
                format!(r#"{{{counts}, "metadata": "x"}}"#),
                parse_error(&format!("[1:102] [{parser}] metadata doesn't support values of type: VALUE_STRING")),
            ),
            (
                format!(r#"{{{counts}, "total": 1}}"#),
                parse_error(&format!("[1:90] [{parser}] unknown field [total]")),
            ),
        ];
        for (body, expected) in cases {
            let (code, answer) = app.call_raw("PUT", &path(&id, "/_stats"), &body).await;
            assert_eq!((code, answer), (400, expected), "{} {body}", backend.name);
        }
        let stats_path = path(&id, "/_stats");
        let stats = |extra: &str| {
            let body = format!("{{{counts}, {extra}}}");
            let (app, stats_path) = (&app, &stats_path);
            async move { app.call_raw("PUT", stats_path, &body).await }
        };
        assert_refused(
            &stats(r#""last_seen": "yesterday""#).await,
            Some(&format!("[1:103] [{parser}] failed to parse field [last_seen]")),
            Some("failed to parse date field [yesterday] with format [strict_date_optional_time||epoch_millis]"),
        );
        assert_refused(
            &stats(r#""total_document_count": "many""#).await,
            None,
            Some("For input string: \"many\""),
        );
        assert_eq!(
            app.node.read(&id).await,
            before,
            "{}: a refused update wrote",
            backend.name
        );

        let missing = unique_id("missing");
        let (code, answer) = app
            .call_raw("PUT", &path(&missing, "/_stats"), &format!("{{{counts}}}"))
            .await;
        let reason = format!("connector sync job [{missing}] not found");
        assert_eq!(
            (code, answer),
            (404, es_error("resource_not_found_exception", &reason, 404))
        );
        assert_eq!(
            app.node.read(&missing).await,
            None,
            "update_stats created the job"
        );
    }
}

#[tokio::test]
async fn a_connector_runs_a_sync_through_the_service_and_stops_when_canceled() {
    for backend in BOTH {
        let worker = spawn_app(backend).await;
        let kibana = spawn_app(backend).await;
        let (connector_id, _) = seeded_connector(&worker).await;

        let (code, posted) = kibana.call("POST", JOBS, Some(json!({"id": connector_id}))).await;
        assert_eq!(code, 201, "{posted}");
        let id = posted["id"].as_str().unwrap().to_owned();
        let (code, _) = worker
            .call(
                "PUT",
                &path(&id, "/_claim"),
                Some(json!({"worker_hostname": "host-a"})),
            )
            .await;
        assert_eq!(code, 200);
        for round in 1..=3 {
            let stats = json!({"deleted_document_count": 0, "indexed_document_count": round * 10,
                               "indexed_document_volume": round * 100, "metadata": {"round": round}});
            let (code, body) = worker.call("PUT", &path(&id, "/_stats"), Some(stats)).await;
            assert_eq!((code, body), (200, json!({"result": "updated"})));
            let (code, _) = worker.call("PUT", &path(&id, "/_check_in"), None).await;
            assert_eq!(code, 200);
        }

        let (code, _) = kibana.call("PUT", &path(&id, "/_cancel"), None).await;
        assert_eq!(code, 200);

        // The worker re-reads its job, sees the request to stop, and writes the end itself, as
        // the connector service does, with a plain update.
        let (_, seen) = worker.call("GET", &path(&id, ""), None).await;
        assert_eq!(seen["status"], "canceling", "{}: {seen}", backend.name);
        let url = format!(
            "{}/{}/_update/{}?refresh=true",
            worker.node.url,
            crate::helpers::INDEX,
            encode(&id)
        );
        let finished = worker
            .node
            .http
            .post(url)
            .json(
                &json!({"doc": {"status": "canceled", "canceled_at": "2026-01-01T00:00:00.000Z",
                                   "completed_at": "2026-01-01T00:00:00.000Z"}}),
            )
            .send()
            .await
            .unwrap();
        assert!(finished.status().is_success());
        let (_, done) = kibana.call("GET", &path(&id, ""), None).await;
        assert_eq!(done["status"], "canceled");
        assert_eq!(done["worker_hostname"], "host-a");
        assert_eq!(done["indexed_document_count"], 30);
        assert_eq!(done["metadata"], json!({"round": 3}));
        let (_, page) = kibana
            .call(
                "GET",
                &format!("{JOBS}?connector_id={}&status=canceled", encode(&connector_id)),
                None,
            )
            .await;
        assert_eq!(ids_of(&page), [id.as_str()]);
    }
}
