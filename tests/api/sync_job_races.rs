//! Races between status changes: each one is decided and written in one atomic step, so every
//! job ends in a state the connector protocol allows, with the timestamps of what landed.

use std::time::Duration;

use futures::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{encode, job, race_step, race_until_every_order, spawn_app, unique_id, TestApp, BOTH};

fn path(id: &str, suffix: &str) -> String {
    format!("/_connector/_sync_job/{}{suffix}", encode(id))
}

async fn claim(app: &TestApp, id: &str, worker: &str) -> u16 {
    app.call(
        "PUT",
        &path(id, "/_claim"),
        Some(json!({"worker_hostname": worker})),
    )
    .await
    .0
}

async fn fail(app: &TestApp, id: &str) -> u16 {
    app.call("PUT", &path(id, "/_error"), Some(json!({"error": "boom"})))
        .await
        .0
}

/// How long each of two racing requests for job `n` waits: the second `step * n` for even
/// jobs, the first for odd ones.
fn staggered(step: Duration, n: usize) -> (Duration, Duration) {
    let delay = step * n as u32;
    if n.is_multiple_of(2) {
        (Duration::ZERO, delay)
    } else {
        (delay, Duration::ZERO)
    }
}

async fn seed_many(app: &TestApp, label: &str, status: &str, count: usize) -> Vec<String> {
    let ids: Vec<String> = (0..count).map(|n| unique_id(&format!("{label}{n}"))).collect();
    let jobs: Vec<(String, Value)> = ids.iter().map(|id| (id.clone(), job(status))).collect();
    app.node.bulk_seed(&jobs).await;
    ids
}

#[tokio::test]
async fn of_twenty_concurrent_claims_of_one_job_exactly_one_wins() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        for round in 0..3 {
            let id = unique_id(&format!("claim-race{round}"));
            app.node.seed(&id, job("pending")).await;

            let statuses: Vec<u16> = join_all((0..20).map(|n| {
                let app = &app;
                let id = &id;
                async move { claim(app, id, &format!("worker-{n}")).await }
            }))
            .await;

            let winners: Vec<usize> = (0..20).filter(|n| statuses[*n] == 200).collect();
            assert_eq!(winners.len(), 1, "{}: {statuses:?}", backend.name);
            assert!(
                statuses.iter().all(|status| *status == 200 || *status == 400),
                "{statuses:?}"
            );
            let stored = app.node.read(&id).await.unwrap().source;
            assert_eq!(stored["status"], "in_progress");
            assert_eq!(stored["worker_hostname"], format!("worker-{}", winners[0]));
        }
    }
}

#[tokio::test]
async fn a_cancel_racing_a_claim_ends_canceled_or_canceling_never_running() {
    const CLAIM_FIRST: &str = "the claim first";
    const CANCEL_FIRST: &str = "the cancel first";
    for backend in BOTH {
        let app = &spawn_app(backend).await;
        race_until_every_order(backend.name, &[CLAIM_FIRST, CANCEL_FIRST], |round| async move {
            let ids = seed_many(app, &format!("claim-cancel{round}-"), "pending", 30).await;
            let step = race_step(Duration::from_micros(300), round);

            // For even jobs the cancel is sent later, for odd ones the claim: with group commit
            // the service applies concurrent writes in the order they arrive, so each order has
            // to be sent to occur.
            let outcomes = join_all(ids.iter().enumerate().map(|(n, id)| async move {
                let (claim_after, cancel_after) = staggered(step, n);
                let late_claim = async {
                    tokio::time::sleep(claim_after).await;
                    claim(app, id, "w").await
                };
                let late_cancel = async {
                    tokio::time::sleep(cancel_after).await;
                    app.cancel(id).await.status().as_u16()
                };
                tokio::join!(late_claim, late_cancel)
            }))
            .await;

            let mut orders = Vec::new();
            for (id, (claim, cancel)) in ids.iter().zip(outcomes) {
                let stored = app.node.read(id).await.unwrap().source;
                // The cancel always lands: from pending (claim lost) or from in_progress (claim
                // won).
                assert_eq!(cancel, 200, "{}: {stored}", backend.name);
                match claim {
                    200 => {
                        orders.push(CLAIM_FIRST);
                        assert_eq!(stored["status"], "canceling", "{stored}");
                        assert!(
                            stored["started_at"].is_string()
                                && stored["cancelation_requested_at"].is_string()
                        );
                        assert!(stored.get("canceled_at").is_none());
                    }
                    400 => {
                        orders.push(CANCEL_FIRST);
                        assert_eq!(stored["status"], "canceled", "{stored}");
                        assert!(
                            stored.get("started_at").is_none(),
                            "a refused claim wrote: {stored}"
                        );
                        assert_eq!(stored["canceled_at"], stored["cancelation_requested_at"]);
                    }
                    other => panic!("{}: claim answered {other}", backend.name),
                }
            }
            orders
        })
        .await;
    }
}

