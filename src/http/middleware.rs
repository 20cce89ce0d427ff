//! What every response does, whatever produced it: Elasticsearch's product header, the media
//! type the client asked for (`compatible-with`), `?pretty`, and the Elasticsearch error envelope
//! even for errors raised by the HTTP layer itself. Answers passed through from the cluster are
//! left exactly as the node sent them; only the request line and header limits apply to them.

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};
use std::time::Instant;

use super::filter_path::FilterPath;
use super::routes::{passes_through, route_name};
use crate::error::{ApiError, ErrorType};
use crate::logging::RequestLine;
use crate::metrics::Metrics;
use crate::passthrough::{self, PassedThrough};

pub const PRODUCT_HEADER: &str = "x-elastic-product";
const OPAQUE_ID: &str = "x-opaque-id";
const TRACEPARENT: &str = "traceparent";
/// The log target of the service's own requests (`log.logger` in JSON lines).
const REQUEST_LOG: &str = "connector_sync_proxy::request";
const JSON: &str = "application/json";
const VENDOR_JSON: &str = "application/vnd.elasticsearch+json";
/// The REST API versions a client may ask for with `compatible-with`, as Elasticsearch 9 does.
const COMPATIBLE_VERSIONS: [&str; 2] = ["8", "9"];
/// Elasticsearch's default limits on the request line and the headers (`http.max_initial_line_length`,
/// `http.max_header_size`). Longer ones never reach a handler.
const MAX_INITIAL_LINE: usize = 4096;
const MAX_HEADER_SIZE: usize = 16 * 1024;
/// The largest body this service reads back to rewrite it (`?pretty`, `filter_path`): its own
/// answers, a page of a list at the most, stay far below this.
const REWRITE_LIMIT: usize = 256 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    Json,
    Compatible(&'static str),
}

impl MediaType {
    fn header_value(self) -> HeaderValue {
        match self {
            Self::Json => HeaderValue::from_static(JSON),
            Self::Compatible("8") => {
                HeaderValue::from_static("application/vnd.elasticsearch+json;compatible-with=8")
            }
            Self::Compatible(_) => {
                HeaderValue::from_static("application/vnd.elasticsearch+json;compatible-with=9")
            }
        }
    }
}

pub async fn conventions(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    // Shares the request's bytes; printed only if the request line is logged.
    let uri = req.uri().clone();
    let pretty = wants_pretty(req.query_string());
    let filter = FilterPath::from_query(req.query_string());
    let opaque_id = req.headers().get(OPAQUE_ID).cloned();
    let traceparent = req.headers().get(TRACEPARENT).cloned();
    let client = req.peer_addr().map(|address| address.ip());
    let checked = check_limits(&req).and_then(|()| match negotiate(req.headers()) {
        // The cluster judges a passed-through request's Accept itself.
        Err(_) if passes_through(&req) => Ok(MediaType::Json),
        negotiated => negotiated,
    });
    let (media_type, res, refused) = match checked {
        Ok(media_type) => (media_type, next.call(req).await?.map_into_boxed_body(), None),
        Err(err) => (
            MediaType::Json,
            req.into_response(err.error_response()),
            Some(err),
        ),
    };
    let (req, res) = res.into_parts();
    let marked = passthrough::marked(&res);
    if marked == Some(PassedThrough::Answer) {
        return Ok(ServiceResponse::new(req, res));
    }
    // The error answered, for the log: the handler's, or the HTTP layer's own.
    let failure = refused
        .map(|err| (err.type_name().to_owned(), err.reason().to_owned()))
        .or_else(|| {
            res.error().map(|err| match err.as_error::<ApiError>() {
                Some(err) => (err.type_name().to_owned(), err.reason().to_owned()),
                None => (layer_error_type(res.status()).name().to_owned(), err.to_string()),
            })
        });
    let mut res = finish(res, media_type, pretty, filter.as_ref()).await;
    // Elasticsearch echoes the caller's X-Opaque-Id on the response.
    if let Some(opaque_id) = &opaque_id {
        res.headers_mut()
            .insert(HeaderName::from_static(OPAQUE_ID), opaque_id.clone());
    }
    if marked.is_some() {
        // Counted and logged by the pass-through.
        return Ok(ServiceResponse::new(req, res));
    }
    let took = started.elapsed();
    let seconds = took.as_secs_f64();
    let status = res.status().as_u16();
    if let Some(metrics) = req.app_data::<web::Data<Metrics>>() {
        metrics.observe_request(route_name(&req), status, seconds);
    }
    if log::log_enabled!(target: REQUEST_LOG, log::Level::Info) {
        let target = uri
            .path_and_query()
            .map_or_else(|| uri.path(), |target| target.as_str());
        let latency_ms = seconds * 1000.0;
        let line = RequestLine {
            method: method.as_str(),
            path: uri.path(),
            status,
            took,
            client,
            opaque_id: opaque_id.as_ref().and_then(|value| value.to_str().ok()),
            traceparent: traceparent.as_ref().and_then(|value| value.to_str().ok()),
            error: failure
                .as_ref()
                .map(|(kind, reason)| (kind.as_str(), reason.as_str())),
        };
        line.log(
            REQUEST_LOG,
            format_args!("{method} {target} {status} {latency_ms:.3}ms"),
        );
    }
    Ok(ServiceResponse::new(req, res))
}

