//! Load generator for the sync-job API (docs/benchmarks.md): what the service adds on top of the
//! cluster for the calls a running connector makes (cancel, claim, check_in, update_stats), and
//! how cancel compares with Elasticsearch's own two-step cancel. `scripts/bench.sh` runs it.
//!
//! The service runs as the release binary in a child process (one per refresh setting), so its
//! memory and CPU are its own. Within each (refresh, operation, concurrency) group the variants
//! take turns in short rounds, the order rotating every round, so that noise on this small
//! machine falls on all of them alike:
//!
//! - `service`: the operation through the service;
//! - `same request to node`: the request the service sends for it, straight to the node (the
//!   floor): the scripted update for cancel and claim, the partial update for check_in and
//!   update_stats;
//! - `two-step` (cancel only): what Elasticsearch's built-in cancel does, straight to the node: a
//!   realtime GET, then a partial-document update with no version check;
//! - `baseline` (with CSP_BENCH_BASELINE_BIN): another build of the service, to judge a change;
//! - `service 404` and `service 400` (cancel, refresh=true groups only): an unknown job, and a
//!   job that is already canceled, through the service.
//!
//! Every request that changes a job uses a job no other request touched. Settings come from the
//! environment; see `Config::from_env`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use connector_sync_proxy::documents::{partial_update, row_document, script_body, Field};
use connector_sync_proxy::sync_job::status::ConnectorSyncStatus;
use connector_sync_proxy::sync_job::transitions::{
    cancel_fields, claim_fields, CANCEL, CANCELATION_REQUESTED_AT, CLAIM_TRANSITION, ERROR_TRANSITION,
    LAST_SEEN, STARTED_AT, STATUS,
};
use connector_sync_proxy::time::request_stamp;
use hdrhistogram::Histogram;
use serde_json::Map;
use serde_json::{json, Value};
use support::{clock_ticks, cpu_model, list, memory_kb, memory_total_mib, number, var, Cell, Cpu, Service};

mod support;

const INDEX: &str = ".elastic-connectors-sync-jobs";
const SERVICE_BIN: &str = env!("CARGO_BIN_EXE_connector-sync-proxy");
/// The service's default, sent as-is by the `script` variant.
const CONFLICT_RETRIES: u32 = 10;
/// Already-canceled jobs the 400 path cycles through (a 400 leaves them as they are).
const CANCELED_JOBS: u64 = 4096;
const BULK_CHUNK: u64 = 2000;

fn main() -> anyhow::Result<()> {
    support::block_on(run(Config::from_env()?))
}

struct Config {
    shape: Shape,
    node_url: String,
    node_pid: Option<u32>,
    rounds: u32,
    round: Duration,
    warmup: Duration,
    concurrencies: Vec<usize>,
    refreshes: Vec<&'static str>,
    ops: Vec<Op>,
    /// The highest request rate one variant is expected to reach (raised when a round goes
    /// faster); every round starts with enough unused jobs for all variants to run at it.
    max_rate: u64,
    service_bin: PathBuf,
    /// Another build of the service, measured as one more variant: how a change compares with
    /// the build before it, in the same run.
    baseline_bin: Option<PathBuf>,
    service_log: String,
    baseline_log: String,
    /// Extra flags for the service and for the baseline (the same binary with other settings
    /// makes a baseline too).
    service_args: Vec<String>,
    baseline_args: Vec<String>,
    /// The service's `--update-strategy`.
    strategy: String,
    /// How many update_stats and check_in pairs a sync of the fleet load sends between its claim
    /// and its final write.
    fleet_reports: u32,
    /// Jobs kept in the index beside the ones the rounds use, so that the node works on an index
    /// of a fleet's size; seeded once and left for later runs.
    base_jobs: u64,
    out: PathBuf,
}

/// What a run compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The service against the same request sent straight to the node (and cancel against the
    /// two-step cancel): what the service adds per request.
    Strategies,
    /// The service with group commit, the service without it, and Elasticsearch's own connector
    /// APIs' shape straight to the node (one request per operation, each with its refresh).
    GroupCommit,
}

impl Config {
    fn from_env() -> anyhow::Result<Self> {
        let node_url = var("CSP_BENCH_URL")
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "CSP_BENCH_URL is not set: run `scripts/bench.sh`, which starts a node with Painless, \
                     or point CSP_BENCH_URL at one"
                )
            })?
            .trim_end_matches('/')
            .to_owned();
        let concurrencies = list("CSP_BENCH_CONCURRENCY", "1,16,64")?;
        let refreshes = var("CSP_BENCH_REFRESH")
            .unwrap_or_else(|| "true,false".to_owned())
            .split(',')
            .map(|raw| match raw.trim() {
                "true" => Some("true"),
                "false" => Some("false"),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| anyhow::anyhow!("CSP_BENCH_REFRESH: expected true, false or true,false"))?;
        let shape = match var("CSP_BENCH_SHAPE").as_deref().map(str::trim) {
            None | Some("strategies") => Shape::Strategies,
            Some("group_commit") => Shape::GroupCommit,
            Some(other) => anyhow::bail!("CSP_BENCH_SHAPE: [{other}] is not strategies or group_commit"),
        };
        let default_ops = match shape {
            Shape::Strategies => "cancel,claim,check_in,update_stats",
            Shape::GroupCommit => "cancel,claim,check_in,update_stats,fleet",
        };
        let ops = var("CSP_BENCH_OPS")
            .unwrap_or_else(|| default_ops.to_owned())
            .split(',')
            .map(|raw| Op::ALL.into_iter().find(|op| op.name() == raw.trim()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                anyhow::anyhow!("CSP_BENCH_OPS: expected names from cancel,claim,check_in,update_stats,fleet")
            })?;
        Ok(Self {
            shape,
            node_url,
            ops,
            node_pid: var("CSP_BENCH_NODE_PID").and_then(|raw| raw.trim().parse().ok()),
            rounds: number("CSP_BENCH_ROUNDS", 5)?.max(1),
            round: Duration::from_millis(number("CSP_BENCH_ROUND_MS", 1000)?),
            // Long enough for the node's JIT to settle: with 1 s a cold node charged its compiler
            // threads to whichever variant ran first.
            warmup: Duration::from_millis(number(
                "CSP_BENCH_WARMUP_MS",
                match shape {
                    Shape::Strategies => 5000,
                    // Three variants, five operations: the run has to fit in a quarter of an hour.
                    Shape::GroupCommit => 2000,
                },
            )?),
            concurrencies,
            refreshes,
            max_rate: number("CSP_BENCH_MAX_RATE", 10_000)?,
            service_bin: var("CSP_BENCH_SERVICE_BIN").map_or_else(|| SERVICE_BIN.into(), PathBuf::from),
            baseline_bin: var("CSP_BENCH_BASELINE_BIN").map(PathBuf::from),
            service_log: var("CSP_BENCH_SERVICE_LOG").unwrap_or_else(|| "info".to_owned()),
            baseline_log: var("CSP_BENCH_BASELINE_LOG")
                .or_else(|| var("CSP_BENCH_SERVICE_LOG"))
                .unwrap_or_else(|| "info".to_owned()),
            service_args: var("CSP_BENCH_SERVICE_ARGS")
                .map(|args| args.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
            baseline_args: var("CSP_BENCH_BASELINE_ARGS")
                .map(|args| args.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
            // On a node without Painless (the Elasticsearch distribution the scripts fetch) auto
            // settles on the guarded path, as a user's service would.
            strategy: var("CSP_BENCH_UPDATE_STRATEGY").unwrap_or_else(|| {
                match shape {
                    Shape::Strategies => "script",
                    Shape::GroupCommit => "auto",
                }
                .to_owned()
            }),
            fleet_reports: number("CSP_BENCH_FLEET_REPORTS", 2)?,
            base_jobs: number(
                "CSP_BENCH_BASE_JOBS",
                match shape {
                    Shape::Strategies => 0,
                    Shape::GroupCommit => 100_000,
                },
            )?,
            out: var("CSP_BENCH_OUT").map_or_else(
                || match shape {
                    Shape::Strategies => "target/bench/sync_job.md".into(),
                    Shape::GroupCommit => "target/bench/group_commit.md".into(),
                },
                PathBuf::from,
            ),
        })
    }
}

/// The sync-job operations measured: one kind of request each, or `Fleet`, a mix of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Cancel,
    Claim,
    CheckIn,
    UpdateStats,
    /// What a fleet of running syncs sends: each simulated sync claims its own job, reports
    /// stats and checks in `fleet_reports` times, then ends it (cancel or error, by turns).
    Fleet,
}

