use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

use connector_sync_proxy::config::{Settings, UpdateStrategy};
use connector_sync_proxy::startup::Application;
use serde_json::{json, Value};

pub(crate) const INDEX: &str = ".elastic-connectors-sync-jobs";
pub(crate) const CONNECTORS_INDEX: &str = ".elastic-connectors";

/// A real node and the update strategy the tests run against it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Backend {
    pub name: &'static str,
    env: &'static str,
    default_url: &'static str,
    start: &'static str,
    pub strategy: UpdateStrategy,
}

/// Elasticsearch itself. Its test distribution has no Painless, so it runs the optimistic path.
pub(crate) const ELASTICSEARCH: Backend = Backend {
    name: "elasticsearch",
    env: "CSP_TEST_ES_URL",
    default_url: "http://127.0.0.1:9200",
    start: "scripts/node.sh start elasticsearch",
    strategy: UpdateStrategy::Optimistic,
};

/// OpenSearch with lang-painless: the scripted path.
pub(crate) const SCRIPTING: Backend = Backend {
    name: "opensearch",
    env: "CSP_TEST_SCRIPT_URL",
    default_url: "http://127.0.0.1:9201",
    start: "scripts/node.sh start opensearch",
    strategy: UpdateStrategy::Script,
};

pub(crate) const BOTH: [Backend; 2] = [SCRIPTING, ELASTICSEARCH];

impl Backend {
    pub(crate) fn url(&self) -> String {
        std::env::var(self.env).unwrap_or_else(|_| self.default_url.to_owned())
    }

    pub(crate) fn with_strategy(self, strategy: UpdateStrategy) -> Self {
        Self { strategy, ..self }
    }
}

/// A handle on a running node, for seeding and reading job documents directly.
pub(crate) struct Node {
    pub url: String,
    pub http: reqwest::Client,
}

impl Node {
    /// Connects to the backend's node, failing the test with how to start it when it is not there.
    pub(crate) async fn connect(backend: &Backend) -> Self {
        let url = backend.url();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let hint = format!(
            "no {} node answers at {url} (set {} to point elsewhere): start one with `{}`, \
             or run the whole suite with `scripts/test.sh`",
            backend.name, backend.env, backend.start
        );
        let health = http
            .get(format!(
                "{url}/_cluster/health/{INDEX}?wait_for_status=yellow&timeout=10s"
            ))
            .send()
            .await;
        match health {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => panic!("{hint} (health answered {})", response.status()),
            Err(err) => panic!("{hint} ({err})"),
        }
        let index = http.get(format!("{url}/{INDEX}")).send().await.unwrap();
        assert!(
            index.status().is_success(),
            "the sync-jobs index is missing on {url}: create it with `scripts/create-index.sh {url}`"
        );
        Self { url, http }
    }

    /// Writes a job document as the connector service would, visible at once.
    pub(crate) async fn seed(&self, id: &str, doc: Value) {
        self.seed_into(INDEX, id, doc).await
    }

    /// The stored document: `_source` plus `_seq_no`, or None when it does not exist.
    pub(crate) async fn read(&self, id: &str) -> Option<Stored> {
        self.read_in(INDEX, id).await
    }

    /// The stored document of any index.
    pub(crate) async fn read_in(&self, index: &str, id: &str) -> Option<Stored> {
        read_doc(self.http.get(format!("{}/{index}/_doc/{}", self.url, encode(id)))).await
    }

