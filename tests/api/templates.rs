//! The index templates and pipeline the service installs, as Elasticsearch's connector module
//! installs them: any client that creates a connector index gets its layout, the connector
//! service's own start-up works in either order, and an index created bare is explained and
//! repaired without losing a document.
//!
//! Each test but the access-control one uses aliases of its own (the templates are named after
//! them), so that it starts from a cluster without its templates or indices and leaves the shared
//! ones alone.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{
    connector, job, spawn_app_with, unique_id, Backend, Node, ServiceProcess, TestApp, BOTH,
};

/// The aliases of one test, and the names of the templates the service makes for them.
struct Names {
    connectors: String,
    jobs: String,
}

impl Names {
    fn new(label: &str) -> Self {
        let id = unique_id(label).to_ascii_lowercase();
        Self {
            connectors: format!(".{id}-connectors"),
            jobs: format!(".{id}-connectors-sync-jobs"),
        }
    }

    fn names_alias(&self) -> String {
        format!("{}-index-names", self.connectors)
    }

    fn template(alias: &str) -> &str {
        alias.trim_start_matches('.')
    }

    async fn spawn(&self, backend: Backend) -> TestApp {
        let (connectors, jobs) = (self.connectors.clone(), self.jobs.clone());
        spawn_app_with(backend, move |settings| {
            settings.connectors_index = connectors;
            settings.sync_jobs_index = jobs;
        })
        .await
    }

    /// Runs `connector-sync-proxy --repair` for these aliases as an operator would; fails the test
    /// unless it succeeds, and returns what it logged.
    fn repair(&self, node: &Node) -> String {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_connector-sync-proxy"))
            .args(["--repair", "--config-file", "/dev/null", "--es-url", &node.url])
            .args([
                "--connectors-index",
                &self.connectors,
                "--sync-jobs-index",
                &self.jobs,
            ])
            .env("RUST_LOG", "info")
            .output()
            .unwrap();
        let log =
            String::from_utf8_lossy(&output.stderr).into_owned() + &String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{log}");
        log
    }

    /// Deletes what the test made: its indices and templates.
    async fn clean_up(&self, node: &Node) {
        let names_alias = self.names_alias();
        let aliases = [&self.connectors, &self.jobs, &names_alias];
        for alias in aliases {
            for index in [
                format!("{alias}-v1"),
                alias.to_string(),
                format!("{alias}-repair"),
            ] {
                let _ = node
                    .http
                    .delete(format!("{}/{index}?expand_wildcards=all", node.url))
                    .send()
                    .await;
            }
            let template = Self::template(alias);
            let _ = node
                .http
                .delete(format!("{}/_index_template/{template}", node.url))
                .send()
                .await;
        }
        for alias in aliases {
            let template = Self::template(alias);
            for component in [format!("{template}-mappings"), format!("{template}-settings")] {
                let _ = node
                    .http
                    .delete(format!("{}/_component_template/{component}", node.url))
                    .send()
                    .await;
            }
        }
    }
}

