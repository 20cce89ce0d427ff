//! Against a node with security and HTTPS on (scripts/secure-node.sh), in `forward` mode: the
//! cluster's own privileges decide, service credentials are used only when configured,
//! certificates are checked. `authorization.rs` tests the default mode there,
//! `cluster_privileges`.

use std::path::PathBuf;
use std::time::Duration;

use connector_sync_proxy::config::{Authorization, ServiceCredentials, TlsVerification};
use secrecy::SecretString;
use serde_json::Value;

use crate::helpers::{encode, job, spawn_app_with, unique_id, TestApp, ELASTICSEARCH, INDEX};

pub(crate) fn secure_url() -> String {
    std::env::var("CSP_TEST_SECURE_URL").unwrap_or_else(|_| "https://127.0.0.1:9202".to_owned())
}

pub(crate) fn ca_path() -> PathBuf {
    std::env::var_os("CSP_TEST_SECURE_CA")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("connector-sync-proxy-nodes/secure-node-ca.pem"))
}

pub(crate) const ELASTIC: (&str, &str) = ("elastic", "elastic-test-password");
pub(crate) const WRITER: (&str, &str) = ("writer", "writer-password");
pub(crate) const READER: (&str, &str) = ("reader", "reader-password");

/// A client of the secured node itself, trusting the test CA, as `elastic`.
pub(crate) async fn secure_node() -> reqwest::Client {
    let hint = "no secured node: start it with `scripts/secure-node.sh start`, or run the whole suite \
                with `scripts/test.sh`";
    let pem =
        std::fs::read(ca_path()).unwrap_or_else(|err| panic!("{hint} ({}: {err})", ca_path().display()));
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let health = http
        .get(format!(
            "{}/_cluster/health/{INDEX}?wait_for_status=yellow&timeout=10s",
            secure_url()
        ))
        .basic_auth(ELASTIC.0, Some(ELASTIC.1))
        .send()
        .await;
    assert!(
        matches!(&health, Ok(response) if response.status().is_success()),
        "{hint} ({health:?})"
    );
    http
}

pub(crate) async fn seed(http: &reqwest::Client, status: &str) -> String {
    let id = unique_id("secure");
    let response = http
        .put(format!(
            "{}/{INDEX}/_doc/{}?refresh=true",
            secure_url(),
            encode(&id)
        ))
        .basic_auth(ELASTIC.0, Some(ELASTIC.1))
        .json(&job(status))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "seeding: {}",
        response.text().await.unwrap()
    );
    id
}

