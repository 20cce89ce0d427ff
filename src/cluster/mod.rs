//! The Elasticsearch cluster behind the service: the configured nodes (`pool`), the
//! certificates they are trusted by (`tls`), and the service's own requests through the
//! official client, one per node, spread round-robin, and a request that could not reach a node
//! sent to the next one.

mod batch;
mod pool;
mod tls;

pub(crate) use batch::{Batcher, DocRead, DocWrite, WriteAction};
pub(crate) use pool::{error_chain, Attempt, Node, Pool};
pub(crate) use tls::Trust;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use actix_web::web::Bytes;
use anyhow::Context;
use elasticsearch::auth::Credentials;
use elasticsearch::http::headers::{HeaderMap, HeaderName, HeaderValue, ACCEPT_ENCODING};
use elasticsearch::http::response::Response;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::http::Method;
use elasticsearch::Elasticsearch;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::config::{ServiceCredentials, Settings};
use crate::error::{ApiError, ErrorType};
use crate::metrics::Metrics;

pub struct Cluster {
    pool: Pool<Elasticsearch>,
    /// The nodes' certificates as trusted, for the pass-through's clients.
    trust: Trust,
    metrics: Arc<Metrics>,
}

/// Headers of the client's request that go on to the cluster: its credentials, so that the
/// cluster's own privileges decide what the caller may do (they replace any service
/// credentials), its X-Opaque-Id and its trace context.
#[derive(Debug, Clone, Default)]
pub struct Forwarded(HeaderMap);

const FORWARDED_HEADERS: [&str; 4] = ["authorization", "x-opaque-id", "traceparent", "tracestate"];

impl Forwarded {
    pub fn from_request(headers: &actix_web::http::header::HeaderMap) -> Self {
        let mut forwarded = HeaderMap::new();
        for name in FORWARDED_HEADERS {
            let Some(value) = headers.get(name) else { continue };
            let Ok(mut value) = HeaderValue::from_bytes(value.as_bytes()) else {
                continue;
            };
            if name == "authorization" {
                value.set_sensitive(true);
            }
            forwarded.insert(HeaderName::from_static(name), value);
        }
        Self(forwarded)
    }

    /// The same headers without the caller's credentials: the cluster then sees the service
    /// credentials (`authorization = cluster_privileges`, once the caller was authorised).
    pub fn without_credentials(&self) -> Self {
        let mut headers = self.0.clone();
        headers.remove("authorization");
        Self(headers)
    }

    /// Only these credentials (an `Authorization` value), for the cluster's answer about them.
    pub fn credentials(value: &[u8]) -> Option<Self> {
        let mut value = HeaderValue::from_bytes(value).ok()?;
        value.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(HeaderName::from_static("authorization"), value);
        Some(Self(headers))
    }

    fn headers(&self) -> &HeaderMap {
        &self.0
    }

    /// The caller's credentials, which decide who a request to the cluster is made as.
    fn authorization(&self) -> Option<HeaderValue> {
        self.0.get("authorization").cloned()
    }

    /// What several requests of one caller share, for a request made for all of them: the
    /// credentials, and each other header only where all carry the same value.
    fn shared<'a>(mut all: impl Iterator<Item = &'a Forwarded>) -> Self {
        let Some(first) = all.next() else {
            return Self::default();
        };
        let others: Vec<&Forwarded> = all.collect();
        let mut shared = HeaderMap::new();
        for (name, value) in first.0.iter() {
            if others.iter().all(|other| other.0.get(name) == Some(value)) {
                shared.insert(name.clone(), value.clone());
            }
        }
        Self(shared)
    }
}

/// What a node of the cluster answered: its status, its JSON body (as sent; parsed by whoever needs it, into
/// the type it needs) and the headers a client may need.
#[derive(Debug, Clone)]
pub struct ClusterAnswer {
    pub status: u16,
    pub bytes: Bytes,
    pub retry_after: Option<String>,
    /// Every challenge the cluster sent (a secured cluster sends one header per scheme).
    pub www_authenticate: Vec<String>,
}

