//! The Elasticsearch cluster behind the service: one official client per configured node,
//! requests spread round-robin, and a request that could not reach a node sent to the next one.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix_web::web::Bytes;
use anyhow::Context;
use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::headers::{HeaderMap, HeaderName, HeaderValue, ACCEPT_ENCODING};
use elasticsearch::http::response::Response;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::http::Method;
use elasticsearch::Elasticsearch;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::config::{ServiceCredentials, Settings, TlsVerification};
use crate::error::{ApiError, ErrorType};
use crate::metrics::Metrics;

pub struct Cluster {
    nodes: Vec<Node>,
    next: AtomicUsize,
    metrics: Arc<Metrics>,
}

struct Node {
    client: Elasticsearch,
    /// The URL without credentials, for logs and error messages.
    shown: String,
}

/// The client's certificate check (its type cannot be cloned, so each node gets its own).
fn certificate_validation(
    tls: &TlsVerification,
    extra_ca: Option<&[u8]>,
) -> anyhow::Result<CertificateValidation> {
    let Some(pem) = extra_ca else {
        return Ok(match tls {
            TlsVerification::Skip => CertificateValidation::None,
            TlsVerification::Verify { .. } => CertificateValidation::Default,
        });
    };
    let chain = Certificate::from_pem(pem).context("the CA file holds a certificate that cannot be read")?;
    anyhow::ensure!(
        chain.clone().into_iter().next().is_some(),
        "the CA file holds no PEM certificate"
    );
    Ok(CertificateValidation::Full(chain))
}

/// Headers of the client's request that go on to the cluster: its credentials, so that the
/// cluster's own privileges decide what the caller may do (they replace any service
/// credentials), its X-Opaque-Id and its trace context.
#[derive(Debug, Clone, Default)]
pub struct Forwarded(HeaderMap);

pub const FORWARDED_HEADERS: [&str; 4] = ["authorization", "x-opaque-id", "traceparent", "tracestate"];

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

    pub fn headers(&self) -> &HeaderMap {
        &self.0
    }
}

/// Adds the forwarded headers to a request builder of the client (each API has its own type).
#[macro_export]
macro_rules! forward_headers {
    ($request:expr, $forwarded:expr) => {{
        let mut request = $request;
        for (name, value) in $forwarded.headers() {
            request = request.header(name.clone(), value.clone());
        }
        request
    }};
}

/// What a node answered: its status, its JSON body (as sent; parsed by whoever needs it, into
/// the type it needs) and the headers a client may need.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub bytes: Bytes,
    pub retry_after: Option<String>,
    /// Every challenge the cluster sent (a secured cluster sends one header per scheme).
    pub www_authenticate: Vec<String>,
}

