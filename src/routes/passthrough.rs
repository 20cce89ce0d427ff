//! Pass-through, the client side: the route table's default service. A request that no route of
//! the service takes goes to the cluster (`crate::passthrough`) as it came, and the node's answer
//! goes back as the node sent it: status, headers (less the hop-by-hop ones) and body, streamed
//! both ways. With pass-through off, such requests get the service's 404.
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
use actix_web::dev::ServiceRequest;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use futures_core::Stream;
use tokio::sync::mpsc;

use crate::error::{ApiError, ErrorType};
use crate::logging::RequestLine;
use crate::metrics::Metrics;
use crate::passthrough::{
    check_target, connection_listed, is_hop_by_hop, method_label, Outgoing, Passthrough, Upload,
};

/// Chunks of a request body on their way to the node at any time (actix reads at most 32 KiB
/// ahead of them): the memory one upload holds, whatever its size.
const UPLOAD_CHUNKS: usize = 4;
/// The log target of passed-through requests (`log.logger` in JSON lines).
const PASSTHROUGH_LOG: &str = "connector_sync_proxy::passthrough";

/// Marks a response of the pass-through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassedThrough {
    /// The node's answer: no header, media type or body of it may change.
    Answer,
    /// The service's own error about the pass-through (503, 502, 504, 400), in Elasticsearch's
    /// envelope like its other errors, but counted and logged as a pass-through.
    Error,
}

/// Whether the request goes to the pass-through: it is on, and the service does not serve the
/// path itself (`routes::serves`).
pub fn takes(req: &ServiceRequest) -> bool {
    req.app_data::<web::Data<Passthrough>>().is_some() && !super::serves(req.path())
}

/// How the pass-through marked a response, if it produced it.
pub fn marked(res: &HttpResponse) -> Option<PassedThrough> {
    res.extensions().get::<PassedThrough>().copied()
}

/// The default service: pass the request on, or answer 404 when pass-through is off.
pub async fn forward(req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let Some(passthrough) = req.app_data::<web::Data<Passthrough>>().cloned() else {
        return super::no_handler(&req).unwrap_or_else(|err| err.error_response());
    };
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
        Upload::new(pump(payload), idempotent)
    });
    Ok(Outgoing {
        method,
        target: target.to_owned(),
        headers,
        body,
    })
}

/// Hands the client's body over to the node's side in chunks, through a bounded channel: when
/// the node reads slowly the channel fills, this stops reading, and actix stops reading the
/// socket, so the client slows down. Ends as soon as nobody wants the body any more.
fn pump(mut payload: web::Payload) -> mpsc::Receiver<io::Result<Bytes>> {
    let (tx, rx) = mpsc::channel(UPLOAD_CHUNKS);
    actix_web::rt::spawn(async move {
        loop {
            let next = tokio::select! {
                next = std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)) => next,
                () = tx.closed() => break,
            };
            let Some(item) = next else { break };
            let item = item.map_err(|err| io::Error::other(err.to_string()));
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    rx
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
