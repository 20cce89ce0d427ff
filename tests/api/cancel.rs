//! Every row of the cancel table, for both update strategies, read back from the node; and what
//! each update strategy does for each kind of rule.

use chrono::{DateTime, Utc};
use connector_sync_proxy::config::{Refresh, UpdateStrategy};
use serde_json::{json, Value};

use crate::helpers::{
    connector, es_error, invalid_transition, job, metrics_text, spawn_app, spawn_app_with, unique_id,
    Backend, TestApp, BOTH, ELASTICSEARCH, INDEX, SCRIPTING,
};

/// Cancels a job in `from` and checks the stored document: exactly the expected fields written,
/// one shared UTC timestamp, nothing else changed.
async fn cancel_changes_the_job(backend: Backend, from: &str, to: &str, stamped: &[&str]) {
    let app = spawn_app(backend).await;
    let id = unique_id(from);
    app.node.seed(&id, job(from)).await;
    let before_call = Utc::now();

    let response = app.cancel(&id).await;

    assert_eq!(response.status(), 200, "{} cancel from {from}", backend.name);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"result": "updated"})
    );
    let stored = app.node.read(&id).await.unwrap().source;
    let stamp = stored[stamped[0]]
        .as_str()
        .expect("a timestamp was written")
        .to_owned();
    let mut expected = job(from);
    expected["status"] = to.into();
    for field in stamped {
        expected[*field] = stamp.clone().into();
    }
    assert_eq!(stored, expected, "{} cancel from {from}", backend.name);
    assert!(stamp.ends_with('Z'), "timestamps are UTC: {stamp}");
    let written: DateTime<Utc> = stamp.parse().expect("an ISO-8601 timestamp");
    let after_call = Utc::now();
    assert!(
        written >= before_call - chrono::Duration::milliseconds(1) && written <= after_call,
        "{stamp} lies outside the call"
    );
}

const CANCELED_FIELDS: [&str; 3] = ["cancelation_requested_at", "canceled_at", "completed_at"];

#[tokio::test]
async fn cancel_of_a_pending_job_cancels_it_at_once() {
    for backend in BOTH {
        cancel_changes_the_job(backend, "pending", "canceled", &CANCELED_FIELDS).await;
    }
}

#[tokio::test]
async fn cancel_of_a_suspended_job_cancels_it_at_once() {
    for backend in BOTH {
        cancel_changes_the_job(backend, "suspended", "canceled", &CANCELED_FIELDS).await;
    }
}

#[tokio::test]
async fn cancel_of_a_running_job_requests_cancelation() {
    for backend in BOTH {
        cancel_changes_the_job(backend, "in_progress", "canceling", &["cancelation_requested_at"]).await;
    }
}

#[tokio::test]
async fn auto_strategy_falls_back_when_the_cluster_cannot_run_scripts() {
    // Elasticsearch's test distribution has no Painless: auto must still cancel, every time.
    let app = spawn_app(ELASTICSEARCH.with_strategy(UpdateStrategy::Auto)).await;
    for from in ["in_progress", "pending", "completed"] {
        let id = unique_id(from);
        app.node.seed(&id, job(from)).await;
        let response = app.cancel(&id).await;
        let expected = if from == "completed" { 400 } else { 200 };
        assert_eq!(response.status(), expected, "auto cancel from {from}");
    }
}

#[tokio::test]
async fn auto_strategy_uses_the_script_where_it_can() {
    let app = spawn_app(SCRIPTING.with_strategy(UpdateStrategy::Auto)).await;
    let id = unique_id("auto-script");
    app.node.seed(&id, job("pending")).await;
    assert_eq!(app.cancel(&id).await.status(), 200);
    assert_eq!(app.node.read(&id).await.unwrap().source["status"], "canceled");
}

/// How many calls of `operation` the service made to the cluster, from its metrics.
async fn upstream_calls(app: &TestApp, operation: &str) -> u64 {
    let text = metrics_text(&app.http, &app.address).await;
    let prefix = format!(
        r#"connector_sync_proxy_upstream_request_duration_seconds_count{{operation="{operation}"}} "#
    );
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0, |count| count.parse().unwrap())
}

