//! HTTP: the route table, and the one way every API reads its request. Each resource declares
//! its APIs (`sync_job::APIS`, `connector::APIS`): method, path, the parameters and body it
//! takes, and the domain operation that answers; `serve` does the rest.

pub mod connector;
pub mod conventions;
pub mod health;
pub mod passthrough;
pub mod sync_job;

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::{HeaderValue, ALLOW};
use actix_web::http::{Method, StatusCode};
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use serde_json::Value;

use crate::cluster::Forwarded;
use crate::connector::Connectors;
use crate::documents::Store;
use crate::error::{ApiError, ErrorType};
use crate::request::{refuse_body, require_body, BodyParser, Fields, Params};
use crate::sync_job::SyncJobs;

/// What the handlers share.
pub struct State {
    pub store: std::sync::Arc<Store>,
    pub jobs: SyncJobs,
    pub connectors: Connectors,
}

/// A success: the status and the JSON body.
pub type Answer = Result<(StatusCode, Value), ApiError>;
pub type OpFuture<'a> = Pin<Box<dyn Future<Output = Answer> + 'a>>;
/// The domain operation behind one API.
pub type Op = for<'a> fn(&'a State, &'a Call) -> OpFuture<'a>;

/// Declares an operation: `op!(|state, call| async expression giving an Answer)`.
#[macro_export]
macro_rules! op {
    (|$state:ident, $call:ident| $body:expr) => {{
        fn op<'a>(
            $state: &'a $crate::routes::State,
            $call: &'a $crate::routes::Call,
        ) -> $crate::routes::OpFuture<'a> {
            Box::pin(async move { $body })
        }
        op as $crate::routes::Op
    }};
}

