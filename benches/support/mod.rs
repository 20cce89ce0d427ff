//! What the load generators share: the service in a child process, the CPU time and memory of a
//! process read from /proc, one measured cell of a table, and the machine's description.
// Each bench is its own crate and uses part of this module.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Runs a load generator's `run` on a single-threaded runtime, so that its own CPU stays small
/// and is read from one thread.
pub(crate) fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(run: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run)
}

/// A setting from the environment; unset and blank are alike.
pub(crate) fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}

/// A numeric setting, `default` when unset.
pub(crate) fn number<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match var(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}: [{raw}] is not a number")),
    }
}

/// A comma-separated list of positive numbers, `default` (in the same form) when unset.
pub(crate) fn list(name: &str, default: &str) -> anyhow::Result<Vec<usize>> {
    var(name)
        .unwrap_or_else(|| default.to_owned())
        .split(',')
        .map(|raw| raw.trim().parse::<usize>().ok().filter(|&n| n > 0))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| anyhow::anyhow!("{name}: expected numbers like {default}"))
}

/// The service in a child process, listening on a port of its own choosing; killed when dropped.
pub(crate) struct Service {
    child: Child,
    pub url: String,
    pub name: String,
    /// Resident memory right after start, in kB.
    pub idle_rss: Option<u64>,
}

impl Service {
    /// Starts `bin` in front of the node at `node_url` with `args`, at log level `log_level`,
    /// writing its log to `log_path`, and waits until it listens.
    pub(crate) fn start(
        bin: &Path,
        node_url: &str,
        args: &[String],
        log_level: &str,
        name: String,
        log_path: &Path,
    ) -> anyhow::Result<Self> {
        let log = std::fs::File::create(log_path)?;
        // The startup line carries the port; `startup=info` keeps it whatever the level asked for.
        let filter = format!("{log_level},connector_sync_proxy::startup=info");
        let child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0", "--es-url", node_url])
            .args(args)
            .env("RUST_LOG", filter)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|err| anyhow::anyhow!("cannot start {}: {err}", bin.display()))?;
        let mut service = Self {
            child,
            url: String::new(),
            name,
            idle_rss: None,
        };
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(log_path).unwrap_or_default();
            if let Some(address) = text
                .split("listening on http://")
                .nth(1)
                .and_then(|rest| rest.split(',').next())
            {
                service.url = format!("http://{address}");
                // Let it settle before reading what it holds at rest.
                std::thread::sleep(Duration::from_millis(200));
                service.idle_rss = memory_kb(service.pid(), "VmRSS");
                return Ok(service);
            }
            if let Some(status) = service.child.try_wait()? {
                anyhow::bail!("the service exited ({status}): {text}");
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(20),
                "the service did not start: {text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds so far of the processes whose cost is reported: the service, the node, and this
/// load generator.
#[derive(Clone, Copy, Default)]
pub(crate) struct Cpu {
    pub service: f64,
    /// The part of `service` spent in the kernel on its behalf (stime).
    pub service_kernel: f64,
    pub node: f64,
    pub load: f64,
}

impl Cpu {
    pub(crate) fn sample(service: Option<&Service>, node_pid: Option<u32>) -> Self {
        let (user, kernel) = service
            .and_then(|service| cpu_split(&service.pid().to_string()))
            .unwrap_or_default();
        Self {
            service: user + kernel,
            service_kernel: kernel,
            node: node_pid
                .and_then(|pid| cpu_seconds(&pid.to_string()))
                .unwrap_or(0.0),
            load: cpu_seconds("self").unwrap_or(0.0),
        }
    }

    pub(crate) fn since(self, before: Self) -> Self {
        Self {
            service: self.service - before.service,
            service_kernel: self.service_kernel - before.service_kernel,
            node: self.node - before.node,
            load: self.load - before.load,
        }
    }

    pub(crate) fn add(&mut self, other: Self) {
        self.service += other.service;
        self.service_kernel += other.service_kernel;
        self.node += other.node;
        self.load += other.load;
    }
}

/// One variant in one group of a table, summed over its rounds.
pub(crate) struct Cell {
    pub latency: Histogram<u64>,
    pub requests: u64,
    pub bytes: u64,
    pub elapsed: Duration,
    pub errors: u64,
    pub first_error: Option<String>,
    pub cpu: Cpu,
    /// How much each of the service's counters rose over the rounds (series from `/-/metrics`).
    pub counters: std::collections::BTreeMap<String, f64>,
}

impl Cell {
    pub(crate) fn new() -> Self {
        Self {
            latency: Histogram::new(3).expect("3 significant figures is valid"),
            requests: 0,
            bytes: 0,
            elapsed: Duration::ZERO,
            errors: 0,
            first_error: None,
            cpu: Cpu::default(),
            counters: std::collections::BTreeMap::new(),
        }
    }

    /// Requests per second.
    pub(crate) fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub(crate) fn mib(&self) -> f64 {
        self.bytes as f64 / 1024.0 / 1024.0
    }

    pub(crate) fn mib_per_second(&self) -> f64 {
        self.mib() / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Latency quantile in milliseconds.
    pub(crate) fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// CPU microseconds per request.
    pub(crate) fn micros(&self, seconds: f64) -> f64 {
        seconds * 1e6 / (self.requests.max(1) as f64)
    }
}

/// CPU time (user + system) of a process, from /proc/PID/stat.
pub(crate) fn cpu_seconds(pid: &str) -> Option<f64> {
    cpu_split(pid).map(|(user, kernel)| user + kernel)
}

/// CPU time of a process in user space and in the kernel (utime, stime), in seconds.
pub(crate) fn cpu_split(pid: &str) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |n: usize| Some(fields.get(n)?.parse::<u64>().ok()? as f64 / clock_ticks());
    Some((ticks(11)?, ticks(12)?))
}

pub(crate) fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// A field of /proc/PID/status in kB (VmRSS, VmHWM).
pub(crate) fn memory_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

pub(crate) fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|line| {
                line.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, m)| m.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

pub(crate) fn memory_total_mib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}
