//! The Elasticsearch cluster behind the service: one official client per configured node,
//! requests spread round-robin, and a request that could not reach a node sent to the next one.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use elasticsearch::http::headers::{HeaderValue, ACCEPT_ENCODING};
use elasticsearch::http::response::Response;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::Elasticsearch;
use serde_json::Value;

use crate::config::Settings;
use crate::error::{ApiError, ErrorType};

pub struct Cluster {
    nodes: Vec<Node>,
    next: AtomicUsize,
}

struct Node {
    client: Elasticsearch,
    /// The URL without credentials, for logs and error messages.
    shown: String,
}

/// What a node answered: its status, its JSON body and the headers a client may need.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<String>,
    pub www_authenticate: Option<String>,
}

impl Cluster {
    pub fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let nodes = settings
            .es_urls
            .iter()
            .zip(settings.redacted_es_urls())
            .map(|(url, shown)| {
                let transport = TransportBuilder::new(SingleNodeConnectionPool::new(url.clone()))
                    // The client asks for gzip by default; the answers read here are a few hundred
                    // bytes, and compressing and inflating each one cost both sides more CPU than
                    // the bytes saved (docs/benchmarks.md).
                    .header(ACCEPT_ENCODING, HeaderValue::from_static("identity"))
                    .timeout(settings.upstream_timeout)
                    .disable_proxy()
                    .build()
                    .with_context(|| format!("cannot build a client for {shown}"))?;
                Ok(Node {
                    client: Elasticsearch::new(transport),
                    shown,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!nodes.is_empty(), "at least one Elasticsearch URL is needed");
        Ok(Self {
            nodes,
            next: AtomicUsize::new(0),
        })
    }

    /// The configured node URLs, without credentials.
    pub fn describe(&self) -> String {
        self.nodes
            .iter()
            .map(|node| node.shown.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Sends the request that `send` builds to one node. When a node cannot be connected to,
    /// the request never reached it, so the same request goes to the next node; every other
    /// failure is answered at once.
    pub async fn send<F, Fut>(&self, send: F) -> Result<Reply, ApiError>
    where
        F: Fn(Elasticsearch) -> Fut,
        Fut: Future<Output = Result<Response, elasticsearch::Error>>,
    {
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let mut unreachable = Vec::new();
        for offset in 0..self.nodes.len() {
            let node = &self.nodes[(first + offset) % self.nodes.len()];
            match send(node.client.clone()).await {
                Ok(response) => return read_reply(response, node).await,
                Err(err) if err.is_timeout() => {
                    log::warn!("request to {} timed out: {err}", node.shown);
                    return Err(ApiError::new(
                        ErrorType::UpstreamTimeout,
                        format!(
                            "the Elasticsearch cluster did not answer in time ({})",
                            node.shown
                        ),
                    ));
                }
                Err(err) if is_connect_error(&err) => {
                    log::warn!("cannot connect to {}: {}", node.shown, error_chain(&err));
                    unreachable.push(node.shown.as_str());
                }
                Err(err) => {
                    log::error!("request to {} failed: {}", node.shown, error_chain(&err));
                    return Err(ApiError::new(
                        ErrorType::UpstreamError,
                        format!("the request to the Elasticsearch cluster failed ({})", node.shown),
                    ));
                }
            }
        }
        Err(ApiError::new(
            ErrorType::UpstreamUnavailable,
            format!(
                "the Elasticsearch cluster is unavailable: no node could be reached [{}]",
                unreachable.join(", ")
            ),
        ))
    }
}

async fn read_reply(response: Response, node: &Node) -> Result<Reply, ApiError> {
    let status = response.status_code().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after = header("retry-after");
    let www_authenticate = header("www-authenticate");
    let text = response.text().await.map_err(|err| {
        if err.is_timeout() {
            ApiError::new(
                ErrorType::UpstreamTimeout,
                format!(
                    "the Elasticsearch cluster did not answer in time ({})",
                    node.shown
                ),
            )
        } else {
            log::error!(
                "reading the answer of {} failed: {}",
                node.shown,
                error_chain(&err)
            );
            ApiError::new(
                ErrorType::UpstreamError,
                format!(
                    "the answer of the Elasticsearch cluster was cut off ({})",
                    node.shown
                ),
            )
        }
    })?;
    let body = serde_json::from_str(&text).map_err(|_| {
        log::error!(
            "{} answered {status} with a body that is not JSON: {text:.512}",
            node.shown
        );
        ApiError::new(
            ErrorType::UpstreamError,
            format!(
                "the Elasticsearch cluster answered {status} with a body that is not JSON ({})",
                node.shown
            ),
        )
    })?;
    Ok(Reply {
        status,
        body,
        retry_after,
        www_authenticate,
    })
}

fn is_connect_error(err: &elasticsearch::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(reqwest_err) = cause.downcast_ref::<reqwest::Error>() {
            return reqwest_err.is_connect();
        }
        source = cause.source();
    }
    false
}

/// The error and its causes on one line, for the log.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl Reply {
    /// The answer to give for a cluster reply the operation has no use for. The cluster's own
    /// client errors (401, 403, 429 and other 4xx) pass through with their body, so clients see
    /// what they would see from Elasticsearch; its server errors become 502 and are logged.
    pub fn into_error(self) -> ApiError {
        use actix_web::http::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
        use actix_web::http::StatusCode;

        match StatusCode::from_u16(self.status) {
            Ok(status) if status.is_client_error() && self.body["error"].is_object() => {
                let mut err = ApiError::Upstream {
                    status,
                    body: self.body,
                    headers: Vec::new(),
                };
                let passed = [
                    (RETRY_AFTER, self.retry_after),
                    (WWW_AUTHENTICATE, self.www_authenticate),
                ];
                for (name, value) in passed {
                    if let Some(value) = value.and_then(|value| HeaderValue::from_str(&value).ok()) {
                        err = err.with_header(name, value);
                    }
                }
                err
            }
            _ => {
                log::error!("the cluster answered {}: {}", self.status, self.body);
                let kind = self.body["error"]["type"].as_str().unwrap_or("no error type");
                ApiError::new(
                    ErrorType::UpstreamError,
                    format!(
                        "the Elasticsearch cluster failed with status {} [{kind}]",
                        self.status
                    ),
                )
            }
        }
    }
}