/// What an API takes as its body.
#[derive(Clone, Copy)]
pub enum Body {
    None,
    Required(&'static BodyParser),
    /// A body that may be left out (then no field is given).
    Optional(&'static BodyParser),
}

/// One API of the route table.
pub struct Api {
    /// The Elasticsearch action it serves, as metrics and logs name it.
    pub name: &'static str,
    pub method: Method,
    /// The path pattern; `{name:[^/]*}` parts are ids, so that an empty one gets Elasticsearch's
    /// validation error rather than a 404.
    pub path: &'static str,
    /// The query parameters it takes (besides `pretty`, `human`, `error_trace`, ...).
    pub params: &'static [&'static str],
    pub body: Body,
    pub op: Op,
}

/// A request as an operation sees it.
pub struct Call {
    ids: Vec<String>,
    pub params: Params,
    pub body: Fields,
    pub forwarded: Forwarded,
}

impl Call {
    /// The first id of the path.
    pub fn id(&self) -> &str {
        self.ids.first().map_or("", String::as_str)
    }
}

pub fn ok(body: Value) -> (StatusCode, Value) {
    (StatusCode::OK, body)
}

/// The name of the API a request was served by, for metrics.
#[derive(Clone, Copy)]
pub struct RouteName(pub &'static str);

/// The route table, shared by the binary and the tests.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Sync jobs first: `/_connector/_sync_job` would otherwise read as a connector id.
    let apis = sync_job::APIS.iter().chain(connector::APIS.iter());
    let mut paths: Vec<&'static str> = Vec::new();
    for api in apis.clone() {
        if !paths.contains(&api.path) {
            paths.push(api.path);
        }
    }
    for path in paths {
        let mut resource = web::resource(path);
        let mut allowed = Vec::new();
        for api in apis.clone().filter(|api| api.path == path) {
            allowed.push(api.method.as_str());
            resource = resource.route(web::method(api.method.clone()).to(
                move |req: HttpRequest, body: Bytes, state: web::Data<State>| serve(api, req, body, state),
            ));
        }
        let allowed = allowed.join(", ");
        cfg.service(resource.default_service(web::to(move |req: HttpRequest| {
            method_not_allowed(req, allowed.clone())
        })));
    }
    // The service's own paths answer other methods 405 themselves, never pass through.
    let get_only = || web::to(|req: HttpRequest| method_not_allowed(req, "GET".to_owned()));
    cfg.service(
        web::resource("/-/live")
            .get(health::live)
            .default_service(get_only()),
    )
    .service(
        web::resource("/-/ready")
            .get(health::ready)
            .default_service(get_only()),
    )
    .service(
        web::resource("/-/metrics")
            .get(health::metrics)
            .default_service(get_only()),
    )
    // Everything else: the cluster's, or 404 when pass-through is off.
    .default_service(web::to(passthrough::forward));
}

/// Reads the request as the API declares it, in Elasticsearch's order (the body, then the
/// parameters, then the ids), and runs the operation.
async fn serve(
    api: &'static Api,
    req: HttpRequest,
    body: Bytes,
    state: web::Data<State>,
) -> Result<HttpResponse, ApiError> {
    req.extensions_mut().insert(RouteName(api.name));
    let fields = match api.body {
        Body::None => {
            refuse_body(req.method().as_str(), req.path(), &body)?;
            Fields::default()
        }
        Body::Required(parser) => parser.parse(require_body(&body)?)?,
        Body::Optional(_) if body.iter().all(u8::is_ascii_whitespace) => Fields::default(),
        Body::Optional(parser) => parser.parse(&body)?,
    };
    let params = Params::parse(req.path(), req.query_string(), api.params)?;
    let ids = path_ids(api.path, &req)?;
    let call = Call {
        ids,
        params,
        body: fields,
        forwarded: Forwarded::from_request(req.headers()),
    };
    let (status, answer) = (api.op)(&state, &call).await?;
    Ok(HttpResponse::build(status).json(answer))
}

/// Elasticsearch refuses document ids longer than this.
const MAX_ID_BYTES: usize = 512;

/// The ids of the path as Elasticsearch sees them: each raw path segment, percent-decoded once.
fn path_ids(pattern: &str, req: &HttpRequest) -> Result<Vec<String>, ApiError> {
    let raw: Vec<&str> = req.uri().path().split('/').collect();
    pattern
        .split('/')
        .enumerate()
        .filter_map(|(position, part)| {
            let name = part.strip_prefix('{')?.split([':', '}']).next()?;
            Some((name, raw.get(position).copied().unwrap_or_default()))
        })
        .map(|(name, raw)| {
            let bytes: Vec<u8> = percent_encoding::percent_decode_str(raw).collect();
            let id = String::from_utf8(bytes).map_err(|_| {
                ApiError::new(
                    ErrorType::IllegalArgument,
                    format!("[{name}] [{raw}] is not valid UTF-8 once percent-decoded"),
                )
            })?;
            validate_id(name, &id)?;
            Ok(id)
        })
        .collect()
}

fn validate_id(name: &str, id: &str) -> Result<(), ApiError> {
    let problem = if id.is_empty() {
        match name {
            "connector_sync_job_id" => {
                "[connector_sync_job_id] of the connector sync job cannot be null or empty.".to_owned()
            }
            _ => format!("[{name}] cannot be [null] or [\"\"]."),
        }
    } else if id.len() > MAX_ID_BYTES {
        format!(
            "id [{id}] is too long, must be no longer than {MAX_ID_BYTES} bytes but was: {}",
            id.len()
        )
    } else if id == "." || id == ".." {
        // URL handling resolves such path segments, so the request would reach another path.
        format!("[{name}] cannot be [.] or [..]")
    } else {
        return Ok(());
    };
    Err(ApiError::validation([problem]))
}

async fn method_not_allowed(req: HttpRequest, allowed: String) -> Result<HttpResponse, ApiError> {
    let header = HeaderValue::from_str(&allowed).unwrap_or(HeaderValue::from_static(""));
    Err(ApiError::new(
        ErrorType::MethodNotAllowed,
        format!(
            "Incorrect HTTP method for uri [{}] and method [{}], allowed: [{allowed}]",
            req.uri(),
            req.method()
        ),
    )
    .with_header(ALLOW, header))
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

/// The name of the route a request was served by, for metrics.
pub fn route_name(req: &HttpRequest) -> &'static str {
    if let Some(RouteName(name)) = req.extensions().get::<RouteName>() {
        return name;
    }
    match req.match_pattern().as_deref() {
        Some("/-/live") => "live",
        Some("/-/ready") => "ready",
        Some("/-/metrics") => "metrics",
        Some(_) => "method_not_allowed",
        None => "unmatched",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated_as_elasticsearch_does() {
        assert!(validate_id("connector_sync_job_id", "abc").is_ok());
        assert!(validate_id("connector_sync_job_id", "é").is_ok());
        assert!(validate_id("connector_sync_job_id", &"x".repeat(512)).is_ok());
        let long = validate_id("connector_sync_job_id", &"x".repeat(513)).unwrap_err();
        assert!(long.to_string().contains("but was: 513"), "{long}");
        let empty = validate_id("connector_sync_job_id", "").unwrap_err();
        assert_eq!(
            empty.body()["error"]["reason"],
            "Validation Failed: 1: [connector_sync_job_id] of the connector sync job cannot be null or empty.;"
        );
        let empty = validate_id("connector_id", "").unwrap_err();
        assert_eq!(
            empty.body()["error"]["reason"],
            "Validation Failed: 1: [connector_id] cannot be [null] or [\"\"].;"
        );
        assert!(validate_id("connector_id", "..").is_err());
        assert!(validate_id("connector_id", ".").is_err());
    }

    #[test]
    fn every_api_is_declared_once_and_named_for_its_action() {
        let apis: Vec<&Api> = sync_job::APIS.iter().chain(connector::APIS.iter()).collect();
        for (n, api) in apis.iter().enumerate() {
            assert!(
                apis[..n]
                    .iter()
                    .all(|other| other.name != api.name
                        && (other.path != api.path || other.method != api.method)),
                "{} declared twice",
                api.name
            );
        }
    }
}
