//! What the privilege check of issue #20 costs (docs/benchmarks.md, "Privilege check"): cheap
//! sync-job calls (get, check_in) through the service on the secured node, in three modes —
//! `cluster_privileges` with the cache off (`privilege_cache_ttl = 0s`: one `_has_privileges`
//! round trip per request), `cluster_privileges` with the cache on, and `forward` (the caller's
//! credentials go to the node, no check) — in rotating rounds, so that a drift of the shared
//! machine spreads over all of them. Reports ops/s, latency, and the CPU per request of the
//! service and of the node.
//!
//! Knobs (environment): CSP_BENCH_SECURE_URL (https://127.0.0.1:9202), CSP_BENCH_SECURE_CA (the
//! secured node's CA, as scripts/secure-node.sh copies it), CSP_BENCH_NODE_PID (read from the
//! node's run directory when unset), CSP_BENCH_ROUNDS (3), CSP_BENCH_ROUND_MS (3000),
//! CSP_BENCH_WARMUP_MS (1000), CSP_BENCH_CONCURRENCY (8), CSP_BENCH_PRIV_TTL (30s, the cache-on
//! time), CSP_BENCH_PRIV_OUT (target/bench/privileges.md).

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{block_on, number, var, Cell, Cpu, Service};

const SERVICE_BIN: &str = env!("CARGO_BIN_EXE_connector-sync-proxy");
const ELASTIC: (&str, &str) = ("elastic", "elastic-test-password");
/// The caller in cluster_privileges mode: manage_connector and nothing else.
const MANAGER: (&str, &str) = ("mgr", "mgr-password");
/// The caller in forward mode: read and write on .elastic-connectors*, which that mode needs.
const WRITER: (&str, &str) = ("writer", "writer-password");

struct Mode {
    name: String,
    args: Vec<String>,
    caller: (&'static str, &'static str),
}

