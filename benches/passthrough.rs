//! Load generator for issue #13: what pass-through costs on top of the node. `scripts/bench.sh`
//! runs it after the cancel benchmark; docs/benchmarks.md explains the method and keeps the
//! results.
//!
//! The service runs as the release binary in a child process, so its CPU and memory are its own.
//! Two kinds of request, each sent through the service and straight to the node in short rounds
//! that alternate (the order rotating every round), so that noise on this small machine falls on
//! both alike:
//!
//! - small GETs: `GET /{index}/_doc/{id}` of a document of about 100 bytes, by N closed-loop
//!   clients: requests/s and latency;
//! - bulk: `POST /{index}/_bulk` of `CSP_BENCH_PT_BULK_MIB` MiB of 1 KiB documents each, by one
//!   or two clients: MiB/s.
//!
//! For each, the CPU time the service, the node and this load generator spent, per 1,000 requests
//! or per MiB. Settings come from the environment; see `Config::from_env`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use hdrhistogram::Histogram;
use serde_json::json;
use support::{cpu_model, list, memory_kb, number, var, Cell, Cpu, Service};

mod support;

const SERVICE_BIN: &str = env!("CARGO_BIN_EXE_connector-sync-proxy");
const GET_DOCS: u64 = 1000;
const BULK_DOC_BYTES: usize = 1024;

fn main() -> anyhow::Result<()> {
    support::block_on(run(Config::from_env()?))
}

struct Config {
    node_url: String,
    node_pid: Option<u32>,
    rounds: u32,
    round: Duration,
    bulk_round: Duration,
    warmup: Duration,
    concurrencies: Vec<usize>,
    bulk_concurrencies: Vec<usize>,
    bulk_mib: usize,
    service_bin: PathBuf,
    service_log: String,
    out: PathBuf,
}

impl Config {
    fn from_env() -> anyhow::Result<Self> {
        let node_url = var("CSP_BENCH_URL")
            .ok_or_else(|| {
                anyhow::anyhow!("CSP_BENCH_URL is not set: run `scripts/bench.sh`, or point it at a node")
            })?
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            node_url,
            node_pid: var("CSP_BENCH_NODE_PID").and_then(|raw| raw.trim().parse().ok()),
            rounds: number("CSP_BENCH_ROUNDS", 5)?.max(1),
            round: Duration::from_millis(number("CSP_BENCH_ROUND_MS", 1000)?),
            bulk_round: Duration::from_millis(number("CSP_BENCH_PT_BULK_ROUND_MS", 3000)?),
            warmup: Duration::from_millis(number("CSP_BENCH_WARMUP_MS", 1000)?),
            concurrencies: list("CSP_BENCH_PT_CONCURRENCY", "1,16,64")?,
            bulk_concurrencies: list("CSP_BENCH_PT_BULK_CONCURRENCY", "1,2")?,
            bulk_mib: number("CSP_BENCH_PT_BULK_MIB", 8)?.max(1),
            service_bin: var("CSP_BENCH_SERVICE_BIN").map_or_else(|| SERVICE_BIN.into(), PathBuf::from),
            service_log: var("CSP_BENCH_SERVICE_LOG").unwrap_or_else(|| "info".to_owned()),
            out: var("CSP_BENCH_PT_OUT").map_or_else(|| "target/bench/passthrough.md".into(), PathBuf::from),
        })
    }
}

/// The service in a child process, in front of the node; killed when dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Get,
    Bulk,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Service,
    Node,
}

impl Route {
    fn label(self) -> &'static str {
        match self {
            Self::Service => "through the service",
            Self::Node => "straight to the node",
        }
    }
}

struct Group {
    kind: Kind,
    concurrency: usize,
    cells: [(Route, Cell); 2],
}

/// What one request sends: where, and the bulk body if any.
struct Load {
    http: reqwest::Client,
    base: String,
    index: String,
    bulk: Bytes,
}

impl Load {
    async fn send(&self, kind: Kind, n: u64) -> Result<u64, String> {
        let request = match kind {
            Kind::Get => self
                .http
                .get(format!("{}/{}/_doc/{}", self.base, self.index, n % GET_DOCS)),
            Kind::Bulk => self
                .http
                .post(format!("{}/{}/_bulk?filter_path=errors", self.base, self.index))
                .header("content-type", "application/x-ndjson")
                .body(self.bulk.clone()),
        };
        let response = request.send().await.map_err(|err| format!("{err:#}"))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|err| format!("{err:#}"))?;
        let ok = match kind {
            Kind::Get => status == 200,
            Kind::Bulk => status == 200 && body.as_ref() == br#"{"errors":false}"#,
        };
        if !ok {
            return Err(format!("{status}: {:.300}", String::from_utf8_lossy(&body)));
        }
        Ok(match kind {
            Kind::Get => body.len() as u64,
            Kind::Bulk => self.bulk.len() as u64,
        })
    }
}

