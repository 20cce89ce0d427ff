//! Issue #20 on the secured node (scripts/secure-node.sh): in `cluster_privileges` mode every
//! connector, sync-job and secrets API through the service is allowed exactly to the users
//! Elasticsearch allows it to, each refusal is Elasticsearch's own (status, type, wording), a
//! refused request writes nothing, the connector service's role drives a whole sync, a revoked
//! role stops working within the cache time, and no credential or secret shows in logs,
//! metrics or errors.
//!
//! The expectations are read from Elasticsearch's sources, not from the service: each REST
//! handler's transport action (`*Action.NAME`) and the cluster privileges that grant it
//! (`ClusterPrivilegeResolver`): `monitor_connector` grants connector get/list and sync-job
//! get/list; `manage_connector` grants `cluster:admin/xpack/connector/*` except the four secret
//! actions; `read_connector_secrets` grants `secret/get`, `write_connector_secrets` grants
//! `secret/post`, `secret/put`, `secret/delete`; `manage` and `all` grant every one of them.
//! A denial names the granting privileges from least to most privileged, as the resolver sorts
//! them. The test users are scripts/secure-node.sh's.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use connector_sync_proxy::config::{Authorization, ServiceCredentials};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::helpers::{
    encode, es_error, metrics_text, spawn_app_with, unique_id, ServiceProcess, TestApp, ELASTICSEARCH,
};
use crate::security::{ca_path, secure_node, secure_url, trusting_the_test_ca, ELASTIC};

/// Which privileges Elasticsearch requires for an action, and so which users hold it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Needs {
    /// connector get/list, sync-job get/list
    Monitor,
    /// every other connector and sync-job action
    Manage,
    /// `secret/get`
    ReadSecrets,
    /// `secret/post`, `secret/put`, `secret/delete`
    WriteSecrets,
}

impl Needs {
    /// The cluster privileges that grant the action, in the order Elasticsearch's denial
    /// message lists them.
    fn granted_by(self) -> &'static str {
        match self {
            Needs::Monitor => "monitor_connector,manage_connector,manage,all",
            Needs::Manage => "manage_connector,manage,all",
            Needs::ReadSecrets => "read_connector_secrets,manage,all",
            Needs::WriteSecrets => "write_connector_secrets,manage,all",
        }
    }
}

/// A file-realm user of the secured node.
struct User {
    name: &'static str,
    /// Its roles as Elasticsearch's denial lists them (sorted, comma-separated).
    roles: &'static str,
    holds: &'static [Needs],
}

impl User {
    fn password(&self) -> String {
        format!("{}-password", self.name)
    }

    fn may(&self, needs: Needs) -> bool {
        self.holds.contains(&needs)
    }
}

const MON: User = User {
    name: "mon",
    roles: "connector_monitor",
    holds: &[Needs::Monitor],
};
const MGR: User = User {
    name: "mgr",
    roles: "connector_manager",
    holds: &[Needs::Monitor, Needs::Manage],
};
const MGRSEC: User = User {
    name: "mgrsec",
    roles: "connector_manager,connector_secrets",
    holds: &[
        Needs::Monitor,
        Needs::Manage,
        Needs::ReadSecrets,
        Needs::WriteSecrets,
    ],
};
/// Raw read and write on `.elastic-connectors*`, no connector privilege: refused everywhere,
/// as on Elasticsearch.
const RAWIDX: User = User {
    name: "rawidx",
    roles: "connectors_writer",
    holds: &[],
};
const NOBODY: User = User {
    name: "nobody",
    roles: "",
    holds: &[],
};
const USERS: [User; 5] = [MON, MGR, MGRSEC, RAWIDX, NOBODY];

/// What a row's request needs to exist before it is sent (made through the service as
/// `elastic`, so in the layout the service itself writes).
#[derive(Clone, Copy, PartialEq)]
enum Prep {
    Nothing,
    /// a connector whose draft filtering is validated, so that it can be activated
    ValidDraft,
    /// the job claimed (`in_progress`), for cancel and error
    InProgress,
}

/// One API of the service: its route name, Elasticsearch's transport action, what grants it,
/// and a request it accepts for a user that holds the privilege.
struct Row {
    api: &'static str,
    action: &'static str,
    needs: Needs,
    method: Method,
    /// `{c}` is the connector id, `{j}` the job id, `{s}` the secret id, `{t}` a fresh tag
    path: &'static str,
    body: Option<&'static str>,
    prep: Prep,
}

fn row(
    api: &'static str,
    action: &'static str,
    needs: Needs,
    method: Method,
    path: &'static str,
    body: Option<&'static str>,
) -> Row {
    Row {
        api,
        action,
        needs,
        method,
        path,
        body,
        prep: Prep::Nothing,
    }
}

const A: &str = "cluster:admin/xpack/connector/";
const NEW_CONNECTOR: &str = r#"{"index_name": "{t}", "name": "{t}", "service_type": "mongodb"}"#;

