//! Group commit: writes that arrive together go to the cluster as one bulk request (and the reads
//! of guarded updates as one multi-get), each keeping its own answer. These tests make writes of
//! one job land in the same bulk, seen on the wire through a recording proxy, and check that the
//! bulk applies them as some serial order would; and that a grouped request that fails as a whole
//! fails each write as its own request would. They run with group commit on whatever
//! CSP_TEST_GROUP_COMMIT says.

use std::time::Duration;

use futures::future::join_all;
use serde_json::{json, Value};

use connector_sync_proxy::config::Settings;

use crate::helpers::{
    encode, job, metrics_text, spawn_app_with, unique_id, Backend, Node, TestApp, BOTH, INDEX,
};
use crate::proxy::{Fault, FaultProxy};

/// How many rounds a test may take to see its writes land in one bulk.
const ROUNDS: usize = 20;

fn path(id: &str, suffix: &str) -> String {
    format!("/_connector/_sync_job/{}{suffix}", encode(id))
}

/// The service with group commit on, its only node behind `proxy`.
async fn app_through(backend: Backend, proxy: &FaultProxy) -> TestApp {
    let url = proxy.url.parse().unwrap();
    spawn_app_with(backend, move |settings| {
        settings.es_urls = vec![url];
        settings.group_commit = Settings::default().group_commit;
    })
    .await
}

