//! HTTP handlers, one file per resource, and the conventions every response follows.

pub mod conventions;
pub mod health;
pub mod sync_job;

use actix_web::http::header::{HeaderValue, ALLOW};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::{ApiError, ErrorType};

/// The route table, shared by the binary and the tests.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        // `[^/]*`: an empty id reaches the handler and gets Elasticsearch's validation error.
        web::resource("/_connector/_sync_job/{connector_sync_job_id:[^/]*}/_cancel")
            .route(web::put().to(sync_job::cancel_connector_sync_job))
            .default_service(web::to(|req: HttpRequest| method_not_allowed(req, "PUT"))),
    )
    .route("/-/live", web::get().to(health::live))
    .route("/-/ready", web::get().to(health::ready))
    .route("/-/metrics", web::get().to(health::metrics))
    .default_service(web::to(no_handler));
}

async fn method_not_allowed(req: HttpRequest, allowed: &'static str) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        ErrorType::MethodNotAllowed,
        format!(
            "Incorrect HTTP method for uri [{}] and method [{}], allowed: [{allowed}]",
            req.uri(),
            req.method()
        ),
    )
    .with_header(ALLOW, HeaderValue::from_static(allowed)))
}

async fn no_handler(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        ErrorType::ResourceNotFound,
        format!(
            "no handler found for uri [{}] and method [{}]",
            req.uri(),
            req.method()
        ),
    ))
}

/// The name of the route a request matched, for metrics.
pub fn route_name(pattern: Option<&str>) -> &'static str {
    match pattern {
        Some(pattern) if pattern.starts_with("/_connector/_sync_job/") => "cancel_connector_sync_job",
        Some("/-/live") => "live",
        Some("/-/ready") => "ready",
        Some("/-/metrics") => "metrics",
        _ => "unmatched",
    }
}

/// Elasticsearch's parameters that every API takes.
const GLOBAL_PARAMETERS: [&str; 3] = ["pretty", "human", "error_trace"];

/// Refuses a query string with a parameter the API does not take, as Elasticsearch does.
pub fn check_parameters(req: &HttpRequest, accepted: &[&str]) -> Result<(), ApiError> {
    let unknown: Vec<String> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(name, _)| name.into_owned())
        .filter(|name| !GLOBAL_PARAMETERS.contains(&name.as_str()) && !accepted.contains(&name.as_str()))
        .collect();
    match unknown.as_slice() {
        [] => Ok(()),
        [one] => Err(ApiError::new(
            ErrorType::IllegalArgument,
            format!(
                "request [{}] contains unrecognized parameter: [{one}]",
                req.path()
            ),
        )),
        many => Err(ApiError::new(
            ErrorType::IllegalArgument,
            format!(
                "request [{}] contains unrecognized parameters: {}",
                req.path(),
                many.iter()
                    .map(|name| format!("[{name}]"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}
