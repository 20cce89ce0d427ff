//! Settings: one type that is at once the command line (`--help`), the environment variables
//! (prefix `CONNECTOR_SYNC_PROXY_`) and the shape of `config/default.toml`.
//! Precedence: built-in default < file < environment < command line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use serde::Deserialize;
use url::Url;

/// The file read when `--config-file` is not given; a missing default file is not an error.
pub const DEFAULT_CONFIG_FILE: &str = "config/default.toml";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9280";
pub const DEFAULT_ES_URL: &str = "http://127.0.0.1:9200";
pub const DEFAULT_SYNC_JOBS_INDEX: &str = ".elastic-connectors-sync-jobs";
pub const DEFAULT_CONNECTORS_INDEX: &str = ".elastic-connectors";
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_CONFLICT_RETRIES: u32 = 10;
pub const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// Measured on two cores shared with a node: one worker spent 5-11% less CPU per request than
/// two at concurrency 64, at the same throughput (docs/benchmarks.md).
pub const DEFAULT_WORKERS: usize = 1;
/// Connector and sync-job bodies are settings and counters, a few KB; large advanced sync
/// rules or sync cursors stay far below this, and it bounds what one request can make the
/// service hold (a body is read whole to be parsed).
pub const DEFAULT_MAX_BODY_SIZE: usize = 10 * 1024 * 1024;

/// How a cancel is applied to the job document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStrategy {
    /// Scripted update; switches to `optimistic` (with one warning) when the cluster cannot run it.
    Auto,
    /// Always a scripted (Painless) update: one atomic round trip.
    Script,
    /// Realtime GET, then an update guarded by if_seq_no/if_primary_term, retried on conflict.
    Optimistic,
}

/// When the write becomes visible to search, as Elasticsearch's `refresh` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refresh {
    True,
    #[value(name = "wait_for")]
    WaitFor,
    False,
}

impl From<Refresh> for elasticsearch::params::Refresh {
    fn from(refresh: Refresh) -> Self {
        match refresh {
            Refresh::True => Self::True,
            Refresh::WaitFor => Self::WaitFor,
            Refresh::False => Self::False,
        }
    }
}

/// Serves Elasticsearch's connector sync-job API (PUT /_connector/_sync_job/{id}/_cancel) by
/// turning each request into one atomic update of the job document in a real cluster.
///
/// Every setting can also be given in the environment (CONNECTOR_SYNC_PROXY_<NAME>) or in the
/// config file; the command line wins over the environment, which wins over the file.
#[derive(Debug, Default, Parser, Deserialize)]
#[command(name = "connector-sync-proxy", version, about, long_about)]
#[serde(deny_unknown_fields)]
pub struct Opt {
    /// TOML file with settings [default: config/default.toml when it exists]
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_CONFIG_FILE", value_name = "PATH")]
    #[serde(skip)]
    pub config_file: Option<PathBuf>,

    /// Address and port to serve HTTP on [default: 127.0.0.1:9280]
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<String>,

