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