impl Op {
    const ALL: [Self; 5] = [
        Self::Cancel,
        Self::Claim,
        Self::CheckIn,
        Self::UpdateStats,
        Self::Fleet,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Cancel => "cancel",
            Self::Claim => "claim",
            Self::CheckIn => "check_in",
            Self::UpdateStats => "update_stats",
            Self::Fleet => "fleet",
        }
    }

    /// The request every operation but `Fleet` sends.
    fn action(self) -> Action {
        match self {
            Self::Cancel => Action::Cancel,
            Self::Claim => Action::Claim,
            Self::CheckIn => Action::CheckIn,
            Self::UpdateStats | Self::Fleet => Action::UpdateStats,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The status of the `n`th job seeded for this operation: one it succeeds on.
    fn seed_status(self, n: u64) -> &'static str {
        match (self, n % 2) {
            (Self::Cancel, 0) => "in_progress",
            (Self::Cancel, _) => "pending",
            (Self::Claim, 0) => "pending",
            (Self::Claim, _) => "suspended",
            (Self::CheckIn | Self::UpdateStats, _) => "in_progress",
            (Self::Fleet, _) => "pending",
        }
    }
}

/// One request of the sync-job API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Cancel,
    Claim,
    CheckIn,
    UpdateStats,
    Error,
}

/// Where one simulated sync of the fleet load stands: its job, and how many of its requests
/// were sent.
#[derive(Default)]
struct Sync {
    job: Option<u64>,
    step: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Service,
    Direct,
    /// `Direct`, held to the rate the service variant reached in the same group, so that the
    /// node's CPU per request is compared at the same load.
    DirectPaced,
    TwoStep,
    Baseline,
    ServiceNotFound,
    ServiceInvalid,
    /// (g): the service with group commit (its default).
    GroupCommit,
    /// (s): the service with `--group-commit false`, one request to the node per operation.
    NoGroupCommit,
    /// (d): Elasticsearch's own connector APIs' shape, straight to the node: one `_update` with
    /// `refresh` per operation; for cancel and error its read first (a realtime GET, the
    /// transition decided in the client, then the update).
    Elastic,
}

impl Variant {
    const ALL: [Self; 10] = [
        Self::Service,
        Self::Direct,
        Self::DirectPaced,
        Self::TwoStep,
        Self::Baseline,
        Self::ServiceNotFound,
        Self::ServiceInvalid,
        Self::GroupCommit,
        Self::NoGroupCommit,
        Self::Elastic,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Service => "(a) service",
            Self::Direct => "(b) same request to node",
            Self::DirectPaced => "(b′) same request to node, at (a)'s rate",
            Self::TwoStep => "(c) two-step to node",
            Self::Baseline => "(a0) service, baseline build",
            Self::ServiceNotFound => "service 404",
            Self::ServiceInvalid => "service 400",
            Self::GroupCommit => "(g) service, group commit",
            Self::NoGroupCommit => "(s) service, no group commit",
            Self::Elastic => "(d) Elasticsearch's shape to node",
        }
    }

    fn through_service(self) -> bool {
        !matches!(
            self,
            Self::Direct | Self::DirectPaced | Self::TwoStep | Self::Elastic
        )
    }

    /// Whether each request changes a fresh job from the pool.
    fn takes_job(self) -> bool {
        !matches!(self, Self::ServiceNotFound | Self::ServiceInvalid)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The service processes in front of the node for one refresh setting.
struct Services {
    shape: Shape,
    refresh: &'static str,
    /// The service; in the group-commit shape, the one with group commit on.
    current: Service,
    /// The group-commit shape's service with group commit off.
    no_group_commit: Option<Service>,
    baseline: Option<Service>,
}

impl Services {
    fn start(config: &Config, refresh: &'static str, log_dir: &Path) -> anyhow::Result<Self> {
        let name = |build: &str| format!("{build} refresh={refresh}");
        let start = |bin: &Path, args: &[String], log_level: &str, name: String| {
            let log = log_dir.join(format!("{}.log", name.replace([' ', '='], "-")));
            let mut all = vec![
                "--update-strategy".to_owned(),
                config.strategy.clone(),
                "--refresh".to_owned(),
            ];
            all.push(refresh.to_owned());
            all.extend_from_slice(args);
            Service::start(bin, &config.node_url, &all, log_level, name, &log)
        };
        // A build without the setting runs (g) and (s) alike, which still exercises the harness.
        let group_commit = |on: bool| {
            let mut args = config.service_args.clone();
            if has_group_commit(&config.service_bin) {
                args.extend(["--group-commit".to_owned(), on.to_string()]);
            }
            args
        };
        let (current, no_group_commit) = match config.shape {
            Shape::Strategies => (
                start(
                    &config.service_bin,
                    &config.service_args,
                    &config.service_log,
                    name("service"),
                )?,
                None,
            ),
            Shape::GroupCommit => (
                start(
                    &config.service_bin,
                    &group_commit(true),
                    &config.service_log,
                    name("group commit"),
                )?,
                Some(start(
                    &config.service_bin,
                    &group_commit(false),
                    &config.service_log,
                    name("no group commit"),
                )?),
            ),
        };
        Ok(Self {
            shape: config.shape,
            refresh,
            current,
            no_group_commit,
            baseline: match &config.baseline_bin {
                Some(bin) => Some(start(
                    bin,
                    &config.baseline_args,
                    &config.baseline_log,
                    name("baseline"),
                )?),
                None => None,
            },
        })
    }

    /// The service a variant talks to, if any.
    fn of(&self, variant: Variant) -> Option<&Service> {
        match variant {
            Variant::Direct | Variant::DirectPaced | Variant::TwoStep | Variant::Elastic => None,
            Variant::Baseline => self.baseline.as_ref(),
            Variant::NoGroupCommit => self.no_group_commit.as_ref(),
            _ => Some(&self.current),
        }
    }

    fn all(&self) -> impl Iterator<Item = &Service> {
        std::iter::once(&self.current)
            .chain(&self.no_group_commit)
            .chain(&self.baseline)
    }

    /// The variants measured for an operation.
    fn variants(&self, op: Op) -> Vec<Variant> {
        let single = op != Op::Fleet;
        Variant::ALL
            .into_iter()
            .filter(|&variant| match (self.shape, variant) {
                (_, Variant::Baseline) => self.baseline.is_some(),
                (Shape::Strategies, Variant::Service) => true,
                (Shape::Strategies, Variant::Direct) => single,
                // Matching loads only matter where the machine, not the node, sets the pace.
                (Shape::Strategies, Variant::DirectPaced) => single && self.refresh == "false",
                (Shape::Strategies, Variant::TwoStep) => op == Op::Cancel,
                (Shape::Strategies, Variant::ServiceNotFound | Variant::ServiceInvalid) => {
                    op == Op::Cancel && self.refresh == "true"
                }
                (Shape::GroupCommit, Variant::GroupCommit | Variant::NoGroupCommit | Variant::Elastic) => {
                    true
                }
                _ => false,
            })
            .collect()
    }
}

/// Whether the service binary has the `group_commit` setting (builds before it do not).
fn has_group_commit(bin: &Path) -> bool {
    std::process::Command::new(bin)
        .arg("--help")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("--group-commit"))
}