    /// URL of an Elasticsearch node; repeat the flag (or separate with commas) for several
    /// nodes of one cluster [default: http://127.0.0.1:9200]
    #[arg(
        long = "es-url",
        env = "CONNECTOR_SYNC_PROXY_ES_URL",
        hide_env_values = true,
        value_name = "URL",
        value_delimiter = ','
    )]
    #[serde(default)]
    pub es_url: Vec<String>,

    /// The alias that holds the sync-job documents; posting the first job creates it (with the
    /// concrete index NAME-v1 behind it) when it does not exist [default:
    /// .elastic-connectors-sync-jobs]
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_SYNC_JOBS_INDEX", value_name = "NAME")]
    pub sync_jobs_index: Option<String>,

    /// The alias that holds the connector documents; creating the first connector creates it
    /// (with the concrete index NAME-v1 behind it) when it does not exist [default:
    /// .elastic-connectors]
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_CONNECTORS_INDEX", value_name = "NAME")]
    pub connectors_index: Option<String>,

    /// How a cancel is applied: auto, script or optimistic [default: auto]
    #[arg(
        long,
        env = "CONNECTOR_SYNC_PROXY_UPDATE_STRATEGY",
        value_enum,
        value_name = "STRATEGY"
    )]
    pub update_strategy: Option<UpdateStrategy>,

    /// When the write becomes visible to search: true, wait_for or false [default: true, as
    /// Elasticsearch's own cancel]
    #[arg(
        long,
        env = "CONNECTOR_SYNC_PROXY_REFRESH",
        value_enum,
        value_name = "REFRESH"
    )]
    pub refresh: Option<Refresh>,

    /// Time allowed for each request to the cluster, like 500ms, 30s or 1m [default: 30s]
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_UPSTREAM_TIMEOUT", value_name = "DURATION")]
    pub upstream_timeout: Option<String>,

    /// How often a cancel is retried when another writer changed the job document at the same
    /// moment (version conflict) [default: 10]
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_CONFLICT_RETRIES", value_name = "N")]
    pub conflict_retries: Option<u32>,

    /// Time a client has to send the head of its request once connected; slower clients are
    /// answered 408 and disconnected [default: 5s]
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_CLIENT_TIMEOUT", value_name = "DURATION")]
    pub client_timeout: Option<String>,

    /// The largest request body the connector APIs read, like 512kb or 10mb; a larger one is
    /// answered 413 without being read [default: 10mb]
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_MAX_BODY_SIZE", value_name = "SIZE")]
    pub max_body_size: Option<String>,

    /// Worker threads serving HTTP, each with its own event loop. One worker spends the least
    /// CPU per request (no wake-ups across threads) and serves thousands of requests per
    /// second; more spread a heavier load over more cores [default: 1]
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_WORKERS", value_name = "N")]
    pub workers: Option<usize>,

    /// On SIGTERM or SIGINT the service stops accepting connections and lets requests in
    /// flight finish for up to this long before it exits [default: 30s]
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_SHUTDOWN_GRACE", value_name = "DURATION")]
    pub shutdown_grace: Option<String>,

    /// Service credentials, for trusted networks only: the user the service authenticates as
    /// when a request carries no Authorization header of its own. The password comes from
    /// CONNECTOR_SYNC_PROXY_ES_PASSWORD or --es-password-file, never from a flag. Without
    /// service credentials (the default) the caller's own credentials decide.
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_ES_USERNAME", value_name = "USER")]
    pub es_username: Option<String>,

    /// File holding the password of --es-username
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_ES_PASSWORD_FILE", value_name = "PATH")]
    pub es_password_file: Option<PathBuf>,

    /// File holding an encoded API key to use as service credentials (instead of a user); the
    /// key may also come from CONNECTOR_SYNC_PROXY_ES_API_KEY
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_ES_API_KEY_FILE", value_name = "PATH")]
    pub es_api_key_file: Option<PathBuf>,

    /// PEM file with the certificate authorities to trust for https:// node URLs, in addition
    /// to the public ones
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_ES_CA_CERT", value_name = "PATH")]
    pub es_ca_cert: Option<PathBuf>,

    /// Accept any certificate from the nodes. For development only: it lets anyone on the
    /// network read and change what the service sends
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_ES_INSECURE_SKIP_VERIFY", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub es_insecure_skip_verify: Option<bool>,

    /// Pass every request the service does not serve itself (anything but its own /_connector
    /// APIs and /-/ paths) on to the cluster unchanged, so that clients can use the service as
    /// their only cluster address; false answers those requests 404 [default: true]
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_PASSTHROUGH", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub passthrough: Option<bool>,

    /// Time a passed-through request gives the node to start answering, like 30s or 10m; none
    /// waits as long as the request takes, as Elasticsearch does. upstream_timeout, the limit of the
    /// service's own APIs, does not apply to pass-through [default: none]
    #[arg(
        long,
        env = "CONNECTOR_SYNC_PROXY_PASSTHROUGH_TIMEOUT",
        value_name = "DURATION"
    )]
    pub passthrough_timeout: Option<String>,

    /// UNSAFE: add the service credentials to passed-through requests that bring no
    /// Authorization of their own. Anyone who can reach the service then has the service's
    /// privileges on the whole cluster, for every API, not only the connector ones. Without it
    /// (the default) a passed-through request carries only the caller's own credentials
    #[arg(
        long,
        env = "CONNECTOR_SYNC_PROXY_UNSAFE_PASSTHROUGH_SERVICE_CREDENTIALS",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub unsafe_passthrough_service_credentials: Option<bool>,

    /// Install the connector index templates (and the ingest pipeline) into the cluster at
    /// start-up and keep them installed, as Elasticsearch's connector module does; turn it off
    /// where someone else owns them (the ent-search module, an operator's own templates)
    /// [default: true]
    #[arg(long, env = "CONNECTOR_SYNC_PROXY_INSTALL_TEMPLATES", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub install_templates: Option<bool>,

    /// The ingest pipeline installed as search-default-ingestion: full (Elasticsearch's, where
    /// the cluster has its processors), full_or_empty (an empty one where it has not) or none
    /// [default: full]
    #[arg(
        long,
        env = "CONNECTOR_SYNC_PROXY_INGEST_PIPELINE",
        value_enum,
        value_name = "PIPELINE"
    )]
    pub ingest_pipeline: Option<IngestPipeline>,

    /// Repair the connector indices and exit, instead of serving: an index that exists without
    /// its layout (no alias, dynamic mappings, or an index named like the alias) has its
    /// documents moved into the index laid out behind the alias, none lost
    #[arg(long)]
    #[serde(skip)]
    pub repair: bool,

    /// Log format: plain lines or json (one object per line) [default: plain]
    #[arg(
        long,
        env = "CONNECTOR_SYNC_PROXY_LOG_FORMAT",
        value_enum,
        value_name = "FORMAT"
    )]
    pub log_format: Option<LogFormat>,
}

