//! A three-node cluster losing, stopping and hanging nodes while the service serves.
//! Start it with `scripts/cluster.sh start` (scripts/test.sh does).

use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::Value;
use url::Url;

use crate::helpers::{job, spawn_app_with, unique_id, Node, TestApp, ELASTICSEARCH};

/// Tests that stop, kill or pause nodes of the one cluster take this first, so that they never
/// run at the same time; so does the test that boots a node of its own (scripts.rs), which would
/// starve the others' nodes of CPU.
pub(crate) static ONE_AT_A_TIME: std::sync::LazyLock<tokio::sync::Mutex<()>> =
    std::sync::LazyLock::new(|| tokio::sync::Mutex::new(()));

const DEFAULT_URLS: &str = "http://127.0.0.1:9210,http://127.0.0.1:9211,http://127.0.0.1:9212";

pub(crate) fn cluster_urls() -> Vec<String> {
    let urls = std::env::var("CSP_TEST_CLUSTER_URLS").unwrap_or_else(|_| DEFAULT_URLS.to_owned());
    urls.split(',').map(str::to_owned).collect()
}

/// Runs scripts/cluster.sh with the arguments and fails the test if it fails.
pub(crate) fn cluster_script(args: &[&str]) {
    let status = std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/cluster.sh"))
        .args(args)
        .status()
        .expect("scripts/cluster.sh did not run");
    assert!(status.success(), "scripts/cluster.sh {args:?} failed");
}

pub(crate) async fn connect(url: &str) -> Node {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let health = http
        .get(format!("{url}/_cluster/health?wait_for_nodes=3&timeout=30s"))
        .send()
        .await;
    let healthy = matches!(&health, Ok(response) if response.status().is_success());
    assert!(
        healthy,
        "no three-node cluster answers at {url}: start it with `scripts/cluster.sh start`, or run the whole \
         suite with `scripts/test.sh` ({health:?})"
    );
    Node {
        url: url.to_owned(),
        http,
    }
}

/// The nodes (by number) holding a copy of the jobs shard, the primary's first.
async fn shard_copies(node: &Node) -> Vec<usize> {
    let path = "/_cat/shards/.elastic-connectors-sync-jobs-v1?format=json&h=node,prirep";
    let shards = node.call(reqwest::Method::GET, path, None).await;
    let mut copies: Vec<(bool, usize)> = shards
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|shard| {
            let number = shard["node"].as_str()?.strip_prefix("cluster-")?.parse().ok()?;
            Some((shard["prirep"] != "p", number))
        })
        .collect();
    copies.sort();
    assert!(
        copies.first().is_some_and(|(replica, _)| !replica),
        "no started primary: {shards}"
    );
    copies.into_iter().map(|(_, number)| number).collect()
}

async fn app_for(urls: &[&String], timeout: Duration) -> TestApp {
    let es_urls: Vec<Url> = urls.iter().map(|url| url.parse().unwrap()).collect();
    spawn_app_with(ELASTICSEARCH, move |settings| {
        settings.es_urls = es_urls;
        settings.upstream_timeout = timeout;
    })
    .await
}

pub(crate) async fn wait_green(node: &Node) {
    let url = format!(
        "{}/_cluster/health?wait_for_status=green&wait_for_nodes=3&timeout=60s",
        node.url
    );
    let health: Value = node.http.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "green", "the cluster did not recover: {health}");
}

async fn fresh_jobs(node: &Node, label: &str, count: usize) -> Vec<String> {
    let ids: Vec<String> = (0..count).map(|n| unique_id(&format!("{label}{n}"))).collect();
    let jobs: Vec<(String, Value)> = ids.iter().map(|id| (id.clone(), job("in_progress"))).collect();
    node.bulk_seed(&jobs).await;
    ids
}

/// The scenarios share one cluster and take nodes away, so they run one after the other.
#[tokio::test]
async fn the_service_rides_out_nodes_dying_stopping_and_hanging() {
    let _cluster = ONE_AT_A_TIME.lock().await;
    let urls = cluster_urls();
    assert_eq!(urls.len(), 3, "three cluster URLs are needed: {urls:?}");
    let first = connect(&urls[0]).await;
    wait_green(&first).await;

    a_node_killed_under_load_leaves_every_cancel_succeeding(&urls).await;
    a_stopped_node_is_answered_503_and_serves_again_once_healthy(&urls).await;
    a_hanging_node_costs_its_requests_the_timeout_and_nothing_more(&urls).await;
}