/// Jobs waiting for one operation: ids `next..end` exist and were touched by no request yet.
struct Pool {
    op: Op,
    prefix: String,
    next: AtomicU64,
    end: AtomicU64,
    exhausted: AtomicBool,
}

impl Pool {
    fn take(&self) -> Option<u64> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        if n < self.end.load(Ordering::Relaxed) {
            Some(n)
        } else {
            self.exhausted.store(true, Ordering::Relaxed);
            None
        }
    }

    fn id(&self, n: u64) -> String {
        format!("{}-{n}", self.prefix)
    }

    /// Seeds jobs until `wanted` of them are unused, each in a status the operation succeeds
    /// on (cancel: half running, half pending, so both transitions are measured).
    async fn refill(&self, node: &Node, wanted: u64) -> anyhow::Result<()> {
        let next = self.next.load(Ordering::Relaxed);
        let end = self.end.load(Ordering::Relaxed);
        // Ids a worker took after the pool ran dry were never used, but skipping them is simpler.
        let from = end.max(next);
        let to = next + wanted;
        node.seed(from..to, |n| (self.id(n), self.op.seed_status(n)))
            .await?;
        self.end.store(to.max(end), Ordering::Relaxed);
        Ok(())
    }
}

/// The node, for seeding and for the variants that go straight to it.
struct Node {
    url: String,
    http: reqwest::Client,
    /// Marks every job this run seeds (as its connector id), so that they can be deleted after.
    run_id: String,
}

/// The connector id of the jobs that stay in the index between runs (`Config::base_jobs`).
const BASE: &str = "bench-base";

impl Node {
    async fn seed(
        &self,
        range: std::ops::Range<u64>,
        job: impl Fn(u64) -> (String, &'static str),
    ) -> anyhow::Result<()> {
        self.seed_for(&self.run_id, range, job).await
    }

    /// Seeds the jobs that stay until `wanted` of them are in the index: a fleet's history, most
    /// of them finished.
    async fn ensure_base_jobs(&self, wanted: u64) -> anyhow::Result<()> {
        if wanted == 0 {
            return Ok(());
        }
        let count: Value = self
            .http
            .get(format!("{}/{INDEX}/_count?q=connector.id:{BASE}", self.url))
            .send()
            .await?
            .json()
            .await?;
        let have = count["count"].as_u64().unwrap_or(0);
        if have >= wanted {
            return Ok(());
        }
        eprintln!("seeding {} jobs that stay in the index", wanted - have);
        const HISTORY: [&str; 5] = ["completed", "completed", "canceled", "error", "completed"];
        self.seed_for(BASE, have..wanted, |n| {
            (format!("{BASE}-{n}"), HISTORY[(n % 5) as usize])
        })
        .await
    }

    async fn seed_for(
        &self,
        connector_id: &str,
        range: std::ops::Range<u64>,
        job: impl Fn(u64) -> (String, &'static str),
    ) -> anyhow::Result<()> {
        let mut start = range.start;
        while start < range.end {
            let stop = (start + BULK_CHUNK).min(range.end);
            let mut body = String::new();
            for n in start..stop {
                let (id, status) = job(n);
                let action = json!({"index": {"_index": INDEX, "_id": id}});
                let doc = json!({
                    "status": status,
                    "job_type": "full",
                    "trigger_method": "on_demand",
                    "connector": {"id": connector_id, "index_name": "search-bench"},
                    "created_at": "2026-01-01T00:00:00.000Z",
                    "last_seen": "2026-01-01T00:00:01.000Z",
                    "indexed_document_count": 7,
                });
                writeln!(body, "{action}\n{doc}")?;
            }
            self.bulk(body, true).await?;
            start = stop;
        }
        Ok(())
    }
}

impl Node {
    /// Deletes the jobs this run seeded, leaving the node as it was found.
    async fn clean(&self, pools: &[Pool]) -> anyhow::Result<()> {
        let canceled = (0..CANCELED_JOBS).map(|n| canceled_id(&self.run_id, n));
        let jobs = pools
            .iter()
            .flat_map(|pool| (0..pool.end.load(Ordering::Relaxed)).map(|n| pool.id(n)));
        let ids: Vec<String> = canceled.chain(jobs).collect();
        for chunk in ids.chunks(BULK_CHUNK as usize) {
            let mut body = String::new();
            for id in chunk {
                writeln!(body, "{}", json!({"delete": {"_index": INDEX, "_id": id}}))?;
            }
            self.bulk(body, false).await?;
        }
        Ok(())
    }

    /// Merges away deleted documents. A run seeds and deletes hundreds of thousands of jobs; left
    /// in the segments, they made every refresh of the next run about three times as costly.
    /// Deletes newer than the shard's retention lease (soft deletes, renewed every few tens of
    /// seconds) stay; hence this runs at the start of a run, not at its end.
    async fn expunge_deletes(&self) -> anyhow::Result<()> {
        // Deletes not yet refreshed are not merged away.
        self.post_ok("_refresh").await?;
        self.post_ok("_forcemerge?only_expunge_deletes=true").await
    }

    /// POST to the sync-jobs index's `endpoint`; an answer other than 2xx is an error, with its body.
    async fn post_ok(&self, endpoint: &str) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!("{}/{INDEX}/{endpoint}", self.url))
            .send()
            .await?;
        let status = response.status();
        anyhow::ensure!(
            status.is_success(),
            "{endpoint} failed ({status}): {:.1000}",
            response.text().await?
        );
        Ok(())
    }

