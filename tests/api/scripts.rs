//! The scripts a user runs first: scripts/run.sh stops everything it started when it is told
//! to stop, and a set-up that cannot work fails with one line naming the cause and the fix.
//! Each test gives the scripts their own ports and directories: the shared nodes stay as they are.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::unique_id;

const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts");

/// A directory of its own under the temporary directory, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(unique_id(name));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port nothing listens on, whose transport port (100 higher) is free as well.
fn free_node_port() -> u16 {
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let seed = u64::from(std::process::id()) * 7919 + u64::from(clock.subsec_nanos());
    (0..2000u64)
        .map(|i| 20000 + ((seed + i * 37) % 20000) as u16)
        .find(|&port| {
            TcpListener::bind(("127.0.0.1", port)).is_ok()
                && TcpListener::bind(("127.0.0.1", port + 100)).is_ok()
        })
        .expect("a free port pair")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn alive(pid: u32) -> bool {
    // A zombie has been stopped; only its parent has not collected it yet.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill").args(["-s", name, &pid.to_string()]).status();
}

/// The children of a process, from /proc.
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|child| child.parse().ok())
        .collect()
}

fn command_line(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
        .unwrap_or_default()
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Whatever a failed test leaves running is ended: the processes by pid, the node by its pid file.
struct Leftovers {
    pids: Vec<u32>,
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        for &pid in &self.pids {
            if alive(pid) {
                signal(pid, "KILL");
            }
        }
    }
}

#[test]
fn run_sh_stopped_with_sigterm_stops_its_service_and_its_node() {
    // A node booting takes both cores for most of a minute: never beside the fault tests, whose
    // timeouts it would turn into noise.
    let _heavy = crate::cluster::ONE_AT_A_TIME.blocking_lock();
    let run_dir = TempDir::new("run-sh-nodes");
    let node_port = free_node_port();
    let listen = format!("127.0.0.1:{}", free_port());
    let log_path = run_dir.0.join("run.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut script = Command::new(format!("{SCRIPTS}/run.sh"))
        .args(["--listen", &listen])
        .env("CSP_ES_PORT", node_port.to_string())
        .env("CSP_RUN", &run_dir.0)
        .env("CSP_SERVICE_BIN", env!("CARGO_BIN_EXE_connector-sync-proxy"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut leftovers = Leftovers {
        pids: vec![script.id()],
    };
    let pid_file = run_dir.0.join(format!("elasticsearch-{node_port}/pid"));
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();

    // Up when the node has its pid file and the service its listening line.
    let started = Instant::now();
    let service = loop {
        let service = children(script.id())
            .into_iter()
            .find(|&child| command_line(child).contains("connector-sync-proxy --es-url"));
        if let Some(service) = service {
            if read_log().contains(&format!("listening on http://{listen}")) {
                break service;
            }
        }
        if let Some(status) = script.try_wait().unwrap() {
            panic!("run.sh ended by itself ({status}):\n{}", read_log());
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "run.sh did not start the service:\n{}",
            read_log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let node: u32 = std::fs::read_to_string(&pid_file)
        .expect("the node's pid file")
        .trim()
        .parse()
        .unwrap();
    leftovers.pids.extend([service, node]);
    assert!(alive(node) && alive(service));

    signal(script.id(), "TERM");

    let status = wait_exit(&mut script, Duration::from_secs(120))
        .unwrap_or_else(|| panic!("run.sh did not end after SIGTERM:\n{}", read_log()));
    let log = read_log();
    assert_eq!(status.code(), Some(143), "{log}");
    assert!(
        !alive(service),
        "the service still runs after run.sh ended:\n{log}"
    );
    assert!(!alive(node), "the node still runs after run.sh ended:\n{log}");
    assert!(
        log.contains("SIGTERM received; starting graceful shutdown"),
        "the service was not sent SIGTERM to drain:\n{log}"
    );
    assert!(!pid_file.exists(), "the node's directory is left:\n{log}");
}

/// Runs a script with the environment given, expecting it to fail; returns its output.
fn failing(script: &str, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(format!("{SCRIPTS}/{script}"));
    command.args(args).stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    assert!(
        !output.status.success(),
        "{script} {args:?} succeeded: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn last_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr.lines().last().unwrap_or_default().to_owned()
}

#[test]
fn a_node_port_in_use_is_named_with_the_setting_that_moves_it() {
    let run_dir = TempDir::new("port-in-use");
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port().to_string();

    let output = failing(
        "node.sh",
        &["start", "elasticsearch"],
        &[("CSP_ES_PORT", Path::new(&port)), ("CSP_RUN", &run_dir.0)],
    );

    let line = last_line(&output);
    assert!(
        line.starts_with(&format!("error: port {port} on 127.0.0.1 is already in use")),
        "{line}"
    );
    assert!(line.contains("choose a free port with CSP_ES_PORT"), "{line}");
    assert!(
        !run_dir.0.join(format!("elasticsearch-{port}")).exists(),
        "a node directory was made"
    );
}

#[test]
fn a_cache_the_node_account_cannot_enter_is_named_with_the_fix() {
    if !is_root() {
        // Only root runs the nodes as another account; otherwise the case cannot arise.
        eprintln!("skipped: the scripts run the nodes as this user, who reaches its own directories");
        return;
    }
    let closed = TempDir::new("closed");
    std::fs::set_permissions(&closed.0, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let cache = closed.0.join("cache");

    let output = failing("fetch-nodes.sh", &["elasticsearch"], &[("CSP_CACHE", &cache)]);

    let line = last_line(&output);
    assert!(
        line.contains(&format!("cannot enter {} (mode 700)", closed.0.display())),
        "{line}"
    );
    assert!(
        line.contains("set CSP_CACHE to a directory it can reach"),
        "{line}"
    );
    assert!(
        line.contains(&format!("chmod o+x {}", closed.0.display())),
        "{line}"
    );
    let fetched = std::fs::read_dir(&cache).map_or(0, Iterator::count);
    assert_eq!(fetched, 0, "something was fetched into the closed cache");
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}