async fn finish(
    res: HttpResponse,
    media_type: MediaType,
    pretty: bool,
    filter: Option<&FilterPath>,
) -> HttpResponse {
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with(JSON));
    let status = res.status();
    let (mut head, body) = res.into_parts();
    let body = if is_json || status.is_success() {
        body
    } else {
        layer_error_body(status, body).await
    };
    // Elasticsearch filters answers, never errors; `?pretty` lays out both.
    let filter = filter.filter(|_| is_json && status.is_success());
    let body = if pretty || filter.is_some() {
        rewrite(body, pretty, filter).await
    } else {
        body
    };
    let headers = head.headers_mut();
    headers.insert(
        HeaderName::from_static(PRODUCT_HEADER),
        HeaderValue::from_static("Elasticsearch"),
    );
    // JSON answers (all but the metrics text) in the media type the client asked for.
    if is_json || !status.is_success() {
        headers.insert(CONTENT_TYPE, media_type.header_value());
    }
    head.set_body(body)
}

fn check_limits(req: &ServiceRequest) -> Result<(), ApiError> {
    let uri = req.uri();
    let target = uri.path_and_query().map_or(0, |target| target.as_str().len())
        + uri.scheme_str().map_or(0, |scheme| scheme.len() + 3)
        + uri.authority().map_or(0, |authority| authority.as_str().len());
    let line = req.method().as_str().len() + 1 + target + " HTTP/1.1".len();
    if line > MAX_INITIAL_LINE {
        return Err(ApiError::new(
            ErrorType::TooLongHttpLine,
            format!("An HTTP line is larger than {MAX_INITIAL_LINE} bytes."),
        ));
    }
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if headers > MAX_HEADER_SIZE {
        return Err(ApiError::new(
            ErrorType::TooLongHttpHeader,
            format!("HTTP header is larger than {MAX_HEADER_SIZE} bytes."),
        ));
    }
    Ok(())
}

/// An error the HTTP layer wrote as text (payload too large, unreadable body), in the same
/// envelope as every other error, keeping the status the layer chose.
async fn layer_error_body(status: StatusCode, body: BoxBody) -> BoxBody {
    let text = body::to_bytes_limited(body, REWRITE_LIMIT)
        .await
        .ok()
        .and_then(Result::ok)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    let mut envelope = ApiError::new(layer_error_type(status), text).body();
    envelope["status"] = status.as_u16().into();
    BoxBody::new(serde_json::to_vec(&envelope).unwrap_or_default())
}

fn layer_error_type(status: StatusCode) -> ErrorType {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ErrorType::ContentTooLong,
        StatusCode::NOT_FOUND => ErrorType::ResourceNotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorType::MethodNotAllowed,
        status if status.is_client_error() => ErrorType::IllegalArgument,
        _ => ErrorType::Internal,
    }
}

/// The JSON answer filtered by `filter_path` and laid out for `?pretty`, as asked.
async fn rewrite(body: BoxBody, pretty: bool, filter: Option<&FilterPath>) -> BoxBody {
    let Ok(Ok(bytes)) = body::to_bytes_limited(body, REWRITE_LIMIT).await else {
        log::error!("an answer of the service's own was too large to rewrite");
        return BoxBody::new(());
    };
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return BoxBody::new(bytes);
    };
    if let Some(filter) = filter {
        value = filter.apply(value);
    }
    let text = if pretty {
        pretty_json(&value)
    } else {
        serde_json::to_vec(&value).ok()
    };
    BoxBody::new(text.unwrap_or_else(|| bytes.to_vec()))
}

/// `value` laid out as Elasticsearch lays out `?pretty` answers: two spaces of indent per level,
/// `"name" : value`, empty arrays and objects as `[ ]` and `{ }`, and a final newline.
fn pretty_json(value: &serde_json::Value) -> Option<Vec<u8>> {
    use serde::Serialize;
    let mut text = Vec::new();
    let mut out = serde_json::Serializer::with_formatter(&mut text, ElasticsearchPretty::default());
    value.serialize(&mut out).ok()?;
    text.push(b'\n');
    Some(text)
}