    /// A partial-document write without concurrency control, as the connector service writes a
    /// finished sync.
    pub(crate) async fn complete(&self, id: &str) -> u16 {
        self.http
            .post(format!(
                "{}/{INDEX}/_update/{}?refresh=true&retry_on_conflict=5",
                self.url,
                encode(id)
            ))
            .json(&json!({"doc": {"status": "completed", "completed_at": "2026-01-01T00:00:00.000Z"}}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub(crate) async fn index_exists(&self, index: &str) -> bool {
        let url = format!("{}/{index}?expand_wildcards=all", self.url);
        self.http.head(url).send().await.unwrap().status().is_success()
    }
}

/// The document a GET of `/{index}/_doc/{id}` answers: `_source` plus `_seq_no`, or None when it
/// does not exist.
pub(crate) async fn read_doc(request: reqwest::RequestBuilder) -> Option<Stored> {
    let response = request.send().await.unwrap();
    if response.status() == 404 {
        return None;
    }
    let body: Value = response.json().await.unwrap();
    Some(Stored {
        source: body["_source"].clone(),
        seq_no: body["_seq_no"].as_i64().unwrap(),
    })
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stored {
    pub source: Value,
    pub seq_no: i64,
}

pub(crate) struct TestApp {
    pub address: String,
    pub node: Node,
    pub http: reqwest::Client,
}

impl TestApp {
    pub(crate) fn cancel_url(&self, raw_id: &str) -> String {
        format!("{}/_connector/_sync_job/{raw_id}/_cancel", self.address)
    }

    /// Any request to the service with an optional JSON body; the status and the JSON answer
    /// (`Value::Null` when the answer is not JSON).
    pub(crate) async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.address));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the service did not answer");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A request with a body sent exactly as given (not necessarily JSON).
    pub(crate) async fn call_raw(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let response = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.address))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("the service did not answer");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `PUT /_connector/_sync_job/{id}/_cancel`, the id percent-encoded as a client would.
    pub(crate) async fn cancel(&self, id: &str) -> reqwest::Response {
        self.http
            .put(self.cancel_url(&encode(id)))
            .send()
            .await
            .expect("the service did not answer")
    }
}

/// Starts the service on a random port in front of the backend's node.
pub(crate) async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub(crate) async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    init_logging();
    let node = Node::connect(&backend).await;
    let mut settings = Settings {
        listen: "127.0.0.1:0".to_owned(),
        es_urls: vec![node.url.parse().unwrap()],
        sync_jobs_index: INDEX.to_owned(),
        connectors_index: CONNECTORS_INDEX.to_owned(),
        update_strategy: backend.strategy,
        ..Settings::default()
    };
    if !group_commit() {
        settings.group_commit = None;
    }
    let backend_urls = settings.es_urls.clone();
    adjust(&mut settings);
    if settings.es_urls != backend_urls {
        // A test that puts a proxy or other nodes in front checks what reaches them; the
        // template installer's own requests would mix in. The template tests use the node.
        settings.install_templates = false;
    }
    let application = Application::build(settings).expect("the service did not start");
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until_stopped());
    TestApp {
        address,
        node,
        http: reqwest::Client::new(),
    }
}

/// Whether the services the tests start group their writes (the default); the suite runs with
/// it off when CSP_TEST_GROUP_COMMIT is `off`.
pub(crate) fn group_commit() -> bool {
    std::env::var("CSP_TEST_GROUP_COMMIT").map_or(true, |value| value != "off")
}

/// Logs go to the test output when TEST_LOG is set.
fn init_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = env_logger::builder()
                .is_test(true)
                .parse_filters("info")
                .try_init();
        }
    });
}

/// How long a race test may repeat its race to see every order it means to cover.
const RACE_ROUNDS: usize = 20;
const RACE_TIME: Duration = Duration::from_secs(90);