impl Cluster {
    pub fn connect(settings: &Settings, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let trust = Trust::load(&settings.tls)?;
        let credentials = settings
            .credentials
            .as_ref()
            .map(|credentials| match credentials {
                ServiceCredentials::Basic { username, password } => {
                    Credentials::Basic(username.clone(), password.expose_secret().to_owned())
                }
                ServiceCredentials::ApiKey(key) => Credentials::EncodedApiKey(key.expose_secret().to_owned()),
            });
        let pool = Pool::connect(settings, |url, shown| {
            let mut builder = TransportBuilder::new(SingleNodeConnectionPool::new(url.clone()))
                // The client asks for gzip by default; the answers read here are a few hundred
                // bytes, and compressing and inflating each one cost both sides more CPU than
                // the bytes saved (docs/benchmarks.md).
                .header(ACCEPT_ENCODING, HeaderValue::from_static("identity"))
                .timeout(settings.upstream_timeout)
                .cert_validation(trust.certificate_validation()?)
                .disable_proxy();
            if let Some(credentials) = &credentials {
                builder = builder.auth(credentials.clone());
            }
            let transport = builder
                .build()
                .with_context(|| format!("cannot build a client for {shown}"))?;
            Ok(pool::Node {
                client: Elasticsearch::new(transport),
                shown,
            })
        })?;
        Ok(Self { pool, trust, metrics })
    }