#[tokio::test]
async fn the_update_strategy_chooses_how_a_table_is_applied_and_nothing_else() {
    // (backend, strategy, the realtime reads and updates a table costs)
    let cases = [
        (SCRIPTING, UpdateStrategy::Script, (0, 1)),
        (SCRIPTING, UpdateStrategy::Auto, (0, 1)),
        (SCRIPTING, UpdateStrategy::Optimistic, (1, 1)),
        (ELASTICSEARCH, UpdateStrategy::Optimistic, (1, 1)),
        // The script is refused once, then the table is applied guarded.
        (ELASTICSEARCH, UpdateStrategy::Auto, (1, 2)),
    ];
    for (backend, strategy, (table_gets, table_updates)) in cases {
        let case = format!("{} {strategy:?}", backend.name);
        let app = spawn_app(backend.with_strategy(strategy)).await;
        let job_id = unique_id("strategy-job");
        app.node.seed(&job_id, job("pending")).await;
        let connector_id = unique_id("strategy-connector");
        app.node
            .seed_connector(&connector_id, connector(&unique_id("search-strategy")))
            .await;
        let calls = || async {
            (
                upstream_calls(&app, "get").await,
                upstream_calls(&app, "update").await,
            )
        };

        // A merge is one partial update under every strategy.
        let (status, body) = app
            .call("PUT", &format!("/_connector/_sync_job/{job_id}/_check_in"), None)
            .await;
        assert_eq!((status, &body), (200, &json!({"result": "updated"})), "{case}");
        assert_eq!(calls().await, (0, 1), "{case}: merge");

        // A table: one scripted update, or a realtime read and a guarded update.
        assert_eq!(app.cancel(&job_id).await.status(), 200, "{case}");
        let table = (table_gets, 1 + table_updates);
        assert_eq!(calls().await, table, "{case}: table");
        assert_eq!(app.node.read(&job_id).await.unwrap().source["status"], "canceled");

        // A decision is made in Rust, so it is always a realtime read and a guarded write.
        let (status, body) = app
            .call(
                "PUT",
                &format!("/_connector/{connector_id}/_status"),
                Some(json!({"status": "configured"})),
            )
            .await;
        assert_eq!((status, &body), (200, &json!({"result": "updated"})), "{case}");
        assert_eq!(calls().await, (table.0 + 1, table.1 + 1), "{case}: decision");
    }
}

#[tokio::test]
async fn script_strategy_on_a_cluster_without_scripts_reports_the_clusters_error_and_writes_nothing() {
    let app = spawn_app(ELASTICSEARCH.with_strategy(UpdateStrategy::Script)).await;
    let id = unique_id("no-painless");
    app.node.seed(&id, job("in_progress")).await;
    let before = app.node.read(&id).await.unwrap();

    let response = app.cancel(&id).await;

    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["caused_by"]["reason"], "script_lang not supported [painless]",
        "{body}"
    );
    assert_eq!(app.node.read(&id).await.unwrap(), before);
}

#[tokio::test]
async fn cancel_refuses_every_status_the_protocol_does_not_allow_and_writes_nothing() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        for from in ["canceling", "canceled", "completed", "error"] {
            let id = unique_id(from);
            app.node.seed(&id, job(from)).await;
            let before = app.node.read(&id).await.unwrap();

            let response = app.cancel(&id).await;

            assert_eq!(response.status(), 400, "{} cancel from {from}", backend.name);
            assert_eq!(
                response.json::<Value>().await.unwrap(),
                invalid_transition(from, "canceling")
            );
            assert_eq!(
                app.node.read(&id).await.unwrap(),
                before,
                "{} {from} job changed",
                backend.name
            );
        }
    }
}