async fn a_node_killed_under_load_leaves_every_cancel_succeeding(urls: &[String]) {
    let first = connect(&urls[0]).await;
    let victim = shard_copies(&first).await[0];
    let survivor = connect(&urls[(victim + 1) % 3]).await;
    let ids = fresh_jobs(&survivor, "kill", 240).await;
    let app = app_for(&urls.iter().collect::<Vec<_>>(), Duration::from_secs(30)).await;

    // Eight clients cancel the jobs; the node holding the primary is killed a moment in.
    let clients = ids.chunks(30).map(|chunk| {
        let app = &app;
        async move {
            let mut statuses = Vec::new();
            for id in chunk {
                statuses.push((id.clone(), app.cancel(id).await.status().as_u16()));
            }
            statuses
        }
    });
    let killer = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        tokio::task::spawn_blocking(move || cluster_script(&["kill", &victim.to_string()]))
            .await
            .unwrap();
    };
    let (results, ()) = tokio::join!(join_all(clients), killer);

    let statuses: Vec<(String, u16)> = results.into_iter().flatten().collect();
    let failed: Vec<&(String, u16)> = statuses.iter().filter(|(_, status)| *status != 200).collect();
    assert!(
        failed.is_empty(),
        "cancels failed while node {victim} died: {failed:?}"
    );
    for source in survivor.read_many(&ids).await {
        assert_eq!(source["status"], "canceling", "{source}");
    }
    tokio::task::spawn_blocking(move || cluster_script(&["start-node", &victim.to_string()]))
        .await
        .unwrap();
    wait_green(&survivor).await;
}

async fn a_stopped_node_is_answered_503_and_serves_again_once_healthy(urls: &[String]) {
    let target = 2;
    let other = connect(&urls[0]).await;
    let ids = fresh_jobs(&other, "restart", 4).await;
    let app = app_for(&[&urls[target]], Duration::from_secs(5)).await;
    assert_eq!(app.cancel(&ids[0]).await.status(), 200, "before the outage");

    tokio::task::spawn_blocking(move || cluster_script(&["stop-node", &target.to_string()]))
        .await
        .unwrap();
    for id in &ids[1..3] {
        let started = Instant::now();
        let response = app.cancel(id).await;
        assert_eq!(response.status(), 503, "during the outage");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "an outage answer took {:?}",
            started.elapsed()
        );
    }
    tokio::task::spawn_blocking(move || cluster_script(&["start-node", &target.to_string()]))
        .await
        .unwrap();

    // The node answers again: the very next cancel succeeds, without restarting the service.
    let response = app.cancel(&ids[3]).await;
    assert_eq!(
        response.status(),
        200,
        "after the restart: {}",
        response.text().await.unwrap()
    );
    let sources = other.read_many(&ids).await;
    let statuses: Vec<&Value> = sources.iter().map(|source| &source["status"]).collect();
    assert_eq!(statuses, ["canceling", "in_progress", "in_progress", "canceling"]);
    wait_green(&other).await;
}

async fn a_hanging_node_costs_its_requests_the_timeout_and_nothing_more(urls: &[String]) {
    let first = connect(&urls[0]).await;
    let holders = shard_copies(&first).await;
    // The node without a copy of the shard: hanging it does not stall the cluster's writes.
    let hanging = (0..3)
        .find(|n| !holders.contains(n))
        .expect("a node without a shard copy");
    let healthy = connect(&urls[(hanging + 1) % 3]).await;
    let ids = fresh_jobs(&healthy, "hang", 6).await;
    let app = app_for(&urls.iter().collect::<Vec<_>>(), Duration::from_secs(2)).await;

    tokio::task::spawn_blocking(move || cluster_script(&["pause", &hanging.to_string()]))
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for id in &ids {
        let started = Instant::now();
        let status = app.cancel(id).await.status().as_u16();
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(5),
            "a cancel took {took:?} with a 2 s upstream timeout"
        );
        statuses.push(status);
    }
    tokio::task::spawn_blocking(move || cluster_script(&["resume", &hanging.to_string()]))
        .await
        .unwrap();

    assert!(
        statuses.iter().all(|status| *status == 200 || *status == 504),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&504) && statuses.contains(&200),
        "round robin should hit both: {statuses:?}"
    );
    // Requests that waited in the paused node's buffers may land once it resumes: every job ends
    // either untouched or canceled by one request, never anything else.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (source, status) in healthy.read_many(&ids).await.iter().zip(&statuses) {
        match status {
            200 => assert_eq!(source["status"], "canceling"),
            _ => assert!(
                source["status"] == "canceling" || source["status"] == "in_progress",
                "{source}"
            ),
        }
    }
    wait_green(&healthy).await;
}
