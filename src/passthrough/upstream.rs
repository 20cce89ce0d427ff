//! Pass-through, the cluster side: the request goes to a node of the pool as it came, and the
//! node's answer is handed back as soon as its head arrives. One plain HTTP client per node (the
//! nodes' TLS settings; no decompression, no redirects, no proxy), requests spread round-robin,
//! a node that refuses the connection skipped.
//!
//! A request goes to another node only when nothing of it reached the first one (the connection
//! was never made), or when it is a GET or HEAD whose body, if any, can be sent again.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};

use super::upload::Upload;
use crate::cluster::{error_chain, Attempt, Node, Pool, Trust};
use crate::config::{ServiceCredentials, Settings};
use crate::error::{ApiError, ErrorType};
use crate::metrics::Metrics;

/// Time a node has to accept the connection; one that does not is skipped like one that refuses.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct Passthrough {
    /// Each node's client, shown as its URL without credentials and without a trailing slash:
    /// the request's path and query are appended to it as they came.
    pool: Pool<reqwest::Client>,
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

/// A request on its way to the cluster.
pub(crate) struct Outgoing {
    pub(crate) method: Method,
    /// Path and query exactly as the client sent them (see `check_target`).
    pub(crate) target: String,
    /// The client's headers less the hop-by-hop ones, `Host` and `Expect`.
    pub(crate) headers: HeaderMap,
    /// None when the request has no body.
    pub(crate) body: Option<Upload>,
}

impl Passthrough {
    /// The pass-through clients, or None when pass-through is off.
    pub(crate) fn connect(
        settings: &Settings,
        trust: &Trust,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Option<Self>> {
        let Some(passthrough) = &settings.passthrough else {
            return Ok(None);
        };
        // The URLs without user information: credentials written into a URL are the service's
        // and never go on with a passed-through request.
        let pool = Pool::connect(settings, |_, shown| {
            let builder = reqwest::Client::builder()
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
            let client = trust
                .configure(builder)
                .build()
                .with_context(|| format!("cannot build a pass-through client for {shown}"))?;
            Ok(Node {
                client,
                shown: shown.trim_end_matches('/').to_owned(),
            })
        })?;
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
            pool,
            timeout: passthrough.timeout,
            credentials,
            metrics,
        }))
    }

    pub(crate) fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Sends the request to a node and returns its answer as soon as its head arrives; the body
    /// streams afterwards. Errors are the service's own answers in Elasticsearch's envelope: 503
    /// when no node could be reached, 502 when the answer was lost after the request went out
    /// (and it could not be sent again), 504 when `passthrough_timeout` ran out, 400 when the
    /// client's own body could not be read.
    pub(crate) async fn send(&self, outgoing: Outgoing) -> Result<reqwest::Response, ApiError> {
        let idempotent = matches!(outgoing.method, Method::GET | Method::HEAD);
        let outgoing = &outgoing;
        self.pool
            .each_node(|node| async move {
                let mut request = node
                    .client
                    .request(
                        outgoing.method.clone(),
                        format!("{}{}", node.shown, outgoing.target),
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
                            log::warn!("a passed-through request to {} timed out", node.shown);
                            return Attempt::Stop(node.timed_out());
                        }
                    },
                };
                let err = match sent {
                    Ok(response) => {
                        if response.status().is_server_error() {
                            self.metrics.upstream_error("server_error");
                        }
                        return Attempt::Answered(response);
                    }
                    // The URL carries the query string, which is not logged.
                    Err(err) => err.without_url(),
                };
                if let Some(reason) = outgoing.body.as_ref().and_then(Upload::client_failure) {
                    return Attempt::Stop(ApiError::new(
                        ErrorType::IllegalArgument,
                        format!("the request body could not be read: {reason}"),
                    ));
                }
                if err.is_builder() {
                    return Attempt::Stop(ApiError::new(
                        ErrorType::IllegalArgument,
                        format!("the request cannot be passed on: {}", error_chain(&err)),
                    ));
                }
                if err.is_connect() {
                    // The connection was never made: nothing of the request reached the node.
                    self.metrics.upstream_error("unreachable");
                    log::warn!("cannot connect to {}: {}", node.shown, error_chain(&err));
                    return Attempt::Unreached;
                }
                self.metrics.upstream_error("answer_lost");
                let resendable = outgoing.body.as_ref().is_none_or(Upload::can_resend);
                if idempotent && resendable {
                    log::warn!(
                        "the answer of {} to a {} was lost, trying again: {}",
                        node.shown,
                        outgoing.method,
                        error_chain(&err)
                    );
                    return Attempt::Lost;
                }
                log::warn!(
                    "the answer of {} to a {} was lost; not sent again, the request may have been applied: {}",
                    node.shown,
                    outgoing.method,
                    error_chain(&err)
                );
                Attempt::Stop(ApiError::new(
                    ErrorType::UpstreamError,
                    format!(
                        "the Elasticsearch cluster's answer was lost [{}]; the request was not sent again \
                         and may have been applied",
                        node.shown
                    ),
                ))
            })
            .await
    }
}

/// Whether a request target can go to the node exactly as it came. The HTTP client resolves
/// `.` and `..` path segments (also percent-encoded ones) and reads `\` as `/`, which would send
/// the request to another path; such targets are refused rather than changed.
pub(crate) fn check_target(target: &str) -> Result<(), ApiError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