    pub(crate) fn trust(&self) -> &Trust {
        &self.trust
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether the cluster answers at all: any answer below 500 to a health request counts
    /// (a secured cluster answering 401 to the service is up).
    pub async fn ping(&self) -> Result<(), ApiError> {
        let answer = self
            .send("health", |client| async move {
                client
                    .cluster()
                    .health(elasticsearch::cluster::ClusterHealthParts::None)
                    .send()
                    .await
            })
            .await?;
        if answer.status >= 500 {
            return Err(answer.into_error());
        }
        Ok(())
    }

    /// The configured node URLs, without credentials.
    pub fn describe(&self) -> String {
        self.pool.describe()
    }

    /// How many nodes are configured.
    pub fn nodes(&self) -> usize {
        self.pool.len()
    }

    /// One request to the cluster through the client's generic call: method, path (already
    /// percent-encoded), query parameters and a JSON body, with the caller's forwarded headers.
    pub async fn call(
        &self,
        operation: &'static str,
        forwarded: &Forwarded,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Bytes>,
    ) -> Result<ClusterAnswer, ApiError> {
        self.send(operation, |client| {
            let headers = forwarded.headers().clone();
            let body = body.cloned();
            async move { client.send(method, path, headers, Some(query), body, None).await }
        })
        .await
    }

    /// Sends the request that `send` builds to one node. When a node cannot be connected to, the
    /// request never reached it and goes to the next node. When the request went out but its
    /// answer was lost (connection cut), it is sent again to the next node, or once more to the
    /// only one: every request this service sends can be repeated safely (see `sync_job`).
    /// A timeout is answered at once: the time allowed is spent.
    async fn send<F, Fut>(&self, operation: &'static str, send: F) -> Result<ClusterAnswer, ApiError>
    where
        F: Fn(Elasticsearch) -> Fut,
        Fut: Future<Output = Result<Response, elasticsearch::Error>>,
    {
        self.pool
            .each_node(|node| {
                let started = Instant::now();
                let sent = send(node.client.clone());
                async move {
                    let outcome = match sent.await {
                        Ok(response) => read_answer(response).await,
                        Err(err) => Err(Failure::from_client(err)),
                    };
                    self.metrics
                        .observe_upstream(operation, started.elapsed().as_secs_f64());
                    let failure = match outcome {
                        Ok(answer) => {
                            if answer.status >= 500 {
                                self.metrics.upstream_error("server_error");
                            }
                            return Attempt::Answered(answer);
                        }
                        Err(failure) => failure,
                    };
                    self.metrics.upstream_error(failure.kind());
                    match failure {
                        Failure::Timeout(err) => {
                            log::warn!("request to {} timed out: {err}", node.shown);
                            Attempt::Stop(node.timed_out())
                        }
                        Failure::Connect(err) => {
                            log::warn!("cannot connect to {}: {err}", node.shown);
                            Attempt::Unreached
                        }
                        Failure::AnswerLost(err) => {
                            log::warn!("the answer of {} was lost, trying again: {err}", node.shown);
                            Attempt::Lost
                        }
                        Failure::NotJson { status, text } => {
                            log::error!(
                                "{} answered {status} with a body that is not JSON: {text:.512}",
                                node.shown
                            );
                            Attempt::Stop(ApiError::new(
                                ErrorType::UpstreamError,
                                format!(
                                    "the Elasticsearch cluster answered {status} with a body that is not JSON ({})",
                                    node.shown
                                ),
                            ))
                        }
                    }
                }
            })
            .await
    }
}

/// Why a request to one node produced no usable answer.
enum Failure {
    /// The connection was never made: the request did not reach the node.
    Connect(String),
    Timeout(String),
    /// The request may have reached the node, but its answer did not come back whole.
    AnswerLost(String),
    NotJson {
        status: u16,
        text: String,
    },
}

impl Failure {
    fn kind(&self) -> &'static str {
        match self {
            Self::Connect(_) => "unreachable",
            Self::Timeout(_) => "timeout",
            Self::AnswerLost(_) => "answer_lost",
            Self::NotJson { .. } => "not_json",
        }
    }

    fn from_client(err: elasticsearch::Error) -> Self {
        let text = error_chain(&err);
        if err.is_timeout() {
            Self::Timeout(text)
        } else if is_connect_error(&err) {
            Self::Connect(text)
        } else {
            Self::AnswerLost(text)
        }
    }
}

async fn read_answer(response: Response) -> Result<ClusterAnswer, Failure> {
    let status = response.status_code().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after = header("retry-after");
    let www_authenticate = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(str::to_owned)
        .collect();
    let bytes = response.bytes().await.map_err(Failure::from_client)?;
    // Successful answers are parsed by the operation into the type it reads; an error answer is
    // checked here, so that one that is not JSON is reported as such.
    if status >= 300 && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err() {
        return Err(Failure::NotJson {
            status,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        });
    }
    Ok(ClusterAnswer {
        status,
        bytes,
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

impl ClusterAnswer {
    /// The answer as JSON (`Value::Null` when it is not).
    pub fn body(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// The answer read as `T`, or `None` when it does not have that shape.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_slice(&self.bytes).ok()
    }

    /// The answer to give for a cluster answer the operation has no use for. The cluster's own
    /// client errors (401, 403, 429 and other 4xx) pass through with their body, so clients see
    /// what they would see from Elasticsearch; its server errors become 502 and are logged.
    pub fn into_error(self) -> ApiError {
        use actix_web::http::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
        use actix_web::http::StatusCode;

        let body = self.body();
        match StatusCode::from_u16(self.status) {
            Ok(status) if status.is_client_error() && body["error"].is_object() => {
                let mut err = ApiError::Upstream {
                    status,
                    body,
                    headers: Vec::new(),
                };
                let passed = self
                    .retry_after
                    .into_iter()
                    .map(|value| (RETRY_AFTER, value))
                    .chain(
                        self.www_authenticate
                            .into_iter()
                            .map(|value| (WWW_AUTHENTICATE, value)),
                    );
                for (name, value) in passed {
                    if let Ok(value) = HeaderValue::from_str(&value) {
                        err = err.with_header(name, value);
                    }
                }
                err
            }
            _ => {
                log::error!("the cluster answered {}: {body}", self.status);
                let kind = body["error"]["type"].as_str().unwrap_or("no error type");
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
