//! Races: many cancels of one job, and a cancel against the connector finishing the sync.

use std::time::Duration;

use futures::future::join_all;

use crate::helpers::{job, race_step, race_until_every_order, spawn_app, unique_id, BOTH};

#[tokio::test]
async fn fifty_concurrent_cancels_of_a_running_job_succeed_exactly_once() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        let id = unique_id("fifty");
        app.node.seed(&id, job("in_progress")).await;

        let statuses: Vec<u16> =
            join_all((0..50).map(|_| async { app.cancel(&id).await.status().as_u16() })).await;

        let ok = statuses.iter().filter(|status| **status == 200).count();
        let refused = statuses.iter().filter(|status| **status == 400).count();
        assert_eq!((ok, refused), (1, 49), "{}: {statuses:?}", backend.name);
        let stored = app.node.read(&id).await.unwrap().source;
        assert_eq!(stored["status"], "canceling");
        assert!(stored["cancelation_requested_at"].is_string());
        assert!(stored.get("canceled_at").is_none() && stored.get("completed_at").is_none());
    }
}

#[tokio::test]
async fn a_cancel_racing_the_connector_finishing_never_overwrites_completed() {
    const CANCEL_FIRST: &str = "the cancel first";
    const COMPLETE_FIRST: &str = "the connector's write first";
    for backend in BOTH {
        let app = &spawn_app(backend).await;
        race_until_every_order(
            backend.name,
            &[CANCEL_FIRST, COMPLETE_FIRST],
            |round| async move {
                let ids: Vec<String> = (0..40).map(|n| unique_id(&format!("race{round}-{n}"))).collect();
                join_all(ids.iter().map(|id| app.node.seed(id, job("in_progress")))).await;
                let step = race_step(Duration::from_micros(2_500), round);

                // Each job gets a cancel through the service and, at about the same moment, the
                // connector's unconditional write of `completed`; the write is delayed a little more
                // for each job so that both orders occur.
                let outcomes = join_all(ids.iter().enumerate().map(|(n, id)| async move {
                    let delayed_complete = async {
                        tokio::time::sleep(step * n as u32).await;
                        app.node.complete(id).await
                    };
                    let (cancel, complete) = tokio::join!(app.cancel(id), delayed_complete);
                    (cancel.status().as_u16(), complete)
                }))
                .await;

                let mut orders = Vec::new();
                for (id, (cancel, complete)) in ids.iter().zip(outcomes) {
                    assert_eq!(complete, 200, "the connector's write failed");
                    assert!(
                        cancel == 200 || cancel == 400,
                        "{}: cancel answered {cancel}",
                        backend.name
                    );
                    let stored = app.node.read(id).await.unwrap().source;
                    // Whichever came first, the job ends completed: either the cancel saw `completed`
                    // and refused, or it landed first and the connector's write followed it.
                    assert_eq!(
                        stored["status"], "completed",
                        "{}: {id} ended as {stored}",
                        backend.name
                    );
                    if cancel == 200 {
                        orders.push(CANCEL_FIRST);
                        assert!(stored["cancelation_requested_at"].is_string());
                    } else {
                        orders.push(COMPLETE_FIRST);
                        assert!(
                            stored.get("cancelation_requested_at").is_none(),
                            "a refused cancel wrote: {stored}"
                        );
                    }
                }
                orders
            },
        )
        .await;
    }
}