/// Whether one bulk request the service sent carried at least `count` writes of job `id`.
fn in_one_bulk(proxy: &FaultProxy, id: &str, count: usize) -> bool {
    let sent = proxy.sent();
    let action = format!(r#"{{"_index":"{INDEX}","_id":"{id}""#);
    sent.split("POST /_bulk").skip(1).any(|request| {
        // Up to the next request line: one bulk is in flight at a time, so no other bulk's
        // bytes are in between.
        let end = request
            .match_indices(" HTTP/1.1\r\n")
            .nth(1)
            .map_or(request.len(), |(at, _)| at);
        request[..end].matches(&action).count() >= count
    })
}

/// Grouped requests of `kind` (bulk, mget) the service sent, from its metrics.
async fn grouped(app: &TestApp, kind: &str) -> u64 {
    let text = metrics_text(&app.http, &app.address).await;
    let labels = [format!(r#"kind="{kind}""#), r#"form="grouped""#.to_owned()];
    text.lines()
        .filter(|line| line.starts_with("connector_sync_proxy_group_commit_round_trips_total{"))
        .filter(|line| labels.iter().all(|label| line.contains(label.as_str())))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test]
async fn claims_of_one_job_in_one_bulk_leave_exactly_one_winner() {
    for backend in BOTH {
        let node = Node::connect(&backend).await;
        let proxy = FaultProxy::start(&node.url, Fault::Record).await;
        let app = app_through(backend, &proxy).await;
        let mut together = false;
        for round in 0..ROUNDS {
            let id = unique_id(&format!("gc-claims{round}"));
            app.node.seed(&id, job("pending")).await;

            let statuses: Vec<u16> = join_all((0..8).map(|n| {
                let (app, id) = (&app, &id);
                async move {
                    let body = json!({"worker_hostname": format!("worker-{n}")});
                    app.call("PUT", &path(id, "/_claim"), Some(body)).await.0
                }
            }))
            .await;

            let winners: Vec<usize> = (0..8).filter(|n| statuses[*n] == 200).collect();
            assert_eq!(winners.len(), 1, "{}: {statuses:?}", backend.name);
            assert!(
                statuses.iter().all(|status| *status == 200 || *status == 400),
                "{}: {statuses:?}",
                backend.name
            );
            let stored = app.node.read(&id).await.unwrap().source;
            assert_eq!(stored["status"], "in_progress");
            assert_eq!(stored["worker_hostname"], format!("worker-{}", winners[0]));
            if in_one_bulk(&proxy, &id, 2) {
                together = true;
                break;
            }
        }
        assert!(
            together,
            "{}: no two claims of one job went in one bulk in {ROUNDS} rounds",
            backend.name
        );
        assert!(grouped(&app, "bulk").await > 0);
    }
}

#[tokio::test]
async fn a_cancel_and_an_error_of_one_job_in_one_bulk_land_in_a_serial_order() {
    for backend in BOTH {
        let node = Node::connect(&backend).await;
        let proxy = FaultProxy::start(&node.url, Fault::Record).await;
        let app = app_through(backend, &proxy).await;
        let mut together = 0;
        for round in 0..ROUNDS {
            // Several jobs at once, so that writes queue behind the one in flight.
            let ids: Vec<String> = (0..8)
                .map(|n| unique_id(&format!("gc-cancel-error{round}-{n}")))
                .collect();
            join_all(ids.iter().map(|id| app.node.seed(id, job("in_progress")))).await;

            let outcomes = join_all(ids.iter().map(|id| async {
                let error = async {
                    let body = json!({"error": "boom"});
                    app.call("PUT", &path(id, "/_error"), Some(body)).await.0
                };
                let (cancel, error) = tokio::join!(app.cancel(id), error);
                (cancel.status().as_u16(), error)
            }))
            .await;

            for (id, (cancel, error)) in ids.iter().zip(outcomes) {
                let stored = app.node.read(id).await.unwrap().source;
                // The two serial orders: cancel then error (both land: in_progress -> canceling
                // -> error), or error then cancel (the cancel of an errored job is refused and
                // writes nothing).
                assert_eq!(error, 200, "{}: {stored}", backend.name);
                assert_eq!(stored["status"], "error", "{}: {stored}", backend.name);
                assert_eq!(stored["error"], "boom");
                match cancel {
                    200 => assert!(stored["cancelation_requested_at"].is_string(), "{stored}"),
                    400 => assert!(stored.get("cancelation_requested_at").is_none(), "{stored}"),
                    other => panic!("{}: cancel answered {other}", backend.name),
                }
                if in_one_bulk(&proxy, id, 2) {
                    together += 1;
                }
            }
            if together > 0 {
                break;
            }
        }
        assert!(
            together > 0,
            "{}: no cancel and error of one job went in one bulk in {ROUNDS} rounds",
            backend.name
        );
    }
}

#[tokio::test]
async fn check_ins_and_stats_racing_a_cancel_never_answer_409_and_all_land() {
    for backend in BOTH {
        // Two instances of the service on one node, as a fleet runs them: one cancels and checks
        // in with group commit, the other reports without it, several reports at once, so that
        // writes to one job meet in the cluster.
        let canceler = spawn_app_with(backend, |settings| {
            settings.group_commit = Settings::default().group_commit
        })
        .await;
        let reporter = spawn_app_with(backend, |settings| settings.group_commit = None).await;
        let ids: Vec<String> = (0..20).map(|n| unique_id(&format!("gc-check-in{n}"))).collect();
        join_all(ids.iter().map(|id| canceler.node.seed(id, job("in_progress")))).await;
        let stats =
            json!({"deleted_document_count": 1, "indexed_document_count": 2, "indexed_document_volume": 3});

        let outcomes = join_all(ids.iter().map(|id| {
            let (canceler, reporter, stats) = (&canceler, &reporter, &stats);
            async move {
                let reports = join_all((0..5).map(|n| async move {
                    match n {
                        0 => canceler.call("PUT", &path(id, "/_check_in"), None).await,
                        1 | 2 => reporter.call("PUT", &path(id, "/_check_in"), None).await,
                        _ => {
                            reporter
                                .call("PUT", &path(id, "/_stats"), Some(stats.clone()))
                                .await
                        }
                    }
                }));
                let (cancel, reports) = tokio::join!(canceler.cancel(id), reports);
                (cancel.status().as_u16(), reports)
            }
        }))
        .await;

        for (id, (cancel, reports)) in ids.iter().zip(outcomes) {
            for (status, answer) in reports {
                assert_eq!(status, 200, "{}: {answer}", backend.name);
            }
            assert_eq!(cancel, 200, "{}", backend.name);
            let stored = canceler.node.read(id).await.unwrap().source;
            assert_eq!(stored["status"], "canceling", "{stored}");
            assert!(stored["cancelation_requested_at"].is_string(), "{stored}");
            assert!(stored["last_seen"].is_string(), "{stored}");
            assert_eq!(stored["indexed_document_count"], 2, "{stored}");
        }
    }
}

#[tokio::test]
async fn a_grouped_request_whose_answer_is_lost_fails_each_write_as_a_single_request_would() {
    for backend in BOTH {
        let proxy = FaultProxy::start(&backend.url(), Fault::CutAnswer).await;
        let url = proxy.url.parse().unwrap();
        let app = spawn_app_with(backend, move |settings| {
            settings.es_urls = vec![url];
            settings.group_commit = Settings::default().group_commit;
        })
        .await;
        let mut rounds = 0;
        while grouped(&app, "bulk").await + grouped(&app, "mget").await == 0 {
            assert!(rounds < ROUNDS, "{}: no request was grouped", backend.name);
            rounds += 1;
            let ids: Vec<String> = (0..8).map(|n| unique_id(&format!("gc-cut{n}"))).collect();
            join_all(ids.iter().map(|id| app.node.seed(id, job("in_progress")))).await;

            let answers = join_all(ids.iter().map(|id| app.cancel(id))).await;

            // As a single cancel whose every answer is lost (faults.rs): 502, and the job either
            // untouched or canceled.
            for (id, response) in ids.iter().zip(answers) {
                assert_eq!(response.status(), 502, "{}", backend.name);
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["error"]["type"], "cluster_error_exception", "{body}");
                let status = app.node.read(id).await.unwrap().source["status"].clone();
                assert!(status == "in_progress" || status == "canceling", "{status}");
            }
        }
    }
}

#[tokio::test]
async fn a_bulk_refused_item_by_item_answers_each_write_as_a_single_request_is_answered() {
    for backend in BOTH {
        let alias = unique_id("csp-gc-blocked");
        let node = Node::connect(&backend).await;
        node.create_jobs_index(&alias, json!({"number_of_shards": 1, "number_of_replicas": 0}))
            .await;
        let ids: Vec<String> = (0..8).map(|n| unique_id(&format!("gc-blocked{n}"))).collect();
        for id in &ids {
            node.seed_into(&alias, id, job("in_progress")).await;
        }
        node.put_index_settings(&alias, json!({"index.blocks.write": true}))
            .await;
        let single = {
            let index = alias.clone();
            spawn_app_with(backend, move |settings| {
                settings.sync_jobs_index = index;
                settings.group_commit = None;
            })
            .await
        };
        let index = alias.clone();
        let app = spawn_app_with(backend, move |settings| {
            settings.sync_jobs_index = index;
            settings.group_commit = Settings::default().group_commit;
        })
        .await;
        let alone = single.cancel(&ids[0]).await;
        let alone_status = alone.status().as_u16();
        let alone_body: Value = alone.json().await.unwrap();
        assert_eq!(alone_status, 403, "{}: {alone_body}", backend.name);

        let mut rounds = 0;
        while grouped(&app, "bulk").await == 0 {
            assert!(rounds < ROUNDS, "{}: no bulk was grouped", backend.name);
            rounds += 1;
            let answers = join_all(ids.iter().map(|id| app.cancel(id))).await;
            for response in answers {
                assert_eq!(response.status(), alone_status, "{}", backend.name);
                let body: Value = response.json().await.unwrap();
                assert_eq!(body, alone_body, "{}", backend.name);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        node.put_index_settings(&alias, json!({"index.blocks.write": null}))
            .await;
        node.delete_index(&alias).await;
    }
}

#[tokio::test]
async fn a_refusal_of_the_caller_in_a_group_answers_each_write_in_its_own_words() {
    use crate::security::{ca_path, secure_node, secure_url, seed, stored_status, READER};
    use connector_sync_proxy::config::TlsVerification;

    let node = secure_node().await;
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(seed(&node, "in_progress").await);
    }
    let secured = |group_commit| {
        let url = secure_url().parse().unwrap();
        spawn_app_with(crate::helpers::ELASTICSEARCH, move |settings| {
            settings.es_urls = vec![url];
            settings.tls = TlsVerification::Verify {
                extra_ca: Some(ca_path()),
            };
            settings.group_commit = if group_commit {
                Settings::default().group_commit
            } else {
                None
            };
        })
    };
    let cancel = |app: &TestApp, id: &str, user: Option<(&'static str, &'static str)>| {
        let request = app.http.put(app.cancel_url(&encode(id)));
        let request = match user {
            Some((name, password)) => request.basic_auth(name, Some(password)),
            None => request,
        };
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let single = secured(false).await;
    let (status, alone) = cancel(&single, &ids[0], Some(READER)).await;
    assert_eq!(status, 403, "{alone}");

    let app = secured(true).await;
    let mut rounds = 0;
    // The reader may read, so the reads are grouped and so are the refused writes; the
    // anonymous caller is refused its reads.
    while grouped(&app, "bulk").await == 0 || grouped(&app, "mget").await == 0 {
        assert!(rounds < ROUNDS, "no request was grouped");
        rounds += 1;
        let refused = join_all(ids.iter().map(|id| cancel(&app, id, Some(READER)))).await;
        for (status, answer) in refused {
            assert_eq!((status, &answer), (403, &alone));
        }
        let anonymous = join_all(ids.iter().map(|id| cancel(&app, id, None))).await;
        for (id, (status, answer)) in ids.iter().zip(anonymous) {
            assert_eq!(status, 401, "{answer}");
            let reason = answer["error"]["reason"].as_str().unwrap();
            // Its own request named, not the group's.
            assert!(reason.contains(id.as_str()), "{reason}");
        }
    }
    for id in &ids {
        assert_eq!(stored_status(&node, id).await, "in_progress");
    }
}

#[tokio::test]
async fn a_caller_that_goes_away_mid_request_leaves_no_write_queued_behind_it_stranded() {
    for backend in BOTH {
        let node = Node::connect(&backend).await;
        // The first caller's request is never answered by the node: it holds its lane's one
        // slot until the service gives up on it (`upstream_timeout`).
        let first = unique_id("gc-gone");
        let marker: &'static str = Box::leak(first.clone().into_boxed_str());
        let proxy = FaultProxy::start(&node.url, Fault::HangOn(marker)).await;
        let url = proxy.url.parse().unwrap();
        let timeout = Duration::from_secs(4);
        let app = spawn_app_with(backend, move |settings| {
            settings.es_urls = vec![url];
            settings.group_commit = Settings::default().group_commit;
            settings.upstream_timeout = timeout;
        })
        .await;
        let others: Vec<String> = (0..4).map(|n| unique_id(&format!("gc-behind{n}"))).collect();
        for id in others.iter().chain([&first]) {
            app.node.seed(id, job("in_progress")).await;
        }
        let before = grouped(&app, "bulk").await + grouped(&app, "mget").await;

        let impatient = reqwest::Client::builder()
            .timeout(Duration::from_millis(1000))
            .build()
            .unwrap();
        let gone = impatient
            .put(format!("{}{}", app.address, path(&first, "/_check_in")))
            .send();
        let behind = async {
            // Queued while the first request holds the lane.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let started = std::time::Instant::now();
            let answers = join_all(others.iter().map(|id| {
                let app = &app;
                async move { app.call("PUT", &path(id, "/_check_in"), None).await }
            }));
            let answers = tokio::time::timeout(Duration::from_secs(60), answers)
                .await
                .expect("the writes queued behind a caller that went away were stranded");
            (answers, started.elapsed())
        };
        let (gone, (answers, took)) = tokio::join!(gone, behind);

        let err = gone.expect_err("the node never answers the first caller's request");
        assert!(err.is_timeout(), "{}: {err}", backend.name);
        for (id, (status, body)) in others.iter().zip(&answers) {
            assert_eq!(*status, 200, "{}: {body}", backend.name);
            let stored = app.node.read(id).await.unwrap().source;
            assert!(stored["last_seen"].is_string(), "{}: {stored}", backend.name);
        }
        // They waited for the first request to end: actix-web lets a handler run on after its
        // client has gone (measured here), so the request ends when the service gives up on
        // it. Then they went together.
        assert!(
            took + Duration::from_millis(300) >= timeout,
            "{}: {took:?}",
            backend.name
        );
        let after = grouped(&app, "bulk").await + grouped(&app, "mget").await;
        assert!(
            after > before,
            "{}: those behind did not go as a group",
            backend.name
        );
    }
}