impl Cluster {
    pub fn connect(settings: &Settings, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let extra_ca = match &settings.tls {
            TlsVerification::Skip => {
                log::warn!(
                    "not verifying the certificates of the nodes (es_insecure_skip_verify): development only"
                );
                None
            }
            TlsVerification::Verify { extra_ca: Some(path) } => Some(
                std::fs::read(path)
                    .with_context(|| format!("cannot read the CA certificates in {}", path.display()))?,
            ),
            TlsVerification::Verify { extra_ca: None } => None,
        };
        let credentials = settings
            .credentials
            .as_ref()
            .map(|credentials| match credentials {
                ServiceCredentials::Basic { username, password } => {
                    Credentials::Basic(username.clone(), password.expose_secret().to_owned())
                }
                ServiceCredentials::ApiKey(key) => Credentials::EncodedApiKey(key.expose_secret().to_owned()),
            });
        let nodes = settings
            .es_urls
            .iter()
            .zip(settings.redacted_es_urls())
            .map(|(url, shown)| {
                let mut builder = TransportBuilder::new(SingleNodeConnectionPool::new(url.clone()))
                    // The client asks for gzip by default; the answers read here are a few hundred
                    // bytes, and compressing and inflating each one cost both sides more CPU than
                    // the bytes saved (docs/benchmarks.md).
                    .header(ACCEPT_ENCODING, HeaderValue::from_static("identity"))
                    .timeout(settings.upstream_timeout)
                    .cert_validation(certificate_validation(&settings.tls, extra_ca.as_deref())?)
                    .disable_proxy();
                if let Some(credentials) = &credentials {
                    builder = builder.auth(credentials.clone());
                }
                let transport = builder
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
            metrics,
        })
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether the cluster answers at all: any answer below 500 to a health request counts
    /// (a secured cluster answering 401 to the service is up).
    pub async fn ping(&self) -> Result<(), ApiError> {
        let reply = self
            .send("health", |client| async move {
                client
                    .cluster()
                    .health(elasticsearch::cluster::ClusterHealthParts::None)
                    .send()
                    .await
            })
            .await?;
        if reply.status >= 500 {
            return Err(reply.into_error());
        }
        Ok(())
    }

    /// The configured node URLs, without credentials.
    pub fn describe(&self) -> String {
        self.nodes
            .iter()
            .map(|node| node.shown.as_str())
            .collect::<Vec<_>>()
            .join(", ")
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
    ) -> Result<Reply, ApiError> {
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
    pub async fn send<F, Fut>(&self, operation: &'static str, send: F) -> Result<Reply, ApiError>
    where
        F: Fn(Elasticsearch) -> Fut,
        Fut: Future<Output = Result<Response, elasticsearch::Error>>,
    {
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let attempts = self.nodes.len().max(2);
        let mut failures = Vec::new();
        let mut any_reached = false;
        for attempt in 0..attempts {
            let node = &self.nodes[(first + attempt) % self.nodes.len()];
            let started = Instant::now();
            let outcome = match send(node.client.clone()).await {
                Ok(response) => read_reply(response).await,
                Err(err) => Err(Failure::from_client(err)),
            };
            self.metrics
                .observe_upstream(operation, started.elapsed().as_secs_f64());
            let failure = match outcome {
                Ok(reply) => {
                    if reply.status >= 500 {
                        self.metrics.upstream_error("server_error");
                    }
                    return Ok(reply);
                }
                Err(failure) => failure,
            };
            self.metrics.upstream_error(failure.kind());
            match failure {
                Failure::Timeout(err) => {
                    log::warn!("request to {} timed out: {err}", node.shown);
                    return Err(ApiError::new(
                        ErrorType::UpstreamTimeout,
                        format!(
                            "the Elasticsearch cluster did not answer in time ({})",
                            node.shown
                        ),
                    ));
                }
                Failure::Connect(err) => log::warn!("cannot connect to {}: {err}", node.shown),
                Failure::AnswerLost(err) => {
                    any_reached = true;
                    log::warn!("the answer of {} was lost, trying again: {err}", node.shown);
                }
                Failure::NotJson { status, text } => {
                    log::error!(
                        "{} answered {status} with a body that is not JSON: {text:.512}",
                        node.shown
                    );
                    return Err(ApiError::new(
                        ErrorType::UpstreamError,
                        format!(
                            "the Elasticsearch cluster answered {status} with a body that is not JSON ({})",
                            node.shown
                        ),
                    ));
                }
            }
            failures.push(node.shown.as_str());
        }
        Err(no_node_answered(failures, any_reached))
    }
}

/// The error once every node was tried and none gave an answer: lost answers when a request
/// reached some node, the cluster unavailable when none could be reached. `failures` names the
/// nodes in the order they were tried.
pub(crate) fn no_node_answered<S: AsRef<str> + PartialEq>(
    mut failures: Vec<S>,
    any_reached: bool,
) -> ApiError {
    failures.dedup();
    let nodes = failures.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ");
    if any_reached {
        ApiError::new(
            ErrorType::UpstreamError,
            format!("the Elasticsearch cluster's answers were lost [{nodes}]"),
        )
    } else {
        ApiError::new(
            ErrorType::UpstreamUnavailable,
            format!("the Elasticsearch cluster is unavailable: no node could be reached [{nodes}]"),
        )
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

async fn read_reply(response: Response) -> Result<Reply, Failure> {
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
    Ok(Reply {
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

/// The error and its causes on one line, for the log.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
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
    /// The answer as JSON (`Value::Null` when it is not).
    pub fn body(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// The answer read as `T`, or `None` when it does not have that shape.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_slice(&self.bytes).ok()
    }

    /// The answer to give for a cluster reply the operation has no use for. The cluster's own
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