fn main() -> anyhow::Result<()> {
    block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let url = var("CSP_BENCH_SECURE_URL").unwrap_or_else(|| "https://127.0.0.1:9202".to_owned());
    let ca = var("CSP_BENCH_SECURE_CA")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("connector-sync-proxy-nodes/secure-node-ca.pem"));
    let port = url
        .rsplit(':')
        .next()
        .unwrap_or("9202")
        .trim_end_matches('/')
        .to_owned();
    let node_pid: Option<u32> = match var("CSP_BENCH_NODE_PID") {
        Some(pid) => Some(pid.trim().parse()?),
        None => ca
            .parent()
            .map(|dir| dir.join(format!("secure-elasticsearch-{port}/pid")))
            .and_then(|file| std::fs::read_to_string(file).ok())
            .and_then(|pid| pid.trim().parse().ok()),
    };
    let rounds: usize = number("CSP_BENCH_ROUNDS", 3)?;
    let round = Duration::from_millis(number("CSP_BENCH_ROUND_MS", 3000)?);
    let warmup = Duration::from_millis(number("CSP_BENCH_WARMUP_MS", 1000)?);
    let concurrency: usize = number("CSP_BENCH_CONCURRENCY", 8)?;
    let ttl = var("CSP_BENCH_PRIV_TTL").unwrap_or_else(|| "30s".to_owned());
    let out =
        PathBuf::from(var("CSP_BENCH_PRIV_OUT").unwrap_or_else(|| "target/bench/privileges.md".to_owned()));

    let work = std::env::temp_dir().join(format!("csp-bench-privileges-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let password_file = work.join("elastic-password");
    std::fs::write(&password_file, ELASTIC.1)?;
    let common = |mode: &str, ttl: &str| -> Vec<String> {
        [
            "--es-ca-cert",
            ca.to_str().unwrap_or_default(),
            "--es-username",
            ELASTIC.0,
            "--es-password-file",
            password_file.to_str().unwrap_or_default(),
            "--authorization",
            mode,
            "--privilege-cache-ttl",
            ttl,
        ]
        .iter()
        .map(|arg| (*arg).to_owned())
        .collect()
    };
    let modes = [
        Mode {
            name: "cluster_privileges, cache off (0s)".to_owned(),
            args: common("cluster_privileges", "0s"),
            caller: MANAGER,
        },
        Mode {
            name: format!("cluster_privileges, cache on ({ttl})"),
            args: common("cluster_privileges", &ttl),
            caller: MANAGER,
        },
        Mode {
            name: "forward (no check)".to_owned(),
            args: common("forward", "0s"),
            caller: WRITER,
        },
    ];
    let mut services = Vec::new();
    for (n, mode) in modes.iter().enumerate() {
        let log = work.join(format!("service-{n}.log"));
        services.push(Service::start(
            std::path::Path::new(SERVICE_BIN),
            &url,
            &mode.args,
            "warn",
            mode.name.clone(),
            &log,
        )?);
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency * 2)
        .timeout(Duration::from_secs(30))
        .build()?;

    // One connector and one job, made through the service as elastic.
    let tag = format!("bench-privileges-{}", std::process::id());
    let base = &services[0].url;
    let created = http
        .put(format!("{base}/_connector/{tag}"))
        .basic_auth(ELASTIC.0, Some(ELASTIC.1))
        .json(&json!({"index_name": format!("search-{tag}"), "service_type": "mongodb"}))
        .send()
        .await?;
    anyhow::ensure!(
        created.status().is_success(),
        "connector: {}",
        created.text().await?
    );
    // One job per client, so that check_in's writes never race each other.
    let mut jobs = Vec::new();
    for _ in 0..concurrency {
        let posted = http
            .post(format!("{base}/_connector/_sync_job"))
            .basic_auth(ELASTIC.0, Some(ELASTIC.1))
            .json(&json!({ "id": tag }))
            .send()
            .await?;
        anyhow::ensure!(posted.status().is_success(), "job: {}", posted.text().await?);
        jobs.push(
            posted.json::<Value>().await?["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }

    let ops: [(&str, reqwest::Method, &str); 2] = [
        (
            "get sync job",
            reqwest::Method::GET,
            "/_connector/_sync_job/{job}",
        ),
        (
            "check_in",
            reqwest::Method::PUT,
            "/_connector/_sync_job/{job}/_check_in",
        ),
    ];
    let mut cells: Vec<Vec<Cell>> = ops
        .iter()
        .map(|_| modes.iter().map(|_| Cell::new()).collect())
        .collect();
    for (o, (_, method, path)) in ops.iter().enumerate() {
        for (m, mode) in modes.iter().enumerate() {
            // warm-up: fills the cache and the connection pools, not counted
            load(
                &http,
                &services[m],
                mode.caller,
                method,
                path,
                &jobs,
                warmup,
                node_pid,
                &mut Cell::new(),
            )
            .await;
        }
        for r in 0..rounds {
            for step in 0..modes.len() {
                let m = (r + step) % modes.len();
                load(
                    &http,
                    &services[m],
                    modes[m].caller,
                    method,
                    path,
                    &jobs,
                    round,
                    node_pid,
                    &mut cells[o][m],
                )
                .await;
            }
        }
    }

    let mut report = String::new();
    report.push_str(&format!(
        "Privilege check, secured node {url} (TLS, Elasticsearch with security on), {rounds} rotating rounds of {} ms per mode and call, concurrency {concurrency}; {} on {}, {} MiB.\n\n",
        round.as_millis(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        support::cpu_model(),
        support::memory_total_mib(),
    ));
    report.push_str(
        "| call | mode | ops/s | p50 ms | p99 ms | service CPU µs/op | node CPU µs/op | errors |\n",
    );
    report.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (o, (op, _, _)) in ops.iter().enumerate() {
        for (m, mode) in modes.iter().enumerate() {
            let cell = &cells[o][m];
            report.push_str(&format!(
                "| {op} | {} | {:.0} | {:.2} | {:.2} | {:.0} | {} | {} |\n",
                mode.name,
                cell.throughput(),
                cell.ms(0.5),
                cell.ms(0.99),
                cell.micros(cell.cpu.service),
                if node_pid.is_some() {
                    format!("{:.0}", cell.micros(cell.cpu.node))
                } else {
                    "–".to_owned()
                },
                cell.errors
            ));
            if let Some(error) = &cell.first_error {
                report.push_str(&format!("|  | first error: {error} | | | | | | |\n"));
            }
        }
    }
    println!("{report}");
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, &report)?;
    eprintln!("written to {}", out.display());

    for job in &jobs {
        let _ = http
            .delete(format!("{base}/_connector/_sync_job/{job}"))
            .basic_auth(ELASTIC.0, Some(ELASTIC.1))
            .send()
            .await;
    }
    let _ = http
        .delete(format!("{base}/_connector/{tag}?hard=true"))
        .basic_auth(ELASTIC.0, Some(ELASTIC.1))
        .send()
        .await;
    drop(services);
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// One client per job sends the request (`{job}` in `path` replaced by its job) as `caller` for
/// `time`; adds what they saw to `cell`.
#[allow(clippy::too_many_arguments)]
async fn load(
    http: &reqwest::Client,
    service: &Service,
    caller: (&str, &str),
    method: &reqwest::Method,
    path: &str,
    jobs: &[String],
    time: Duration,
    node_pid: Option<u32>,
    cell: &mut Cell,
) {
    let before = Cpu::sample(Some(service), node_pid);
    let started = Instant::now();
    let deadline = started + time;
    let clients = jobs.iter().map(|job| {
        let url = format!("{}{}", service.url, path.replace("{job}", job));
        async move {
            let mut seen = Vec::new();
            let mut errors = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let answer = http
                    .request(method.clone(), &url)
                    .basic_auth(caller.0, Some(caller.1))
                    .send()
                    .await;
                match answer {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        seen.push(sent.elapsed());
                    }
                    Ok(response) => {
                        let status = response.status();
                        errors.push(format!("{status} {}", response.text().await.unwrap_or_default()));
                    }
                    Err(err) => errors.push(err.to_string()),
                }
            }
            (seen, errors)
        }
    });
    let results = futures::future::join_all(clients).await;
    let elapsed = started.elapsed();
    cell.cpu.add(Cpu::sample(Some(service), node_pid).since(before));
    cell.elapsed += elapsed;
    for (seen, errors) in results {
        for latency in seen {
            cell.requests += 1;
            let _ = cell.latency.record(latency.as_micros() as u64);
        }
        cell.errors += errors.len() as u64;
        if cell.first_error.is_none() {
            cell.first_error = errors.into_iter().next();
        }
    }
}
