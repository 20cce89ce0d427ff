//! Pass-through, the client side: a request that no route of the service takes goes to the
//! cluster (`upstream`) as it came, and the node's answer goes back as the node sent it: status,
//! headers (less the hop-by-hop ones) and body, streamed both ways.
//!
//! The answers are marked (`PassedThrough`) so that the conventions middleware leaves them as
//! they are; this module counts and logs them itself, once their body is over.

use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use futures_core::Stream;

use super::upload::Upload;
use super::upstream::{check_target, Outgoing, Passthrough};
use crate::error::{ApiError, ErrorType};
use crate::logging::RequestLine;
use crate::metrics::Metrics;

/// The log target of passed-through requests (`log.logger` in JSON lines).
const PASSTHROUGH_LOG: &str = "connector_sync_proxy::passthrough";

/// Hop-by-hop headers (RFC 9110, section 7.6.1): they describe one connection, not the message,
/// so they never cross the proxy in either direction. Headers named in `Connection` are too.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-connection",
    "proxy-authenticate",
];

/// Whether a header stays on this side of the proxy: a hop-by-hop header, any `Proxy-*`
/// header, or one that the message's `Connection` header names (`listed`, lower case).
fn is_hop_by_hop(name: &str, listed: &[String]) -> bool {
    HOP_BY_HOP.contains(&name) || name.starts_with("proxy-") || listed.iter().any(|listed| listed == name)
}

/// The header names a `Connection` header lists (its values, comma-separated), in lower case.
fn connection_listed<'a>(values: impl Iterator<Item = &'a [u8]>) -> Vec<String> {
    values
        .filter_map(|value| std::str::from_utf8(value).ok())
        .flat_map(|value| value.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect()
}

/// The method as the metrics label it: one of the methods Elasticsearch serves, or `other`.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// Marks a response of the pass-through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PassedThrough {
    /// The node's answer: no header, media type or body of it may change.
    Answer,
    /// The service's own error about the pass-through (503, 502, 504, 400), in Elasticsearch's
    /// envelope like its other errors, but counted and logged as a pass-through.
    Error,
}

/// How the pass-through marked a response, if it produced it.
pub(crate) fn marked(res: &HttpResponse) -> Option<PassedThrough> {
    res.extensions().get::<PassedThrough>().copied()
}

/// Passes the request on and answers with what the node answered (or the service's own error).
pub(crate) async fn forward(
    passthrough: &Passthrough,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let exchange = Exchange::start(&req, passthrough.metrics().clone());
    let head = req.method() == Method::HEAD;
    let sent = match outgoing(&req, payload) {
        Ok(outgoing) => passthrough.send(outgoing).await,
        Err(err) => Err(err),
    };
    match sent {
        Ok(response) => answer(response, head, exchange),
        Err(err) => {
            let mut res = err.error_response();
            exchange.fail(res.status().as_u16(), &err);
            res.extensions_mut().insert(PassedThrough::Error);
            res
        }
    }
}

