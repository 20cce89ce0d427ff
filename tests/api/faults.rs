//! When the cluster stumbles: clear answers, bounded waits, nothing lost.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use connector_sync_proxy::config::UpdateStrategy;

use crate::helpers::{job, spawn_app_with, unique_id, Backend, Node, BOTH};
use crate::proxy::{Fault, FaultProxy};

/// A URL where nothing listens.
async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

#[tokio::test]
async fn an_unreachable_cluster_is_answered_503() {
    let url = closed_port_url().await;
    let backend = BOTH[0];
    let app = spawn_app_with(backend, |settings| settings.es_urls = vec![url.parse().unwrap()]).await;

    let started = Instant::now();
    let response = app.cancel("job-1").await;

    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "cluster_unavailable_exception");
    let reason = body["error"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("unavailable") && reason.contains(&url),
        "{reason}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused connections must not wait for a timeout"
    );
}

#[tokio::test]
async fn a_cluster_name_that_does_not_resolve_is_answered_503() {
    let app = spawn_app_with(BOTH[1], |settings| {
        settings.es_urls = vec!["http://no-such-host.invalid:9200".parse().unwrap()];
    })
    .await;

    let response = app.cancel("job-1").await;

    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "cluster_unavailable_exception", "{body}");
}

#[tokio::test]
async fn a_hanging_cluster_is_answered_504_once_the_upstream_timeout_elapses() {
    for backend in BOTH {
        let proxy = FaultProxy::start(&backend.url(), Fault::Hang).await;
        let app = spawn_app_with(backend, |settings| {
            settings.es_urls = vec![proxy.url.parse().unwrap()];
            settings.upstream_timeout = Duration::from_millis(500);
        })
        .await;

        let started = Instant::now();
        let response = app.cancel("job-1").await;
        let waited = started.elapsed();

        assert_eq!(response.status(), 504, "{}", backend.name);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "cluster_timeout_exception");
        assert!(
            waited >= Duration::from_millis(500),
            "answered before the timeout: {waited:?}"
        );
        assert!(
            waited < Duration::from_secs(5),
            "hung beyond the timeout: {waited:?}"
        );
    }
}

#[tokio::test]
async fn a_lost_answer_is_sent_again_to_another_node_and_a_landed_cancel_answers_200() {
    for backend in BOTH {
        let node = Node::connect(&backend).await;
        let proxy = FaultProxy::start(&node.url, Fault::CutAnswer).await;
        // Two "nodes": one whose answers are always cut, one reached directly.
        let app = spawn_app_with(backend, |settings| {
            settings.es_urls = vec![proxy.url.parse().unwrap(), node.url.parse().unwrap()];
        })
        .await;
        for from in ["in_progress", "pending"] {
            for _ in 0..4 {
                let id = unique_id(from);
                app.node.seed(&id, job(from)).await;

                let response = app.cancel(&id).await;

                assert_eq!(
                    response.status(),
                    200,
                    "{} cancel of {from} through a cut answer",
                    backend.name
                );
                let stored = app.node.read(&id).await.unwrap().source;
                let expected = if from == "pending" {
                    "canceled"
                } else {
                    "canceling"
                };
                assert_eq!(stored["status"], expected);
            }
        }
        assert!(
            proxy.cuts() > 0,
            "{}: no answer was cut, the test proved nothing",
            backend.name
        );
    }
}

#[tokio::test]
async fn when_every_answer_is_lost_the_client_gets_502_and_the_job_a_state_the_protocol_allows() {
    for backend in BOTH {
        let proxy = FaultProxy::start(&backend.url(), Fault::CutAnswer).await;
        let app = spawn_app_with(backend, |settings| {
            settings.es_urls = vec![proxy.url.parse().unwrap()]
        })
        .await;
        let id = unique_id("all-cut");
        app.node.seed(&id, job("in_progress")).await;

        let response = app.cancel(&id).await;

        assert_eq!(response.status(), 502, "{}", backend.name);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "cluster_error_exception", "{body}");
        let status = app.node.read(&id).await.unwrap().source["status"].clone();
        assert!(
            status == "in_progress" || status == "canceling",
            "{}: {status}",
            backend.name
        );
    }
}

/// A jobs index of the test's own with one in_progress job, and the service pointed at it.
async fn app_with_own_index(backend: Backend) -> (crate::helpers::TestApp, String, String) {
    let alias = unique_id("csp-faults");
    let node = Node::connect(&backend).await;
    node.create_jobs_index(&alias, json!({"number_of_shards": 1, "number_of_replicas": 0}))
        .await;
    let id = unique_id("job");
    node.seed_into(&alias, &id, job("in_progress")).await;
    let index = alias.clone();
    let app = spawn_app_with(backend, move |settings| settings.sync_jobs_index = index).await;
    (app, alias, id)
}

#[tokio::test]
async fn the_clusters_refusals_pass_through_with_its_status_and_body() {
    for backend in BOTH {
        // A write block: the cluster answers 403; a read-only-allow-delete block: 429.
        for (block, status) in [
            ("index.blocks.write", 403),
            ("index.blocks.read_only_allow_delete", 429),
        ] {
            let (app, alias, id) = app_with_own_index(backend).await;
            app.node.put_index_settings(&alias, json!({ block: true })).await;
            let before = app.node.snapshot(&alias).await;

            let response = app.cancel(&id).await;

            assert_eq!(response.status(), status, "{} {block}", backend.name);
            assert_eq!(response.headers()["x-elastic-product"], "Elasticsearch");
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body["error"]["type"], "cluster_block_exception",
                "{} {block}: {body}",
                backend.name
            );
            assert_eq!(body["status"], status);
            assert_eq!(app.node.snapshot(&alias).await, before);
            app.node.put_index_settings(&alias, json!({ block: null })).await;
            app.node.delete_index(&alias).await;
        }
    }
}

#[tokio::test]
async fn a_cluster_that_cannot_serve_the_shard_is_answered_502_or_504() {
    for backend in BOTH {
        // An index whose only shard can never be allocated: the node fails the read at once
        // (503 from the cluster, 502 from the service) or waits for the shard (504 here).
        let alias = unique_id("csp-red");
        let node = Node::connect(&backend).await;
        let settings = json!({"number_of_shards": 1, "number_of_replicas": 0, "routing.allocation.require._name": "nowhere"});
        node.create_jobs_index(&alias, settings).await;
        let index = alias.clone();
        let app = spawn_app_with(backend, move |settings| {
            settings.sync_jobs_index = index;
            settings.upstream_timeout = Duration::from_secs(2);
        })
        .await;

        let response = app.cancel("job-1").await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        // A red index would fail the health checks of the other tests: remove it first.
        app.node.delete_index(&alias).await;

        // The optimistic path reads first, and the read fails at once with the cluster's 503; the
        // scripted update waits for the shard until the upstream timeout.
        let expected = match backend.strategy {
            UpdateStrategy::Optimistic => (502, "cluster_error_exception"),
            _ => (504, "cluster_timeout_exception"),
        };
        assert_eq!(
            (status, body["error"]["type"].as_str().unwrap()),
            expected,
            "{}: {body}",
            backend.name
        );
    }
}