/// The layout of Elasticsearch's pretty printer, as a serde_json formatter.
#[derive(Default)]
struct ElasticsearchPretty {
    depth: usize,
    has_value: bool,
}

impl ElasticsearchPretty {
    fn open<W: ?Sized + std::io::Write>(&mut self, out: &mut W, bracket: &[u8]) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        out.write_all(bracket)
    }

    fn close<W: ?Sized + std::io::Write>(&mut self, out: &mut W, bracket: &[u8]) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.line(out)?;
        } else {
            out.write_all(b" ")?;
        }
        out.write_all(bracket)
    }

    fn item<W: ?Sized + std::io::Write>(&mut self, out: &mut W, first: bool) -> std::io::Result<()> {
        if !first {
            out.write_all(b",")?;
        }
        self.line(out)
    }

    fn line<W: ?Sized + std::io::Write>(&self, out: &mut W) -> std::io::Result<()> {
        out.write_all(b"\n")?;
        (0..self.depth).try_for_each(|_| out.write_all(b"  "))
    }
}

impl serde_json::ser::Formatter for ElasticsearchPretty {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, out: &mut W) -> std::io::Result<()> {
        self.open(out, b"[")
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, out: &mut W) -> std::io::Result<()> {
        self.close(out, b"]")
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        out: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(out, first)
    }

    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, out: &mut W) -> std::io::Result<()> {
        self.open(out, b"{")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, out: &mut W) -> std::io::Result<()> {
        self.close(out, b"}")
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        out: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(out, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, out: &mut W) -> std::io::Result<()> {
        out.write_all(b" : ")
    }

    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// `?pretty` and `?pretty=true` ask for it; `?pretty=false` does not.
fn wants_pretty(query: &str) -> bool {
    url::form_urlencoded::parse(query.as_bytes()).any(|(name, value)| name == "pretty" && value != "false")
}

/// The media type to answer in, from `Accept`. A `compatible-with` version this API does not
/// serve is refused, as Elasticsearch refuses it.
fn negotiate(headers: &HeaderMap) -> Result<MediaType, ApiError> {
    let Some(accept) = headers.get(ACCEPT) else {
        return Ok(MediaType::Json);
    };
    let refuse = || {
        ApiError::new(
            ErrorType::MediaTypeHeader,
            "Invalid media-type value on headers [Accept]",
        )
    };
    let accept = accept.to_str().map_err(|_| refuse())?;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        if !parts.next().unwrap_or_default().eq_ignore_ascii_case(VENDOR_JSON) {
            continue;
        }
        let version = parts.find_map(|param| {
            let (name, value) = param.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("compatible-with")
                .then(|| value.trim().trim_matches('"'))
        });
        return match version {
            None => Ok(MediaType::Json),
            Some(version) => COMPATIBLE_VERSIONS
                .into_iter()
                .find(|known| *known == version)
                .map(MediaType::Compatible)
                .ok_or_else(refuse),
        };
    }
    Ok(MediaType::Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Result<MediaType, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_str(value).unwrap());
        negotiate(&headers)
    }

    #[test]
    fn compatible_with_picks_the_vendor_media_type() {
        assert_eq!(
            accept("application/vnd.elasticsearch+json; compatible-with=9").unwrap(),
            MediaType::Compatible("9")
        );
        assert_eq!(
            accept("application/vnd.elasticsearch+json;compatible-with=8").unwrap(),
            MediaType::Compatible("8")
        );
        assert_eq!(accept("application/json").unwrap(), MediaType::Json);
        assert_eq!(accept("*/*").unwrap(), MediaType::Json);
        assert!(accept("application/vnd.elasticsearch+json; compatible-with=7").is_err());
    }

    #[test]
    fn pretty_answers_are_laid_out_as_elasticsearch_lays_them_out() {
        let value =
            serde_json::json!({"count": 1, "results": [{"id": "a", "tags": [], "meta": {}}], "empty": {}});
        let text = String::from_utf8(pretty_json(&value).unwrap()).unwrap();
        assert_eq!(
            text,
            "{\n  \"count\" : 1,\n  \"results\" : [\n    {\n      \"id\" : \"a\",\n      \"tags\" : [ ],\n      \
             \"meta\" : { }\n    }\n  ],\n  \"empty\" : { }\n}\n"
        );
    }

    #[test]
    fn pretty_is_a_flag() {
        assert!(wants_pretty("pretty"));
        assert!(wants_pretty("pretty=true"));
        assert!(!wants_pretty("pretty=false"));
        assert!(!wants_pretty("human"));
    }
}