/// Which ingest pipeline the service installs under the name the connector service uses
/// (`search-default-ingestion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IngestPipeline {
    /// Elasticsearch's pipeline, where every ingest node has its processors; elsewhere none,
    /// said at start-up and in /-/ready.
    Full,
    /// Elasticsearch's pipeline where the cluster has its processors, an empty pipeline of the
    /// same name where it does not (documents are then indexed unprocessed).
    #[value(name = "full_or_empty")]
    FullOrEmpty,
    /// No pipeline.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Plain,
    Json,
}

/// A value that must never be printed: its Debug shows only that it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Credentials the service itself uses when a request brings none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceCredentials {
    Basic {
        username: String,
        password: Secret,
    },
    /// The encoded form Elasticsearch returns when it creates a key.
    ApiKey(Secret),
}

/// How the service checks the nodes' certificates on https:// URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsVerification {
    /// The public certificate authorities, plus those in this PEM file if given.
    Verify { extra_ca: Option<PathBuf> },
    /// No check at all (development only).
    Skip,
}

/// How requests the service does not serve itself go on to the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassthroughSettings {
    /// Time the node has to start answering; None waits as long as it takes.
    pub timeout: Option<Duration>,
    /// `unsafe_passthrough_service_credentials`: requests without Authorization get the service
    /// credentials.
    pub service_credentials: bool,
}

