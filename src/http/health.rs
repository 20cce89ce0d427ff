//! Liveness, readiness and metrics. Their paths start with `/-/`, which no Elasticsearch API
//! can use (index names cannot start with `-`).

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::ApiError;
use crate::http::State;
use crate::metrics::Metrics;

/// `GET /-/live`: the process serves requests.
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "live" }))
}

/// `GET /-/ready`: the cluster answers; 503 (or 504) in Elasticsearch's envelope when it does not.
/// The detail says what became of the index templates and the ingest pipeline the service
/// installs, and names connector indices that exist without their layout.
pub async fn ready(state: web::Data<State>) -> Result<HttpResponse, ApiError> {
    state.store.cluster().ping().await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready", "setup": state.setup.report().to_json() })))
}

/// `GET /-/metrics`: Prometheus' text format.
pub async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ContentType(
            "text/plain; version=0.0.4; charset=utf-8"
                .parse()
                .expect("a valid media type"),
        ))
        .body(metrics.render())
}