/// `concurrency` clients, each sending one request after the other until `duration` is up.
async fn round(load: &Load, kind: Kind, concurrency: usize, duration: Duration, cell: &mut Cell) {
    let started = Instant::now();
    let deadline = started + duration;
    let workers = (0..concurrency).map(|worker| async move {
        let mut latency = Histogram::<u64>::new(3).expect("3 significant figures is valid");
        let mut bytes = 0;
        let mut errors = Vec::new();
        let mut n = worker as u64 * 7919;
        while Instant::now() < deadline {
            let sent = Instant::now();
            n += 1;
            match load.send(kind, n).await {
                Ok(sent_bytes) => {
                    bytes += sent_bytes;
                    let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                    latency.record(micros.max(1)).expect("the histogram grows");
                }
                Err(err) => errors.push(err),
            }
        }
        (latency, bytes, errors)
    });
    let results = futures::future::join_all(workers).await;
    cell.elapsed += started.elapsed();
    for (latency, bytes, errors) in results {
        cell.requests += latency.len();
        cell.bytes += bytes;
        cell.latency.add(&latency).expect("the histogram grows");
        cell.errors += errors.len() as u64;
        if cell.first_error.is_none() {
            cell.first_error = errors.into_iter().next();
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let out_dir = config.out.parent().map(PathBuf::from).unwrap_or_default();
    if !out_dir.as_os_str().is_empty() {
        std::fs::create_dir_all(&out_dir)?;
    }
    let http = || {
        reqwest::Client::builder()
            .no_proxy()
            .no_gzip()
            .timeout(Duration::from_secs(120))
            .build()
    };
    let admin = http()?;
    let service = Service::start(
        &config.service_bin,
        &config.node_url,
        &[],
        &config.service_log,
        "service".to_owned(),
        &out_dir.join("passthrough-service.log"),
    )?;
    let index = format!("pt-bench-{}", std::process::id());
    let layout = json!({
        "settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"},
        "mappings": {"dynamic": false},
    });
    let created = admin
        .put(format!("{}/{index}", config.node_url))
        .json(&layout)
        .send()
        .await?;
    anyhow::ensure!(
        created.status().is_success(),
        "cannot create {index}: {}",
        created.text().await?
    );
    let mut seed = String::new();
    for n in 0..GET_DOCS {
        writeln!(seed, "{{\"index\":{{\"_id\":\"{n}\"}}}}")?;
        writeln!(
            seed,
            "{}",
            json!({"n": n, "title": format!("document {n}"), "tags": ["a", "b"]})
        )?;
    }
    let seeded = admin
        .post(format!("{}/{index}/_bulk?refresh=true", config.node_url))
        .header("content-type", "application/x-ndjson")
        .body(seed)
        .send()
        .await?;
    anyhow::ensure!(seeded.status().is_success(), "seeding failed");
    let bulk = Bytes::from(bulk_body(config.bulk_mib));

    let mut groups = Vec::new();
    let kinds = config
        .concurrencies
        .iter()
        .map(|&c| (Kind::Get, c))
        .chain(config.bulk_concurrencies.iter().map(|&c| (Kind::Bulk, c)));
    let started = Instant::now();
    for (kind, concurrency) in kinds {
        let loads = [Route::Service, Route::Node].map(|route| Load {
            http: http().expect("a client"),
            base: match route {
                Route::Service => service.url.clone(),
                Route::Node => config.node_url.clone(),
            },
            index: index.clone(),
            bulk: bulk.clone(),
        });
        let duration = match kind {
            Kind::Get => config.round,
            Kind::Bulk => config.bulk_round,
        };
        for load in &loads {
            round(load, kind, concurrency, config.warmup, &mut Cell::new()).await;
        }
        let mut cells = [(Route::Service, Cell::new()), (Route::Node, Cell::new())];
        for r in 0..config.rounds as usize {
            for i in 0..2 {
                let which = (i + r) % 2;
                let before = Cpu::sample(Some(&service), config.node_pid);
                round(&loads[which], kind, concurrency, duration, &mut cells[which].1).await;
                let cpu = Cpu::sample(Some(&service), config.node_pid).since(before);
                cells[which].1.cpu.add(cpu);
            }
        }
        eprintln!(
            "{kind:?} x{concurrency}: service {:.0}/s, node {:.0}/s",
            cells[0].1.throughput(),
            cells[1].1.throughput()
        );
        groups.push(Group {
            kind,
            concurrency,
            cells,
        });
    }
    let measured = started.elapsed();
    let peak = memory_kb(service.pid(), "VmHWM");
    let last = memory_kb(service.pid(), "VmRSS");
    let _ = admin.delete(format!("{}/{index}", config.node_url)).send().await;

    let report = report(&config, &groups, &service, last, peak, measured);
    print!("{report}");
    std::fs::write(&config.out, &report)?;
    eprintln!("report written to {}", config.out.display());
    Ok(())
}

/// `mib` MiB of bulk lines: an `index` action and a document, 1 KiB together.
fn bulk_body(mib: usize) -> Vec<u8> {
    let docs = mib * 1024 * 1024 / BULK_DOC_BYTES;
    let mut body = Vec::with_capacity(docs * BULK_DOC_BYTES);
    for n in 0..docs {
        let head = format!("{{\"index\":{{}}}}\n{{\"n\":{n},\"text\":\"");
        let start = body.len();
        body.extend_from_slice(head.as_bytes());
        body.resize(start + BULK_DOC_BYTES - 3, b'z');
        body.extend_from_slice(b"\"}\n");
    }
    body
}

fn report(
    config: &Config,
    groups: &[Group],
    service: &Service,
    last: Option<u64>,
    peak: Option<u64>,
    measured: Duration,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Pass-through benchmark\n\n{} rounds per group, GET rounds {} ms, bulk rounds {} ms of {} MiB \
         requests, {:.0} s measured. Node {}{}.\n",
        config.rounds,
        config.round.as_millis(),
        config.bulk_round.as_millis(),
        config.bulk_mib,
        measured.as_secs_f64(),
        config.node_url,
        if config.node_pid.is_some() {
            ""
        } else {
            " (its CPU not measured: CSP_BENCH_NODE_PID unset)"
        },
    );
    let _ = writeln!(
        out,
        "## Small GETs\n\n| conc. | route | req/s | p50 ms | p90 ms | p99 ms | requests | errors |\n|---:|---|---:|---:|---:|---:|---:|---:|"
    );
    for group in groups.iter().filter(|group| group.kind == Kind::Get) {
        for (route, cell) in &group.cells {
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} |",
                group.concurrency,
                route.label(),
                cell.throughput(),
                cell.ms(0.5),
                cell.ms(0.9),
                cell.ms(0.99),
                cell.requests,
                cell.errors
            );
        }
    }
    let _ = writeln!(
        out,
        "\n| conc. | service/node req/s | service − node p50 ms |\n|---:|---:|---:|"
    );
    for group in groups.iter().filter(|group| group.kind == Kind::Get) {
        let (through, straight) = (&group.cells[0].1, &group.cells[1].1);
        let _ = writeln!(
            out,
            "| {} | {:.3} | {:+.2} |",
            group.concurrency,
            through.throughput() / straight.throughput().max(1e-9),
            through.ms(0.5) - straight.ms(0.5)
        );
    }
    let _ = writeln!(
        out,
        "\nCPU seconds per 1,000 GETs (the node's includes its background work):\n\n| conc. | route | service | node | load generator |\n|---:|---|---:|---:|---:|"
    );
    for group in groups.iter().filter(|group| group.kind == Kind::Get) {
        for (route, cell) in &group.cells {
            let per = |seconds: f64| seconds * 1000.0 / cell.requests.max(1) as f64;
            let service_cpu = match route {
                Route::Service => format!("{:.3}", per(cell.cpu.service)),
                Route::Node => "—".to_owned(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {service_cpu} | {:.3} | {:.3} |",
                group.concurrency,
                route.label(),
                per(cell.cpu.node),
                per(cell.cpu.load)
            );
        }
    }
    let _ = writeln!(
        out,
        "\n## Bulk\n\n| conc. | route | MiB/s | p50 s per request | MiB | errors | CPU ms per MiB: service | node | load generator |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for group in groups.iter().filter(|group| group.kind == Kind::Bulk) {
        for (route, cell) in &group.cells {
            let per = |seconds: f64| seconds * 1000.0 / cell.mib().max(1e-9);
            let service_cpu = match route {
                Route::Service => format!("{:.2}", per(cell.cpu.service)),
                Route::Node => "—".to_owned(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {:.1} | {:.3} | {:.0} | {} | {service_cpu} | {:.2} | {:.2} |",
                group.concurrency,
                route.label(),
                cell.mib_per_second(),
                cell.ms(0.5) / 1000.0,
                cell.mib(),
                cell.errors,
                per(cell.cpu.node),
                per(cell.cpu.load)
            );
        }
    }
    let errors: Vec<String> = groups
        .iter()
        .flat_map(|group| &group.cells)
        .filter_map(|(route, cell)| Some(format!("{}: {}", route.label(), cell.first_error.as_ref()?)))
        .collect();
    let _ = writeln!(
        out,
        "\nService memory: {} KiB resident after start, {} KiB at the end, {} KiB peak.",
        service.idle_rss.map_or("?".into(), |kib| kib.to_string()),
        last.map_or("?".into(), |kib| kib.to_string()),
        peak.map_or("?".into(), |kib| kib.to_string()),
    );
    if errors.is_empty() {
        let _ = writeln!(out, "No request got an unexpected answer.");
    } else {
        let _ = writeln!(out, "Unexpected answers, first of each: {}", errors.join("; "));
    }
    let _ = writeln!(out, "\n{}", machine());
    out
}

fn machine() -> String {
    let model = cpu_model();
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "Machine: {cpus} CPUs ({model}); load average at the end {}.",
        load.join(" ")
    )
}