/// The settings the service runs with, every default applied and every value checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub es_urls: Vec<Url>,
    pub sync_jobs_index: String,
    pub connectors_index: String,
    pub update_strategy: UpdateStrategy,
    pub refresh: Refresh,
    pub upstream_timeout: Duration,
    pub conflict_retries: u32,
    pub client_timeout: Duration,
    pub max_body_size: usize,
    pub workers: usize,
    pub shutdown_grace: Duration,
    pub credentials: Option<ServiceCredentials>,
    pub tls: TlsVerification,
    pub log_format: LogFormat,
    pub install_templates: bool,
    pub ingest_pipeline: IngestPipeline,
    /// `--repair`: repair the connector indices and exit.
    pub repair: bool,
    /// None when pass-through is turned off.
    pub passthrough: Option<PassthroughSettings>,
}

impl Settings {
    /// Reads the command line, the environment and the config file.
    pub fn load() -> anyhow::Result<Self> {
        Self::from_opt(Opt::parse())
    }

    /// Fills what the command line and environment left open from the config file, then from
    /// the built-in defaults.
    pub fn from_opt(cli: Opt) -> anyhow::Result<Self> {
        let file = match &cli.config_file {
            Some(path) => read_file(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => read_file(Path::new(DEFAULT_CONFIG_FILE))?,
            None => Opt::default(),
        };
        let es_urls = if !cli.es_url.is_empty() {
            cli.es_url
        } else if !file.es_url.is_empty() {
            file.es_url
        } else {
            vec![DEFAULT_ES_URL.to_owned()]
        };
        let es_urls = es_urls
            .iter()
            .map(|raw| parse_es_url(raw))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let duration =
            |cli: Option<String>, file: Option<String>, name: &str, default: Duration| match cli.or(file) {
                Some(raw) => parse_duration(&raw).with_context(|| format!("invalid {name}")),
                None => Ok(default),
            };
        let upstream_timeout = duration(
            cli.upstream_timeout,
            file.upstream_timeout,
            "upstream_timeout",
            DEFAULT_UPSTREAM_TIMEOUT,
        )?;
        let client_timeout = duration(
            cli.client_timeout,
            file.client_timeout,
            "client_timeout",
            DEFAULT_CLIENT_TIMEOUT,
        )?;
        let shutdown_grace = duration(
            cli.shutdown_grace,
            file.shutdown_grace,
            "shutdown_grace",
            DEFAULT_SHUTDOWN_GRACE,
        )?;
        let max_body_size = match cli.max_body_size.or(file.max_body_size) {
            Some(raw) => parse_size(&raw).context("invalid max_body_size")?,
            None => DEFAULT_MAX_BODY_SIZE,
        };
        let sync_jobs_index = alias_name(
            cli.sync_jobs_index.or(file.sync_jobs_index),
            DEFAULT_SYNC_JOBS_INDEX,
        )?;
        let connectors_index = alias_name(
            cli.connectors_index.or(file.connectors_index),
            DEFAULT_CONNECTORS_INDEX,
        )?;
        let credentials = service_credentials(
            cli.es_username.or(file.es_username),
            cli.es_password_file.or(file.es_password_file),
            cli.es_api_key_file.or(file.es_api_key_file),
        )?;
        let passthrough = passthrough_settings(
            cli.passthrough.or(file.passthrough).unwrap_or(true),
            cli.passthrough_timeout.or(file.passthrough_timeout),
            cli.unsafe_passthrough_service_credentials
                .or(file.unsafe_passthrough_service_credentials)
                .unwrap_or(false),
            credentials.is_some(),
        )?;
        Ok(Settings {
            listen: cli
                .listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
            es_urls,
            sync_jobs_index,
            connectors_index,
            update_strategy: cli
                .update_strategy
                .or(file.update_strategy)
                .unwrap_or(UpdateStrategy::Auto),
            refresh: cli.refresh.or(file.refresh).unwrap_or(Refresh::True),
            upstream_timeout,
            conflict_retries: cli
                .conflict_retries
                .or(file.conflict_retries)
                .unwrap_or(DEFAULT_CONFLICT_RETRIES),
            client_timeout,
            max_body_size,
            workers: match cli.workers.or(file.workers) {
                Some(0) => bail!("workers must be at least 1"),
                workers => workers.unwrap_or(DEFAULT_WORKERS),
            },
            shutdown_grace,
            credentials,
            tls: match (
                cli.es_insecure_skip_verify.or(file.es_insecure_skip_verify),
                cli.es_ca_cert.or(file.es_ca_cert),
            ) {
                (Some(true), Some(_)) => bail!("es_ca_cert and es_insecure_skip_verify exclude each other"),
                (Some(true), None) => TlsVerification::Skip,
                (_, extra_ca) => TlsVerification::Verify { extra_ca },
            },
            log_format: cli.log_format.or(file.log_format).unwrap_or(LogFormat::Plain),
            install_templates: cli.install_templates.or(file.install_templates).unwrap_or(true),
            ingest_pipeline: cli
                .ingest_pipeline
                .or(file.ingest_pipeline)
                .unwrap_or(IngestPipeline::Full),
            repair: cli.repair,
            passthrough,
        })
    }

    /// The node URLs as they may appear in logs: without user information.
    pub fn redacted_es_urls(&self) -> Vec<String> {
        self.es_urls.iter().map(redact_url).collect()
    }
}

/// One alias name, or the default.
fn alias_name(given: Option<String>, default: &str) -> anyhow::Result<String> {
    let name = given.unwrap_or_else(|| default.to_owned());
    if name.is_empty() || name.contains(['/', ',', '*', ' ', '?', '"', '<', '>', '|', '\\', '#', ':']) {
        bail!("invalid index name [{name}]: it must be one alias name");
    }
    Ok(name)
}

/// Pass-through as configured: off, or on with its timeout (`none` or unset: no limit) and the
/// credentials rule. Adding service credentials needs service credentials to add.
fn passthrough_settings(
    enabled: bool,
    timeout: Option<String>,
    service_credentials: bool,
    have_credentials: bool,
) -> anyhow::Result<Option<PassthroughSettings>> {
    if !enabled {
        return Ok(None);
    }
    let timeout = match timeout.as_deref().map(str::trim) {
        None | Some("none") => None,
        Some(raw) => Some(parse_duration(raw).context("invalid passthrough_timeout")?),
    };
    if service_credentials && !have_credentials {
        bail!("unsafe_passthrough_service_credentials is on, but no service credentials (es_username or es_api_key) are configured");
    }
    Ok(Some(PassthroughSettings {
        timeout,
        service_credentials,
    }))
}

pub const PASSWORD_ENV: &str = "CONNECTOR_SYNC_PROXY_ES_PASSWORD";
pub const API_KEY_ENV: &str = "CONNECTOR_SYNC_PROXY_ES_API_KEY";

/// Service credentials from the environment and secret files; none unless explicitly configured.
fn service_credentials(
    username: Option<String>,
    password_file: Option<PathBuf>,
    api_key_file: Option<PathBuf>,
) -> anyhow::Result<Option<ServiceCredentials>> {
    let password = secret_from(PASSWORD_ENV, password_file.as_deref())?;
    let api_key = secret_from(API_KEY_ENV, api_key_file.as_deref())?;
    match (username, password, api_key) {
        (None, None, None) => Ok(None),
        (None, None, Some(key)) => Ok(Some(ServiceCredentials::ApiKey(key))),
        (Some(username), Some(password), None) => Ok(Some(ServiceCredentials::Basic { username, password })),
        (Some(_), None, _) => bail!("es_username needs a password ({PASSWORD_ENV} or es_password_file)"),
        (None, Some(_), _) => bail!("a password was given without es_username"),
        (Some(_), Some(_), Some(_)) => bail!("give either a user and password or an API key, not both"),
    }
}

/// A secret from an environment variable or a file (the file wins); surrounding whitespace,
/// such as a trailing newline, is dropped. Errors never contain the secret.
fn secret_from(env: &str, file: Option<&Path>) -> anyhow::Result<Option<Secret>> {
    let value = match file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read secret file {}", path.display()))?,
        ),
        None => std::env::var(env).ok(),
    };
    Ok(value
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .map(Secret))
}