/// Every API of src/http/apis/*.rs. A new API is one more row.
fn table() -> Vec<Row> {
    use Method as M;
    use Needs::*;
    let update = |api, action, path, body| row(api, action, Manage, M::PUT, path, body);
    vec![
        row(
            "put_connector",
            "put",
            Manage,
            M::PUT,
            "/_connector/new-{t}",
            Some(NEW_CONNECTOR),
        ),
        row(
            "put_connector_without_id",
            "put",
            Manage,
            M::PUT,
            "/_connector",
            Some(NEW_CONNECTOR),
        ),
        row(
            "post_connector",
            "post",
            Manage,
            M::POST,
            "/_connector",
            Some(NEW_CONNECTOR),
        ),
        row("get_connector", "get", Monitor, M::GET, "/_connector/{c}", None),
        row(
            "list_connector",
            "list",
            Monitor,
            M::GET,
            "/_connector?index_name={c}",
            None,
        ),
        row(
            "delete_connector",
            "delete",
            Manage,
            M::DELETE,
            "/_connector/{c}",
            None,
        ),
        update(
            "update_connector_last_seen",
            "update_last_seen",
            "/_connector/{c}/_check_in",
            None,
        ),
        Row {
            prep: Prep::ValidDraft,
            ..update(
                "update_connector_active_filtering",
                "update_filtering/activate",
                "/_connector/{c}/_filtering/_activate",
                None,
            )
        },
        update(
            "update_connector_api_key_id",
            "update_api_key_id",
            "/_connector/{c}/_api_key_id",
            Some(r#"{"api_key_id": "key"}"#),
        ),
        update(
            "update_connector_configuration",
            "update_configuration",
            "/_connector/{c}/_configuration",
            Some(r#"{"values": {}}"#),
        ),
        update(
            "update_connector_error",
            "update_error",
            "/_connector/{c}/_error",
            Some(r#"{"error": "boom"}"#),
        ),
        update(
            "update_connector_features",
            "update_features",
            "/_connector/{c}/_features",
            Some(r#"{"features": {"incremental_sync": {"enabled": true}}}"#),
        ),
        update(
            "update_connector_filtering",
            "update_filtering",
            "/_connector/{c}/_filtering",
            Some(r#"{"rules": []}"#),
        ),
        update(
            "update_connector_filtering_validation",
            "update_filtering/draft_validation",
            "/_connector/{c}/_filtering/_validation",
            Some(r#"{"validation": {"state": "valid", "errors": []}}"#),
        ),
        update(
            "update_connector_index_name",
            "update_index_name",
            "/_connector/{c}/_index_name",
            Some(r#"{"index_name": "{t}"}"#),
        ),
        update(
            "update_connector_last_sync_stats",
            "update_last_sync_stats",
            "/_connector/{c}/_last_sync",
            Some(r#"{"last_sync_status": "completed"}"#),
        ),
        update(
            "update_connector_name",
            "update_name",
            "/_connector/{c}/_name",
            Some(r#"{"name": "{t}"}"#),
        ),
        update(
            "update_connector_native",
            "update_native",
            "/_connector/{c}/_native",
            Some(r#"{"is_native": false}"#),
        ),
        update(
            "update_connector_pipeline",
            "update_pipeline",
            "/_connector/{c}/_pipeline",
            Some(
                r#"{"pipeline": {"extract_binary_content": true, "name": "p", "reduce_whitespace": true, "run_ml_inference": false}}"#,
            ),
        ),
        update(
            "update_connector_scheduling",
            "update_scheduling",
            "/_connector/{c}/_scheduling",
            Some(r#"{"scheduling": {"full": {"enabled": true, "interval": "0 0 1 * * ?"}}}"#),
        ),
        update(
            "update_connector_service_type",
            "update_service_type",
            "/_connector/{c}/_service_type",
            Some(r#"{"service_type": "s"}"#),
        ),
        update(
            "update_connector_status",
            "update_status",
            "/_connector/{c}/_status",
            Some(r#"{"status": "error"}"#),
        ),
        row(
            "post_connector_sync_job",
            "sync_job/post",
            Manage,
            M::POST,
            "/_connector/_sync_job",
            Some(r#"{"id": "{c}"}"#),
        ),
        row(
            "list_connector_sync_jobs",
            "sync_job/list",
            Monitor,
            M::GET,
            "/_connector/_sync_job?connector_id={c}",
            None,
        ),
        row(
            "get_connector_sync_job",
            "sync_job/get",
            Monitor,
            M::GET,
            "/_connector/_sync_job/{j}",
            None,
        ),
        row(
            "delete_connector_sync_job",
            "sync_job/delete",
            Manage,
            M::DELETE,
            "/_connector/_sync_job/{j}",
            None,
        ),
        Row {
            prep: Prep::InProgress,
            ..row(
                "cancel_connector_sync_job",
                "sync_job/cancel",
                Manage,
                M::PUT,
                "/_connector/_sync_job/{j}/_cancel",
                None,
            )
        },
        row(
            "check_in_connector_sync_job",
            "sync_job/check_in",
            Manage,
            M::PUT,
            "/_connector/_sync_job/{j}/_check_in",
            None,
        ),
        row(
            "claim_connector_sync_job",
            "sync_job/claim",
            Manage,
            M::PUT,
            "/_connector/_sync_job/{j}/_claim",
            Some(r#"{"worker_hostname": "{t}"}"#),
        ),
        Row {
            prep: Prep::InProgress,
            ..row(
                "set_connector_sync_job_error",
                "sync_job/update_error",
                Manage,
                M::PUT,
                "/_connector/_sync_job/{j}/_error",
                Some(r#"{"error": "{t}"}"#),
            )
        },
        row(
            "update_connector_sync_job_stats",
            "sync_job/update_stats",
            Manage,
            M::PUT,
            "/_connector/_sync_job/{j}/_stats",
            Some(
                r#"{"deleted_document_count": 0, "indexed_document_count": 1, "indexed_document_volume": 1}"#,
            ),
        ),
        row(
            "post_connector_secret",
            "secret/post",
            WriteSecrets,
            M::POST,
            "/_connector/_secret",
            Some(r#"{"value": "{t}"}"#),
        ),
        row(
            "put_connector_secret",
            "secret/put",
            WriteSecrets,
            M::PUT,
            "/_connector/_secret/{s}",
            Some(r#"{"value": "{t}"}"#),
        ),
        row(
            "get_connector_secret",
            "secret/get",
            ReadSecrets,
            M::GET,
            "/_connector/_secret/{s}",
            None,
        ),
        row(
            "delete_connector_secret",
            "secret/delete",
            WriteSecrets,
            M::DELETE,
            "/_connector/_secret/{s}",
            None,
        ),
    ]
}

/// Elasticsearch's 403 for an authenticated user without the privilege.
fn denial(user: &User, row: &Row) -> Value {
    es_error(
        "security_exception",
        &format!(
            "action [{A}{}] is unauthorized for user [{}] with effective roles [{}], this action is granted by the cluster privileges [{}]",
            row.action,
            user.name,
            user.roles,
            row.needs.granted_by()
        ),
        403,
    )
}

const ALIASES: [&str; 3] = [
    ".elastic-connectors",
    ".elastic-connectors-sync-jobs",
    ".connector-secrets",
];

/// The service in `cluster_privileges` mode on the secured node, its own indices read and
/// written as `elastic`.
pub(crate) async fn privileged_app(ttl: Duration) -> TestApp {
    let url = secure_url();
    spawn_app_with(ELASTICSEARCH, move |settings| {
        settings.es_urls = vec![url.parse().unwrap()];
        settings.tls = trusting_the_test_ca();
        settings.credentials = Some(ServiceCredentials::Basic {
            username: ELASTIC.0.into(),
            password: SecretString::from(ELASTIC.1),
        });
        settings.authorization = Authorization::ClusterPrivileges;
        settings.privilege_cache_ttl = ttl;
    })
    .await
}

/// A request to the service as a user (or without credentials): status, headers, JSON answer.
async fn send(
    app: &TestApp,
    auth: Option<(&str, &str)>,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = app.http.request(method, format!("{}{path}", app.address));
    if let Some((name, password)) = auth {
        request = request.basic_auth(name, Some(password));
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.expect("the service did not answer");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The row's request as `user`, with its password.
async fn send_as(
    app: &TestApp,
    user: &User,
    row: &Row,
    path: &str,
    body: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let password = user.password();
    send(app, Some((user.name, &password)), row.method.clone(), path, body).await
}

/// The secured node's own answer to the same request (it authenticates before it routes, so a
/// 401 there is exactly what Elasticsearch answers for a connector API).
async fn node_answer(
    node: &reqwest::Client,
    auth: Option<(&str, &str)>,
    method: Method,
    path: &str,
) -> (u16, Vec<String>, Value) {
    let mut request = node.request(method, format!("{}{path}", secure_url()));
    if let Some((name, password)) = auth {
        request = request.basic_auth(name, Some(password));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenges = challenges(response.headers());
    (status, challenges, response.json().await.unwrap_or(Value::Null))
}

fn challenges(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .get_all("www-authenticate")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

/// The documents a row's request could touch: the fixture's connector, job and secret as
/// stored (source and sequence number), and how many documents of each index carry the tag.
#[derive(Debug, PartialEq)]
struct Footprint {
    docs: Vec<Option<Value>>,
    tagged: Vec<u64>,
}

async fn footprint(node: &reqwest::Client, fixture: &Fixture) -> Footprint {
    let mut docs = Vec::new();
    for (alias, id) in ALIASES
        .iter()
        .zip([&fixture.connector, &fixture.job, &fixture.secret])
    {
        let response = node
            .get(format!("{}/{alias}/_doc/{}", secure_url(), encode(id)))
            .basic_auth(ELASTIC.0, Some(ELASTIC.1))
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        docs.push(
            (body["found"] == true).then(|| json!({"source": body["_source"], "seq_no": body["_seq_no"]})),
        );
    }
    let mut tagged = Vec::new();
    for alias in ALIASES {
        // every document a refused request could create carries the tag (a name, an index
        // name, a value) or the fixture connector's id
        let query = json!({"query": {"query_string": {
            "query": format!("\"{}\" OR \"{}\"", fixture.tag, fixture.connector),
            "lenient": true,
        }}});
        let response = node
            .post(format!("{}/{alias}/_count?expand_wildcards=all", secure_url()))
            .basic_auth(ELASTIC.0, Some(ELASTIC.1))
            .json(&query)
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        tagged.push(body["count"].as_u64().unwrap_or(0));
    }
    Footprint { docs, tagged }
}

/// What a row's request works on, made through the service as `elastic`.
struct Fixture {
    tag: String,
    connector: String,
    job: String,
    secret: String,
}

async fn fixture(app: &TestApp, prep: Prep) -> Fixture {
    let tag = unique_id("privileges").to_lowercase();
    let elastic = Some(ELASTIC);
    let connector = format!("c-{tag}");
    let index_name = format!("search-{tag}");
    let (status, _, answer) = send(
        app,
        elastic,
        Method::PUT,
        &format!("/_connector/{connector}"),
        Some(&json!({"index_name": index_name, "service_type": "mongodb", "name": "fixture"}).to_string()),
    )
    .await;
    assert!(status < 300, "fixture connector: {status} {answer}");
    if prep == Prep::ValidDraft {
        let (status, _, answer) = send(
            app,
            elastic,
            Method::PUT,
            &format!("/_connector/{connector}/_filtering/_validation"),
            Some(r#"{"validation": {"state": "valid", "errors": []}}"#),
        )
        .await;
        assert_eq!(status, 200, "fixture validation: {answer}");
    }
    let (status, _, answer) = send(
        app,
        elastic,
        Method::POST,
        "/_connector/_sync_job",
        Some(&json!({ "id": connector }).to_string()),
    )
    .await;
    assert_eq!(status, 201, "fixture job: {answer}");
    let job = answer["id"].as_str().unwrap().to_owned();
    if prep == Prep::InProgress {
        let (status, _, answer) = send(
            app,
            elastic,
            Method::PUT,
            &format!("/_connector/_sync_job/{job}/_claim"),
            Some(r#"{"worker_hostname": "fixture"}"#),
        )
        .await;
        assert_eq!(status, 200, "fixture claim: {answer}");
    }
    let (status, _, answer) = send(
        app,
        elastic,
        Method::POST,
        "/_connector/_secret",
        Some(r#"{"value": "fixture-secret"}"#),
    )
    .await;
    assert_eq!(status, 200, "fixture secret: {answer}");
    let secret = answer["id"].as_str().unwrap().to_owned();
    Fixture {
        tag,
        connector,
        job,
        secret,
    }
}

fn fill(template: &str, fixture: &Fixture) -> String {
    template
        .replace("{c}", &fixture.connector)
        .replace("{j}", &fixture.job)
        .replace("{s}", &fixture.secret)
        .replace("{t}", &fixture.tag)
}

/// Sends one row's request without credentials, with a wrong password and as every user, and
/// says what differed from Elasticsearch; counts what was checked.
async fn check_row(
    app: &TestApp,
    node: &reqwest::Client,
    row: Row,
) -> (Vec<String>, BTreeMap<&'static str, usize>) {
    let mut failures: Vec<String> = Vec::new();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    // The refusals first, all on one fixture that must come out untouched.
    let fixture = fixture(app, row.prep).await;
    let path = fill(row.path, &fixture);
    let body = row.body.map(|body| fill(body, &fixture));
    let before = footprint(node, &fixture).await;

    // Unauthenticated callers: the same 401 as the node's, challenges included.
    let unauthenticated = [
        (None, "without credentials", "401 without credentials"),
        (
            Some(("mgr", "not-mgr-password")),
            "with a wrong password",
            "401 wrong password",
        ),
    ];
    for (credentials, who, count) in unauthenticated {
        let (status, headers, answer) =
            send(app, credentials, row.method.clone(), &path, body.as_deref()).await;
        let (node_status, node_challenges, node_body) =
            node_answer(node, credentials, row.method.clone(), &path).await;
        if (status, challenges(&headers), &answer) != (node_status, node_challenges.clone(), &node_body) {
            failures.push(format!(
                "{} {who}: {status} {:?} {answer}\n  Elasticsearch: {node_status} {node_challenges:?} {node_body}",
                row.api,
                challenges(&headers)
            ));
        }
        *counts.entry(count).or_default() += 1;
    }

    for user in USERS.iter().filter(|user| !user.may(row.needs)) {
        let (status, _, answer) = send_as(app, user, &row, &path, body.as_deref()).await;
        let expected = denial(user, &row);
        if (status, &answer) != (403, &expected) {
            failures.push(format!(
                "{} as {}: {status} {answer}\n  expected: 403 {expected}",
                row.api, user.name
            ));
        }
        *counts.entry("403").or_default() += 1;
    }
    let after = footprint(node, &fixture).await;
    if before != after {
        failures.push(format!(
            "{}: a refused request wrote\n  before: {before:?}\n  after: {after:?}",
            row.api
        ));
    }

    // Each user that holds the privilege, on a fixture of its own.
    for user in USERS.iter().filter(|user| user.may(row.needs)) {
        let fixture = self::fixture(app, row.prep).await;
        let path = fill(row.path, &fixture);
        let body = row.body.map(|body| fill(body, &fixture));
        let (status, _, answer) = send_as(app, user, &row, &path, body.as_deref()).await;
        if !(200..300).contains(&status) {
            failures.push(format!(
                "{} as {}: {status} {answer}, expected it allowed",
                row.api, user.name
            ));
        }
        *counts.entry("allowed").or_default() += 1;
    }
    (failures, counts)
}

#[tokio::test]
async fn every_api_is_allowed_exactly_where_elasticsearch_allows_it_and_refused_in_its_words() {
    use futures::stream::{self, StreamExt};
    let node = secure_node().await;
    let app = privileged_app(Duration::from_secs(30)).await;
    // a few rows at a time: each row's fixtures are its own
    let outcomes: Vec<(Vec<String>, BTreeMap<&str, usize>)> = stream::iter(table())
        .map(|row| check_row(&app, &node, row))
        .buffer_unordered(4)
        .collect()
        .await;
    let mut failures: Vec<String> = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (row_failures, row_counts) in outcomes {
        failures.extend(row_failures);
        for (what, count) in row_counts {
            *counts.entry(what).or_default() += count;
        }
    }
    eprintln!("privilege matrix: {counts:?}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_table_names_every_api_of_the_route_table_once() {
    use connector_sync_proxy::http::apis::{connector, connector_secrets, sync_job};
    let declared: Vec<&str> = [connector::APIS, connector_secrets::APIS, sync_job::APIS]
        .iter()
        .flat_map(|apis| apis.iter().map(|api| api.name))
        .collect();
    let mut tested: Vec<&str> = table().iter().map(|row| row.api).collect();
    let mut sorted = declared.clone();
    sorted.sort_unstable();
    tested.sort_unstable();
    assert_eq!(tested, sorted, "every API of src/http/apis has exactly one row");
}

#[tokio::test]
async fn validation_comes_before_the_privilege_check_as_in_elasticsearch() {
    // Elasticsearch parses the body in the REST handler and validates the request before the
    // security filter of the transport action runs: a bad body is a 400 for anyone who
    // authenticates, and the same 400 a privileged user gets.
    let app = privileged_app(Duration::from_secs(30)).await;
    let fixture = fixture(&app, Prep::Nothing).await;
    let path = format!("/_connector/_sync_job/{}/_claim", fixture.job);
    let (status, _, expected) = send(
        &app,
        Some(("mgr", "mgr-password")),
        Method::PUT,
        &path,
        Some("{}"),
    )
    .await;
    assert_eq!(status, 400, "{expected}");
    for user in [MON, NOBODY] {
        let password = user.password();
        let (status, _, answer) =
            send(&app, Some((user.name, &password)), Method::PUT, &path, Some("{}")).await;
        assert_eq!((status, &answer), (400, &expected), "{}", user.name);
    }
}

/// The connector service's role (scripts/secure-node.sh: connector_service, cluster `monitor`
/// and `manage_connector`, `all` on `search-*`, `.search-acl-filter-search-*` and
/// `.elastic-connectors*`) drives a sync as elastic/connectors does, and fills its content
/// index through pass-through. This node cannot issue API keys (no .security index), so the
/// role is a user's.
#[tokio::test]
async fn the_connector_services_role_drives_a_whole_sync() {
    let node = secure_node().await;
    let app = privileged_app(Duration::from_secs(30)).await;
    let svc = Some(("connsvc", "connsvc-password"));
    let tag = unique_id("connsvc").to_lowercase();
    let connector = format!("c-{tag}");
    let index_name = format!("search-{tag}");
    let step = |what: &str, (status, _, answer): (u16, reqwest::header::HeaderMap, Value), want: u16| {
        assert_eq!(status, want, "{what}: {answer}");
        answer
    };

    step(
        "create the connector",
        send(
            &app,
            svc,
            Method::PUT,
            &format!("/_connector/{connector}"),
            Some(
                &json!({"index_name": index_name, "name": "connsvc", "service_type": "mongodb"}).to_string(),
            ),
        )
        .await,
        201,
    );
    step(
        "connector check_in",
        send(
            &app,
            svc,
            Method::PUT,
            &format!("/_connector/{connector}/_check_in"),
            None,
        )
        .await,
        200,
    );
    step(
        "configuration",
        send(
            &app,
            svc,
            Method::PUT,
            &format!("/_connector/{connector}/_configuration"),
            Some(r#"{"values": {}}"#),
        )
        .await,
        200,
    );
    for status in ["needs_configuration", "configured"] {
        step(
            status,
            send(
                &app,
                svc,
                Method::PUT,
                &format!("/_connector/{connector}/_status"),
                Some(&json!({ "status": status }).to_string()),
            )
            .await,
            200,
        );
    }
    let answer = step(
        "post the job",
        send(
            &app,
            svc,
            Method::POST,
            "/_connector/_sync_job",
            Some(&json!({ "id": connector }).to_string()),
        )
        .await,
        201,
    );
    let job = answer["id"].as_str().unwrap().to_owned();
    let job_path = format!("/_connector/_sync_job/{job}");
    step(
        "read the connector",
        send(&app, svc, Method::GET, &format!("/_connector/{connector}"), None).await,
        200,
    );
    step(
        "find pending jobs",
        send(
            &app,
            svc,
            Method::GET,
            &format!("/_connector/_sync_job?connector_id={connector}&status=pending"),
            None,
        )
        .await,
        200,
    );
    step(
        "claim",
        send(
            &app,
            svc,
            Method::PUT,
            &format!("{job_path}/_claim"),
            Some(r#"{"worker_hostname": "connsvc-host", "sync_cursor": {"page": 1}}"#),
        )
        .await,
        200,
    );
    step(
        "last_sync in progress",
        send(
            &app,
            svc,
            Method::PUT,
            &format!("/_connector/{connector}/_last_sync"),
            Some(r#"{"last_sync_status": "in_progress"}"#),
        )
        .await,
        200,
    );
    // the documents of the sync, through pass-through with the caller's own credentials
    let indexed = node
        .put(format!("{}/{index_name}/_doc/doc-1?refresh=true", secure_url()))
        .basic_auth("connsvc", Some("connsvc-password"))
        .json(&json!({"title": "synced"}))
        .send()
        .await
        .unwrap();
    assert!(
        indexed.status().is_success(),
        "straight to the node: {}",
        indexed.text().await.unwrap()
    );
    let (status, _, answer) = send(
        &app,
        svc,
        Method::PUT,
        &format!("/{index_name}/_doc/doc-2?refresh=true"),
        Some(r#"{"title": "synced through the service"}"#),
    )
    .await;
    assert_eq!(status, 201, "pass-through into the content index: {answer}");
    step(
        "job check_in",
        send(&app, svc, Method::PUT, &format!("{job_path}/_check_in"), None).await,
        200,
    );
    step(
        "stats",
        send(
            &app,
            svc,
            Method::PUT,
            &format!("{job_path}/_stats"),
            Some(r#"{"deleted_document_count": 0, "indexed_document_count": 2, "indexed_document_volume": 1, "total_document_count": 2}"#),
        )
        .await,
        200,
    );
    step(
        "last_sync completed",
        send(
            &app,
            svc,
            Method::PUT,
            &format!("/_connector/{connector}/_last_sync"),
            Some(r#"{"last_sync_status": "completed", "last_synced": "2026-01-01T00:00:00Z", "last_indexed_document_count": 2, "last_deleted_document_count": 0}"#),
        )
        .await,
        200,
    );
    step(
        "status connected",
        send(
            &app,
            svc,
            Method::PUT,
            &format!("/_connector/{connector}/_status"),
            Some(r#"{"status": "connected"}"#),
        )
        .await,
        200,
    );
    let got = step(
        "read the job",
        send(&app, svc, Method::GET, &job_path, None).await,
        200,
    );
    assert_eq!(got["status"], "in_progress", "{got}");
    assert_eq!(got["indexed_document_count"], 2, "{got}");
    assert_eq!(got["worker_hostname"], "connsvc-host", "{got}");
    // The sync job API has no call that completes a job: elastic/connectors writes the final
    // status with a plain update of the sync-jobs index, which its role allows, through
    // pass-through with its own credentials.
    let (status, _, answer) = send(
        &app,
        svc,
        Method::POST,
        &format!("/.elastic-connectors-sync-jobs/_update/{job}?refresh=true"),
        Some(r#"{"doc": {"status": "completed", "completed_at": "2026-01-01T00:00:00Z"}}"#),
    )
    .await;
    assert_eq!(status, 200, "the final status through pass-through: {answer}");
    let got = step(
        "read the job",
        send(&app, svc, Method::GET, &job_path, None).await,
        200,
    );
    assert_eq!(got["status"], "completed", "{got}");
    let count: Value = node
        .get(format!("{}/{index_name}/_count", secure_url()))
        .basic_auth("connsvc", Some("connsvc-password"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(count["count"], 2, "{count}");
    let connector_doc = step(
        "read the connector",
        send(&app, svc, Method::GET, &format!("/_connector/{connector}"), None).await,
        200,
    );
    assert_eq!(connector_doc["last_sync_status"], "completed", "{connector_doc}");
    assert_eq!(connector_doc["status"], "connected", "{connector_doc}");

    // A job that ends by the API: cancel, then the error the connector service reports.
    let answer = step(
        "post another job",
        send(
            &app,
            svc,
            Method::POST,
            "/_connector/_sync_job",
            Some(&json!({ "id": connector }).to_string()),
        )
        .await,
        201,
    );
    let other = format!("/_connector/_sync_job/{}", answer["id"].as_str().unwrap());
    step(
        "claim it",
        send(
            &app,
            svc,
            Method::PUT,
            &format!("{other}/_claim"),
            Some(r#"{"worker_hostname": "h"}"#),
        )
        .await,
        200,
    );
    step(
        "cancel it",
        send(&app, svc, Method::PUT, &format!("{other}/_cancel"), None).await,
        200,
    );
    step(
        "error",
        send(
            &app,
            svc,
            Method::PUT,
            &format!("{other}/_error"),
            Some(r#"{"error": "stopped"}"#),
        )
        .await,
        200,
    );
    let got = step("read it", send(&app, svc, Method::GET, &other, None).await, 200);
    assert_eq!(
        (&got["status"], &got["error"]),
        (&json!("error"), &json!("stopped")),
        "{got}"
    );
    step(
        "delete it",
        send(&app, svc, Method::DELETE, &other, None).await,
        200,
    );
    step(
        "delete the job",
        send(&app, svc, Method::DELETE, &job_path, None).await,
        200,
    );
    step(
        "delete the connector",
        send(
            &app,
            svc,
            Method::DELETE,
            &format!("/_connector/{connector}"),
            None,
        )
        .await,
        200,
    );
}

/// The secured node's config directory, where its file realm lives.
fn node_config() -> PathBuf {
    std::env::var_os("CSP_TEST_SECURE_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let port = secure_url()
                .rsplit(':')
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_owned();
            ca_path()
                .parent()
                .unwrap()
                .join(format!("secure-elasticsearch-{port}/config"))
        })
}

/// Moves file-realm user `revokee` to exactly `role` by rewriting `users_roles` (the node
/// re-reads it within its reload interval), keeping the file's owner.
fn assign_revokee(role: &str) {
    use std::os::unix::fs::MetadataExt;
    let path = node_config().join("users_roles");
    let old = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let mut lines: Vec<(String, Vec<String>)> = old
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, users)| {
            let users = users
                .split(',')
                .map(str::trim)
                .filter(|user| !user.is_empty() && *user != "revokee")
                .map(str::to_owned)
                .collect();
            (name.to_owned(), users)
        })
        .collect();
    match lines.iter_mut().find(|(name, _)| name == role) {
        Some((_, users)) => users.push("revokee".to_owned()),
        None => lines.push((role.to_owned(), vec!["revokee".to_owned()])),
    }
    let text: String = lines
        .iter()
        .filter(|(_, users)| !users.is_empty())
        .map(|(name, users)| format!("{name}:{}\n", users.join(",")))
        .collect();
    let meta = std::fs::metadata(&path).unwrap();
    let temporary = path.with_extension("privileges-test");
    std::fs::write(&temporary, text).unwrap();
    std::os::unix::fs::chown(&temporary, Some(meta.uid()), Some(meta.gid())).unwrap();
    std::fs::rename(&temporary, &path).unwrap();
}

/// Puts `revokee` back into connector_manager whatever happens to the test.
struct Restore;
impl Drop for Restore {
    fn drop(&mut self) {
        assign_revokee("connector_manager");
    }
}

/// Waits until the node itself says whether `revokee` holds manage_connector.
async fn node_says_manage(node: &reqwest::Client, holds: bool) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer: Value = node
            .post(format!("{}/_security/user/_has_privileges", secure_url()))
            .basic_auth("revokee", Some("revokee-password"))
            .json(&json!({"cluster": ["manage_connector"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if answer["cluster"]["manage_connector"] == holds {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "the node did not reload its file realm: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_revoked_role_stops_working_within_the_cache_time() {
    const TTL: Duration = Duration::from_secs(15);
    let node = secure_node().await;
    let cached = privileged_app(TTL).await;
    let uncached = privileged_app(Duration::ZERO).await;
    let revokee = Some(("revokee", "revokee-password"));
    let _restore = Restore;
    assign_revokee("connector_manager");
    node_says_manage(&node, true).await;

    let fixture = fixture(&cached, Prep::Nothing).await;
    let path = format!("/_connector/_sync_job/{}/_check_in", fixture.job);
    let filled = Instant::now();
    let (status, _, answer) = send(&cached, revokee, Method::PUT, &path, None).await;
    assert_eq!(status, 200, "{answer}");
    let (status, _, answer) = send(&uncached, revokee, Method::PUT, &path, None).await;
    assert_eq!(status, 200, "{answer}");

    assign_revokee("connector_monitor");
    let revoked = node_says_manage(&node, false).await;
    let refusal = es_error(
        "security_exception",
        "action [cluster:admin/xpack/connector/sync_job/check_in] is unauthorized for user [revokee] with effective roles [connector_monitor], this action is granted by the cluster privileges [manage_connector,manage,all]",
        403,
    );
    // Without a cache the refusal is immediate.
    let (status, _, answer) = send(&uncached, revokee, Method::PUT, &path, None).await;
    assert_eq!((status, &answer), (403, &refusal));
    // With one, the answer cached before the revocation may still allow until it expires.
    if revoked.duration_since(filled) + Duration::from_secs(1) < TTL {
        let (status, _, answer) = send(&cached, revokee, Method::PUT, &path, None).await;
        assert_eq!(
            status,
            200,
            "the cached answer, {:?} after it was cached: {answer}",
            filled.elapsed()
        );
    }
    // ... and no longer than the cache time after it was cached.
    loop {
        let (status, _, answer) = send(&cached, revokee, Method::PUT, &path, None).await;
        if status == 403 {
            assert_eq!(answer, refusal);
            break;
        }
        assert_eq!(status, 200, "{answer}");
        assert!(
            filled.elapsed() < TTL + Duration::from_secs(2),
            "still allowed {:?} after the answer was cached, with a cache time of {TTL:?}",
            filled.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Restored, the role works again (the refusal is not cached either).
    assign_revokee("connector_manager");
    node_says_manage(&node, true).await;
    let (status, _, answer) = send(&uncached, revokee, Method::PUT, &path, None).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn a_wrong_password_is_never_cached_as_valid() {
    let node = secure_node().await;
    let app = privileged_app(Duration::from_secs(60)).await;
    let fixture = fixture(&app, Prep::Nothing).await;
    let path = format!("/_connector/_sync_job/{}", fixture.job);
    let wrong = Some(("mgr", "wrong-password"));
    let (node_status, _, unauthenticated) = node_answer(&node, wrong, Method::GET, &path).await;
    assert_eq!(node_status, 401);
    for round in 0..3 {
        let (status, _, answer) = send(&app, wrong, Method::GET, &path, None).await;
        assert_eq!(
            (status, &answer),
            (401, &unauthenticated),
            "round {round}, before the right one"
        );
    }
    let (status, _, answer) = send(&app, Some(("mgr", "mgr-password")), Method::GET, &path, None).await;
    assert_eq!(status, 200, "{answer}");
    for round in 0..3 {
        let (status, _, answer) = send(&app, wrong, Method::GET, &path, None).await;
        assert_eq!(
            (status, &answer),
            (401, &unauthenticated),
            "round {round}, after the right one"
        );
    }
    // A user without the privilege is not served from another user's cached answer either.
    let (status, _, answer) = send(
        &app,
        Some(("nobody", "nobody-password")),
        Method::GET,
        &path,
        None,
    )
    .await;
    assert_eq!(status, 403, "{answer}");
}

#[tokio::test]
async fn credentials_and_secrets_never_show_in_logs_metrics_or_errors() {
    secure_node().await;
    let password_file = std::env::temp_dir().join(unique_id("privileges-password"));
    std::fs::write(&password_file, ELASTIC.1).unwrap();
    let url = secure_url();
    let ca = ca_path();
    let mut service = ServiceProcess::start(&[
        "--es-url",
        &url,
        "--es-ca-cert",
        ca.to_str().unwrap(),
        "--es-username",
        ELASTIC.0,
        "--es-password-file",
        password_file.to_str().unwrap(),
        "--authorization",
        "cluster_privileges",
        "--log-format",
        "json",
    ]);
    let http = reqwest::Client::new();
    let secret_value = unique_id("never-shown-secret-value");
    let wrong_password = unique_id("never-shown-wrong-password");
    let mut bodies = Vec::new();
    let call = |auth: (&'static str, String), method: Method, path: String, body: Option<String>| {
        let mut request = http
            .request(method, format!("{}{path}", service.address))
            .basic_auth(auth.0, Some(auth.1));
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        request.send()
    };
    let posted = call(
        ("mgrsec", "mgrsec-password".into()),
        Method::POST,
        "/_connector/_secret".into(),
        Some(json!({ "value": secret_value }).to_string()),
    )
    .await
    .unwrap();
    assert_eq!(posted.status(), 200);
    let id = posted.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (auth, method, path, body) in [
        (
            ("mgrsec", "mgrsec-password".to_owned()),
            Method::GET,
            format!("/_connector/_secret/{id}"),
            None,
        ),
        (
            ("mgr", "mgr-password".to_owned()),
            Method::GET,
            format!("/_connector/_secret/{id}"),
            None,
        ),
        (
            ("mon", "mon-password".to_owned()),
            Method::PUT,
            format!("/_connector/_secret/{id}"),
            Some(json!({ "value": secret_value }).to_string()),
        ),
        (
            ("mgr", wrong_password.clone()),
            Method::GET,
            format!("/_connector/_secret/{id}"),
            None,
        ),
        (
            ("mgrsec", "mgrsec-password".to_owned()),
            Method::PUT,
            format!("/_connector/_secret/{id}"),
            Some(format!(r#"{{"value": "{secret_value}", "extra": 1}}"#)),
        ),
        (
            ("nobody", "nobody-password".to_owned()),
            Method::GET,
            "/_connector/_sync_job/x".to_owned(),
            None,
        ),
    ] {
        let response = call(auth, method, path, body).await.unwrap();
        bodies.push(response.text().await.unwrap());
    }
    let metrics = metrics_text(&http, &service.address).await;
    let log = service.stop_and_collect_log().join("\n");
    let _ = std::fs::remove_file(&password_file);

    let b64 = |text: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(text)
    };
    let never = [
        ELASTIC.1.to_owned(),
        "mgrsec-password".to_owned(),
        "mgr-password".to_owned(),
        "mon-password".to_owned(),
        wrong_password.clone(),
        b64("mgrsec:mgrsec-password"),
        b64(&format!("mgr:{wrong_password}")),
        b64(&format!("elastic:{}", ELASTIC.1)),
        secret_value.clone(),
    ];
    // the secret value is the answer of a successful GET by mgrsec, and nowhere else
    assert!(bodies[0].contains(&secret_value), "{}", bodies[0]);
    for word in &never {
        assert!(!log.contains(word.as_str()), "the log shows [{word}]:\n{log}");
        assert!(!metrics.contains(word.as_str()), "/-/metrics shows [{word}]");
        for body in &bodies[1..] {
            assert!(!body.contains(word.as_str()), "an answer shows [{word}]: {body}");
        }
    }
    assert!(
        log.contains("cluster_privileges"),
        "the mode is said at start-up:\n{log}"
    );
}