    async fn bulk(&self, body: String, refresh: bool) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!("{}/_bulk?refresh={refresh}&require_alias=true", self.url))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let answer: Value = response.json().await?;
        anyhow::ensure!(
            status.is_success() && answer["errors"] == json!(false),
            "bulk request failed ({status}): {:.1000}",
            answer.to_string()
        );
        Ok(())
    }
}

fn canceled_id(run_id: &str, n: u64) -> String {
    format!("canceled-{run_id}-{n}")
}

/// What the workers of one variant share: the target, one HTTP client (keep-alive) and the jobs.
struct Target<'a> {
    op: Op,
    variant: Variant,
    http: &'a reqwest::Client,
    node: &'a str,
    service: &'a str,
    refresh: &'static str,
    pool: &'a Pool,
    run: &'a str,
    counter: &'a AtomicU64,
    fleet_reports: u32,
}

/// The worker every claim names.
const WORKER: &str = "bench-worker";
const STATS: &str =
    r#"{"deleted_document_count":0,"indexed_document_count":120,"indexed_document_volume":4096}"#;
/// The message every error names.
const ERROR_MESSAGE: &str = "bench: the source went away";

impl Target<'_> {
    /// One operation (two requests for `two-step` and for Elasticsearch's cancel and error),
    /// checked against the answer it must get. `sync` is the worker's place in the fleet load.
    async fn request(&self, sync: &mut Sync) -> Option<Result<(), String>> {
        let (id, action) = match self.variant {
            Variant::ServiceNotFound => {
                let n = self.counter.fetch_add(1, Ordering::Relaxed);
                let id = format!("missing-{}-{n}", self.run);
                return Some(self.through_service(Action::Cancel, &id, 404).await);
            }
            Variant::ServiceInvalid => {
                let n = self.counter.fetch_add(1, Ordering::Relaxed) % CANCELED_JOBS;
                let id = canceled_id(self.run, n);
                return Some(self.through_service(Action::Cancel, &id, 400).await);
            }
            _ if self.op == Op::Fleet => self.fleet_step(sync)?,
            _ => (self.pool.take()?, self.op.action()),
        };
        let id = self.pool.id(id);
        Some(match self.variant {
            Variant::Direct | Variant::DirectPaced => self.direct(&id).await,
            Variant::TwoStep => self.two_step(action, &id).await,
            Variant::Elastic => match action {
                Action::Cancel | Action::Error => self.two_step(action, &id).await,
                _ => self.one_update(action, &id).await,
            },
            _ => self.through_service(action, &id, 200).await,
        })
    }

    /// The next request of the worker's simulated sync: a claim of a fresh job, then update_stats
    /// and check_in by turns, then the final write (cancel for even jobs, error for odd ones),
    /// after which the next request starts a new sync.
    fn fleet_step(&self, sync: &mut Sync) -> Option<(u64, Action)> {
        let n = match sync.job {
            Some(n) => n,
            None => {
                let n = self.pool.take()?;
                *sync = Sync {
                    job: Some(n),
                    step: 0,
                };
                n
            }
        };
        let last = 1 + 2 * self.fleet_reports;
        let action = match sync.step {
            0 => Action::Claim,
            step if step >= last => {
                sync.job = None;
                if n % 2 == 0 {
                    Action::Cancel
                } else {
                    Action::Error
                }
            }
            step if step % 2 == 1 => Action::UpdateStats,
            _ => Action::CheckIn,
        };
        sync.step += 1;
        Some((n, action))
    }

    async fn through_service(&self, action: Action, id: &str, expected: u16) -> Result<(), String> {
        let url = format!("{}/_connector/_sync_job/{id}", self.service);
        let request = match action {
            Action::Cancel => self.http.put(format!("{url}/_cancel")),
            Action::Claim => self
                .http
                .put(format!("{url}/_claim"))
                .header("content-type", "application/json")
                .body(format!(r#"{{"worker_hostname":"{WORKER}"}}"#)),
            Action::CheckIn => self.http.put(format!("{url}/_check_in")),
            Action::UpdateStats => self
                .http
                .put(format!("{url}/_stats"))
                .header("content-type", "application/json")
                .body(STATS),
            Action::Error => self
                .http
                .put(format!("{url}/_error"))
                .header("content-type", "application/json")
                .body(format!(r#"{{"error":"{ERROR_MESSAGE}"}}"#)),
        };
        let response = request.send().await.map_err(|err| format!("{err:#}"))?;
        expect(response, expected, None).await
    }

    /// The request the service sends for the operation, straight to the node: the same body
    /// (built by the service's own code, with a nanosecond timestamp), query and `_source`.
    async fn direct(&self, id: &str) -> Result<(), String> {
        let now = request_stamp();
        let (body, query) = match self.op {
            Op::Cancel => (
                script_body(STATUS, &CANCEL.rows(|to| cancel_fields(to, &now))),
                format!(
                    "&retry_on_conflict={CONFLICT_RETRIES}&_source={STATUS}%2C{CANCELATION_REQUESTED_AT}"
                ),
            ),
            Op::Claim => (
                script_body(
                    STATUS,
                    &CLAIM_TRANSITION.rows(|_| claim_fields(WORKER, &now, None)),
                ),
                format!("&retry_on_conflict={CONFLICT_RETRIES}&_source={STATUS}%2C{STARTED_AT}"),
            ),
            Op::CheckIn => {
                let doc = Map::from_iter([(LAST_SEEN.to_owned(), Value::from(now.as_str()))]);
                (partial_update(&doc), String::new())
            }
            Op::UpdateStats | Op::Fleet => {
                let mut doc: Map<String, Value> = serde_json::from_str(STATS).expect("valid JSON");
                doc.insert(LAST_SEEN.to_owned(), now.as_str().into());
                (partial_update(&doc), String::new())
            }
        };
        let response = self
            .http
            .post(format!(
                "{}/{INDEX}/_update/{id}?refresh={}&require_alias=true{query}",
                self.node, self.refresh
            ))
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|err| format!("{err:#}"))?;
        expect(response, 200, Some("\"updated\"")).await
    }

    /// Elasticsearch's own claim, check_in and update_stats: one partial-document `_update` with
    /// `refresh` and no precondition (its claim checks no status).
    async fn one_update(&self, action: Action, id: &str) -> Result<(), String> {
        let now = request_stamp();
        let doc = match action {
            Action::Claim => {
                let mut row = claim_fields(WORKER, &now, None);
                row.push((STATUS, Field::Text(ConnectorSyncStatus::InProgress.as_str())));
                row_document(&row)
            }
            Action::CheckIn => Map::from_iter([(LAST_SEEN.to_owned(), Value::from(now.as_str()))]),
            Action::UpdateStats => {
                let mut doc: Map<String, Value> = serde_json::from_str(STATS).expect("valid JSON");
                doc.insert(LAST_SEEN.to_owned(), now.as_str().into());
                doc
            }
            Action::Cancel | Action::Error => unreachable!("cancel and error read first"),
        };
        self.update(id, &doc).await
    }

    async fn update(&self, id: &str, doc: &Map<String, Value>) -> Result<(), String> {
        let response = self
            .http
            .post(format!(
                "{}/{INDEX}/_update/{id}?refresh={}",
                self.node, self.refresh
            ))
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .body(partial_update(doc))
            .send()
            .await
            .map_err(|err| format!("{err:#}"))?;
        expect(response, 200, Some("\"updated\"")).await
    }

    /// Elasticsearch's own cancel and error: read the job (realtime), decide, write the fields
    /// without a version check.
    async fn two_step(&self, action: Action, id: &str) -> Result<(), String> {
        let read = self
            .http
            .get(format!("{}/{INDEX}/_doc/{id}?realtime=true", self.node))
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|err| format!("{err:#}"))?;
        if read.status() != 200 {
            return expect(read, 200, None).await;
        }
        let job: Value = read.json().await.map_err(|err| format!("{err:#}"))?;
        let from = job["_source"][STATUS]
            .as_str()
            .and_then(ConnectorSyncStatus::parse)
            .ok_or_else(|| format!("job {id} has no known status: {job}"))?;
        let transition = match action {
            Action::Error => ERROR_TRANSITION,
            _ => CANCEL,
        };
        let to = (transition.row)(from).ok_or_else(|| format!("job {id}: no {action:?} from {from}"))?;
        let now = request_stamp();
        let mut row = match action {
            Action::Error => vec![("error", Field::Text(ERROR_MESSAGE))],
            _ => cancel_fields(to, &now),
        };
        row.push((STATUS, Field::Text(to.as_str())));
        self.update(id, &row_document(&row)).await
    }
}

/// Reads the whole answer (so the connection is reused) and checks it.
async fn expect(response: reqwest::Response, status: u16, contains: Option<&str>) -> Result<(), String> {
    let got = response.status().as_u16();
    let body = response.bytes().await.map_err(|err| format!("{err:#}"))?;
    let body_ok = contains.is_none_or(|needle| body.windows(needle.len()).any(|w| w == needle.as_bytes()));
    if got == status && body_ok {
        Ok(())
    } else {
        Err(format!(
            "expected {status}, got {got}: {:.300}",
            String::from_utf8_lossy(&body)
        ))
    }
}

/// Resident memory of a service process in kB: after start, at the end, and its peak.
struct Memory {
    name: String,
    idle: Option<u64>,
    last: Option<u64>,
    peak: Option<u64>,
}

/// Runs `concurrency` workers, each sending one request after the other until `duration` is up,
/// and adds what they measured to `cell`.
/// Returns the rate of the round in requests per second.
/// With `pace` (requests per second), the workers together send no faster than that: worker
/// `w` sends its `k`th request no earlier than `(w + k * concurrency) / pace` after the start.
async fn round(
    target: &Target<'_>,
    concurrency: usize,
    duration: Duration,
    pace: Option<f64>,
    cell: &mut Cell,
) -> f64 {
    let started = Instant::now();
    let deadline = started + duration;
    let workers = (0..concurrency).map(|worker| async move {
        let mut latency = Histogram::<u64>::new(3).expect("3 significant figures is valid");
        let mut errors = Vec::new();
        let mut sent_so_far = 0u64;
        let mut sync = Sync::default();
        while Instant::now() < deadline {
            if let Some(rate) = pace {
                let slot = (worker as f64 + sent_so_far as f64 * concurrency as f64) / rate;
                tokio::time::sleep_until((started + Duration::from_secs_f64(slot)).into()).await;
                if Instant::now() >= deadline {
                    break;
                }
            }
            sent_so_far += 1;
            let sent = Instant::now();
            match target.request(&mut sync).await {
                None => break,
                Some(Ok(())) => {
                    let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                    latency.record(micros.max(1)).expect("the histogram grows");
                }
                Some(Err(err)) => errors.push(err),
            }
        }
        (latency, errors)
    });
    let results = futures::future::join_all(workers).await;
    let elapsed = started.elapsed();
    cell.elapsed += elapsed;
    let mut requests = 0;
    for (latency, errors) in results {
        requests += latency.len();
        cell.requests += latency.len();
        cell.latency.add(&latency).expect("the histogram grows");
        cell.errors += errors.len() as u64;
        if cell.first_error.is_none() {
            cell.first_error = errors.into_iter().next();
        }
    }
    requests as f64 / elapsed.as_secs_f64().max(1e-9)
}

struct Group {
    refresh: &'static str,
    op: Op,
    concurrency: usize,
    cells: Vec<(Variant, Cell)>,
}

impl Group {
    /// The group-commit shape's three cells: (g), (s) and (d).
    fn compared(&self) -> Option<(&Cell, &Cell, &Cell)> {
        Some((
            self.cell(Variant::GroupCommit)?,
            self.cell(Variant::NoGroupCommit)?,
            self.cell(Variant::Elastic)?,
        ))
    }

    fn cell(&self, variant: Variant) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|(v, _)| *v == variant)
            .map(|(_, cell)| cell)
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let out_dir = config
        .out
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned();
    std::fs::create_dir_all(&out_dir)?;
    // What a plain client sends: no proxy, keep-alive, and no compression (the answers are a
    // few hundred bytes).
    let client = || {
        reqwest::Client::builder()
            .no_proxy()
            .no_gzip()
            .timeout(Duration::from_secs(60))
            .build()
    };
    let node = Node {
        url: config.node_url.clone(),
        http: client()?,
        run_id: format!("bench-{}-{}", std::process::id(), Utc::now().timestamp_millis()),
    };
    let pools: Vec<Pool> = Op::ALL
        .into_iter()
        .map(|op| Pool {
            op,
            prefix: format!("{}-{}", op.name(), node.run_id),
            next: AtomicU64::new(0),
            end: AtomicU64::new(0),
            exhausted: AtomicBool::new(false),
        })
        .collect();
    node.ensure_base_jobs(config.base_jobs).await?;
    // Every run starts from an index without the deleted jobs of earlier runs.
    node.expunge_deletes().await?;
    let measured = measure(&config, &node, &pools, &out_dir, client).await;
    if let Err(err) = node.clean(&pools).await {
        eprintln!("{err:#}");
    }
    measured
}

