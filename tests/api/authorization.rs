//! `authorization`: on the secured node (scripts/secure-node.sh) the default mode authorises the
//! connector APIs by Elasticsearch's cluster privileges, asked of the cluster with the caller's
//! credentials, and then uses the service credentials; `auto` chooses from what the cluster
//! reports. The users × every-API matrix lives beside these in its own file.

use std::time::Duration;

use connector_sync_proxy::config::{Authorization, ServiceCredentials};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::helpers::{encode, unique_id, ServiceProcess, TestApp, INDEX};
use crate::security::{
    app, app_in, ca_path, call_as, secure_node, secure_url, seed, stored_status, trusting_the_test_ca,
    ELASTIC, WRITER,
};

pub(crate) const MON: (&str, &str) = ("mon", "mon-password");
pub(crate) const MGR: (&str, &str) = ("mgr", "mgr-password");
pub(crate) const MGRSEC: (&str, &str) = ("mgrsec", "mgrsec-password");

/// Service credentials with no more than the connector indices need: `writer`.
fn service_user() -> Option<ServiceCredentials> {
    Some(ServiceCredentials::Basic {
        username: WRITER.0.into(),
        password: SecretString::from(WRITER.1),
    })
}

/// The service in front of the secured node in its default mode, with service credentials.
async fn default_app() -> TestApp {
    app(trusting_the_test_ca(), service_user()).await
}

