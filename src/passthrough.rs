//! Pass-through, the cluster side: every request the service does not serve itself goes to a
//! node as it came, and the node's answer comes back as it was sent. One plain HTTP client per
//! node (the nodes' TLS settings; no decompression, no redirects, no proxy), requests spread
//! round-robin, a node that refuses the connection skipped. Bodies are streams handed from one
//! side to the other, never collected: the request body reaches the node through a small bounded
//! channel (`Upload`), so a slow node slows the client down instead of filling memory.
//!
//! A request goes to another node only when nothing of it reached the first one (the connection
//! was never made), or when it is a GET or HEAD whose body, if any, can be sent again.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::web::Bytes;
use anyhow::Context as _;
use futures_core::Stream;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::mpsc;

use crate::cluster::{error_chain, no_node_answered};
use crate::config::{ServiceCredentials, Settings, TlsVerification};
use crate::error::{ApiError, ErrorType};
use crate::metrics::Metrics;

/// Time a node has to accept the connection; one that does not is skipped like one that refuses.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest GET or HEAD body kept to send again when the first node's answer is lost
/// (search bodies are far smaller; a larger one is not sent again).
const REPLAY_LIMIT: usize = 64 * 1024;

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
pub fn is_hop_by_hop(name: &str, listed: &[String]) -> bool {
    HOP_BY_HOP.contains(&name) || name.starts_with("proxy-") || listed.iter().any(|listed| listed == name)
}