async fn measure(
    config: &Config,
    node: &Node,
    pools: &[Pool],
    out_dir: &Path,
    client: impl Fn() -> reqwest::Result<reqwest::Client>,
) -> anyhow::Result<()> {
    let node_version = node_version(node).await?;
    let run_id = &node.run_id;
    eprintln!(
        "node {} at {}; seeding {CANCELED_JOBS} canceled jobs",
        node_version, node.url
    );
    node.seed(0..CANCELED_JOBS, |n| (canceled_id(run_id, n), "canceled"))
        .await?;
    let mut max_rate = config.max_rate as f64;
    // Enough unused jobs for every variant that takes them to run for `duration` at the highest
    // rate.
    let stock = |max_rate: f64, variants: &[Variant], duration: Duration| {
        let takers = variants.iter().filter(|v| v.takes_job()).count() as f64;
        (max_rate * duration.as_secs_f64() * takers).ceil() as u64
    };

    let services = config
        .refreshes
        .iter()
        .map(|&refresh| Services::start(config, refresh, out_dir))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // One client per variant, kept for the whole run.
    let clients = Variant::ALL
        .iter()
        .map(|_| client())
        .collect::<Result<Vec<_>, _>>()?;
    let counters: Vec<AtomicU64> = Variant::ALL.iter().map(|_| AtomicU64::new(0)).collect();

    let mut groups = Vec::new();
    let bench_started = Instant::now();
    for services in &services {
        for &op in &config.ops {
            let pool = &pools[op.index()];
            let variants = services.variants(op);
            let make = |variant: Variant| Target {
                op,
                variant,
                http: &clients[variant.index()],
                node: &node.url,
                service: services.of(variant).map_or("", |service| service.url.as_str()),
                refresh: services.refresh,
                pool,
                run: run_id,
                counter: &counters[variant.index()],
                fleet_reports: config.fleet_reports,
            };
            if !config.warmup.is_zero() {
                eprintln!("refresh={} {}: warming up", services.refresh, op.name());
                pool.refill(node, stock(max_rate, &variants, config.warmup))
                    .await?;
                for &variant in &variants {
                    round(&make(variant), 16, config.warmup, None, &mut Cell::new()).await;
                }
            }
            for &concurrency in &config.concurrencies {
                let mut cells: Vec<(Variant, Cell)> = variants.iter().map(|&v| (v, Cell::new())).collect();
                for r in 0..config.rounds as usize {
                    pool.refill(node, stock(max_rate, &variants, config.round))
                        .await?;
                    // Each round starts with the next variant, so none is always first after
                    // seeding.
                    for k in 0..cells.len() {
                        let service_rate = cells
                            .iter()
                            .find(|(variant, cell)| *variant == Variant::Service && cell.requests > 0)
                            .map(|(_, cell)| cell.throughput());
                        let (variant, cell) = &mut cells[(r + k) % variants.len()];
                        let pace = match variant {
                            Variant::DirectPaced => service_rate,
                            _ => None,
                        };
                        let service = services.of(*variant);
                        let http = &clients[variant.index()];
                        let counted = counters_of(http, service).await;
                        let before = Cpu::sample(service, config.node_pid);
                        let rate = round(&make(*variant), concurrency, config.round, pace, cell).await;
                        cell.cpu.add(Cpu::sample(service, config.node_pid).since(before));
                        for (series, now) in counters_of(http, service).await {
                            let rise = now - counted.get(&series).copied().unwrap_or(0.0);
                            *cell.counters.entry(series).or_default() += rise;
                        }
                        max_rate = max_rate.max(rate * 1.5);
                    }
                }
                let group = Group {
                    refresh: services.refresh,
                    op,
                    concurrency,
                    cells,
                };
                eprint!("{}", group_table(&group));
                groups.push(group);
            }
        }
    }
    let measured = bench_started.elapsed();

    let memory: Vec<Memory> = services
        .iter()
        .flat_map(Services::all)
        .map(|service| Memory {
            name: service.name.clone(),
            idle: service.idle_rss,
            last: memory_kb(service.pid(), "VmRSS"),
            peak: memory_kb(service.pid(), "VmHWM"),
        })
        .collect();
    let report = report(config, &node_version, &groups, &memory, measured);
    std::fs::write(&config.out, &report)?;
    println!("{report}");
    eprintln!("written to {}", config.out.display());
    let errors: u64 = groups
        .iter()
        .flat_map(|g| g.cells.iter())
        .map(|(_, c)| c.errors)
        .sum();
    anyhow::ensure!(
        errors == 0,
        "{errors} requests got an unexpected answer (see the report)"
    );
    anyhow::ensure!(
        !pools.iter().any(|pool| pool.exhausted.load(Ordering::Relaxed)),
        "a round ran out of seeded jobs, so it was cut short: raise CSP_BENCH_MAX_RATE"
    );
    Ok(())
}

