//! The route table, and the one way every API reads its request. Each resource declares its
//! APIs (`apis::sync_job::APIS`, ...): method, path, the parameters and body it takes, and the
//! domain operation that answers; `serve` does the rest.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use actix_web::dev::ServiceRequest;
use actix_web::http::header::{HeaderValue, ALLOW, CONTENT_LENGTH};
use actix_web::http::{Method, StatusCode};
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};
use serde_json::Value;

use super::apis::{connector, connector_secrets, sync_job};
use super::authorization::Caller;
use super::request::{refuse_body, require_body, BodyParser, Fields, Params};
use super::{encoding, health, State};
use crate::cluster::Forwarded;
use crate::error::{ApiError, ErrorType};
use crate::passthrough::{self, Passthrough};

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
            $state: &'a $crate::http::State,
            $call: &'a $crate::http::routes::Call,
        ) -> $crate::http::routes::OpFuture<'a> {
            Box::pin(async move { $body })
        }
        op as $crate::http::routes::Op
    }};
}

/// What an API takes as its body.
#[derive(Clone, Copy)]
pub enum Body {
    None,
    Required(&'static BodyParser),
    /// A body that may be left out (then no field is given).
    Optional(&'static BodyParser),
    /// A required body that holds a secret: its errors never repeat its text
    /// (`connector_secrets::conceal`).
    Secret(&'static BodyParser),
}

/// One API of the route table.
pub struct Api {
    /// The Elasticsearch action it serves, as metrics and logs name it.
    pub name: &'static str,
    pub method: Method,
    /// The path; `{name}` segments are ids (see `Segment::Id`).
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

/// The route table, shared by the binary and the tests. The APIs are matched by `dispatch`
/// against their parsed paths (literal segments compared, ids taken whole), not by actix's
/// per-route regular expressions, which cost more than the rest of a request's handling.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // The service's own paths answer other methods 405 themselves, never pass through.
    let get_only = || web::to(|req: HttpRequest| async move { method_not_allowed(&req, "GET") });
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
    .default_service(web::to(dispatch));
}

/// One segment of an API's path.
enum Segment {
    Literal(&'static str),
    /// An id, named as Elasticsearch names the parameter; it may be empty, so that an empty id
    /// gets Elasticsearch's validation error rather than a 404.
    Id(&'static str),
}

struct Route {
    api: &'static Api,
    segments: Vec<Segment>,
}

/// Every API's path, parsed once. Sync-job and secrets APIs come first: `/_connector/_sync_job`
/// and `/_connector/_secret` would otherwise read as connector ids.
fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        sync_job::APIS
            .iter()
            .chain(connector_secrets::APIS.iter())
            .chain(connector::APIS.iter())
            .map(|api| Route {
                api,
                segments: api
                    .path
                    .split('/')
                    .skip(1)
                    .map(|part| match part.strip_prefix('{') {
                        Some(name) => Segment::Id(name.split([':', '}']).next().unwrap_or(name)),
                        None => Segment::Literal(part),
                    })
                    .collect(),
            })
            .collect()
    })
}

/// What a request's method and path match.
enum Matched<'a> {
    Api(&'static Api, Vec<(&'static str, &'a str)>),
    /// The path is an API's, the method is not: the methods it takes.
    WrongMethod(String),
    Nothing,
}

impl Route {
    /// Whether the path's segments (`parts`) fit this route's.
    fn fits(&self, parts: &[&str]) -> bool {
        self.segments.len() == parts.len()
            && self
                .segments
                .iter()
                .zip(parts)
                .all(|(segment, part)| match segment {
                    Segment::Literal(literal) => literal == part,
                    Segment::Id(_) => true,
                })
    }
}

fn find<'a>(method: &Method, path: &'a str) -> Matched<'a> {
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    let mut allowed: Vec<&str> = Vec::new();
    for route in routes().iter().filter(|route| route.fits(&parts)) {
        if route.api.method == method {
            let ids = route
                .segments
                .iter()
                .zip(&parts)
                .filter_map(|(segment, part)| match segment {
                    Segment::Id(name) => Some((*name, *part)),
                    Segment::Literal(_) => None,
                })
                .collect();
            return Matched::Api(route.api, ids);
        }
        if !allowed.contains(&route.api.method.as_str()) {
            allowed.push(route.api.method.as_str());
        }
    }
    if allowed.is_empty() {
        Matched::Nothing
    } else {
        Matched::WrongMethod(allowed.join(", "))
    }
}

/// Whether the service answers this path itself (with any method): an API of the table or a
/// health path. Everything else passes through when pass-through is on.
fn serves(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    path.starts_with("/-/") || routes().iter().any(|route| route.fits(&parts))
}