/// The `setup` detail of `/-/ready` once the first check has reached the cluster.
async fn setup_report(app: &TestApp) -> Value {
    let started = Instant::now();
    loop {
        let (status, answer) = app.call("GET", "/-/ready", None).await;
        assert_eq!(status, 200, "{answer}");
        let setup = answer["setup"].clone();
        if setup.get("pending").is_none() {
            return setup;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the templates were not checked within 60 s: {setup}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn get(node: &Node, path: &str) -> (u16, Value) {
    let response = node.http.get(format!("{}{path}", node.url)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn send(node: &Node, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = node
        .http
        .request(method.parse().unwrap(), format!("{}{path}", node.url));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Asserts that `index` is laid out as Elasticsearch lays out the connector indices: hidden, one
/// shard, replicas 0-1, behind `alias`, mappings that do not grow by themselves.
async fn assert_laid_out(node: &Node, index: &str, alias: &str) {
    let (status, answer) = get(node, &format!("/{index}?expand_wildcards=all")).await;
    assert_eq!(status, 200, "{index}: {answer}");
    let index = &answer[index];
    let settings = &index["settings"]["index"];
    assert_eq!(settings["hidden"], "true", "{index}");
    assert_eq!(settings["number_of_shards"], "1", "{index}");
    assert_eq!(settings["auto_expand_replicas"], "0-1", "{index}");
    assert!(index["aliases"].get(alias).is_some(), "no alias {alias}: {index}");
    assert_eq!(index["mappings"]["dynamic"], "false", "{index}");
    assert_eq!(index["mappings"]["_meta"]["version"], 3, "{index}");
}

/// What the connector service sends at start-up (its `ensure_exists` preflight, then its first
/// reads): HEAD of each `-v1` index, a body-less PUT of each one that is missing, then searches
/// of the aliases that include hidden indices. Every answer as the cluster gives it.
async fn connector_service_starts(app: &TestApp, names: &Names) {
    for alias in [&names.connectors, &names.jobs] {
        let index = format!("{alias}-v1");
        let head = app
            .http
            .head(format!("{}/{index}", app.address))
            .send()
            .await
            .unwrap();
        match head.status().as_u16() {
            200 => continue,
            404 => {}
            status => panic!("HEAD {index}: {status}"),
        }
        let put = app
            .http
            .put(format!("{}/{index}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 200, "PUT {index}");
        let answer: Value = put.json().await.unwrap();
        assert_eq!(answer["acknowledged"], true, "{answer}");
    }
    for alias in [&names.connectors, &names.jobs] {
        let (status, answer) = app
            .call(
                "POST",
                &format!("/{alias}/_search?expand_wildcards=hidden"),
                Some(json!({"query": {"match_all": {}}})),
            )
            .await;
        assert_eq!(status, 200, "search of {alias}: {answer}");
    }
}

/// A connector and one job through its whole life, as the connector service and Kibana drive it.
async fn job_life_cycle(app: &TestApp, connector_id: &str) {
    let (status, answer) = app
        .call(
            "PUT",
            &format!("/_connector/{connector_id}"),
            Some(json!({"index_name": format!("search-{connector_id}"), "service_type": "mongodb"})),
        )
        .await;
    assert!(matches!(status, 200 | 201), "{status} {answer}");
    let (status, answer) = app
        .call(
            "POST",
            "/_connector/_sync_job",
            Some(json!({"id": connector_id, "job_type": "full"})),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let job_id = answer["id"].as_str().unwrap().to_owned();
    let updated = json!({"result": "updated"});
    let base = format!("/_connector/_sync_job/{job_id}");
    for (path, body) in [
        (
            "_claim",
            Some(json!({"worker_hostname": "worker-1", "sync_cursor": {"page": 1}})),
        ),
        (
            "_stats",
            Some(
                json!({"deleted_document_count": 0, "indexed_document_count": 10, "indexed_document_volume": 4}),
            ),
        ),
        ("_check_in", None),
        ("_cancel", None),
    ] {
        let (status, answer) = app.call("PUT", &format!("{base}/{path}"), body).await;
        assert_eq!((status, &answer), (200, &updated), "{path}");
    }
    let (status, answer) = app.call("GET", &base, None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "canceling");
    assert_eq!(answer["worker_hostname"], "worker-1");
    assert_eq!(answer["indexed_document_count"], 10);
}

#[tokio::test]
async fn the_connector_service_starting_first_gets_laid_out_indices_and_a_working_api() {
    for backend in BOTH {
        let names = Names::new("service-starts-first");
        let app = names.spawn(backend).await;
        let setup = setup_report(&app).await;
        for template in [
            Names::template(&names.connectors).to_owned(),
            Names::template(&names.jobs).to_owned(),
            format!("{}-settings", Names::template(&names.connectors)),
        ] {
            assert_eq!(
                setup["templates"][&template], "installed (version 3)",
                "{}: {setup}",
                backend.name
            );
        }

        connector_service_starts(&app, &names).await;

        assert_laid_out(&app.node, &format!("{}-v1", names.connectors), &names.connectors).await;
        assert_laid_out(&app.node, &format!("{}-v1", names.jobs), &names.jobs).await;
        job_life_cycle(&app, &unique_id("first")).await;
        names.clean_up(&app.node).await;
    }
}

#[tokio::test]
async fn the_connector_service_starting_after_the_first_connector_finds_its_indices() {
    for backend in BOTH {
        let names = Names::new("api-first");
        let app = names.spawn(backend).await;
        setup_report(&app).await;
        let connector_id = unique_id("api-first");
        let (status, answer) = app
            .call(
                "PUT",
                &format!("/_connector/{connector_id}"),
                Some(json!({"index_name": "search-api-first", "service_type": "mongodb"})),
            )
            .await;
        assert_eq!(status, 201, "{}: {answer}", backend.name);

        connector_service_starts(&app, &names).await;

        assert_laid_out(&app.node, &format!("{}-v1", names.connectors), &names.connectors).await;
        assert_laid_out(&app.node, &format!("{}-v1", names.jobs), &names.jobs).await;
        job_life_cycle(&app, &connector_id).await;
        names.clean_up(&app.node).await;
    }
}

#[tokio::test]
async fn a_newer_template_is_left_alone_and_an_older_one_upgraded() {
    for backend in BOTH {
        let names = Names::new("versions");
        let node = Node::connect(&backend).await;
        let connectors = Names::template(&names.connectors);
        let jobs = Names::template(&names.jobs);
        let newer = json!({
            "template": {"mappings": {"dynamic": "false", "_meta": {"version": 99}}},
            "_meta": {"owner": "a newer service"},
            "version": 99,
        });
        let (status, answer) = send(
            &node,
            "PUT",
            &format!("/_component_template/{connectors}-mappings"),
            Some(newer),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        let older = json!({
            "index_patterns": [format!("{}-v*", names.jobs)],
            "priority": 100,
            "template": {"settings": {"index": {"number_of_shards": 1}}},
            "version": 1,
        });
        let (status, answer) = send(&node, "PUT", &format!("/_index_template/{jobs}"), Some(older)).await;
        assert_eq!(status, 200, "{answer}");

        let app = names.spawn(backend).await;
        let setup = setup_report(&app).await;

        assert_eq!(
            setup["templates"][format!("{connectors}-mappings")],
            "left alone: its version 99 is newer than the service's 3",
            "{setup}"
        );
        assert_eq!(
            setup["templates"][jobs], "upgraded from version 1 to 3",
            "{setup}"
        );
        let (_, kept) = get(&node, &format!("/_component_template/{connectors}-mappings")).await;
        let kept = &kept["component_templates"][0]["component_template"];
        assert_eq!(kept["version"], 99);
        assert_eq!(kept["_meta"]["owner"], "a newer service");
        let (_, upgraded) = get(&node, &format!("/_index_template/{jobs}")).await;
        let upgraded = &upgraded["index_templates"][0]["index_template"];
        assert_eq!(upgraded["version"], 3);
        assert_eq!(
            upgraded["composed_of"],
            json!([format!("{connectors}-settings"), format!("{jobs}-mappings")])
        );
        names.clean_up(&node).await;
    }
}

#[tokio::test]
async fn an_access_control_index_created_by_a_client_gets_its_layout() {
    for backend in BOTH {
        let app = spawn_app_with(backend, |_| {}).await;
        setup_report(&app).await;
        let index = format!(".search-acl-filter-{}", unique_id("acl").to_ascii_lowercase());

        let put = app
            .http
            .put(format!("{}/{index}", app.address))
            .send()
            .await
            .unwrap();

        assert_eq!(put.status(), 200);
        let (_, answer) = get(&app.node, &format!("/{index}?expand_wildcards=all")).await;
        let laid_out = &answer[&index];
        assert_eq!(laid_out["settings"]["index"]["hidden"], "true", "{answer}");
        assert_eq!(
            laid_out["settings"]["index"]["number_of_replicas"], "1",
            "{answer}"
        );
        assert_eq!(laid_out["mappings"]["dynamic"], "false", "{answer}");
        assert_eq!(
            laid_out["mappings"]["properties"]["created_at"]["type"], "date",
            "{answer}"
        );
        send(&app.node, "DELETE", &format!("/{index}"), None).await;
    }
}

#[tokio::test]
async fn the_integ_test_nodes_lack_the_pipelines_processors_and_the_service_says_so() {
    for backend in BOTH {
        let app = spawn_app_with(backend, |_| {}).await;
        let setup = setup_report(&app).await;
        let said = setup["ingest_pipelines"]["search-default-ingestion"]
            .as_str()
            .unwrap_or_default();
        assert!(
            said.starts_with("not installed: the cluster has no [")
                && said.contains("ingest_pipeline = full_or_empty"),
            "{}: {setup}",
            backend.name
        );

        let stand_in = spawn_app_with(backend, |settings| {
            settings.ingest_pipeline = connector_sync_proxy::config::IngestPipeline::FullOrEmpty;
        })
        .await;
        let setup = setup_report(&stand_in).await;
        let said = setup["ingest_pipelines"]["search-default-ingestion"]
            .as_str()
            .unwrap_or_default();
        assert!(
            said == "installed (version 3)" || said == "present (version 3)",
            "{setup}"
        );
        // A bulk that names the pipeline, as a connector's sync does, now indexes.
        let index = format!("search-pipeline-{}", unique_id("bulk").to_ascii_lowercase());
        let lines =
            format!("{{\"index\":{{\"_index\":\"{index}\",\"_id\":\"1\"}}}}\n{{\"body\":\"text\"}}\n");
        let answer: Value = stand_in
            .http
            .post(format!(
                "{}/_bulk?pipeline=search-default-ingestion&refresh=true",
                stand_in.address
            ))
            .header("content-type", "application/x-ndjson")
            .body(lines)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["errors"], false, "{answer}");
        send(&app.node, "DELETE", &format!("/{index}"), None).await;
    }
}

#[tokio::test]
async fn a_bare_index_is_explained_and_repaired_without_losing_a_document() {
    for backend in BOTH {
        let names = Names::new("bare");
        let node = Node::connect(&backend).await;
        // The connector service created the sync-jobs index bare before the service ran, and a
        // client wrote a connector to the alias's name before any index was behind it.
        let bare_jobs = format!("{}-v1", names.jobs);
        let (status, answer) = send(&node, "PUT", &format!("/{bare_jobs}"), None).await;
        assert_eq!(status, 200, "{answer}");
        let mut jobs = Vec::new();
        for n in 0..25 {
            let id = format!("job-{n}");
            let mut doc = job(["pending", "in_progress", "completed"][n % 3]);
            doc["connector"]["id"] = "c-1".into();
            node.seed_into(&bare_jobs, &id, doc.clone()).await;
            jobs.push((id, doc));
        }
        let mut connectors = Vec::new();
        for id in ["c-1", "c-2", "c-3"] {
            let doc = connector(&format!("search-{id}"));
            node.seed_into(&names.connectors, id, doc.clone()).await;
            connectors.push((id.to_owned(), doc));
        }

        let app = names.spawn(backend).await;
        let setup = setup_report(&app).await;
        assert!(
            setup["indices"][&bare_jobs]
                .as_str()
                .is_some_and(|problem| problem.contains("has no alias") && problem.contains("--repair")),
            "{setup}"
        );
        assert!(setup["indices"][&names.connectors].is_string(), "{setup}");

        // A job for the connector: the write meets the bare index, and the answer says which
        // index, what is wrong and how to repair it; nothing is written.
        let (status, answer) = app
            .call("POST", "/_connector/_sync_job", Some(json!({"id": "c-1"})))
            .await;
        assert_eq!(status, 500, "{answer}");
        assert_eq!(answer["error"]["type"], "illegal_state_exception", "{answer}");
        let reason = answer["error"]["reason"].as_str().unwrap();
        assert!(
            reason.contains(&format!("the index [{bare_jobs}]"))
                && reason.contains(&format!("it has no alias [{}]", names.jobs))
                && reason.contains("its mappings are dynamic")
                && reason.contains("connector-sync-proxy --repair"),
            "{reason}"
        );
        let (status, answer) = app
            .call(
                "PUT",
                "/_connector/c-4",
                Some(json!({"index_name": "search-c-4"})),
            )
            .await;
        assert_eq!(status, 500, "{answer}");
        assert!(
            answer["error"]["reason"]
                .as_str()
                .unwrap()
                .contains(&format!("[{}] is an index, not the alias", names.connectors)),
            "{answer}"
        );
        let (_, count) = get(&node, &format!("/{bare_jobs}/_count")).await;
        assert_eq!(count["count"], 25, "nothing written by the refused post");

        let log = names.repair(&node);
        assert!(
            log.contains(&format!("copied 25 documents from {bare_jobs}")),
            "{log}"
        );

        assert_laid_out(&node, &bare_jobs, &names.jobs).await;
        assert_laid_out(&node, &format!("{}-v1", names.connectors), &names.connectors).await;
        for (alias, docs) in [(&names.jobs, &jobs), (&names.connectors, &connectors)] {
            let (_, count) = get(&node, &format!("/{alias}/_count")).await;
            assert_eq!(count["count"], docs.len(), "{alias}");
            for (id, doc) in docs {
                let stored = node.read_in(alias, id).await.expect("a repaired document");
                assert_eq!(&stored.source, doc, "{alias}/{id}");
            }
            let (status, _) = get(&node, &format!("/{alias}-repair")).await;
            assert_eq!(status, 404, "the holding index is gone");
        }
        let (status, answer) = app
            .call("POST", "/_connector/_sync_job", Some(json!({"id": "c-1"})))
            .await;
        assert_eq!(status, 201, "{answer}");

        let log = names.repair(&node);
        assert!(log.contains("nothing to repair"), "{log}");
        names.clean_up(&node).await;
    }
}

#[tokio::test]
async fn without_credentials_of_its_own_the_service_says_what_it_could_not_install_and_serves() {
    crate::security::secure_node().await;
    let ca = crate::security::ca_path();
    let url = crate::security::secure_url();
    let mut service = ServiceProcess::start(&[
        "--config-file",
        "/dev/null",
        "--es-url",
        &url,
        "--es-ca-cert",
        ca.to_str().unwrap(),
    ]);
    let http = reqwest::Client::new();
    let started = Instant::now();
    let setup = loop {
        let answer: Value = http
            .get(format!("{}/-/ready", service.address))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            answer["status"], "ready",
            "a secured cluster answering 401 is up: {answer}"
        );
        if answer["setup"].get("pending").is_none() {
            break answer["setup"].clone();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let said = setup["templates"]["elastic-connectors"]
        .as_str()
        .unwrap_or_default();
    assert!(
        said.starts_with("could not be installed: the cluster answered 401 [security_exception]")
            && said.contains("configure es_username or es_api_key with the cluster privileges manage_index_templates and manage_pipeline"),
        "{setup}"
    );
    // It still serves: the caller's own credentials decide, as before.
    let answer = http
        .get(format!("{}/_connector/no-such-connector", service.address))
        .basic_auth(crate::security::ELASTIC.0, Some(crate::security::ELASTIC.1))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
    let log = service.stop_and_collect_log().join("\n");
    assert!(
        log.contains("index template [elastic-connectors]: could not be installed: the cluster answered 401"),
        "{log}"
    );
}
