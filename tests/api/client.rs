//! The official Rust client, pointed at the service instead of a cluster.

use elasticsearch::connector::ConnectorSyncJobCancelParts;
use elasticsearch::http::transport::Transport;
use elasticsearch::Elasticsearch;
use serde_json::Value;

use crate::helpers::{job, spawn_app, unique_id, BOTH};

#[tokio::test]
async fn the_official_rust_client_cancels_through_the_service() {
    for backend in BOTH {
        let app = spawn_app(backend).await;
        let client = Elasticsearch::new(Transport::single_node(&app.address).unwrap());
        let id = unique_id("rust-client");
        app.node.seed(&id, job("in_progress")).await;

        let response = client
            .connector()
            .sync_job_cancel(ConnectorSyncJobCancelParts::ConnectorSyncJobId(&id))
            .send()
            .await
            .unwrap();

        assert_eq!(response.status_code().as_u16(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["result"], "updated");
        assert_eq!(app.node.read(&id).await.unwrap().source["status"], "canceling");

        let missing = client
            .connector()
            .sync_job_cancel(ConnectorSyncJobCancelParts::ConnectorSyncJobId("no-such-job"))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status_code().as_u16(), 404);
        let err = missing.exception().await.unwrap().expect("an exception body");
        assert_eq!(err.error().ty(), Some("resource_not_found_exception"));
    }
}

#[tokio::test]
async fn the_official_rust_client_runs_a_job_through_the_service() {
    use elasticsearch::connector::{
        ConnectorSyncJobClaimParts, ConnectorSyncJobGetParts, ConnectorSyncJobUpdateStatsParts,
    };
    use serde_json::json;

    for backend in BOTH {
        let app = spawn_app(backend).await;
        let client = Elasticsearch::new(Transport::single_node(&app.address).unwrap());
        let connector_id = unique_id("rust-connector");
        app.node
            .seed_connector(&connector_id, crate::helpers::connector("search-rust"))
            .await;

        let posted = client
            .connector()
            .sync_job_post()
            .body(json!({"id": connector_id, "job_type": "full"}))
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status_code().as_u16(), 201);
        let id = posted.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();

        let claimed = client
            .connector()
            .sync_job_claim(ConnectorSyncJobClaimParts::ConnectorSyncJobId(&id))
            .body(json!({"worker_hostname": "rust-worker"}))
            .send()
            .await
            .unwrap();
        assert_eq!(claimed.json::<Value>().await.unwrap()["result"], "updated");
        let stats = client
            .connector()
            .sync_job_update_stats(ConnectorSyncJobUpdateStatsParts::ConnectorSyncJobId(&id))
            .body(json!({"deleted_document_count": 0, "indexed_document_count": 3, "indexed_document_volume": 9}))
            .send()
            .await
            .unwrap();
        assert_eq!(stats.status_code().as_u16(), 200);

        let got: Value = client
            .connector()
            .sync_job_get(ConnectorSyncJobGetParts::ConnectorSyncJobId(&id))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!((&got["id"], &got["status"]), (&json!(id), &json!("in_progress")));
        assert_eq!(got["indexed_document_count"], 3);
        let listed: Value = client
            .connector()
            .sync_job_list()
            .connector_id(&connector_id)
            .status("in_progress")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed["count"], 1, "{}: {listed}", backend.name);
    }
}