async fn node_version(node: &Node) -> anyhow::Result<String> {
    let root: Value = node.http.get(&node.url).send().await?.json().await?;
    let distribution = root["version"]["distribution"]
        .as_str()
        .unwrap_or("elasticsearch");
    let number = match root["version"]["number"].as_str() {
        Some(number) => number.to_owned(),
        // The Elasticsearch test distribution answers `GET /` with 405; its nodes API knows.
        None => {
            let nodes: Value = node
                .http
                .get(format!("{}/_nodes/_local?filter_path=nodes.*.version", node.url))
                .send()
                .await?
                .json()
                .await?;
            nodes["nodes"]
                .as_object()
                .and_then(|nodes| nodes.values().next())
                .and_then(|local| local["version"].as_str())
                .unwrap_or("?")
                .to_owned()
        }
    };
    Ok(format!("{distribution} {number}"))
}

/// The service's counters that tell where its requests went: requests to the cluster by
/// operation, and everything about batches and bulk requests. Empty for the node's variants.
async fn counters_of(
    http: &reqwest::Client,
    service: Option<&Service>,
) -> std::collections::BTreeMap<String, f64> {
    let Some(service) = service else {
        return Default::default();
    };
    let Ok(response) = http.get(format!("{}/-/metrics", service.url)).send().await else {
        return Default::default();
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let name = series.split('{').next()?;
            let wanted = name.contains("batch")
                || name.contains("bulk")
                || name.contains("group_commit")
                || name == "connector_sync_proxy_upstream_request_duration_seconds_count";
            let counted = name.ends_with("_count") || name.ends_with("_sum") || name.ends_with("_total");
            (wanted && counted).then(|| Some((series.to_owned(), value.parse().ok()?)))?
        })
        .collect()
}

fn group_table(group: &Group) -> String {
    let mut text = format!(
        "\nrefresh={} {} concurrency={}\n\n| variant | req/s | p50 ms | p90 ms | p99 ms | requests | errors | service CPU µs/req |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
        group.refresh,
        group.op.name(),
        group.concurrency
    );
    for (variant, cell) in &group.cells {
        let _ = writeln!(
            text,
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {:.1} |",
            variant.label(),
            cell.throughput(),
            cell.ms(0.5),
            cell.ms(0.9),
            cell.ms(0.99),
            cell.requests,
            cell.errors,
            cell.micros(cell.cpu.service)
        );
    }
    text
}