fn read_file(path: &Path) -> anyhow::Result<Opt> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

fn parse_es_url(raw: &str) -> anyhow::Result<Url> {
    let url =
        Url::parse(raw.trim()).with_context(|| format!("invalid Elasticsearch URL [{}]", redact_raw(raw)))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!(
            "invalid Elasticsearch URL [{}]: expected http(s)://host[:port]",
            redact_url(&url)
        );
    }
    Ok(url)
}

/// Parses `250ms`, `30s`, `2m` or a bare number of seconds.
pub fn parse_duration(raw: &str) -> anyhow::Result<Duration> {
    let raw = raw.trim();
    let (number, unit) = match raw.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => raw.split_at(at),
        None => (raw, "s"),
    };
    let value: u64 = number
        .parse()
        .with_context(|| format!("[{raw}] is not a duration like 500ms, 30s or 1m"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(value),
        "s" => Duration::from_secs(value),
        "m" => Duration::from_secs(value * 60),
        _ => bail!("[{raw}] is not a duration like 500ms, 30s or 1m"),
    };
    if duration.is_zero() {
        bail!("the duration must be greater than zero");
    }
    Ok(duration)
}

/// Parses `512kb`, `10mb`, `1gb` or a bare number of bytes.
pub fn parse_size(raw: &str) -> anyhow::Result<usize> {
    let lower = raw.trim().to_ascii_lowercase();
    let (number, unit) = match lower.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => lower.split_at(at),
        None => (lower.as_str(), "b"),
    };
    let value: usize = number
        .parse()
        .with_context(|| format!("[{raw}] is not a size like 512kb or 10mb"))?;
    let factor = match unit.trim() {
        "b" => 1,
        "kb" => 1024,
        "mb" => 1024 * 1024,
        "gb" => 1024 * 1024 * 1024,
        _ => bail!("[{raw}] is not a size like 512kb or 10mb"),
    };
    if value == 0 {
        bail!("the size must be greater than zero");
    }
    value
        .checked_mul(factor)
        .with_context(|| format!("[{raw}] is too large"))
}

fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    if !shown.username().is_empty() || shown.password().is_some() {
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
    }
    shown.to_string()
}

fn redact_raw(raw: &str) -> String {
    match raw.rfind('@') {
        Some(at) => match raw.find("://") {
            Some(scheme_end) if scheme_end < at => format!("{}://***{}", &raw[..scheme_end], &raw[at..]),
            _ => "***".to_owned(),
        },
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(args: &[&str]) -> Opt {
        Opt::try_parse_from(std::iter::once("connector-sync-proxy").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn sizes_take_a_unit() {
        assert_eq!(parse_size("512kb").unwrap(), 512 * 1024);
        assert_eq!(parse_size("10MB").unwrap(), 10 * 1024 * 1024);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert!(parse_size("0").is_err());
        assert!(parse_size("10tb").is_err());
        assert!(parse_size("big").is_err());
    }

    #[test]
    fn the_file_fills_what_the_command_line_leaves_open() {
        let dir = std::env::temp_dir().join(format!("csp-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("settings.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:1\"\nes_url = [\"http://a:9200\"]\nrefresh = \"wait_for\"\nsync_jobs_index = \"jobs\"\n",
        )
        .unwrap();
        let mut cli = opt(&["--listen", "127.0.0.1:2", "--update-strategy", "optimistic"]);
        cli.config_file = Some(file.clone());
        let settings = Settings::from_opt(cli).unwrap();
        assert_eq!(settings.listen, "127.0.0.1:2");
        assert_eq!(settings.es_urls[0].as_str(), "http://a:9200/");
        assert_eq!(settings.refresh, Refresh::WaitFor);
        assert_eq!(settings.sync_jobs_index, "jobs");
        assert_eq!(settings.connectors_index, DEFAULT_CONNECTORS_INDEX);
        assert_eq!(settings.update_strategy, UpdateStrategy::Optimistic);
        assert_eq!(settings.upstream_timeout, DEFAULT_UPSTREAM_TIMEOUT);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn refresh_is_spelled_as_elasticsearch_spells_it() {
        assert_eq!(opt(&["--refresh", "wait_for"]).refresh, Some(Refresh::WaitFor));
        assert_eq!(
            toml::from_str::<Opt>("refresh = \"wait_for\"").unwrap().refresh,
            Some(Refresh::WaitFor)
        );
    }

    #[test]
    fn es_url_repeats_and_splits_on_commas() {
        let cli = opt(&["--es-url", "http://a:1", "--es-url", "http://b:2,https://c:3"]);
        assert_eq!(cli.es_url.len(), 3);
    }

    #[test]
    fn passthrough_is_on_without_a_timeout_and_without_service_credentials_by_default() {
        let settings = Settings::from_opt(opt(&["--config-file", "/dev/null"])).unwrap();
        assert_eq!(settings.passthrough, Some(PassthroughSettings::default()));

        let off = Settings::from_opt(opt(&["--config-file", "/dev/null", "--passthrough", "false"])).unwrap();
        assert_eq!(off.passthrough, None);

        let timed = opt(&["--config-file", "/dev/null", "--passthrough-timeout", "10m"]);
        let timed = Settings::from_opt(timed).unwrap().passthrough.unwrap();
        assert_eq!(timed.timeout, Some(Duration::from_secs(600)));
        let unlimited = opt(&["--config-file", "/dev/null", "--passthrough-timeout", "none"]);
        assert_eq!(
            Settings::from_opt(unlimited)
                .unwrap()
                .passthrough
                .unwrap()
                .timeout,
            None
        );
    }

    #[test]
    fn service_credentials_for_passthrough_need_service_credentials() {
        let err = passthrough_settings(true, None, true, false).unwrap_err();
        assert!(err.to_string().contains("no service credentials"), "{err}");
        let on = passthrough_settings(true, None, true, true).unwrap().unwrap();
        assert!(on.service_credentials);
        assert_eq!(
            toml::from_str::<Opt>("unsafe_passthrough_service_credentials = true\npassthrough = false")
                .unwrap()
                .passthrough,
            Some(false)
        );
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        let err = toml::from_str::<Opt>("lisen = \"x\"").unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let credentials = ServiceCredentials::Basic {
            username: "svc".into(),
            password: Secret("hunter2".into()),
        };
        assert!(!format!("{credentials:?}").contains("hunter2"));
    }

    #[test]
    fn service_credentials_need_both_halves() {
        let dir = std::env::temp_dir().join(format!("csp-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("password");
        std::fs::write(&file, "s3cret\n").unwrap();
        let basic = service_credentials(Some("svc".into()), Some(file.clone()), None).unwrap();
        assert_eq!(
            basic,
            Some(ServiceCredentials::Basic {
                username: "svc".into(),
                password: Secret("s3cret".into())
            })
        );
        assert!(service_credentials(None, Some(file.clone()), None).is_err());
        let err = service_credentials(Some("svc".into()), Some(file.clone()), Some(file)).unwrap_err();
        assert!(!format!("{err:#}").contains("s3cret"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn credentials_never_reach_the_logs() {
        let url = parse_es_url("https://elastic:secret@example.com:9243").unwrap();
        assert!(!redact_url(&url).contains("secret"));
        let err = parse_es_url("ftp://elastic:secret@example.com").unwrap_err();
        assert!(!format!("{err:#}").contains("secret"));
        let err = parse_es_url("http://elastic:secret@[bad").unwrap_err();
        assert!(!format!("{err:#}").contains("secret"), "{err:#}");
    }
}