/// The challenges of a 401, in order.
fn challenges(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

async fn request(app: &TestApp, user: Option<(&str, &str)>, method: Method, path: &str) -> reqwest::Response {
    let request = app.http.request(method, format!("{}{path}", app.address));
    match user {
        Some((name, password)) => request.basic_auth(name, Some(password)),
        None => request,
    }
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn a_monitor_reads_jobs_but_cannot_cancel_and_a_manager_can() {
    let node = secure_node().await;
    let app = default_app().await;
    let id = seed(&node, "in_progress").await;
    let job = format!("/_connector/_sync_job/{}", encode(&id));

    let (status, got) = call_as(&app, Some(MON), Method::GET, &job, None).await;
    assert_eq!(
        (status, &got["status"]),
        (StatusCode::OK, &json!("in_progress")),
        "{got}"
    );
    let (status, listed) = call_as(&app, Some(MON), Method::GET, "/_connector/_sync_job?size=1", None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert!(listed["count"].is_u64(), "{listed}");

    let refused = request(&app, Some(MON), Method::PUT, &format!("{job}/_cancel")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.headers()["x-elastic-product"], "Elasticsearch");
    let reason = "action [cluster:admin/xpack/connector/sync_job/cancel] is unauthorized for user [mon] \
                  with effective roles [connector_monitor], this action is granted by the cluster \
                  privileges [manage_connector,manage,all]";
    assert_eq!(
        refused.text().await.unwrap(),
        json!({
            "error": {
                "root_cause": [{"type": "security_exception", "reason": reason}],
                "type": "security_exception",
                "reason": reason,
            },
            "status": 403,
        })
        .to_string(),
        "Elasticsearch's refusal, byte for byte"
    );
    assert_eq!(
        stored_status(&node, &id).await,
        "in_progress",
        "a refused cancel wrote"
    );

    let (status, answer) = call_as(&app, Some(MGR), Method::PUT, &format!("{job}/_cancel"), None).await;
    assert_eq!((status, &answer), (StatusCode::OK, &json!({"result": "updated"})));
    assert_eq!(stored_status(&node, &id).await, "canceling");
}

#[tokio::test]
async fn validation_comes_before_the_refusal_as_in_elasticsearch() {
    let app = default_app().await;
    // A body the API does not take is a 400 even for a caller without the privilege.
    let (status, answer) = call_as(
        &app,
        Some(MON),
        Method::PUT,
        "/_connector/_sync_job/x/_error",
        Some(json!({"no_such_field": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
}

#[tokio::test]
async fn secrets_need_the_secrets_privileges_not_manage_connector() {
    let app = default_app().await;
    let (status, answer) = call_as(&app, Some(MGR), Method::GET, "/_connector/_secret/none", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(
        answer["error"]["reason"],
        "action [cluster:admin/xpack/connector/secret/get] is unauthorized for user [mgr] with \
         effective roles [connector_manager], this action is granted by the cluster privileges \
         [read_connector_secrets,manage,all]"
    );
    let (status, answer) = call_as(
        &app,
        Some(MGR),
        Method::POST,
        "/_connector/_secret",
        Some(json!({"value": unique_id("refused-secret")})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(answer["error"]["reason"]
        .as_str()
        .unwrap()
        .ends_with("granted by the cluster privileges [write_connector_secrets,manage,all]"));

    // mgrsec holds both. Service credentials that may use .connector-secrets (writer's reach
    // only the connector indices) then answer for it.
    let elastic = Some(ServiceCredentials::Basic {
        username: ELASTIC.0.into(),
        password: SecretString::from(ELASTIC.1),
    });
    let app = crate::security::app(trusting_the_test_ca(), elastic).await;
    let value = unique_id("secret-value");
    let (status, answer) = call_as(
        &app,
        Some(MGRSEC),
        Method::POST,
        "/_connector/_secret",
        Some(json!({ "value": value })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let path = format!("/_connector/_secret/{}", answer["id"].as_str().unwrap());
    let (status, got) = call_as(&app, Some(MGRSEC), Method::GET, &path, None).await;
    assert_eq!((status, &got["value"]), (StatusCode::OK, &json!(value)));
    let (status, _) = call_as(&app, Some(MGR), Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "manage_connector reads no secret");
    let (status, _) = call_as(&app, Some(MGRSEC), Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn no_credentials_is_a_401_with_the_nodes_challenges_and_nothing_is_written() {
    let node = secure_node().await;
    let app = default_app().await;
    let id = seed(&node, "in_progress").await;
    let path = format!("/_connector/_sync_job/{}/_cancel?pretty", encode(&id));

    let refused = request(&app, None, Method::PUT, &path).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenges = challenges(&refused);
    // The node's own challenges, as it sends them for a request without credentials.
    let direct = node
        .get(format!("{}/_cluster/health", secure_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenges, self::challenges(&direct));
    assert!(challenges.len() > 1, "{challenges:?}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["type"], "security_exception");
    assert_eq!(
        body["error"]["reason"],
        format!("missing authentication credentials for REST request [{path}]"),
        "the request's own URI, query string included"
    );
    assert_eq!(body["error"]["header"]["WWW-Authenticate"], json!(challenges));
    assert_eq!(
        stored_status(&node, &id).await,
        "in_progress",
        "served with the service's privileges"
    );

    // Authentication comes first, as on the node: before a wrong method's 405.
    let wrong_method = request(&app, None, Method::GET, &path).await;
    assert_eq!(wrong_method.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = call_as(&app, Some(MON), Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_wrong_password_names_the_request_and_is_never_kept_as_valid() {
    let app = app_in(
        Authorization::ClusterPrivileges,
        trusting_the_test_ca(),
        service_user(),
    )
    .await;
    let path = "/_connector/_sync_job?connector_id=nothing-here";
    let wrong = (MON.0, "not-the-password");

    let refused = request(&app, Some(wrong), Method::GET, path).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(!challenges(&refused).is_empty());
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body["error"]["reason"],
        format!("unable to authenticate user [mon] for REST request [{path}]"),
        "not the internal question asked of the cluster"
    );

    let (status, answer) = call_as(&app, Some(MON), Method::GET, path, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the right password after a wrong one: {answer}"
    );
    let again = request(&app, Some(wrong), Method::GET, path).await;
    assert_eq!(
        again.status(),
        StatusCode::UNAUTHORIZED,
        "a wrong password after the right one, with its answer cached"
    );
    let (status, _) = call_as(&app, Some(MON), Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn pass_through_carries_only_the_callers_credentials() {
    let app = default_app().await;

    let anonymous = request(&app, None, Method::GET, "/_cluster/health").await;
    assert_eq!(
        anonymous.status(),
        StatusCode::UNAUTHORIZED,
        "a passed-through request without credentials got the service's"
    );
    assert!(!challenges(&anonymous).is_empty());

    // mon may use the connector APIs, but has no index privilege: the index is not readable
    // through pass-through, where the cluster sees mon, not the service.
    let search = request(&app, Some(MON), Method::GET, &format!("/{INDEX}/_search?size=0")).await;
    assert_eq!(search.status(), StatusCode::FORBIDDEN);
    let body: Value = search.json().await.unwrap();
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("for user [mon]"),
        "{body}"
    );
    let who = request(&app, Some(MON), Method::GET, "/_security/_authenticate").await;
    assert_eq!(who.json::<Value>().await.unwrap()["username"], "mon");
}

/// The binary with service credentials from a file, as deployed.
fn start_with_service_credentials(url: &str, extra: &[&str]) -> (ServiceProcess, tempfile_path::Path) {
    let password = tempfile_path::Path::with(ELASTIC.1);
    let mut args = vec![
        "--es-url",
        url,
        "--es-username",
        ELASTIC.0,
        "--es-password-file",
        password.as_str(),
        "--install-templates",
        "false",
    ];
    args.extend_from_slice(extra);
    (ServiceProcess::start(&args), password)
}

/// A file that is removed when dropped.
mod tempfile_path {
    pub(super) struct Path(std::path::PathBuf);

    impl Path {
        pub(super) fn with(text: &str) -> Self {
            let path = std::env::temp_dir().join(crate::helpers::unique_id("csp-password"));
            std::fs::write(&path, text).unwrap();
            Self(path)
        }

        pub(super) fn as_str(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }

    impl Drop for Path {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// Waits until the service logged a line containing `text`, and returns it.
fn logged(service: &mut ServiceProcess, text: &str) -> String {
    for _ in 0..100 {
        if let Some(line) = service.log_lines().into_iter().find(|line| line.contains(text)) {
            return line;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = service.stop_and_collect_log();
    panic!("no line with [{text}] in the log: {log:#?}");
}

#[tokio::test]
async fn auto_chooses_cluster_privileges_on_the_secured_node_and_forward_on_a_plain_one() {
    secure_node().await;
    let ca = ca_path();
    let (mut secured, _password) =
        start_with_service_credentials(&secure_url(), &["--es-ca-cert", ca.to_str().unwrap()]);
    let line = logged(&mut secured, "authorization ");
    assert!(
        line.contains("authorization cluster_privileges: chosen by auto"),
        "{line}"
    );
    let http = reqwest::Client::new();
    let refused = http
        .get(format!("{}/_connector/_sync_job", secured.address))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "no credentials");
    let log = secured.stop_and_collect_log();
    assert_eq!(
        log.iter().filter(|line| line.contains("authorization ")).count(),
        1,
        "one line says which: {log:#?}"
    );
    assert!(
        !log.iter().any(|line| line.contains(ELASTIC.1)),
        "the service password in the log"
    );

    let plain = crate::helpers::Node::connect(&crate::helpers::ELASTICSEARCH).await;
    let (mut forwarding, _password) = start_with_service_credentials(&plain.url, &[]);
    let line = logged(&mut forwarding, "authorization ");
    assert!(line.contains("authorization forward: chosen by auto"), "{line}");
    assert!(line.contains("no security"), "{line}");
    forwarding.stop_and_collect_log();
}