fn report(
    config: &Config,
    node_version: &str,
    groups: &[Group],
    memory: &[Memory],
    measured: Duration,
) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Sync-job benchmark{}\n\nNode: {node_version} at {}. Service: {} {} (update_strategy {}, RUST_LOG={}).\n\
         Machine: {}, {} CPUs, {} MiB memory. {} rounds of {} ms per variant and group, warm-up {} ms \
         per variant and operation; {:.0} s in all.\n",
        match config.shape {
            Shape::Strategies => "",
            Shape::GroupCommit => ": group commit",
        },
        config.node_url,
        config.service_bin.display(),
        config.service_args.join(" "),
        config.strategy,
        config.service_log,
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_total_mib(),
        config.rounds,
        config.round.as_millis(),
        config.warmup.as_millis(),
        measured.as_secs_f64(),
    );
    if config.shape == Shape::GroupCommit {
        text.push_str(&group_commit_summary(config, groups, memory));
    }
    let _ = writeln!(
        text,
        "## Latency and throughput\n\n| refresh | operation | conc. | variant | req/s | p50 ms | p90 ms | p99 ms | requests | errors |\n\
         |---|---|---:|---|---:|---:|---:|---:|---:|---:|"
    );
    for group in groups {
        for (variant, cell) in &group.cells {
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} |",
                group.refresh,
                group.op.name(),
                group.concurrency,
                variant.label(),
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
        text,
        "\n## Ratios\n\n(a) through the service against (b) the same request sent straight to the node, and for \
         cancel against (c) Elasticsearch's two-step cancel.\n\n\
         | refresh | operation | conc. | a/b req/s | a/b p50 | a − b p50 ms | a/c req/s | a/c p50 | node CPU/req a/b′ (same load) |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for group in groups {
        let (Some(a), Some(b)) = (group.cell(Variant::Service), group.cell(Variant::Direct)) else {
            continue;
        };
        let (against_c_rate, against_c_p50) = match group.cell(Variant::TwoStep) {
            Some(c) => (
                format!("{:.3}", a.throughput() / c.throughput()),
                format!("{:.3}", a.ms(0.5) / c.ms(0.5)),
            ),
            None => ("—".to_owned(), "—".to_owned()),
        };
        let node_at_same_load = match group.cell(Variant::DirectPaced) {
            Some(paced) => format!(
                "{:.3} ({:.0} vs {:.0} req/s)",
                a.micros(a.cpu.node) / paced.micros(paced.cpu.node),
                a.throughput(),
                paced.throughput()
            ),
            None => "—".to_owned(),
        };
        let _ = writeln!(
            text,
            "| {} | {} | {} | {:.3} | {:.3} | {:+.3} | {against_c_rate} | {against_c_p50} | {node_at_same_load} |",
            group.refresh,
            group.op.name(),
            group.concurrency,
            a.throughput() / b.throughput(),
            a.ms(0.5) / b.ms(0.5),
            a.ms(0.5) - b.ms(0.5),
        );
    }
    if groups.iter().any(|group| group.cell(Variant::Baseline).is_some()) {
        let _ = writeln!(
            text,
            "\n## This build against the baseline build\n\nBaseline: {} {} (RUST_LOG={}).\n\n\
             | refresh | operation | conc. | a/a0 req/s | a/a0 p50 | a − a0 p50 ms | service CPU µs/req, a | a0 | a/a0 CPU |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|",
            config.baseline_bin.as_deref().unwrap_or(Path::new("?")).display(),
            config.baseline_args.join(" "),
            config.baseline_log
        );
        for group in groups {
            let (Some(a), Some(a0)) = (group.cell(Variant::Service), group.cell(Variant::Baseline)) else {
                continue;
            };
            let _ = writeln!(
                text,
                "| {} | {} | {} | {:.3} | {:.3} | {:+.3} | {:.1} | {:.1} | {:.3} |",
                group.refresh,
                group.op.name(),
                group.concurrency,
                a.throughput() / a0.throughput(),
                a.ms(0.5) / a0.ms(0.5),
                a.ms(0.5) - a0.ms(0.5),
                a.micros(a.cpu.service),
                a0.micros(a0.cpu.service),
                a.micros(a.cpu.service) / a0.micros(a0.cpu.service),
            );
        }
    }
    let _ = writeln!(
        text,
        "\n## CPU per request\n\nMeasured over each variant's rounds from /proc/PID/stat (utime + stime, {} \
         ticks/s), in microseconds per request: the service (its requests only), the node{}, this load \
         generator, and the three together; \"of it in the kernel\" is the service's stime. The node's cost \
         per request falls as its throughput rises, so its throughput stands beside it: compare node CPU \
         at matching load.\n\n\
         | refresh | operation | conc. | variant | req/s | service µs | of it in the kernel | node µs | load generator µs | all µs |\n\
         |---|---|---:|---|---:|---:|---:|---:|---:|---:|",
        clock_ticks(),
        if config.node_pid.is_some() {
            " (background work included)"
        } else {
            " (not measured: CSP_BENCH_NODE_PID unset)"
        }
    );
    for group in groups {
        for (variant, cell) in &group.cells {
            let (service, kernel, service_seconds) = if variant.through_service() {
                (
                    format!("{:.1}", cell.micros(cell.cpu.service)),
                    format!("{:.1}", cell.micros(cell.cpu.service_kernel)),
                    cell.cpu.service,
                )
            } else {
                ("—".to_owned(), "—".to_owned(), 0.0)
            };
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {:.0} | {service} | {kernel} | {:.1} | {:.1} | {:.1} |",
                group.refresh,
                group.op.name(),
                group.concurrency,
                variant.label(),
                cell.throughput(),
                cell.micros(cell.cpu.node),
                cell.micros(cell.cpu.load),
                cell.micros(service_seconds + cell.cpu.node + cell.cpu.load)
            );
        }
    }
    let _ = writeln!(
        text,
        "\n## Service memory\n\n| service | RSS after start | RSS at the end | peak RSS (VmHWM) |\n|---|---:|---:|---:|"
    );
    let mib =
        |kb: Option<u64>| kb.map_or_else(|| "?".to_owned(), |kb| format!("{:.1} MiB", kb as f64 / 1024.0));
    for service in memory {
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} |",
            service.name,
            mib(service.idle),
            mib(service.last),
            mib(service.peak)
        );
    }
    let errors: Vec<String> = groups
        .iter()
        .flat_map(|g| {
            g.cells.iter().filter_map(move |(v, c)| {
                c.first_error.as_ref().map(|e| {
                    format!(
                        "- refresh={} {} conc. {} {}: {} errors, first: {e}",
                        g.refresh,
                        g.op.name(),
                        g.concurrency,
                        v.label(),
                        c.errors
                    )
                })
            })
        })
        .collect();
    if !errors.is_empty() {
        let _ = writeln!(text, "\n## Unexpected answers\n\n{}", errors.join("\n"));
    }
    text
}