#[tokio::test]
async fn an_error_racing_a_cancel_ends_in_error_with_the_cancel_recorded_only_if_it_landed() {
    const CANCEL_FIRST: &str = "the cancel first";
    const ERROR_FIRST: &str = "the error first";
    for backend in BOTH {
        let app = &spawn_app(backend).await;
        race_until_every_order(backend.name, &[CANCEL_FIRST, ERROR_FIRST], |round| async move {
            let ids = seed_many(app, &format!("error-cancel{round}-"), "in_progress", 30).await;
            let step = race_step(Duration::from_micros(300), round);

            // For even jobs the error is sent later, for odd ones the cancel (see the claim race).
            let outcomes = join_all(ids.iter().enumerate().map(|(n, id)| async move {
                let (cancel_after, error_after) = staggered(step, n);
                let late_cancel = async {
                    tokio::time::sleep(cancel_after).await;
                    app.cancel(id).await
                };
                let late_error = async {
                    tokio::time::sleep(error_after).await;
                    fail(app, id).await
                };
                tokio::join!(late_cancel, late_error)
            }))
            .await;

            let mut orders = Vec::new();
            for (id, (cancel, error)) in ids.iter().zip(outcomes) {
                let stored = app.node.read(id).await.unwrap().source;
                let cancel = cancel.status().as_u16();
                // in_progress -> error is allowed, and so is canceling -> error: the error always
                // lands; the cancel lands only if it came first.
                assert_eq!(error, 200, "{}: {stored}", backend.name);
                assert_eq!(stored["status"], "error", "{stored}");
                assert_eq!(stored["error"], "boom");
                match cancel {
                    200 => {
                        orders.push(CANCEL_FIRST);
                        assert!(stored["cancelation_requested_at"].is_string(), "{stored}");
                    }
                    400 => {
                        orders.push(ERROR_FIRST);
                        assert!(stored.get("cancelation_requested_at").is_none(), "{stored}");
                    }
                    other => panic!("cancel answered {other}"),
                }
            }
            orders
        })
        .await;
    }
}

#[tokio::test]
async fn an_error_racing_the_connectors_own_final_write_never_overwrites_completed() {
    const ERROR_FIRST: &str = "the error first";
    const COMPLETE_FIRST: &str = "the connector's write first";
    for backend in BOTH {
        let app = &spawn_app(backend).await;
        race_until_every_order(backend.name, &[ERROR_FIRST, COMPLETE_FIRST], |round| async move {
            let ids = seed_many(app, &format!("error-complete{round}-"), "in_progress", 30).await;
            let step = race_step(Duration::from_micros(2_500), round);

            let outcomes = join_all(ids.iter().enumerate().map(|(n, id)| async move {
                let delayed_complete = async {
                    tokio::time::sleep(step * n as u32).await;
                    app.node.complete(id).await
                };
                tokio::join!(fail(app, id), delayed_complete)
            }))
            .await;

            let mut orders = Vec::new();
            for (id, (error, complete)) in ids.iter().zip(outcomes) {
                assert_eq!(complete, 200, "the connector's write failed");
                let stored = app.node.read(id).await.unwrap().source;
                // The connector's unconditional write always ends the job; the error either came
                // first (and was then overwritten by the connector, as in Elasticsearch) or saw
                // `completed` and refused without writing.
                assert_eq!(stored["status"], "completed", "{}: {stored}", backend.name);
                match error {
                    200 => {
                        orders.push(ERROR_FIRST);
                        assert_eq!(stored["error"], "boom");
                    }
                    400 => {
                        orders.push(COMPLETE_FIRST);
                        assert!(stored.get("error").is_none(), "a refused error wrote: {stored}");
                    }
                    other => panic!("error answered {other}"),
                }
            }
            orders
        })
        .await;
    }
}

#[tokio::test]
async fn claim_cancel_and_error_never_change_a_finished_job() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        for status in ["completed", "canceled", "error"] {
            let id = unique_id(status);
            app.node.seed(&id, job(status)).await;
            let before = app.node.read(&id).await.unwrap();

            let answers = join_all((0..10).map(|n| {
                let app = &app;
                let id = &id;
                async move {
                    match n % 3 {
                        0 => claim(app, id, "w").await,
                        1 => app.cancel(id).await.status().as_u16(),
                        _ => fail(app, id).await,
                    }
                }
            }))
            .await;

            assert!(
                answers.iter().all(|status| *status == 400),
                "{} {status}: {answers:?}",
                backend.name
            );
            assert_eq!(
                app.node.read(&id).await.unwrap(),
                before,
                "{} {status}",
                backend.name
            );
        }
    }
}