/// Runs `round` (a fresh race on new jobs each time, returning the order each of its races
/// took) until every one of `orders` has occurred, and fails naming those that never did within
/// `RACE_ROUNDS` rounds or `RACE_TIME`. A race test that says its delays make each order occur
/// checks it here, so that it cannot pass having only ever seen one.
pub(crate) async fn race_until_every_order<R, F>(label: &str, orders: &[&'static str], mut round: R)
where
    R: FnMut(usize) -> F,
    F: Future<Output = Vec<&'static str>>,
{
    let started = Instant::now();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rounds = 0;
    while rounds < RACE_ROUNDS && started.elapsed() < RACE_TIME {
        for order in round(rounds).await {
            assert!(
                orders.contains(&order),
                "{label}: {order} is not one of {orders:?}"
            );
            *seen.entry(order).or_default() += 1;
        }
        rounds += 1;
        if orders.iter().all(|order| seen.contains_key(order)) {
            eprintln!("{label}: every order occurred in {rounds} round(s): {seen:?}");
            return;
        }
    }
    let missing: Vec<&str> = orders
        .iter()
        .copied()
        .filter(|order| !seen.contains_key(order))
        .collect();
    panic!(
        "{label}: {missing:?} never occurred in {rounds} round(s) ({:?}); seen {seen:?}",
        started.elapsed()
    );
}

/// How far apart a race test starts its races in round `round`: `first` in the first round,
/// doubled each round after (up to 16 times), so that an order that a slow machine did not show
/// at the first spread comes up at a wider one.
pub(crate) fn race_step(first: Duration, round: usize) -> Duration {
    first * (1 << round.min(4))
}

/// An id no other test uses.
/// The service's metrics page (`/-/metrics`) as text, read with `http`.
pub(crate) async fn metrics_text(http: &reqwest::Client, address: &str) -> String {
    http.get(format!("{address}/-/metrics"))
        .send()
        .await
        .expect("the service did not answer /-/metrics")
        .text()
        .await
        .unwrap()
}

pub(crate) fn unique_id(label: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{label}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub(crate) fn encode(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A connector document with an index and a service type, as the connector API stores one.
pub(crate) fn connector(index_name: &str) -> Value {
    json!({
        "configuration": {"host": {"label": "Host", "value": "db.example", "required": true, "sensitive": false}},
        "custom_scheduling": {},
        "filtering": [{
            "active": {"advanced_snippet": {"value": {}}, "rules": [{"id": "DEFAULT", "field": "_", "order": 0,
                "policy": "include", "rule": "regex", "value": ".*"}], "validation": {"errors": [], "state": "valid"}},
            "domain": "DEFAULT",
            "draft": {"advanced_snippet": {"value": {}}, "rules": [], "validation": {"errors": [], "state": "edited"}}
        }],
        "index_name": index_name,
        "is_native": false,
        "language": "en",
        "name": "test connector",
        "pipeline": {"extract_binary_content": true, "name": "search-default-ingestion", "reduce_whitespace": true, "run_ml_inference": false},
        "scheduling": {},
        "service_type": "mongodb",
        "status": "connected",
        "sync_now": false,
        "deleted": false,
    })
}

/// A job document as the connector service writes it, in the given status.
pub(crate) fn job(status: &str) -> Value {
    json!({
        "status": status,
        "job_type": "full",
        "trigger_method": "on_demand",
        "connector": {"id": "connector-1", "index_name": "search-docs"},
        "created_at": "2026-01-01T00:00:00.000Z",
        "last_seen": "2026-01-01T00:00:01.000Z",
        "indexed_document_count": 7,
    })
}

/// Elasticsearch's error envelope for one type and reason.
pub(crate) fn es_error(kind: &str, reason: &str, status: u16) -> Value {
    json!({
        "error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason},
        "status": status,
    })
}

/// Asserts a 400 with the reason and the cause's reason given (`None` leaves one unchecked).
pub(crate) fn assert_refused((status, answer): &(u16, Value), reason: Option<&str>, cause: Option<&str>) {
    assert_eq!(*status, 400, "{answer}");
    if let Some(reason) = reason {
        assert_eq!(answer["error"]["reason"], reason, "{answer}");
    }
    if let Some(cause) = cause {
        assert_eq!(answer["error"]["caused_by"]["reason"], cause, "{answer}");
    }
}

/// Elasticsearch's answer to a sync-job transition the connector protocol forbids.
pub(crate) fn invalid_transition(from: &str, to: &str) -> Value {
    let reason = format!(
        "Invalid transition attempt from [{from}] to [{to}]. Such a ConnectorSyncStatus \
         transition is not supported by the Connector Protocol."
    );
    let mut body = es_error("status_exception", &reason, 400);
    body["error"]["caused_by"] = json!({
        "type": "connector_sync_job_invalid_status_transition_exception",
        "reason": reason,
    });
    body
}

/// Sends one request exactly as written, for paths an HTTP client library would normalise
/// (`/../`, `%2E%2E`). Returns the status and the body.
pub(crate) async fn raw_request(app: &TestApp, method: &str, path: &str) -> (u16, Value) {
    let request =
        format!("{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let (status, _, body) = raw_exchange(app, request.as_bytes()).await;
    (status, body)
}

/// Reads one answer's head off `stream`, byte by byte so that nothing after it is consumed:
/// its status and its header lines in lower case, or None when the connection was closed
/// before the answer began. A connection closed within the head fails the test.
pub(crate) async fn read_head(stream: &mut tokio::net::TcpStream) -> Option<(u16, String)> {
    use tokio::io::AsyncReadExt;

    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ if head.is_empty() => return None,
            read => panic!("the connection closed in a head: {read:?}"),
        }
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Some((status, head))
}

/// The value of a header line of a head `read_head` returned (`name` in lower case).
pub(crate) fn header_value<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// Writes the bytes to the service, reads until it closes the connection, and returns the status,
/// the head (lower-cased header lines) and the body as JSON (or as a string when it is not JSON).
pub(crate) async fn raw_exchange(app: &TestApp, request: &[u8]) -> (u16, String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("an incomplete HTTP answer: {answer:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let body = serde_json::from_str(body).unwrap_or(Value::String(body.to_owned()));
    (status, head.to_owned(), body)
}

impl Node {
    /// Sends a JSON request to the node and returns its JSON answer, failing the test with the
    /// answer unless the node took the request.
    pub(crate) async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Value {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let answer = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {path} answered {status}: {answer}");
        serde_json::from_str(&answer).unwrap_or(Value::Null)
    }

    /// A jobs index of its own (`{alias}-v1` behind `alias`), for tests that change index
    /// settings or compare the whole index before and after.
    pub(crate) async fn create_jobs_index(&self, alias: &str, settings: Value) {
        let body = json!({
            "settings": settings,
            "aliases": {alias: {}},
            "mappings": {"dynamic": false, "properties": {"status": {"type": "keyword"}}},
        });
        self.call(
            reqwest::Method::PUT,
            &format!("/{alias}-v1?wait_for_active_shards=0"),
            Some(&body),
        )
        .await;
    }

    pub(crate) async fn put_index_settings(&self, alias: &str, settings: Value) {
        self.call(
            reqwest::Method::PUT,
            &format!("/{alias}/_settings"),
            Some(&settings),
        )
        .await;
    }

    pub(crate) async fn delete_index(&self, alias: &str) {
        let _ = self.http.delete(format!("{}/{alias}-v1", self.url)).send().await;
    }

    /// Every document of an index with its sequence number, sorted by id.
    pub(crate) async fn snapshot(&self, index: &str) -> Vec<(String, Stored)> {
        let query = json!({"size": 10000, "query": {"match_all": {}}});
        let path = format!("/{index}/_search?seq_no_primary_term=true");
        let body = self.call(reqwest::Method::POST, &path, Some(&query)).await;
        let mut docs: Vec<(String, Stored)> = body["hits"]["hits"]
            .as_array()
            .unwrap_or_else(|| panic!("no hits in {body}"))
            .iter()
            .map(|hit| {
                let stored = Stored {
                    source: hit["_source"].clone(),
                    seq_no: hit["_seq_no"].as_i64().unwrap(),
                };
                (hit["_id"].as_str().unwrap().to_owned(), stored)
            })
            .collect();
        docs.sort_by(|a, b| a.0.cmp(&b.0));
        docs
    }

    /// Writes a connector document directly, as the connector API would have stored it.
    pub(crate) async fn seed_connector(&self, id: &str, doc: Value) {
        self.seed_into(CONNECTORS_INDEX, id, doc).await
    }

    /// Seeds a job into a given index.
    pub(crate) async fn seed_into(&self, index: &str, id: &str, doc: Value) {
        let path = format!("/{index}/_doc/{}?refresh=true", encode(id));
        self.call(reqwest::Method::PUT, &path, Some(&doc)).await;
    }
}

/// The release or debug binary of the service running as a child process, as deployed.
pub(crate) struct ServiceProcess {
    pub child: std::process::Child,
    pub address: String,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServiceProcess {
    /// Starts the binary with the given flags (plus `--listen 127.0.0.1:0`) and waits for its
    /// startup line to learn the port.
    pub(crate) fn start(args: &[&str]) -> Self {
        use std::io::{BufRead, BufReader};

        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_connector-sync-proxy"))
            .args(["--listen", "127.0.0.1:0"])
            .args(if group_commit() {
                &[][..]
            } else {
                &["--group-commit", "false"][..]
            })
            .args(args)
            .env("RUST_LOG", "info")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the service binary did not start");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let address = loop {
            let line = lines
                .next()
                .expect("the service exited before listening")
                .unwrap();
            log.lock().unwrap().push(line.clone());
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.split(&[',', '"'][..]).next().unwrap().to_owned();
            }
        };
        // Keep reading the log so the child never blocks on a full pipe.
        let kept = log.clone();
        std::thread::spawn(move || {
            lines
                .map_while(Result::ok)
                .for_each(|line| kept.lock().unwrap().push(line))
        });
        Self { child, address, log }
    }

    /// Stops the service (SIGTERM, then waits) and returns every line it logged.
    pub(crate) fn stop_and_collect_log(&mut self) -> Vec<String> {
        self.signal("TERM");
        let _ = self.child.wait();
        std::thread::sleep(std::time::Duration::from_millis(100));
        self.log.lock().unwrap().clone()
    }

    /// Every line logged so far, the service still running.
    pub(crate) fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory in KiB, from /proc.
    pub(crate) fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// The highest resident memory so far (VmHWM) in KiB, from /proc.
    pub(crate) fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|value| value.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} in /proc/PID/status"))
    }

    pub(crate) fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args(["-s", signal, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -s {signal} failed");
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    /// Seeds many jobs at once with the bulk API.
    pub(crate) async fn bulk_seed(&self, jobs: &[(String, Value)]) {
        let mut body = String::new();
        for (id, doc) in jobs {
            body.push_str(&json!({"index": {"_index": INDEX, "_id": id}}).to_string());
            body.push('\n');
            body.push_str(&doc.to_string());
            body.push('\n');
        }
        let response = self
            .http
            .post(format!("{}/_bulk?refresh=true", self.url))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap();
        let result: Value = response.json().await.unwrap();
        assert_eq!(result["errors"], false, "bulk seeding failed: {result:.2000}");
    }

    /// The stored sources of many jobs, by id.
    pub(crate) async fn read_many(&self, ids: &[String]) -> Vec<Value> {
        let mut sources = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(1000) {
            let body: Value = self
                .http
                .post(format!("{}/{INDEX}/_mget", self.url))
                .json(&json!({"ids": chunk}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            sources.extend(
                body["docs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|doc| doc["_source"].clone()),
            );
        }
        sources
    }
}