pub(crate) async fn stored_status(http: &reqwest::Client, id: &str) -> Value {
    let body: Value = http
        .get(format!("{}/{INDEX}/_doc/{}", secure_url(), encode(id)))
        .basic_auth(ELASTIC.0, Some(ELASTIC.1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["_source"]["status"].clone()
}

/// A request to the service as `user` (Basic credentials, or none), the status and the answer.
pub(crate) async fn call_as(
    app: &TestApp,
    user: Option<(&str, &str)>,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (reqwest::StatusCode, Value) {
    let mut request = app.http.request(method, format!("{}{path}", app.address));
    if let Some((name, password)) = user {
        request = request.basic_auth(name, Some(password));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The service in front of the secured node, with the default `authorization` (`auto`).
pub(crate) async fn app(tls: TlsVerification, credentials: Option<ServiceCredentials>) -> TestApp {
    app_in(Authorization::Auto, tls, credentials).await
}

/// The service in front of the secured node, authorising as `mode` says.
pub(crate) async fn app_in(
    mode: Authorization,
    tls: TlsVerification,
    credentials: Option<ServiceCredentials>,
) -> TestApp {
    let url = secure_url();
    spawn_app_with(ELASTICSEARCH, move |settings| {
        settings.es_urls = vec![url.parse().unwrap()];
        settings.tls = tls;
        settings.credentials = credentials;
        settings.authorization = mode;
    })
    .await
}

/// The service in `forward` mode: the caller's credentials go to the cluster.
pub(crate) async fn forwarding_app(tls: TlsVerification, credentials: Option<ServiceCredentials>) -> TestApp {
    app_in(Authorization::Forward, tls, credentials).await
}

pub(crate) fn trusting_the_test_ca() -> TlsVerification {
    TlsVerification::Verify {
        extra_ca: Some(ca_path()),
    }
}

async fn cancel_as(app: &TestApp, id: &str, user: Option<(&str, &str)>) -> reqwest::Response {
    let request = app.http.put(app.cancel_url(&encode(id)));
    let request = match user {
        Some((name, password)) => request.basic_auth(name, Some(password)),
        None => request,
    };
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_callers_own_credentials_decide() {
    let node = secure_node().await;
    let app = forwarding_app(trusting_the_test_ca(), None).await;

    let id = seed(&node, "in_progress").await;
    let writer = cancel_as(&app, &id, Some(WRITER)).await;
    assert_eq!(writer.status(), 200, "{}", writer.text().await.unwrap());
    assert_eq!(stored_status(&node, &id).await, "canceling");

    let id = seed(&node, "in_progress").await;
    let reader = cancel_as(&app, &id, Some(READER)).await;
    assert_eq!(reader.status(), 403);
    assert_eq!(reader.headers()["x-elastic-product"], "Elasticsearch");
    let body: Value = reader.json().await.unwrap();
    assert_eq!(body["error"]["type"], "security_exception", "{body}");
    assert_eq!(
        stored_status(&node, &id).await,
        "in_progress",
        "a read-only user changed the job"
    );

    let anonymous = cancel_as(&app, &id, None).await;
    assert_eq!(anonymous.status(), 401);
    let challenges: Vec<&str> = anonymous
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect();
    assert!(
        challenges
            .iter()
            .any(|value| value.starts_with("Basic realm=\"security\"")),
        "{challenges:?}"
    );
    assert!(
        challenges.len() > 1,
        "every challenge of the cluster is passed on: {challenges:?}"
    );
    assert_eq!(
        anonymous.json::<Value>().await.unwrap()["error"]["type"],
        "security_exception"
    );
    assert_eq!(stored_status(&node, &id).await, "in_progress");
}

#[tokio::test]
async fn service_credentials_serve_requests_without_their_own_and_never_override_a_callers() {
    let node = secure_node().await;
    let service_user = ServiceCredentials::Basic {
        username: WRITER.0.into(),
        password: SecretString::from(WRITER.1),
    };
    // Forward mode keeps what the service always did; in the default mode on this node
    // (cluster_privileges) a request without credentials is a 401 (authorization.rs).
    let app = forwarding_app(trusting_the_test_ca(), Some(service_user)).await;

    let id = seed(&node, "pending").await;
    assert_eq!(
        cancel_as(&app, &id, None).await.status(),
        200,
        "no credentials: the service's are used"
    );
    assert_eq!(stored_status(&node, &id).await, "canceled");

    let id = seed(&node, "pending").await;
    assert_eq!(
        cancel_as(&app, &id, Some(READER)).await.status(),
        403,
        "the caller's credentials win"
    );
    assert_eq!(stored_status(&node, &id).await, "pending");
}

#[tokio::test]
async fn certificates_are_checked_unless_explicitly_not() {
    let node = secure_node().await;

    let strict = app(TlsVerification::Verify { extra_ca: None }, None).await;
    let id = seed(&node, "in_progress").await;
    let refused = cancel_as(&strict, &id, Some(WRITER)).await;
    assert_eq!(refused.status(), 503, "an unknown CA must not be trusted");
    assert_eq!(stored_status(&node, &id).await, "in_progress");

    let insecure = app(TlsVerification::Skip, None).await;
    assert_eq!(
        cancel_as(&insecure, &id, Some(WRITER)).await.status(),
        200,
        "verification skipped on request"
    );
}
