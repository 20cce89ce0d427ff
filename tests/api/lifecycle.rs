//! The service as a process: graceful shutdown, and a bounded soak under mixed load.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::Value;

use crate::helpers::{job, unique_id, Node, ServiceProcess, ELASTICSEARCH, SCRIPTING};
use crate::proxy::{Fault, FaultProxy};

#[tokio::test]
async fn sigterm_finishes_the_cancels_in_flight_then_exits_0() {
    let node = Node::connect(&ELASTICSEARCH).await;
    // Every new connection to the node waits 1.5 s: the cancels are in flight when SIGTERM comes.
    let proxy = FaultProxy::start(&node.url, Fault::Delay(Duration::from_millis(1500))).await;
    let service = ServiceProcess::start(&[
        "--es-url",
        &proxy.url,
        "--update-strategy",
        "optimistic",
        "--shutdown-grace",
        "20s",
    ]);
    let ids: Vec<String> = (0..8).map(|n| unique_id(&format!("sigterm{n}"))).collect();
    for id in &ids {
        node.seed(id, job("in_progress")).await;
    }
    let http = reqwest::Client::new();
    let in_flight: Vec<_> = ids
        .iter()
        .map(|id| {
            let request = http
                .put(format!("{}/_connector/_sync_job/{id}/_cancel", service.address))
                .send();
            tokio::spawn(request)
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    service.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let host = service.address.trim_start_matches("http://").to_owned();
    let late = tokio::net::TcpStream::connect(&host).await;

    let answers = join_all(in_flight).await;
    for (id, answer) in ids.iter().zip(answers) {
        let response = answer.unwrap().expect("an in-flight cancel was dropped");
        assert_eq!(response.status(), 200, "{id}");
        assert_eq!(
            node.read(id).await.unwrap().source["status"],
            "canceling",
            "{id} was lost"
        );
    }
    assert!(
        late.is_err(),
        "the service still accepted connections after SIGTERM"
    );
    let mut service = service;
    let exit = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        loop {
            if let Some(status) = service.child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            assert!(
                started.elapsed() < Duration::from_secs(25),
                "still running past the grace period"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    assert_eq!(exit.0.code(), Some(0), "exit status {:?}", exit.0);
}

/// Seconds of load: CSP_SOAK_SECONDS, 10 unless set (scripts/soak.sh runs 60).
fn soak_seconds() -> u64 {
    std::env::var("CSP_SOAK_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(10)
}

#[tokio::test]
async fn a_soak_of_mixed_cancels_answers_no_5xx_loses_nothing_and_keeps_memory_flat() {
    const CLIENTS: usize = 64;
    let seconds = soak_seconds();
    let node = Node::connect(&SCRIPTING).await;
    let run = unique_id("soak");
    // More fresh jobs than the run can use, half running, half pending.
    let pool: Vec<String> = (0..(seconds as usize * 600).max(3000))
        .map(|n| format!("{run}-{n}"))
        .collect();
    let jobs: Vec<(String, Value)> = pool
        .iter()
        .enumerate()
        .map(|(n, id)| {
            (
                id.clone(),
                job(if n % 2 == 0 { "in_progress" } else { "pending" }),
            )
        })
        .collect();
    for chunk in jobs.chunks(2000) {
        node.bulk_seed(chunk).await;
    }
    let service = ServiceProcess::start(&["--es-url", &node.url, "--update-strategy", "script"]);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let next_fresh = AtomicUsize::new(0);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let rss_start = Arc::new(AtomicUsize::new(0));

    let (pool, next_fresh, address, run) = (&pool, &next_fresh, &service.address, &run);
    let clients = (0..CLIENTS).map(|client| {
        let http = http.clone();
        async move {
            let mut seen: BTreeMap<(&'static str, u16), usize> = BTreeMap::new();
            let mut mine: Vec<String> = Vec::new();
            let mut round = client;
            while Instant::now() < deadline {
                round += 1;
                let (kind, id) = match round % 3 {
                    0 => match pool.get(next_fresh.fetch_add(1, Ordering::Relaxed)) {
                        Some(id) => ("fresh", id.clone()),
                        None => ("unknown", format!("{run}-unknown-{client}-{round}")),
                    },
                    1 if !mine.is_empty() => ("repeat", mine[round % mine.len()].clone()),
                    _ => ("unknown", format!("{run}-unknown-{client}-{round}")),
                };
                let status = http
                    .put(format!("{address}/_connector/_sync_job/{id}/_cancel"))
                    .send()
                    .await
                    .map(|response| response.status().as_u16())
                    .unwrap_or(0);
                if kind == "fresh" && status == 200 {
                    mine.push(id);
                }
                *seen.entry((kind, status)).or_default() += 1;
            }
            (seen, mine)
        }
    });
    let sampler = {
        let rss_start = rss_start.clone();
        let pid = service.pid();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            rss_start.store(read_rss(pid) as usize, Ordering::Relaxed);
        })
    };
    let results = join_all(clients).await;
    sampler.await.unwrap();
    let rss_end = service.rss_kib();
    let rss_start = rss_start.load(Ordering::Relaxed) as u64;

    let mut totals: BTreeMap<(&'static str, u16), usize> = BTreeMap::new();
    let mut canceled: Vec<String> = Vec::new();
    for (seen, mine) in results {
        for (key, count) in seen {
            *totals.entry(key).or_default() += count;
        }
        canceled.extend(mine);
    }
    let requests: usize = totals.values().sum();
    eprintln!(
        "soak: {seconds} s, {CLIENTS} clients, {requests} requests ({:.0}/s), {totals:?}, RSS {rss_start} KiB after warm-up, {rss_end} KiB at the end",
        requests as f64 / seconds as f64
    );

    for ((kind, status), count) in &totals {
        let allowed = match *kind {
            "fresh" => *status == 200,
            "repeat" => *status == 400,
            _ => *status == 404,
        };
        assert!(allowed, "{count} {kind} cancels answered {status}");
    }
    // Every 200 is exactly one transition in the index, and no job is in a state the protocol
    // does not allow.
    let used = next_fresh.load(Ordering::Relaxed).min(pool.len());
    let sources = node.read_many(pool).await;
    let transitions = sources
        .iter()
        .filter(|source| source["cancelation_requested_at"].is_string())
        .count();
    assert_eq!(
        transitions,
        canceled.len(),
        "200 answers and recorded transitions differ"
    );
    assert_eq!(canceled.len(), used, "a fresh cancel was not answered 200");
    for (n, source) in sources.iter().enumerate() {
        let status = source["status"].as_str().unwrap();
        let expected = match (n < used, n % 2 == 0) {
            (false, true) => "in_progress",
            (false, false) => "pending",
            (true, true) => "canceling",
            (true, false) => "canceled",
        };
        let id = &pool[n];
        assert!(
            n >= used || canceled.contains(id) || status == expected,
            "{id}: {source}"
        );
        assert_eq!(status, expected, "{id}: {source}");
    }
    assert!(
        rss_end <= rss_start + 16 * 1024,
        "resident memory grew from {rss_start} KiB to {rss_end} KiB"
    );
}

fn read_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}