#[tokio::test]
async fn a_job_without_a_known_status_is_left_untouched() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        let mut missing = job("pending");
        missing.as_object_mut().unwrap().remove("status");
        let cases = [
            ("missing", missing, "has no [status]".to_owned()),
            (
                "null",
                json!({"status": null, "job_type": "full"}),
                "has no [status]".to_owned(),
            ),
            (
                "two-l",
                job("cancelling"),
                "has the unknown status [cancelling]".to_owned(),
            ),
            (
                "capital",
                job("Pending"),
                "has the unknown status [Pending]".to_owned(),
            ),
            (
                "number",
                json!({"status": 3}),
                "has the unknown status [3]".to_owned(),
            ),
            (
                "list",
                json!({"status": ["pending"]}),
                "has the unknown status [[\"pending\"]]".to_owned(),
            ),
        ];
        for (label, doc, problem) in cases {
            let id = unique_id(label);
            app.node.seed(&id, doc).await;
            let before = app.node.read(&id).await.unwrap();

            let response = app.cancel(&id).await;

            assert_eq!(response.status(), 400, "{} {label}", backend.name);
            let reason = format!("connector sync job [{id}] {problem}; it was left unchanged");
            assert_eq!(
                response.json::<Value>().await.unwrap(),
                es_error("illegal_argument_exception", &reason, 400),
                "{} {label}",
                backend.name
            );
            assert_eq!(
                app.node.read(&id).await.unwrap(),
                before,
                "{} {label} changed",
                backend.name
            );
        }
    }
}

#[tokio::test]
async fn cancel_of_a_missing_job_is_not_found() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        let id = unique_id("missing");

        let response = app.cancel(&id).await;

        assert_eq!(response.status(), 404, "{}", backend.name);
        // Elasticsearch reads the job first and names only its id when there is none.
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            es_error("resource_not_found_exception", &id, 404)
        );
        assert_eq!(
            app.node.read(&id).await,
            None,
            "{}: cancel must not create the job",
            backend.name
        );
    }
}

#[tokio::test]
async fn cancel_without_the_index_is_not_found_and_creates_no_index() {
    for backend in BOTH {
        let index = unique_id("csp-missing-index");
        let app = spawn_app_with(backend, |settings| settings.sync_jobs_index = index.clone()).await;

        let response = app.cancel("job-1").await;

        assert_eq!(response.status(), 404, "{}", backend.name);
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            es_error(
                "resource_not_found_exception",
                "connector sync job [job-1] not found",
                404
            )
        );
        assert!(
            !app.node.index_exists(&index).await,
            "{}: cancel created index {index}",
            backend.name
        );
    }
}

#[tokio::test]
async fn ids_are_percent_decoded_once_and_unicode_ids_work() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        for label in ["with/slash", "with space", "ünïcødé-ジョブ", "100%", "a+b"] {
            let id = unique_id(label);
            app.node.seed(&id, job("pending")).await;
            let response = app.cancel(&id).await;
            assert_eq!(response.status(), 200, "{} id {id:?}", backend.name);
            assert_eq!(app.node.read(&id).await.unwrap().source["status"], "canceled");
        }
    }
}

#[tokio::test]
async fn with_refresh_true_or_wait_for_search_sees_the_cancel_at_once() {
    for backend in BOTH {
        for refresh in [Refresh::True, Refresh::WaitFor] {
            let app = spawn_app_with(backend, |settings| settings.refresh = refresh).await;
            let id = unique_id("refresh");
            app.node.seed(&id, job("in_progress")).await;

            assert_eq!(app.cancel(&id).await.status(), 200);

            let query = json!({"query": {"ids": {"values": [id]}}, "_source": ["status"]});
            let path = format!("/{INDEX}/_search");
            let search = app.node.call(reqwest::Method::POST, &path, Some(&query)).await;
            let seen = &search["hits"]["hits"][0]["_source"]["status"];
            assert_eq!(
                seen, "canceling",
                "{} refresh {refresh:?}: search sees {search}",
                backend.name
            );
        }
    }
}

#[tokio::test]
async fn with_refresh_false_the_cancel_is_still_written() {
    for backend in BOTH {
        let app = spawn_app_with(backend, |settings| settings.refresh = Refresh::False).await;
        let id = unique_id("no-refresh");
        app.node.seed(&id, job("in_progress")).await;

        assert_eq!(app.cancel(&id).await.status(), 200);

        // A realtime GET sees the write whether or not a refresh ran.
        assert_eq!(app.node.read(&id).await.unwrap().source["status"], "canceling");
    }
}