/// The header names a `Connection` header lists (its values, comma-separated), in lower case.
pub fn connection_listed<'a>(values: impl Iterator<Item = &'a [u8]>) -> Vec<String> {
    values
        .filter_map(|value| std::str::from_utf8(value).ok())
        .flat_map(|value| value.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect()
}

/// The method as the metrics label it: one of the methods Elasticsearch serves, or `other`.
pub fn method_label(method: &str) -> &'static str {
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

pub struct Passthrough {
    nodes: Vec<Node>,
    next: AtomicUsize,
    timeout: Option<Duration>,
    /// Only with `unsafe_passthrough_service_credentials`.
    credentials: Option<ServiceAuth>,
    metrics: Arc<Metrics>,
}

/// The service credentials as a passed-through request would carry them.
enum ServiceAuth {
    Basic {
        username: String,
        password: SecretString,
    },
    /// `Authorization: ApiKey <key>`, marked sensitive.
    Header(HeaderValue),
}

struct Node {
    client: reqwest::Client,
    /// The node URL without credentials and without a trailing slash; the request's path and
    /// query are appended as they came.
    base: String,
}

/// A request on its way to the cluster.
pub struct Outgoing {
    pub method: Method,
    /// Path and query exactly as the client sent them (see `check_target`).
    pub target: String,
    /// The client's headers less the hop-by-hop ones, `Host` and `Expect`.
    pub headers: HeaderMap,
    /// None when the request has no body.
    pub body: Option<Upload>,
}

impl Passthrough {
    /// The pass-through clients, or None when pass-through is off.
    pub fn connect(settings: &Settings, metrics: Arc<Metrics>) -> anyhow::Result<Option<Self>> {
        let Some(passthrough) = &settings.passthrough else {
            return Ok(None);
        };
        let extra_ca = match &settings.tls {
            TlsVerification::Verify { extra_ca: Some(path) } => {
                let pem = std::fs::read(path)
                    .with_context(|| format!("cannot read the CA certificates in {}", path.display()))?;
                reqwest::Certificate::from_pem_bundle(&pem)
                    .context("the CA file holds a certificate that cannot be read")?
            }
            _ => Vec::new(),
        };
        // The URLs without user information: credentials written into a URL are the service's
        // and never go on with a passed-through request.
        let nodes = settings
            .redacted_es_urls()
            .into_iter()
            .map(|shown| {
                let mut builder = reqwest::Client::builder()
                    .use_rustls_tls()
                    .http1_only()
                    // Bodies pass as they are: an answer the node compressed stays compressed.
                    .no_gzip()
                    .no_brotli()
                    .no_deflate()
                    .no_zstd()
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .connect_timeout(CONNECT_TIMEOUT);
                builder = match &settings.tls {
                    TlsVerification::Skip => builder.danger_accept_invalid_certs(true),
                    TlsVerification::Verify { .. } => extra_ca
                        .iter()
                        .fold(builder, |builder, ca| builder.add_root_certificate(ca.clone())),
                };
                let client = builder
                    .build()
                    .with_context(|| format!("cannot build a pass-through client for {shown}"))?;
                Ok(Node {
                    client,
                    base: shown.trim_end_matches('/').to_owned(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!nodes.is_empty(), "at least one Elasticsearch URL is needed");
        let credentials = match settings
            .credentials
            .as_ref()
            .filter(|_| passthrough.service_credentials)
        {
            None => None,
            Some(ServiceCredentials::Basic { username, password }) => Some(ServiceAuth::Basic {
                username: username.clone(),
                password: password.clone(),
            }),
            Some(ServiceCredentials::ApiKey(key)) => {
                let mut value = HeaderValue::from_str(&format!("ApiKey {}", key.expose_secret()))
                    .map_err(|_| anyhow::anyhow!("the service API key cannot be sent as a header"))?;
                value.set_sensitive(true);
                Some(ServiceAuth::Header(value))
            }
        };
        if credentials.is_some() {
            log::warn!(
                "unsafe_passthrough_service_credentials is on: requests without credentials of their own \
                 reach the whole cluster with the service's privileges"
            );
        }
        Ok(Some(Self {
            nodes,
            next: AtomicUsize::new(0),
            timeout: passthrough.timeout,
            credentials,
            metrics,
        }))
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Sends the request to a node and returns its answer as soon as its head arrives; the body
    /// streams afterwards. Errors are the service's own answers in Elasticsearch's envelope: 503
    /// when no node could be reached, 502 when the answer was lost after the request went out
    /// (and it could not be sent again), 504 when `passthrough_timeout` ran out, 400 when the
    /// client's own body could not be read.
    pub async fn send(&self, outgoing: Outgoing) -> Result<reqwest::Response, ApiError> {
        let idempotent = matches!(outgoing.method, Method::GET | Method::HEAD);
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        // Every node once; with a single node, a lost GET answer is asked for once more.
        let attempts = self.nodes.len().max(2);
        let mut failures: Vec<String> = Vec::new();
        let mut any_reached = false;
        for attempt in 0..attempts {
            let node = &self.nodes[(first + attempt) % self.nodes.len()];
            let mut request = node
                .client
                .request(
                    outgoing.method.clone(),
                    format!("{}{}", node.base, outgoing.target),
                )
                .headers(outgoing.headers.clone());
            if let Some(upload) = &outgoing.body {
                request = request.body(reqwest::Body::wrap_stream(upload.attempt()));
            }
            if !outgoing.headers.contains_key(AUTHORIZATION) {
                request = match &self.credentials {
                    None => request,
                    Some(ServiceAuth::Basic { username, password }) => {
                        request.basic_auth(username, Some(password.expose_secret()))
                    }
                    Some(ServiceAuth::Header(value)) => request.header(AUTHORIZATION, value.clone()),
                };
            }
            let sent = match self.timeout {
                None => request.send().await,
                Some(timeout) => match tokio::time::timeout(timeout, request.send()).await {
                    Ok(sent) => sent,
                    Err(_) => {
                        self.metrics.upstream_error("timeout");
                        log::warn!("a passed-through request to {} timed out", node.base);
                        return Err(ApiError::new(
                            ErrorType::UpstreamTimeout,
                            format!("the Elasticsearch cluster did not answer in time ({})", node.base),
                        ));
                    }
                },
            };
            let err = match sent {
                Ok(response) => {
                    if response.status().is_server_error() {
                        self.metrics.upstream_error("server_error");
                    }
                    return Ok(response);
                }
                // The URL carries the query string, which is not logged.
                Err(err) => err.without_url(),
            };
            if let Some(reason) = outgoing.body.as_ref().and_then(Upload::client_failure) {
                return Err(ApiError::new(
                    ErrorType::IllegalArgument,
                    format!("the request body could not be read: {reason}"),
                ));
            }
            if err.is_builder() {
                return Err(ApiError::new(
                    ErrorType::IllegalArgument,
                    format!("the request cannot be passed on: {}", error_chain(&err)),
                ));
            }
            if err.is_connect() {
                // The connection was never made: nothing of the request reached the node.
                self.metrics.upstream_error("unreachable");
                log::warn!("cannot connect to {}: {}", node.base, error_chain(&err));
                failures.push(node.base.clone());
                continue;
            }
            self.metrics.upstream_error("answer_lost");
            any_reached = true;
            failures.push(node.base.clone());
            let resendable = outgoing.body.as_ref().is_none_or(Upload::can_resend);
            if idempotent && resendable {
                log::warn!(
                    "the answer of {} to a {} was lost, trying again: {}",
                    node.base,
                    outgoing.method,
                    error_chain(&err)
                );
                continue;
            }
            log::warn!(
                "the answer of {} to a {} was lost; not sent again, the request may have been applied: {}",
                node.base,
                outgoing.method,
                error_chain(&err)
            );
            return Err(ApiError::new(
                ErrorType::UpstreamError,
                format!(
                    "the Elasticsearch cluster's answer was lost [{}]; the request was not sent again \
                     and may have been applied",
                    node.base
                ),
            ));
        }
        Err(no_node_answered(failures, any_reached))
    }
}

/// Whether a request target can go to the node exactly as it came. The HTTP client resolves
/// `.` and `..` path segments (also percent-encoded ones) and reads `\` as `/`, which would send
/// the request to another path; such targets are refused rather than changed.
pub fn check_target(target: &str) -> Result<(), ApiError> {
    let refuse = |why: &str| {
        Err(ApiError::new(
            ErrorType::IllegalArgument,
            format!("the request target [{target}] cannot be passed on unchanged: {why}"),
        ))
    };
    if !target.starts_with('/') {
        return refuse("it is not a path");
    }
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    if path.contains('\\') {
        return refuse("it contains a backslash");
    }
    let dot_segment = path.split('/').any(|segment| {
        let segment = segment.to_ascii_lowercase().replace("%2e", ".");
        segment == "." || segment == ".."
    });
    if dot_segment {
        return refuse("it has a [.] or [..] path segment");
    }
    Ok(())
}

/// The body of a passed-through request: the chunks the client sends, through a bounded channel,
/// to whichever attempt is current. An attempt takes chunks only once the node's connection is
/// up and hyper asks for them, so a request whose connection failed keeps its whole body for the
/// next node. GET and HEAD bodies are also copied (up to `REPLAY_LIMIT`) so that they can be sent
/// again when an answer is lost.
pub struct Upload {
    shared: Arc<Mutex<Source>>,
}

struct Source {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    /// The attempt allowed to take chunks; earlier ones are done.
    attempt: u64,
    /// Whether any chunk has been taken from `chunks`.
    taken: bool,
    /// Every chunk taken so far, while the request is idempotent and they stay small.
    replay: Option<Vec<Bytes>>,
    replay_bytes: usize,
    /// Why reading the client's body failed.
    client_failure: Option<String>,
}

impl Upload {
    pub fn new(chunks: mpsc::Receiver<io::Result<Bytes>>, idempotent: bool) -> Self {
        Self {
            shared: Arc::new(Mutex::new(Source {
                chunks,
                attempt: 0,
                taken: false,
                replay: idempotent.then(Vec::new),
                replay_bytes: 0,
                client_failure: None,
            })),
        }
    }

    fn source(&self) -> MutexGuard<'_, Source> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The body for the next attempt: what earlier attempts took (when it was kept), then the
    /// rest of the client's chunks.
    fn attempt(&self) -> AttemptBody {
        let mut source = self.source();
        debug_assert!(!source.taken || source.replay.is_some(), "a body sent twice");
        source.attempt += 1;
        AttemptBody {
            shared: self.shared.clone(),
            attempt: source.attempt,
            replay: source.replay.iter().flatten().cloned().collect(),
        }
    }

    /// Whether the whole body can be sent again.
    fn can_resend(&self) -> bool {
        let source = self.source();
        !source.taken || source.replay.is_some()
    }

    fn client_failure(&self) -> Option<String> {
        self.source().client_failure.clone()
    }
}

/// One attempt's view of the request body.
struct AttemptBody {
    shared: Arc<Mutex<Source>>,
    attempt: u64,
    /// Chunks an earlier attempt took, sent first.
    replay: VecDeque<Bytes>,
}

impl Stream for AttemptBody {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(chunk) = this.replay.pop_front() {
            return Poll::Ready(Some(Ok(chunk)));
        }
        let mut source = this.shared.lock().unwrap_or_else(PoisonError::into_inner);
        if source.attempt != this.attempt {
            return Poll::Ready(Some(Err(io::Error::other(
                "a later attempt took the request body",
            ))));
        }
        match source.chunks.poll_recv(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                source.taken = true;
                source.replay_bytes += chunk.len();
                if source.replay_bytes > REPLAY_LIMIT {
                    source.replay = None;
                } else if let Some(replay) = &mut source.replay {
                    replay.push(chunk.clone());
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(err))) => {
                source.client_failure = Some(err.to_string());
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
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

    #[test]
    fn targets_the_client_would_rewrite_are_refused() {
        for target in [
            "/",
            "/_cat/indices?v&h=index",
            "/idx/_doc/a%2Fb",
            "/idx/_doc/...",
            "/idx/_doc/a.b?q=..%2F",
        ] {
            assert!(check_target(target).is_ok(), "{target}");
        }
        for target in ["*", "", "/idx/..", "/idx/_doc/.", "/%2E%2e/x", "/.%2e", "/idx\\x"] {
            assert!(check_target(target).is_err(), "{target}");
        }
    }

    #[test]
    fn an_accepted_target_reaches_the_node_unchanged() {
        // What reqwest does with the URL: the path and query must come out as they went in.
        for target in [
            "/idx/_doc/a%2Fb?routing=x%20y",
            "/_search?q=name:%22a%22",
            "//double//slashes",
            "/%C3%A9t%C3%A9",
        ] {
            check_target(target).unwrap();
            let url = url::Url::parse(&format!("http://127.0.0.1:9200{target}")).unwrap();
            let sent = &url[url::Position::BeforePath..];
            assert_eq!(sent, target);
        }
    }

    #[tokio::test]
    async fn a_body_never_taken_goes_whole_to_the_next_attempt() {
        let (tx, rx) = mpsc::channel(4);
        let upload = Upload::new(rx, false);
        tx.send(Ok(Bytes::from_static(b"one"))).await.unwrap();
        tx.send(Ok(Bytes::from_static(b"two"))).await.unwrap();
        drop(tx);
        drop(upload.attempt()); // the connection failed before the body was asked for
        assert!(upload.can_resend());
        let mut second = upload.attempt();
        let mut got = Vec::new();
        while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut second).poll_next(cx)).await {
            got.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(got, b"onetwo");
        assert!(!upload.can_resend(), "a POST body is not kept");
    }

    #[tokio::test]
    async fn a_small_get_body_is_sent_again_and_a_stale_attempt_gets_nothing() {
        let (tx, rx) = mpsc::channel(4);
        let upload = Upload::new(rx, true);
        tx.send(Ok(Bytes::from_static(b"{\"query\":"))).await.unwrap();
        let mut first = upload.attempt();
        let chunk = std::future::poll_fn(|cx| Pin::new(&mut first).poll_next(cx)).await;
        assert_eq!(chunk.unwrap().unwrap(), "{\"query\":");
        assert!(upload.can_resend());
        let mut second = upload.attempt();
        let stale = std::future::poll_fn(|cx| Pin::new(&mut first).poll_next(cx)).await;
        assert!(stale.unwrap().is_err());
        tx.send(Ok(Bytes::from_static(b"{}}"))).await.unwrap();
        drop(tx);
        let mut got = Vec::new();
        while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut second).poll_next(cx)).await {
            got.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(got, b"{\"query\":{}}");
    }
}