/// The request as it goes to the node: the same method, path and query, the headers less the
/// hop-by-hop ones (`Host` is the node's; `Expect: 100-continue` was answered here), and the body
/// as a stream. `Content-Length` stays when the client sent one; a chunked body stays chunked.
fn outgoing(req: &HttpRequest, payload: web::Payload) -> Result<Outgoing, ApiError> {
    let target = req.uri().path_and_query().map_or("", |target| target.as_str());
    check_target(target)?;
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
        .map_err(|_| ApiError::new(ErrorType::IllegalArgument, "invalid HTTP method"))?;
    let listed = connection_listed(
        req.headers()
            .get_all(header::CONNECTION)
            .map(|value| value.as_bytes()),
    );
    let mut headers = reqwest::header::HeaderMap::with_capacity(req.headers().len());
    for (name, value) in req.headers() {
        if is_hop_by_hop(name.as_str(), &listed) || name == header::HOST || name == header::EXPECT {
            continue;
        }
        let (Ok(name), Ok(value)) = (
            reqwest::header::HeaderName::from_bytes(name.as_str().as_bytes()),
            reqwest::header::HeaderValue::from_bytes(value.as_bytes()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    let chunked = req.headers().get_all(header::TRANSFER_ENCODING).any(|value| {
        value
            .to_str()
            .is_ok_and(|value| value.to_ascii_lowercase().contains("chunked"))
    });
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let body = (chunked || length > 0).then(|| {
        if chunked {
            // Said explicitly: the HTTP client would otherwise send a GET's body of unknown
            // length as no body at all.
            headers.insert(
                reqwest::header::TRANSFER_ENCODING,
                reqwest::header::HeaderValue::from_static("chunked"),
            );
        }
        let idempotent = matches!(method, reqwest::Method::GET | reqwest::Method::HEAD);
        Upload::from_payload(payload, idempotent)
    });
    Ok(Outgoing {
        method,
        target: target.to_owned(),
        headers,
        body,
    })
}

/// The node's answer as the client's: its status, its headers less the hop-by-hop ones, and its
/// body streamed with the node's framing (its `Content-Length`, also on HEAD, or chunked).
fn answer(response: reqwest::Response, head: bool, mut exchange: Exchange) -> HttpResponse {
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    exchange.status = status.as_u16();
    let headers = response.headers();
    let listed = connection_listed(
        headers
            .get_all(reqwest::header::CONNECTION)
            .iter()
            .map(|value| value.as_bytes()),
    );
    let chunked = headers.contains_key(reqwest::header::TRANSFER_ENCODING);
    let length = headers
        .get(reqwest::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.trim().parse::<u64>().ok());
    let size = if status == StatusCode::NOT_MODIFIED || status == StatusCode::NO_CONTENT {
        BodySize::None
    } else if head {
        length.map_or(
            if chunked { BodySize::Stream } else { BodySize::None },
            BodySize::Sized,
        )
    } else if chunked {
        BodySize::Stream
    } else {
        length.map_or(BodySize::Stream, BodySize::Sized)
    };
    let mut res = HttpResponse::build(status);
    for (name, value) in headers {
        // actix writes the length from the body's size; a 304 keeps the node's header as is.
        let length_header = name == reqwest::header::CONTENT_LENGTH && status != StatusCode::NOT_MODIFIED;
        if length_header || is_hop_by_hop(name.as_str(), &listed) {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            res.append_header((name, value));
        }
    }
    let mut res = res.body(NodeBody {
        chunks: Box::pin(response.bytes_stream()),
        size,
        exchange,
    });
    res.extensions_mut().insert(PassedThrough::Answer);
    res
}

/// The node's answer body, handed to actix chunk by chunk as it arrives: actix asks for the next
/// chunk only when the client has taken the previous ones, and the node's connection is read
/// only as fast as that.
struct NodeBody {
    chunks: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>>>>,
    size: BodySize,
    exchange: Exchange,
}

impl MessageBody for NodeBody {
    type Error = io::Error;

    fn size(&self) -> BodySize {
        self.size
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        match this.chunks.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(chunk))),
            Poll::Ready(Some(Err(err))) => {
                this.exchange.cut_off = true;
                log::warn!(
                    "the answer to {} {} was cut off by the cluster: {err}",
                    this.exchange.method,
                    this.exchange.path
                );
                Poll::Ready(Some(Err(io::Error::other(err))))
            }
            Poll::Ready(None) => {
                this.exchange.complete = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// One passed-through request, counted and logged once its answer is over (or abandoned): the
/// method, the path without the query string, the status and the time taken, the client's
/// address, its `X-Opaque-Id` and `traceparent`, and the service's own error. Never a body,
/// never another header.
struct Exchange {
    metrics: Arc<Metrics>,
    method: String,
    path: String,
    started: Instant,
    status: u16,
    complete: bool,
    cut_off: bool,
    client: Option<IpAddr>,
    opaque_id: Option<HeaderValue>,
    traceparent: Option<HeaderValue>,
    /// The error the service answered itself, as its type and reason.
    failure: Option<(String, String)>,
}

impl Exchange {
    fn start(req: &HttpRequest, metrics: Arc<Metrics>) -> Self {
        Self {
            metrics,
            method: req.method().as_str().to_owned(),
            path: req.path().to_owned(),
            started: Instant::now(),
            status: 0,
            complete: false,
            cut_off: false,
            client: req.peer_addr().map(|address| address.ip()),
            opaque_id: req.headers().get("x-opaque-id").cloned(),
            traceparent: req.headers().get("traceparent").cloned(),
            failure: None,
        }
    }

    /// The service's own error instead of the node's answer.
    fn fail(mut self, status: u16, err: &ApiError) {
        self.failure = Some((err.type_name().to_owned(), err.reason().to_owned()));
        self.finish(status);
    }

    /// An answer without a body to wait for.
    fn finish(mut self, status: u16) {
        self.status = status;
        self.complete = true;
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        let took = self.started.elapsed();
        let seconds = took.as_secs_f64();
        self.metrics
            .observe_passthrough(method_label(&self.method), self.status, seconds);
        if !log::log_enabled!(target: PASSTHROUGH_LOG, log::Level::Info) {
            return;
        }
        let latency_ms = seconds * 1000.0;
        let (method, path, status) = (self.method.as_str(), self.path.as_str(), self.status);
        let (note, unfinished) = if self.complete {
            ("", None)
        } else if self.cut_off {
            (
                ", answer cut off by the cluster",
                Some(("answer_cut_off", "the answer was cut off by the cluster")),
            )
        } else {
            (
                ", client gone before the end of the answer",
                Some(("client_gone", "the client left before the end of the answer")),
            )
        };
        let line = RequestLine {
            method,
            path,
            status,
            took,
            client: self.client,
            opaque_id: self.opaque_id.as_ref().and_then(|value| value.to_str().ok()),
            traceparent: self.traceparent.as_ref().and_then(|value| value.to_str().ok()),
            error: self
                .failure
                .as_ref()
                .map(|(kind, reason)| (kind.as_str(), reason.as_str()))
                .or(unfinished),
        };
        line.log(
            PASSTHROUGH_LOG,
            format_args!("{method} {path} {status} {latency_ms:.3}ms{note}"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_stay_behind() {
        let listed = connection_listed([b"close, X-Trace-Hop".as_slice()].into_iter());
        assert_eq!(listed, ["close", "x-trace-hop"]);
        for name in [
            "connection",
            "keep-alive",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
        ] {
            assert!(is_hop_by_hop(name, &[]), "{name}");
        }
        assert!(is_hop_by_hop("proxy-authorization", &[]));
        assert!(is_hop_by_hop("x-trace-hop", &listed));
        for name in [
            "authorization",
            "content-length",
            "content-encoding",
            "x-opaque-id",
            "x-elastic-product",
        ] {
            assert!(!is_hop_by_hop(name, &listed), "{name}");
        }
    }
}
