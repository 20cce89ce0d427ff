//! Races Elasticsearch loses and the service does not: concurrent claims of one index name,
//! concurrent status changes of one connector.

use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

use crate::connector::{connector_body, ConnectorApp};
use crate::helpers::{unique_id, BOTH};

#[tokio::test]
async fn of_many_concurrent_claims_of_one_index_name_exactly_one_wins() {
    const EACH: usize = 6;
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        let existing: Vec<String> = (0..EACH).map(|n| format!("existing-{n}")).collect();
        for id in &existing {
            api.create(id, connector_body(&unique_id("search"))).await;
        }
        for round in 0..3 {
            let name = unique_id(&format!("contested-{round}"));
            let api = &api;
            let renames = existing.iter().map(|id| {
                let name = name.clone();
                async move {
                    let (status, answer) = api.update(id, "_index_name", json!({"index_name": name})).await;
                    (id.clone(), status, answer)
                }
            });
            let creations = (0..EACH).map(|n| {
                let name = name.clone();
                async move {
                    let id = format!("new-{round}-{n}");
                    let (status, answer) = if n % 2 == 0 {
                        api.call(
                            Method::PUT,
                            &format!("/_connector/{id}"),
                            Some(connector_body(&name)),
                        )
                        .await
                    } else {
                        let (status, answer) = api
                            .call(Method::POST, "/_connector", Some(connector_body(&name)))
                            .await;
                        let id = answer["id"].as_str().unwrap_or(&id).to_owned();
                        return (id, status, answer);
                    };
                    (id, status, answer)
                }
            });
            let (renamed, created) = tokio::join!(join_all(renames), join_all(creations));
            let outcomes: Vec<(String, u16, Value)> = renamed.into_iter().chain(created).collect();

            let winners: Vec<&String> = outcomes
                .iter()
                .filter(|(_, status, _)| *status == 200 || *status == 201)
                .map(|(id, _, _)| id)
                .collect();
            assert_eq!(winners.len(), 1, "{} round {round}: {outcomes:?}", backend.name);
            for (id, status, answer) in &outcomes {
                if *status >= 400 {
                    assert_eq!(*status, 400, "{id}: {answer}");
                    assert_eq!(
                        answer["error"]["reason"],
                        format!("Index name [{name}] is used by another connector."),
                        "{id}"
                    );
                }
            }
            let holders: Vec<String> = api
                .snapshot()
                .await
                .into_iter()
                .filter(|(_, stored)| {
                    stored.source["index_name"] == json!(name) && stored.source["deleted"] != true
                })
                .map(|(id, _)| id)
                .collect();
            assert_eq!(
                holders,
                vec![winners[0].clone()],
                "{} round {round}",
                backend.name
            );
            let reservations = api.reservations().await;
            assert!(
                reservations.contains(&(name.clone(), winners[0].clone())),
                "{reservations:?}"
            );
        }
        api.clean_up().await;
    }
}

#[tokio::test]
async fn concurrent_status_changes_are_each_checked_against_the_status_they_replace() {
    for backend in BOTH {
        let api = ConnectorApp::start(backend).await;
        api.create("c", connector_body(&unique_id("search"))).await;
        // created -> needs_configuration is allowed once; needs_configuration -> itself is not.
        let statuses: Vec<u16> = join_all((0..20).map(|_| async {
            api.update("c", "_status", json!({"status": "needs_configuration"}))
                .await
                .0
        }))
        .await;
        let ok = statuses.iter().filter(|status| **status == 200).count();
        let refused = statuses.iter().filter(|status| **status == 400).count();
        assert_eq!((ok, refused), (1, 19), "{}: {statuses:?}", backend.name);
        assert_eq!(api.stored("c").await.unwrap()["status"], "needs_configuration");
        api.clean_up().await;
    }
}