/// Whether the request goes to the pass-through: it is on, and the service does not serve the
/// path itself.
pub(crate) fn passes_through(req: &ServiceRequest) -> bool {
    req.app_data::<web::Data<Passthrough>>().is_some() && !serves(req.path())
}

/// Every request that is not a health path: an API of the table, a known path with the wrong
/// method, or the cluster's (pass-through, or 404 when it is off).
async fn dispatch(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<State>,
) -> Result<HttpResponse, ApiError> {
    // Elasticsearch authenticates a request from its head, before it reads the body or looks
    // for a handler of its method.
    let authenticate = || state.authorization.authenticate(state.store.cluster(), &req);
    let (api, ids) = match find(req.method(), req.uri().path()) {
        Matched::Api(api, ids) => (api, decode_ids(&ids)),
        Matched::WrongMethod(allowed) => {
            authenticate().await?;
            return method_not_allowed(&req, &allowed);
        }
        Matched::Nothing => {
            return Ok(match req.app_data::<web::Data<Passthrough>>().cloned() {
                Some(passthrough) => passthrough::forward(&passthrough, req, payload).await,
                None => no_handler(&req).unwrap_or_else(|err| err.error_response()),
            })
        }
    };
    let caller = authenticate().await?;
    let body = read_body(&req, payload, state.max_body_size).await?;
    serve(api, &req, ids, body, caller, &state).await
}

/// The body, read whole up to `limit` bytes; a larger one is refused unread when its length is
/// announced, and as soon as it passes the limit otherwise.
async fn read_body(req: &HttpRequest, payload: web::Payload, limit: usize) -> Result<Bytes, ApiError> {
    let too_long = || {
        ApiError::new(
            ErrorType::ContentTooLong,
            format!("the request body is larger than max_body_size ({limit} bytes)"),
        )
    };
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if announced.is_some_and(|length| length > limit as u64) {
        return Err(too_long());
    }
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(body)) => match encoding::Compression::of(req.headers()) {
            Some(compression) => compression.inflate(&body, limit),
            None => Ok(body),
        },
        Ok(Err(err)) => Err(ApiError::new(
            ErrorType::IllegalArgument,
            format!("the request body could not be read: {err}"),
        )),
        Err(_) => Err(too_long()),
    }
}

/// Reads the request as the API declares it, in Elasticsearch's order (the body, then the
/// parameters, then the ids), authorises the authenticated caller for the API (Elasticsearch
/// validates a request before it authorises it), and runs the operation.
async fn serve(
    api: &'static Api,
    req: &HttpRequest,
    ids: Result<Vec<String>, ApiError>,
    body: Bytes,
    caller: Caller,
    state: &State,
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
        Body::Secret(parser) => parser
            .parse(require_body(&body)?)
            .map_err(crate::connector_secrets::conceal)?,
    };
    let params = Params::parse(req.path(), req.query_string(), api.params)?;
    let call = Call {
        ids: ids?,
        params,
        body: fields,
        forwarded: caller.authorize(api.name)?,
    };
    let (status, answer) = (api.op)(state, &call).await?;
    Ok(HttpResponse::build(status).json(answer))
}

/// Elasticsearch refuses document ids longer than this.
const MAX_ID_BYTES: usize = 512;

/// The ids of the path as Elasticsearch sees them: each raw path segment, percent-decoded once.
/// An id that is not one is the answer, after the body has been read (Elasticsearch validates
/// ids last).
fn decode_ids(raw: &[(&str, &str)]) -> Result<Vec<String>, ApiError> {
    raw.iter()
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
            // The secrets APIs name their id `id` and check it with the rest of the request,
            // each with its own message.
            "id" => return Ok(()),
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

fn method_not_allowed(req: &HttpRequest, allowed: &str) -> Result<HttpResponse, ApiError> {
    let header = HeaderValue::from_str(allowed).unwrap_or(HeaderValue::from_static(""));
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

fn no_handler(req: &HttpRequest) -> Result<HttpResponse, ApiError> {
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
        _ => "unmatched",
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
        let apis: Vec<&Api> = sync_job::APIS
            .iter()
            .chain(connector_secrets::APIS.iter())
            .chain(connector::APIS.iter())
            .collect();
        for (n, api) in apis.iter().enumerate() {
            assert!(
                apis[..n]
                    .iter()
                    .all(|other| other.name != api.name
                        && (other.path != api.path || other.method != api.method)),
                "{} declared twice",
                api.name
            );
            assert!(
                api.path
                    .split('/')
                    .all(|part| !part.starts_with('{') || (part.ends_with('}') && !part.contains(':'))),
                "{}: an id is a whole segment, {{name}}, without a pattern",
                api.path
            );
        }
    }
}