/// The group-commit shape's tables: each operation through the service with and without group
/// commit against Elasticsearch's shape, the issue's targets, and where the requests went.
fn group_commit_summary(config: &Config, groups: &[Group], memory: &[Memory]) -> String {
    let mut text = String::new();
    let grouping = if has_group_commit(&config.service_bin) {
        "(g) runs with `--group-commit true`, (s) with `--group-commit false`"
    } else {
        "this build has no group_commit setting, so (g) and (s) are the same service"
    };
    let _ = writeln!(
        text,
        "## Group commit against Elasticsearch's shape\n\n{grouping}; (d) is one request per operation \
         straight to the node as Elasticsearch's connector APIs send it (one `_update` with `refresh`; \
         cancel and error a realtime GET first). An operation of the fleet load is one request of a \
         simulated sync (claim, update_stats and check_in {} times each, then cancel or error). CPU in µs \
         per operation from /proc; p50 in ms.\n\n\
         | refresh | operation | conc. | ops/s (g) | (s) | (d) | g/d ops/s | node CPU/op (g) | (s) | (d) | \
         g/d node CPU | service CPU/op (g) | (s) | p50 (g) | (s) | (d) | g − s p50 |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        config.fleet_reports
    );
    for group in groups {
        let Some((g, s, d)) = group.compared() else {
            continue;
        };
        let node = |cell: &Cell| cell.micros(cell.cpu.node);
        let service = |cell: &Cell| cell.micros(cell.cpu.service);
        let _ = writeln!(
            text,
            "| {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} | {:.0} | {:.3} | {:.1} | {:.1} | \
             {:.2} | {:.2} | {:.2} | {:+.3} |",
            group.refresh,
            group.op.name(),
            group.concurrency,
            g.throughput(),
            s.throughput(),
            d.throughput(),
            g.throughput() / d.throughput(),
            node(g),
            node(s),
            node(d),
            node(g) / node(d),
            service(g),
            service(s),
            g.ms(0.5),
            s.ms(0.5),
            d.ms(0.5),
            g.ms(0.5) - s.ms(0.5),
        );
    }

    let _ = writeln!(
        text,
        "\n### Against the targets\n\n\
         | target | operation | measured | met |\n|---|---|---|---|"
    );
    let verdict = |met: bool| if met { "yes" } else { "no" };
    for group in groups {
        let Some((g, s, d)) = group.compared() else {
            continue;
        };
        if group.concurrency == 64 && group.refresh == "true" {
            let rate = g.throughput() / d.throughput();
            let node = g.micros(g.cpu.node) / d.micros(d.cpu.node);
            let _ = writeln!(
                text,
                "| c=64, refresh=true: ops/s ≥ 10× (d) | {} | {rate:.2}× ({:.0} vs {:.0}) | {} |\n\
                 | c=64, refresh=true: node CPU/op ≤ 1/10 of (d) | {} | {node:.3} ({:.0} vs {:.0} µs) | {} |",
                group.op.name(),
                g.throughput(),
                d.throughput(),
                verdict(rate >= 10.0),
                group.op.name(),
                g.micros(g.cpu.node),
                d.micros(d.cpu.node),
                verdict(node <= 0.1),
            );
        }
        if group.concurrency == 1 {
            let added = g.ms(0.5) - s.ms(0.5);
            let _ = writeln!(
                text,
                "| c=1, refresh={}: p50 within 0.1 ms of (s) | {} | {added:+.3} ms ({:.2} vs {:.2}) | {} |",
                group.refresh,
                group.op.name(),
                g.ms(0.5),
                s.ms(0.5),
                verdict(added <= 0.1),
            );
        }
        if group.concurrency == 64 {
            let (cpu_g, cpu_s) = (g.micros(g.cpu.service), s.micros(s.cpu.service));
            let _ = writeln!(
                text,
                "| c=64, refresh={}: service CPU/op no higher than (s) | {} | {cpu_g:.1} vs {cpu_s:.1} µs | {} |",
                group.refresh,
                group.op.name(),
                // Within the run-to-run noise of this machine (about 10 %) counts as no higher.
                verdict(cpu_g <= cpu_s * 1.1),
            );
        }
    }
    for service in memory {
        if let Some(peak) = service.peak {
            let mib = peak as f64 / 1024.0;
            let _ = writeln!(
                text,
                "| peak RSS ≤ 30 MB | {} | {mib:.1} MiB (VmHWM) | {} |",
                service.name,
                verdict(peak * 1024 <= 30_000_000),
            );
        }
    }

    let _ = writeln!(
        text,
        "\n### Where the service's requests went\n\nRises of the service's counters over each cell's rounds \
         (`/-/metrics`), per operation: requests to the cluster by kind, and for histograms of batches \
         their mean.\n\n| refresh | operation | conc. | variant | per operation |\n|---|---|---:|---|---|"
    );
    for group in groups {
        for (variant, cell) in &group.cells {
            if cell.counters.is_empty() {
                continue;
            }
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {} |",
                group.refresh,
                group.op.name(),
                group.concurrency,
                variant.label(),
                counters_summary(cell)
            );
        }
    }
    text.push('\n');
    text
}

/// A cell's counters in a few words: `upstream get 1.00, update 1.00` per operation, a
/// histogram's mean (`..._sum` over `..._count`), any other count per operation.
fn counters_summary(cell: &Cell) -> String {
    let per_op = |value: f64| value / cell.requests.max(1) as f64;
    let mut parts = Vec::new();
    for (series, value) in &cell.counters {
        if *value <= 0.0 {
            continue;
        }
        let name = series.split('{').next().unwrap_or(series);
        let labels = series
            .split_once('{')
            .map_or("", |(_, rest)| rest.trim_end_matches('}'));
        let short = name.trim_start_matches("connector_sync_proxy_");
        if name == "connector_sync_proxy_upstream_request_duration_seconds_count" {
            let operation = labels
                .split(',')
                .find_map(|label| label.strip_prefix("operation="))
                .unwrap_or(labels)
                .trim_matches('"');
            parts.push(format!("upstream {operation} {:.3}", per_op(*value)));
        } else if let Some(base) = name.strip_suffix("_sum") {
            let count_series = series.replacen(name, &format!("{base}_count"), 1);
            if let Some(count) = cell.counters.get(&count_series).filter(|&&count| count > 0.0) {
                parts.push(format!(
                    "{}{{{labels}}} mean {:.2}",
                    short.trim_end_matches("_sum"),
                    value / count
                ));
            }
        } else if name.ends_with("_total")
            || (name.ends_with("_count")
                && !cell.counters.contains_key(&series.replacen("_count", "_sum", 1)))
        {
            let label = if labels.is_empty() {
                String::new()
            } else {
                format!("{{{labels}}}")
            };
            parts.push(format!("{short}{label} {:.3}", per_op(*value)));
        }
    }
    if parts.is_empty() {
        "—".to_owned()
    } else {
        parts.join(", ")
    }
}
