//! Settings: one file-shaped set of keys, layered by figment from the built-in defaults, the
//! config file, the environment (prefix `CONNECTOR_SYNC_PROXY_`) and the command line, each
//! winning over the one before; then checked and turned into the `Settings` the service runs
//! with. The defaults are written once, in `Layered::default()`, and `--help` shows them from
//! there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

/// Every environment variable the service reads starts with this.
const ENV_PREFIX: &str = "CONNECTOR_SYNC_PROXY_";
/// The file read when `--config-file` is not given; a missing default file is not an error.
const DEFAULT_CONFIG_FILE: &str = "config/default.toml";
const CONFIG_FILE_ENV: &str = "CONNECTOR_SYNC_PROXY_CONFIG_FILE";
/// The password of `es_username`, when it is not in `es_password_file`. Never a flag.
const PASSWORD_ENV: &str = "CONNECTOR_SYNC_PROXY_ES_PASSWORD";
/// An encoded API key, when it is not in `es_api_key_file`. Never a flag.
const API_KEY_ENV: &str = "CONNECTOR_SYNC_PROXY_ES_API_KEY";

/// How every change that depends on the stored document is made atomic. Partial updates that
/// depend on nothing stored (check_in, update_stats) are one partial update either way, and a
/// decision on the whole stored document, which no fixed script can make, is always a guarded
/// write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStrategy {
    /// Scripted update; switches to `optimistic` (with one warning) when the cluster cannot run it.
    Auto,
    /// Always a scripted (Painless) update: the cluster decides and writes in one round trip.
    Script,
    /// Realtime GET, then an update guarded by if_seq_no/if_primary_term, retried on conflict.
    Optimistic,
}

/// When the write becomes visible to search, as Elasticsearch's `refresh` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refresh {
    True,
    #[value(name = "wait_for")]
    WaitFor,
    False,
}

/// Which ingest pipeline the service installs under the name the connector service uses
/// (`search-default-ingestion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
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

/// Who decides what a caller may do through the service's own connector APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authorization {
    /// `cluster_privileges` where the cluster has security on and knows the connector
    /// privileges and service credentials are configured; `forward` elsewhere. Decided at
    /// start-up, said in one log line.
    Auto,
    /// The caller must hold the cluster privilege Elasticsearch requires for the API
    /// (`monitor_connector`, `manage_connector`, ...), asked of the cluster with the caller's
    /// credentials; the indices are then read and written with the service credentials.
    #[value(name = "cluster_privileges")]
    ClusterPrivileges,
    /// The caller's credentials go to the cluster, whose index privileges decide.
    Forward,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Plain,
    Json,
}

/// Serves Elasticsearch's connector and connector sync-job APIs (/_connector/...) by turning
/// each request into one atomic update of a document in a real cluster, and passes every other
/// request on to that cluster.
///
/// Every setting can also be given in the environment (CONNECTOR_SYNC_PROXY_<NAME>) or in the
/// config file; the command line wins over the environment, which wins over the file.
#[derive(Debug, Default, Parser, Serialize)]
#[command(name = "connector-sync-proxy", version, about, long_about)]
struct Cli {
    /// TOML file with settings
    #[arg(long, value_name = "PATH")]
    #[serde(skip)]
    config_file: Option<PathBuf>,

    /// Address and port to serve HTTP on
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<String>,

    /// URL of an Elasticsearch node; repeat the flag (or separate with commas) for several
    /// nodes of one cluster
    #[arg(long = "es-url", value_name = "URL", value_delimiter = ',')]
    es_url: Vec<String>,

    /// The alias that holds the sync-job documents; posting the first job creates it (with the
    /// concrete index NAME-v1 behind it) when it does not exist
    #[arg(long, value_name = "NAME")]
    sync_jobs_index: Option<String>,

    /// The alias that holds the connector documents; creating the first connector creates it
    /// (with the concrete index NAME-v1 behind it) when it does not exist
    #[arg(long, value_name = "NAME")]
    connectors_index: Option<String>,

    /// How a change decided on the stored document is made atomic. script: the cluster
    /// decides and writes in one scripted update; optimistic: a realtime read, the decision here,
    /// then a write that lands only on the version read, decided again on a conflict; auto: the
    /// script, switching to optimistic (with one warning) when the cluster cannot run scripts.
    /// Status transitions (a sync job's cancel, claim, error) go either way; decisions no fixed
    /// script can make (connector updates that look at the stored connector) are always
    /// optimistic, and partial updates that depend on nothing stored (check_in, update_stats)
    /// need neither
    #[arg(long, value_enum, value_name = "STRATEGY")]
    update_strategy: Option<UpdateStrategy>,

    /// When a write becomes visible to search: true (as Elasticsearch), wait_for or false
    #[arg(long, value_enum, value_name = "REFRESH")]
    refresh: Option<Refresh>,

    /// Time allowed for each request to the cluster, like 500ms, 30s, 1m or 1h
    #[arg(long, value_name = "DURATION")]
    upstream_timeout: Option<String>,

    /// How often a change is tried again when another writer changed the same document at the
    /// same moment (version conflict)
    #[arg(long, value_name = "N")]
    conflict_retries: Option<u32>,

    /// Group commit: while one write of the service is on its way to the cluster, the writes that
    /// arrive wait, then go together as one bulk request with one refresh (and the reads of
    /// guarded updates as one multi-get). A lone write goes at once, so only concurrent writes
    /// are grouped; each keeps its own answer, retries and visibility. false sends every write
    /// as a request of its own
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    group_commit: Option<bool>,

    /// The most writes (or reads) one group commit sends in one request; more wait for the next
    #[arg(long, value_name = "N")]
    group_commit_max_items: Option<usize>,

    /// The most bytes of bodies one group commit sends in one request, like 8mb (kb, mb and gb
    /// are powers of 1024); a single larger write still goes, alone
    #[arg(long, value_name = "SIZE")]
    group_commit_max_bytes: Option<String>,

    /// Time a client has to send the head of its first request once connected; slower clients
    /// are answered 408 and disconnected
    #[arg(long, value_name = "DURATION")]
    client_timeout: Option<String>,

    /// Time a client's connection may stay idle between two requests before the service closes
    /// it, like 5m; none (the default) keeps it open as long as the client does, as
    /// Elasticsearch does (its http.read_timeout is 0). TCP keep-alive is on either way, so the
    /// connections of clients that vanished are closed by the operating system
    #[arg(long, value_name = "DURATION")]
    client_idle_timeout: Option<String>,

    /// The largest request body the connector APIs read, like 512kb or 10mb (kb, mb and gb are
    /// powers of 1024; a bare number counts bytes); a larger one is answered 413 without being
    /// read
    #[arg(long, value_name = "SIZE")]
    max_body_size: Option<String>,

    /// Worker threads serving HTTP, each with its own event loop. One worker spends the least
    /// CPU per request (no wake-ups across threads) and serves thousands of requests per
    /// second; more spread a heavier load over more cores
    #[arg(long, value_name = "N")]
    workers: Option<usize>,

    /// On SIGTERM or SIGINT the service stops accepting connections and lets requests in
    /// flight finish for up to this long before it exits
    #[arg(long, value_name = "DURATION")]
    shutdown_grace: Option<String>,

    /// Service credentials: the user the service reads and writes the connector indices as once
    /// the cluster authorised the caller (authorization cluster_privileges, which auto chooses
    /// on a secured cluster when these are set); in forward mode, the user for requests that
    /// carry no Authorization header of their own (for trusted networks only). The password
    /// comes from CONNECTOR_SYNC_PROXY_ES_PASSWORD or --es-password-file, never from a flag.
    /// Without service credentials (the default) the caller's own credentials decide.
    #[arg(long, value_name = "USER")]
    es_username: Option<String>,

    /// File holding the password of --es-username
    #[arg(long, value_name = "PATH")]
    es_password_file: Option<PathBuf>,

    /// File holding an encoded API key to use as service credentials (instead of a user); the
    /// key may also come from CONNECTOR_SYNC_PROXY_ES_API_KEY
    #[arg(long, value_name = "PATH")]
    es_api_key_file: Option<PathBuf>,

    /// PEM file with the certificate authorities to trust for https:// node URLs, in addition
    /// to the public ones
    #[arg(long, value_name = "PATH")]
    es_ca_cert: Option<PathBuf>,

    /// Accept any certificate from the nodes. For development only: it lets anyone on the
    /// network read and change what the service sends
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    es_insecure_skip_verify: Option<bool>,

    /// Pass every request the service does not serve itself (anything but its own /_connector
    /// APIs and /-/ paths) on to the cluster unchanged, so that clients can use the service as
    /// their only cluster address; false answers those requests 404
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    passthrough: Option<bool>,

    /// Time a passed-through request gives the node to start answering, like 30s or 10m; none
    /// waits as long as the request takes, as Elasticsearch does. upstream_timeout, the limit of
    /// the service's own APIs, does not apply to pass-through
    #[arg(long, value_name = "DURATION")]
    passthrough_timeout: Option<String>,

    /// UNSAFE: add the service credentials to passed-through requests that bring no
    /// Authorization of their own. Anyone who can reach the service then has the service's
    /// privileges on the whole cluster, for every API, not only the connector ones. Without it
    /// (the default) a passed-through request carries only the caller's own credentials
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    unsafe_passthrough_service_credentials: Option<bool>,

    /// Who decides what a caller may do through the connector APIs. cluster_privileges: the
    /// caller needs the cluster privileges Elasticsearch requires (monitor_connector,
    /// manage_connector, read_connector_secrets, write_connector_secrets), asked of the cluster
    /// with the caller's own credentials; the service credentials then read and write the
    /// connector indices. forward: the caller's credentials go to the cluster and its index
    /// privileges on the connector indices decide. auto: cluster_privileges where the cluster
    /// has security on and service credentials are configured, forward elsewhere
    #[arg(long, value_enum, value_name = "MODE")]
    authorization: Option<Authorization>,

    /// How long the cluster's answer about a caller's privileges is reused (keyed by a hash of
    /// the credentials, successful authentications only), like 30s; 0s asks the cluster on
    /// every request. A revoked role keeps working through the service for up to this long
    #[arg(long, value_name = "DURATION")]
    privilege_cache_ttl: Option<String>,

    /// Install the connector index templates (and the ingest pipeline) into the cluster at
    /// start-up and keep them installed, as Elasticsearch's connector module does; turn it off
    /// where someone else owns them (the ent-search module, an operator's own templates)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    install_templates: Option<bool>,

    /// The ingest pipeline installed as search-default-ingestion: full (Elasticsearch's, where
    /// the cluster has its processors), full_or_empty (an empty one where it has not) or none
    #[arg(long, value_enum, value_name = "PIPELINE")]
    ingest_pipeline: Option<IngestPipeline>,

    /// Repair the connector indices and exit, instead of serving: an index that exists without
    /// its layout (no alias, dynamic mappings, or an index named like the alias) has its
    /// documents moved into the index laid out behind the alias, none lost
    #[arg(long)]
    #[serde(skip)]
    repair: bool,

    /// Log format: plain lines or json (one object per line)
    #[arg(long, value_enum, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
}

/// Flags that are actions of one run, not settings: no file key, no variable.
const COMMAND_LINE_ONLY: [&str; 1] = ["repair"];

/// The command line, its help completed from the one place each thing is written: every flag's
/// default from `Layered::default()` and its environment variable from its key. Clap reads only
/// the arguments; the environment is figment's layer, so a flag and its variable cannot disagree
/// about which one wins.
fn command() -> clap::Command {
    let mut defaults = shown_defaults();
    defaults.insert(
        "config_file".to_owned(),
        format!("{DEFAULT_CONFIG_FILE} when it exists"),
    );
    Cli::command().mut_args(|arg| {
        let key = arg.get_id().as_str().to_owned();
        if COMMAND_LINE_ONLY.contains(&key.as_str()) {
            return arg;
        }
        let mut help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        if let Some(default) = defaults.get(&key) {
            help.push_str(&format!(" [default: {default}]"));
        }
        help.push_str(&format!(" [env: {}]", env_name(&key)));
        arg.help(help)
    })
}

fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

/// The defaults as `--help` shows them, by key; settings without a default are left out.
fn shown_defaults() -> BTreeMap<String, String> {
    defaults_dict()
        .iter()
        .filter_map(|(key, value)| Some((key.clone(), shown_value(value)?)))
        .collect()
}

/// A setting's value as `--help` shows it; None for one that is not set.
fn shown_value(value: &Value) -> Option<String> {
    match value {
        Value::String(_, text) => Some(text.clone()),
        Value::Char(_, char) => Some(char.to_string()),
        Value::Bool(_, bool) => Some(bool.to_string()),
        Value::Num(_, num) => num.to_u128().map(|num| num.to_string()),
        Value::Array(_, items) => Some(items.iter().filter_map(shown_value).collect::<Vec<_>>().join(",")),
        Value::Empty(..) | Value::Dict(..) => None,
    }
}

fn defaults_dict() -> Dict {
    match Value::serialize(Layered::default()) {
        Ok(Value::Dict(_, dict)) => dict,
        other => unreachable!("the defaults serialize to a dictionary, not {other:?}"),
    }
}

/// Every setting by its file key, as the layers leave it. The file, the environment and the
/// command line all name settings by these keys (the flags with dashes, the variables in upper
/// case after the prefix), and an unknown key in the file is an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Layered {
    listen: String,
    #[serde(with = "node_urls")]
    es_url: Vec<String>,
    sync_jobs_index: String,
    connectors_index: String,
    update_strategy: UpdateStrategy,
    refresh: Refresh,
    #[serde(with = "duration")]
    upstream_timeout: Duration,
    conflict_retries: u32,
    group_commit: bool,
    group_commit_max_items: usize,
    #[serde(with = "size")]
    group_commit_max_bytes: usize,
    #[serde(with = "duration")]
    client_timeout: Duration,
    #[serde(with = "optional_duration")]
    client_idle_timeout: Option<Duration>,
    #[serde(with = "size")]
    max_body_size: usize,
    workers: usize,
    #[serde(with = "duration")]
    shutdown_grace: Duration,
    es_username: Option<String>,
    es_password_file: Option<PathBuf>,
    es_api_key_file: Option<PathBuf>,
    es_ca_cert: Option<PathBuf>,
    es_insecure_skip_verify: bool,
    passthrough: bool,
    #[serde(with = "optional_duration")]
    passthrough_timeout: Option<Duration>,
    unsafe_passthrough_service_credentials: bool,
    authorization: Authorization,
    #[serde(with = "duration::or_zero")]
    privilege_cache_ttl: Duration,
    install_templates: bool,
    ingest_pipeline: IngestPipeline,
    log_format: LogFormat,
}

impl Default for Layered {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9280".to_owned(),
            es_url: vec!["http://127.0.0.1:9200".to_owned()],
            sync_jobs_index: ".elastic-connectors-sync-jobs".to_owned(),
            connectors_index: ".elastic-connectors".to_owned(),
            update_strategy: UpdateStrategy::Auto,
            // Every write visible at once, so that a list sees it (README, Connector API).
            refresh: Refresh::True,
            upstream_timeout: Duration::from_secs(30),
            conflict_retries: 10,
            // Measured on this machine (docs/benchmarks.md): 64 concurrent updates as one bulk
            // with one refresh cost the node a thirtieth of 64 requests each refreshed.
            group_commit: true,
            // A bulk of 256 small updates is a few hundred KB and answers in milliseconds; the
            // byte bound keeps large documents (filtering rules, cursors) from making one huge
            // request.
            group_commit_max_items: 256,
            group_commit_max_bytes: 8 * 1024 * 1024,
            client_timeout: Duration::from_secs(5),
            // Clients pool their connections and send on an idle one whenever they like: a
            // connection closed by the service just as a request goes out fails that request,
            // and a write cannot be safely sent again. Elasticsearch closes none.
            client_idle_timeout: None,
            // Connector and sync-job bodies are settings and counters, a few KB; large advanced
            // sync rules or sync cursors stay far below this, and it bounds what one request can
            // make the service hold (a body is read whole to be parsed).
            max_body_size: 10 * 1024 * 1024,
            // Measured on two cores shared with a node: one worker spent 5-11% less CPU per
            // request than two at concurrency 64, at the same throughput (docs/benchmarks.md).
            workers: 1,
            shutdown_grace: Duration::from_secs(30),
            es_username: None,
            es_password_file: None,
            es_api_key_file: None,
            es_ca_cert: None,
            es_insecure_skip_verify: false,
            passthrough: true,
            passthrough_timeout: None,
            unsafe_passthrough_service_credentials: false,
            authorization: Authorization::Auto,
            // A revoked role stops working through the service within this time; each check it
            // saves is a round trip to the cluster (two questions sent at once).
            privilege_cache_ttl: Duration::from_secs(30),
            install_templates: true,
            ingest_pipeline: IngestPipeline::Full,
            log_format: LogFormat::Plain,
        }
    }
}

impl Layered {
    /// Checks the settings and turns them into what the service runs with. The secrets come
    /// apart, read by the caller, so that this needs nothing but its arguments.
    fn resolve(
        self,
        password: Option<SecretString>,
        api_key: Option<SecretString>,
    ) -> anyhow::Result<Settings> {
        if self.workers == 0 {
            bail!("workers must be at least 1");
        }
        if self.group_commit_max_items == 0 {
            bail!("group_commit_max_items must be at least 1");
        }
        let es_urls = self
            .es_url
            .iter()
            .map(|raw| parse_es_url(raw))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if es_urls.is_empty() {
            bail!("es_url names no node");
        }
        let credentials = service_credentials(self.es_username, password, api_key)?;
        let tls = match (self.es_insecure_skip_verify, self.es_ca_cert) {
            (true, Some(_)) => bail!("es_ca_cert and es_insecure_skip_verify exclude each other"),
            (true, None) => TlsVerification::Skip,
            (false, extra_ca) => TlsVerification::Verify { extra_ca },
        };
        let passthrough = match self.passthrough {
            false => None,
            true if self.unsafe_passthrough_service_credentials && credentials.is_none() => bail!(
                "unsafe_passthrough_service_credentials is on, but no service credentials (es_username or es_api_key) are configured"
            ),
            true => Some(PassthroughSettings {
                timeout: self.passthrough_timeout,
                service_credentials: self.unsafe_passthrough_service_credentials,
            }),
        };
        if self.authorization == Authorization::ClusterPrivileges && credentials.is_none() {
            bail!(
                "authorization = cluster_privileges reads and writes the connector indices with the service credentials, but none (es_username or es_api_key) are configured"
            );
        }
        Ok(Settings {
            listen: self.listen,
            es_urls,
            sync_jobs_index: alias_name(self.sync_jobs_index)?,
            connectors_index: alias_name(self.connectors_index)?,
            update_strategy: self.update_strategy,
            refresh: self.refresh,
            upstream_timeout: self.upstream_timeout,
            conflict_retries: self.conflict_retries,
            group_commit: self.group_commit.then_some(GroupCommit {
                max_items: self.group_commit_max_items,
                max_bytes: self.group_commit_max_bytes,
            }),
            client_timeout: self.client_timeout,
            client_idle_timeout: self.client_idle_timeout,
            max_body_size: self.max_body_size,
            workers: self.workers,
            shutdown_grace: self.shutdown_grace,
            credentials,
            authorization: self.authorization,
            privilege_cache_ttl: self.privilege_cache_ttl,
            tls,
            log_format: self.log_format,
            install_templates: self.install_templates,
            ingest_pipeline: self.ingest_pipeline,
            repair: false,
            passthrough,
        })
    }
}

/// Credentials the service itself uses when a request brings none.
#[derive(Debug, Clone)]
pub enum ServiceCredentials {
    Basic {
        username: String,
        password: SecretString,
    },
    /// The encoded form Elasticsearch returns when it creates a key.
    ApiKey(SecretString),
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

/// Bounds of one group commit (`group_commit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    /// The most operations in one bulk request (or multi-get).
    pub max_items: usize,
    /// The most body bytes in one bulk request; one larger operation goes alone.
    pub max_bytes: usize,
}

/// The settings the service runs with, every default applied and every value checked.
/// `Settings::default()` is the built-in defaults, for tests and benchmarks to start from.
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
    /// None when group commit is turned off.
    pub group_commit: Option<GroupCommit>,
    pub client_timeout: Duration,
    /// None keeps idle client connections open until the client closes them.
    pub client_idle_timeout: Option<Duration>,
    pub max_body_size: usize,
    pub workers: usize,
    pub shutdown_grace: Duration,
    pub credentials: Option<ServiceCredentials>,
    /// Who decides what a caller may do through the connector APIs.
    pub authorization: Authorization,
    /// How long a caller's privileges, as the cluster answered, are reused.
    pub privilege_cache_ttl: Duration,
    pub tls: TlsVerification,
    pub log_format: LogFormat,
    pub install_templates: bool,
    pub ingest_pipeline: IngestPipeline,
    /// `--repair`: repair the connector indices and exit.
    pub repair: bool,
    /// None when pass-through is turned off.
    pub passthrough: Option<PassthroughSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Layered::default()
            .resolve(None, None)
            .expect("the built-in defaults pass their own checks")
    }
}

impl Settings {
    /// Reads the command line, the environment and the config file; `--help`, `--version` and
    /// a malformed command line end the process as clap ends it.
    pub fn load() -> anyhow::Result<Self> {
        let cli = Cli::from_arg_matches(&command().get_matches())?;
        Self::from_cli(cli)
    }

    /// Layers the defaults, the file, the environment and this command line, then reads the
    /// secrets and checks the result.
    fn from_cli(cli: Cli) -> anyhow::Result<Self> {
        let repair = cli.repair;
        let layered: Layered = layers(cli)?.extract_lossy().map_err(settings_error)?;
        let password = secret_from(PASSWORD_ENV, layered.es_password_file.as_deref())?;
        let api_key = secret_from(API_KEY_ENV, layered.es_api_key_file.as_deref())?;
        Ok(Settings {
            repair,
            ..layered.resolve(password, api_key)?
        })
    }

    /// The node URLs as they may appear in logs: without user information.
    pub fn redacted_es_urls(&self) -> Vec<String> {
        self.es_urls.iter().map(redact_url).collect()
    }
}

/// Figment's errors, one per line: each names the setting and where its value came from.
fn settings_error(error: figment::Error) -> anyhow::Error {
    let lines: Vec<String> = error.into_iter().map(|error| error.to_string()).collect();
    anyhow::anyhow!("invalid settings: {}", lines.join("; "))
}

/// Defaults < config file < environment < command line.
fn layers(cli: Cli) -> anyhow::Result<Figment> {
    let file = match cli.config_file.clone().or_else(|| {
        Env::var(CONFIG_FILE_ENV)
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
    }) {
        Some(path) => {
            std::fs::metadata(&path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            Some(path)
        }
        None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|path| path.exists()),
    };
    let mut figment = Figment::from(Serialized::defaults(Layered::default()));
    if let Some(path) = file {
        figment = figment.merge(ConfigFile(path));
    }
    Ok(figment.merge(Environment::new()).merge(cli))
}

/// The file layer: figment's TOML provider, its errors naming the key as the file writes it.
struct ConfigFile(PathBuf);

impl Provider for ConfigFile {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("config file {}", self.0.display()))
            .interpolater(|_: &Profile, keys: &[&str]| keys.join("."))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Toml::file_exact(&self.0).data()
    }
}

/// The environment layer. Figment's `Env` picks the variables (the prefix, and only the keys of
/// settings: the secrets and the config file are read apart) and they keep their text as
/// written, so that an index or user name such as `0042` stays a string; each setting's own
/// reader parses it, as it parses the file's and the command line's.
struct Environment(Env);

impl Environment {
    fn new() -> Self {
        let keys: Vec<String> = defaults_dict().keys().cloned().collect();
        Self(
            Env::prefixed(ENV_PREFIX)
                .filter(move |key| keys.iter().any(|known| key.as_str().eq_ignore_ascii_case(known))),
        )
    }
}

impl Provider for Environment {
    fn metadata(&self) -> Metadata {
        Metadata::named("the environment")
            .interpolater(|_: &Profile, keys: &[&str]| env_name(&keys.join(".")))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let dict: Dict = self
            .0
            .iter()
            // An empty variable counts as unset, as it did when clap read the environment.
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| (key.to_string(), Value::from(value)))
            .collect();
        Ok(Profile::Default.collect(dict))
    }
}

/// The command-line layer: the flags given, and nothing for those left out.
impl Provider for Cli {
    fn metadata(&self) -> Metadata {
        Metadata::named("the command line")
            .interpolater(|_: &Profile, keys: &[&str]| format!("--{}", keys.join(".").replace('_', "-")))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let Value::Dict(_, mut dict) = Value::serialize(self)? else {
            unreachable!("the command line serializes to a dictionary")
        };
        dict.retain(|_, value| match value {
            Value::Empty(..) => false,
            Value::Array(_, items) => !items.is_empty(),
            _ => true,
        });
        Ok(Profile::Default.collect(dict))
    }
}

/// One alias name.
fn alias_name(name: String) -> anyhow::Result<String> {
    if name.is_empty() || name.contains(['/', ',', '*', ' ', '?', '"', '<', '>', '|', '\\', '#', ':']) {
        bail!("invalid index name [{name}]: it must be one alias name");
    }
    Ok(name)
}

/// Service credentials from the user name and the secrets; none unless explicitly configured.
fn service_credentials(
    username: Option<String>,
    password: Option<SecretString>,
    api_key: Option<SecretString>,
) -> anyhow::Result<Option<ServiceCredentials>> {
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
fn secret_from(env: &str, file: Option<&Path>) -> anyhow::Result<Option<SecretString>> {
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
        .map(SecretString::from))
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

/// `es_url`: a list of URLs, or one string of them separated by commas (as the environment
/// gives it).
mod node_urls {
    use serde::de::{Deserializer, SeqAccess, Visitor};
    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(urls: &[String], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(urls)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
        struct Urls;
        impl<'de> Visitor<'de> for Urls {
            type Value = Vec<String>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("node URLs, as a list or separated by commas")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(text
                    .split(',')
                    .map(str::trim)
                    .filter(|url| !url.is_empty())
                    .map(str::to_owned)
                    .collect())
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut urls = Vec::new();
                while let Some(url) = seq.next_element::<String>()? {
                    urls.push(url);
                }
                Ok(urls)
            }
        }
        deserializer.deserialize_any(Urls)
    }
}

/// Durations as humantime writes them (`500ms`, `30s`, `1m`, `1h`, `1h 30m`). The unit is
/// required, since a bare number could mean seconds or milliseconds, and zero is refused: every
/// duration here is a limit that zero would make useless.
mod duration {
    use std::time::Duration;

    use serde::de::{Deserializer, Error, Visitor};
    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        humantime_serde::serialize(duration, serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        deserializer.deserialize_any(DurationVisitor)
    }

    pub(super) struct DurationVisitor;

    impl Visitor<'_> for DurationVisitor {
        type Value = Duration;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a duration with its unit, like 500ms, 30s, 1m or 1h")
        }

        fn visit_str<E: Error>(self, text: &str) -> Result<Duration, E> {
            parse(text).map_err(E::custom)
        }

        fn visit_u64<E: Error>(self, number: u64) -> Result<Duration, E> {
            Err(E::custom(no_unit(&number.to_string())))
        }

        fn visit_i64<E: Error>(self, number: i64) -> Result<Duration, E> {
            Err(E::custom(no_unit(&number.to_string())))
        }

        fn visit_f64<E: Error>(self, number: f64) -> Result<Duration, E> {
            Err(E::custom(no_unit(&number.to_string())))
        }
    }

    fn no_unit(number: &str) -> String {
        format!("[{number}] has no unit: write a duration like {number}s, {number}ms or {number}m")
    }

    /// A duration that may be zero (`0s` turns something off), read as the others are.
    pub(super) mod or_zero {
        use std::time::Duration;

        use serde::de::{Deserializer, Error, Visitor};

        pub(in super::super) use super::serialize;

        pub(in super::super) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Duration, D::Error> {
            struct OrZero;
            impl Visitor<'_> for OrZero {
                type Value = Duration;

                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    super::DurationVisitor.expecting(f)
                }

                fn visit_str<E: Error>(self, text: &str) -> Result<Duration, E> {
                    super::parse_any(text).map_err(E::custom)
                }

                fn visit_u64<E: Error>(self, number: u64) -> Result<Duration, E> {
                    super::DurationVisitor.visit_u64(number)
                }

                fn visit_i64<E: Error>(self, number: i64) -> Result<Duration, E> {
                    super::DurationVisitor.visit_i64(number)
                }

                fn visit_f64<E: Error>(self, number: f64) -> Result<Duration, E> {
                    super::DurationVisitor.visit_f64(number)
                }
            }
            deserializer.deserialize_any(OrZero)
        }
    }

    fn parse_any(text: &str) -> Result<Duration, String> {
        let text = text.trim();
        if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(no_unit(text));
        }
        humantime_serde::re::humantime::parse_duration(text)
            .map_err(|error| format!("[{text}] is not a duration like 500ms, 30s, 1m or 1h: {error}"))
    }

    pub(super) fn parse(text: &str) -> Result<Duration, String> {
        let duration = parse_any(text)?;
        let text = text.trim();
        if duration.is_zero() {
            return Err(format!("[{text}]: the duration must be greater than zero"));
        }
        Ok(duration)
    }
}

/// `passthrough_timeout` and `client_idle_timeout`: a duration, or `none` for no limit.
mod optional_duration {
    use std::time::Duration;

    use serde::de::{Deserializer, Error, Visitor};
    use serde::Serializer;

    use super::duration::{parse, DurationVisitor};

    pub(super) fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => super::duration::serialize(duration, serializer),
            None => serializer.serialize_str("none"),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        struct OrNone;
        impl Visitor<'_> for OrNone {
            type Value = Option<Duration>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("none, or a duration with its unit, like 30s or 10m")
            }

            fn visit_str<E: Error>(self, text: &str) -> Result<Self::Value, E> {
                match text.trim() {
                    "none" => Ok(None),
                    text => parse(text).map(Some).map_err(E::custom),
                }
            }

            fn visit_u64<E: Error>(self, number: u64) -> Result<Self::Value, E> {
                DurationVisitor.visit_u64(number).map(Some)
            }

            fn visit_i64<E: Error>(self, number: i64) -> Result<Self::Value, E> {
                DurationVisitor.visit_i64(number).map(Some)
            }

            fn visit_f64<E: Error>(self, number: f64) -> Result<Self::Value, E> {
                DurationVisitor.visit_f64(number).map(Some)
            }
        }
        deserializer.deserialize_any(OrNone)
    }
}

/// Sizes in Elasticsearch's units: `kb`, `mb` and `gb` are powers of 1024, in any case; a bare
/// number counts bytes. Zero is refused.
mod size {
    use serde::de::{Deserializer, Error, Visitor};
    use serde::Serializer;

    const UNITS: [(&str, usize); 4] = [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("b", 1)];

    /// The largest unit that writes the size exactly.
    pub(super) fn serialize<S: Serializer>(bytes: &usize, serializer: S) -> Result<S::Ok, S::Error> {
        let (unit, factor) = UNITS
            .into_iter()
            .find(|(_, factor)| *bytes != 0 && bytes.is_multiple_of(*factor))
            .unwrap_or(("b", 1));
        serializer.serialize_str(&format!("{}{unit}", bytes / factor))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
        struct Size;
        impl Visitor<'_> for Size {
            type Value = usize;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a size like 512kb or 10mb")
            }

            fn visit_str<E: Error>(self, text: &str) -> Result<usize, E> {
                parse(text).map_err(E::custom)
            }

            fn visit_u64<E: Error>(self, number: u64) -> Result<usize, E> {
                parse(&number.to_string()).map_err(E::custom)
            }

            fn visit_i64<E: Error>(self, number: i64) -> Result<usize, E> {
                parse(&number.to_string()).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Size)
    }

    pub(super) fn parse(raw: &str) -> Result<usize, String> {
        let lower = raw.trim().to_ascii_lowercase();
        let not_a_size = || format!("[{raw}] is not a size like 512kb or 10mb");
        let (number, unit) = match lower.find(|c: char| !c.is_ascii_digit()) {
            Some(at) => lower.split_at(at),
            None => (lower.as_str(), "b"),
        };
        let value: usize = number.parse().map_err(|_| not_a_size())?;
        let (_, factor) = UNITS
            .into_iter()
            .find(|(name, _)| *name == unit.trim())
            .ok_or_else(not_a_size)?;
        if value == 0 {
            return Err(format!("[{raw}]: the size must be greater than zero"));
        }
        value
            .checked_mul(factor)
            .ok_or_else(|| format!("[{raw}] is too large"))
    }
}

#[cfg(test)]
mod tests {
    use figment::Jail;
    use secrecy::ExposeSecret;

    use super::*;

    /// Runs `test` with an empty environment in a directory of its own: figment's jail, which
    /// also keeps such tests from running at the same time.
    #[allow(clippy::result_large_err)] // the closure's error type is the jail's
    fn in_jail(test: impl FnOnce(&mut Jail)) {
        Jail::expect_with(|jail| {
            jail.clear_env();
            test(jail);
            Ok(())
        });
    }

    fn cli(args: &[&str]) -> Cli {
        let matches = command()
            .try_get_matches_from(std::iter::once("connector-sync-proxy").chain(args.iter().copied()))
            .unwrap();
        Cli::from_arg_matches(&matches).unwrap()
    }

    /// The layers for these arguments, as the service would read them in the jail.
    fn layered(args: &[&str]) -> Result<Layered, String> {
        let figment = layers(cli(args)).map_err(|error| format!("{error:#}"))?;
        figment
            .extract_lossy::<Layered>()
            .map_err(|error| settings_error(error).to_string())
    }

    fn shown(layered: &Layered, key: &str) -> String {
        let Ok(Value::Dict(_, dict)) = Value::serialize(layered) else {
            unreachable!()
        };
        shown_value(&dict[key]).unwrap_or_else(|| "(unset)".to_owned())
    }

    /// Per setting: its value in the file (TOML), in the environment and on the command line,
    /// and each as the layered settings show it.
    const LAYERS: [(&str, [(&str, &str); 3]); 29] = [
        (
            "listen",
            [
                ("\"0.0.0.0:1\"", "0.0.0.0:1"),
                ("0.0.0.0:2", "0.0.0.0:2"),
                ("0.0.0.0:3", "0.0.0.0:3"),
            ],
        ),
        (
            "es_url",
            [
                ("[\"http://file:9200\"]", "http://file:9200"),
                ("http://env:1,http://env:2", "http://env:1,http://env:2"),
                ("http://flag:9200", "http://flag:9200"),
            ],
        ),
        (
            "sync_jobs_index",
            [
                ("\"file-jobs\"", "file-jobs"),
                ("0042", "0042"),
                ("flag-jobs", "flag-jobs"),
            ],
        ),
        (
            "connectors_index",
            [("\"file-c\"", "file-c"), ("env-c", "env-c"), ("1", "1")],
        ),
        (
            "update_strategy",
            [
                ("\"script\"", "script"),
                ("optimistic", "optimistic"),
                ("auto", "auto"),
            ],
        ),
        (
            "refresh",
            [("\"wait_for\"", "wait_for"), ("false", "false"), ("true", "true")],
        ),
        (
            "upstream_timeout",
            [("\"1m\"", "1m"), ("1h", "1h"), ("500ms", "500ms")],
        ),
        ("conflict_retries", [("3", "3"), ("4", "4"), ("5", "5")]),
        (
            "group_commit",
            [("false", "false"), ("true", "true"), ("false", "false")],
        ),
        (
            "group_commit_max_items",
            [("16", "16"), ("32", "32"), ("64", "64")],
        ),
        (
            "group_commit_max_bytes",
            [("\"1mb\"", "1mb"), ("2MB", "2mb"), ("65536", "64kb")],
        ),
        ("client_timeout", [("\"2s\"", "2s"), ("3s", "3s"), ("4s", "4s")]),
        (
            "client_idle_timeout",
            [("\"5m\"", "5m"), ("none", "none"), ("90s", "1m 30s")],
        ),
        (
            "max_body_size",
            [("\"512kb\"", "512kb"), ("2MB", "2mb"), ("1048577", "1048577b")],
        ),
        ("workers", [("2", "2"), ("3", "3"), ("4", "4")]),
        (
            "shutdown_grace",
            [("\"10s\"", "10s"), ("20s", "20s"), ("1m 30s", "1m 30s")],
        ),
        (
            "es_username",
            [
                ("\"file-user\"", "file-user"),
                ("0042", "0042"),
                ("flag-user", "flag-user"),
            ],
        ),
        (
            "es_password_file",
            [
                ("\"/file/pw\"", "/file/pw"),
                ("/env/pw", "/env/pw"),
                ("/flag/pw", "/flag/pw"),
            ],
        ),
        (
            "es_api_key_file",
            [
                ("\"/file/key\"", "/file/key"),
                ("/env/key", "/env/key"),
                ("/flag/key", "/flag/key"),
            ],
        ),
        (
            "es_ca_cert",
            [
                ("\"/file/ca\"", "/file/ca"),
                ("/env/ca", "/env/ca"),
                ("/flag/ca", "/flag/ca"),
            ],
        ),
        (
            "es_insecure_skip_verify",
            [("true", "true"), ("false", "false"), ("true", "true")],
        ),
        (
            "passthrough",
            [("false", "false"), ("true", "true"), ("false", "false")],
        ),
        (
            "passthrough_timeout",
            [("\"10m\"", "10m"), ("none", "none"), ("30s", "30s")],
        ),
        (
            "unsafe_passthrough_service_credentials",
            [("true", "true"), ("false", "false"), ("true", "true")],
        ),
        (
            "authorization",
            [
                ("\"forward\"", "forward"),
                ("cluster_privileges", "cluster_privileges"),
                ("auto", "auto"),
            ],
        ),
        (
            "privilege_cache_ttl",
            [("\"5s\"", "5s"), ("0s", "0s"), ("1m", "1m")],
        ),
        (
            "install_templates",
            [("false", "false"), ("true", "true"), ("false", "false")],
        ),
        (
            "ingest_pipeline",
            [
                ("\"none\"", "none"),
                ("full_or_empty", "full_or_empty"),
                ("full", "full"),
            ],
        ),
        (
            "log_format",
            [("\"json\"", "json"), ("plain", "plain"), ("json", "json")],
        ),
    ];

    #[test]
    fn the_table_covers_every_setting_and_every_flag() {
        let mut keys: Vec<&str> = LAYERS.iter().map(|(key, _)| *key).collect();
        keys.sort();
        let defaults = defaults_dict();
        assert_eq!(keys, defaults.keys().map(String::as_str).collect::<Vec<_>>());
        let flags: Vec<String> = Cli::command()
            .get_arguments()
            .map(|arg| arg.get_id().to_string())
            .filter(|id| id != "config_file" && !COMMAND_LINE_ONLY.contains(&id.as_str()))
            .collect();
        let mut sorted = flags.clone();
        sorted.sort();
        assert_eq!(
            sorted, keys,
            "every setting has its flag and every flag its setting"
        );
    }

    #[test]
    fn each_setting_comes_from_the_file_then_the_environment_then_the_command_line() {
        for (key, [(in_file, from_file), (in_env, from_env), (on_line, from_line)]) in LAYERS {
            in_jail(|jail| {
                jail.create_file("settings.toml", &format!("{key} = {in_file}\n"))
                    .unwrap();
                let file = ["--config-file", "settings.toml"];
                let flag = format!("--{}", key.replace('_', "-"));

                let defaults = layered(&[]).unwrap();
                assert_eq!(defaults, Layered::default(), "{key}: nothing given");
                let file_only = layered(&file).unwrap_or_else(|error| panic!("{key}: {error}"));
                assert_eq!(shown(&file_only, key), from_file, "{key} from the file");

                jail.set_env(env_name(key), in_env);
                let env = layered(&file).unwrap_or_else(|error| panic!("{key}: {error}"));
                assert_eq!(
                    shown(&env, key),
                    from_env,
                    "{key}: the environment wins over the file"
                );

                let all = layered(&[file[0], file[1], &flag, on_line])
                    .unwrap_or_else(|error| panic!("{key}: {error}"));
                assert_eq!(
                    shown(&all, key),
                    from_line,
                    "{key}: the command line wins over both"
                );

                // Every other setting kept its default.
                let Ok(Value::Dict(_, mut got)) = Value::serialize(&all) else {
                    unreachable!()
                };
                let mut want = defaults_dict();
                got.remove(key);
                want.remove(key);
                assert_eq!(got, want, "{key}: the others are untouched");
            });
        }
    }

    #[test]
    fn the_config_file_and_the_environment_variable_for_it() {
        in_jail(|jail| {
            // The shipped file holds the built-in defaults.
            let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_FILE);
            assert_eq!(
                layered(&["--config-file", shipped.to_str().unwrap()]).unwrap(),
                Layered::default()
            );

            // Without --config-file: config/default.toml when it exists, else nothing.
            jail.create_dir("config").unwrap();
            jail.create_file(DEFAULT_CONFIG_FILE, "workers = 7").unwrap();
            assert_eq!(layered(&[]).unwrap().workers, 7);
            jail.create_file("other.toml", "workers = 8").unwrap();
            jail.set_env(CONFIG_FILE_ENV, "other.toml");
            assert_eq!(layered(&[]).unwrap().workers, 8);
            assert_eq!(
                layered(&["--config-file", DEFAULT_CONFIG_FILE]).unwrap().workers,
                7
            );

            let missing = layered(&["--config-file", "nowhere.toml"]).unwrap_err();
            assert!(
                missing.contains("cannot read config file nowhere.toml"),
                "{missing}"
            );
        });
    }

    #[test]
    fn the_docker_compose_environment_loads() {
        in_jail(|jail| {
            jail.set_env("CONNECTOR_SYNC_PROXY_ES_URL", "http://elasticsearch:9200");
            jail.set_env("CONNECTOR_SYNC_PROXY_LISTEN", "0.0.0.0:9280");
            let settings = Settings::from_cli(cli(&[])).unwrap();
            assert_eq!(settings.es_urls[0].as_str(), "http://elasticsearch:9200/");
            assert_eq!(settings.listen, "0.0.0.0:9280");
        });
    }

    #[test]
    fn durations_need_a_unit_and_name_the_setting_they_are_wrong_in() {
        assert_eq!(duration::parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration::parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(duration::parse("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(duration::parse("1h"), Ok(Duration::from_secs(3600)));
        assert!(duration::parse("7").unwrap_err().contains("[7] has no unit"));
        assert!(duration::parse("0s").unwrap_err().contains("greater than zero"));
        assert!(duration::parse("fast").unwrap_err().contains("is not a duration"));

        in_jail(|jail| {
            jail.create_file("settings.toml", "client_timeout = 7").unwrap();
            let err = layered(&["--config-file", "settings.toml"]).unwrap_err();
            assert!(
                err.contains("[7] has no unit") && err.contains("client_timeout"),
                "{err}"
            );

            jail.set_env("CONNECTOR_SYNC_PROXY_UPSTREAM_TIMEOUT", "7");
            let err = layered(&[]).unwrap_err();
            assert!(
                err.contains("[7] has no unit") && err.contains("CONNECTOR_SYNC_PROXY_UPSTREAM_TIMEOUT"),
                "{err}"
            );

            jail.clear_env();
            let err = layered(&["--shutdown-grace", "0s"]).unwrap_err();
            assert!(
                err.contains("greater than zero") && err.contains("--shutdown-grace"),
                "{err}"
            );
            let err = layered(&["--passthrough-timeout", "7"]).unwrap_err();
            assert!(
                err.contains("[7] has no unit") && err.contains("--passthrough-timeout"),
                "{err}"
            );
        });
    }

    #[test]
    fn sizes_are_elasticsearchs_powers_of_1024() {
        assert_eq!(size::parse("512kb"), Ok(512 * 1024));
        assert_eq!(size::parse("10MB"), Ok(10 * 1024 * 1024));
        assert_eq!(size::parse("1Gb"), Ok(1024 * 1024 * 1024));
        assert_eq!(size::parse("100"), Ok(100));
        assert_eq!(size::parse("100b"), Ok(100));
        assert!(size::parse("0").is_err());
        assert!(size::parse("10tb").is_err());
        assert!(size::parse("big").is_err());
        in_jail(|jail| {
            jail.create_file("settings.toml", "max_body_size = 2048").unwrap();
            assert_eq!(
                layered(&["--config-file", "settings.toml"])
                    .unwrap()
                    .max_body_size,
                2048
            );
            let err = layered(&["--max-body-size", "10tb"]).unwrap_err();
            assert!(
                err.contains("[10tb] is not a size") && err.contains("--max-body-size"),
                "{err}"
            );
        });
    }

    #[test]
    fn refresh_is_spelled_as_elasticsearch_spells_it() {
        assert_eq!(cli(&["--refresh", "wait_for"]).refresh, Some(Refresh::WaitFor));
        in_jail(|jail| {
            jail.set_env("CONNECTOR_SYNC_PROXY_REFRESH", "wait_for");
            assert_eq!(layered(&[]).unwrap().refresh, Refresh::WaitFor);
            jail.set_env("CONNECTOR_SYNC_PROXY_REFRESH", "sometimes");
            let err = layered(&[]).unwrap_err();
            assert!(
                err.contains("sometimes") && err.contains("CONNECTOR_SYNC_PROXY_REFRESH"),
                "{err}"
            );
        });
    }

    #[test]
    fn es_url_repeats_and_splits_on_commas() {
        in_jail(|_| {
            let layered = layered(&["--es-url", "http://a:1", "--es-url", "http://b:2,https://c:3"]).unwrap();
            assert_eq!(layered.es_url, ["http://a:1", "http://b:2", "https://c:3"]);
        });
    }

    #[test]
    fn the_checks_refuse_what_cannot_run() {
        let refused = |adjust: fn(&mut Layered)| {
            let mut layered = Layered::default();
            adjust(&mut layered);
            format!("{:#}", layered.resolve(None, None).unwrap_err())
        };
        assert!(refused(|l| l.workers = 0).contains("workers must be at least 1"));
        assert!(refused(|l| l.sync_jobs_index = "a,b".into()).contains("invalid index name [a,b]"));
        assert!(refused(|l| l.connectors_index = String::new()).contains("invalid index name []"));
        assert!(refused(|l| l.es_url = vec![]).contains("es_url names no node"));
        assert!(refused(|l| l.es_url = vec!["ftp://x".into()]).contains("invalid Elasticsearch URL"));
        assert!(refused(|l| {
            l.es_insecure_skip_verify = true;
            l.es_ca_cert = Some("/ca.pem".into());
        })
        .contains("exclude each other"));
        assert!(
            refused(|l| l.unsafe_passthrough_service_credentials = true).contains("no service credentials")
        );
        assert!(refused(|l| l.authorization = Authorization::ClusterPrivileges).contains("none (es_username"));

        let mut layered = Layered {
            unsafe_passthrough_service_credentials: true,
            ..Layered::default()
        };
        let on = layered.clone().resolve(None, Some("key".into())).unwrap();
        assert!(on.passthrough.unwrap().service_credentials);
        layered.passthrough = false;
        assert!(layered.resolve(None, None).unwrap().passthrough.is_none());
    }

    #[test]
    fn settings_default_is_the_built_in_defaults() {
        let settings = Settings::default();
        assert_eq!(settings.listen, "127.0.0.1:9280");
        assert_eq!(settings.redacted_es_urls(), ["http://127.0.0.1:9200/"]);
        assert_eq!(settings.upstream_timeout, Duration::from_secs(30));
        assert_eq!(settings.max_body_size, 10 * 1024 * 1024);
        assert_eq!(settings.workers, 1);
        assert_eq!(settings.tls, TlsVerification::Verify { extra_ca: None });
        assert!(settings.credentials.is_none());
        assert_eq!(settings.passthrough, Some(PassthroughSettings::default()));
    }

    #[test]
    fn help_lists_every_flag_its_variable_and_its_default_but_no_secret() {
        in_jail(|jail| {
            jail.set_env(PASSWORD_ENV, "hunter2");
            jail.set_env(API_KEY_ENV, "c2VjcmV0LWtleQ==");
            jail.set_env("CONNECTOR_SYNC_PROXY_ES_URL", "https://elastic:pa55@node:9200");
            let help = command().render_long_help().to_string();
            for arg in Cli::command().get_arguments() {
                let key = arg.get_id().as_str();
                if COMMAND_LINE_ONLY.contains(&key) {
                    assert!(help.contains("--repair") && !help.contains(&env_name(key)));
                    continue;
                }
                assert!(
                    help.contains(&format!("--{}", key.replace('_', "-"))),
                    "{key} missing"
                );
                assert!(help.contains(&env_name(key)), "{key}'s variable missing");
            }
            for default in [
                "[default: 127.0.0.1:9280]",
                "[default: http://127.0.0.1:9200]",
                "[default: 30s]",
                "[default: 10mb]",
                "[default: none]",
                "[default: config/default.toml when it exists]",
            ] {
                assert!(help.contains(default), "{default} missing");
            }
            assert!(help.contains(PASSWORD_ENV) && help.contains(API_KEY_ENV));
            for secret in ["hunter2", "c2VjcmV0LWtleQ==", "pa55"] {
                assert!(!help.contains(secret), "{secret} shown");
            }
        });
    }

    #[test]
    fn the_secrets_are_read_from_the_environment_or_a_file_and_never_shown() {
        in_jail(|jail| {
            jail.create_file("password", "s3cret\n").unwrap();
            jail.set_env("CONNECTOR_SYNC_PROXY_ES_USERNAME", "svc");
            jail.set_env(PASSWORD_ENV, "from-env");
            let settings = Settings::from_cli(cli(&["--es-password-file", "password"])).unwrap();
            let Some(ServiceCredentials::Basic { username, password }) = &settings.credentials else {
                panic!("no user")
            };
            assert_eq!((username.as_str(), password.expose_secret()), ("svc", "s3cret"));
            assert!(!format!("{settings:?}").contains("s3cret"));

            let settings = Settings::from_cli(cli(&[])).unwrap();
            let Some(ServiceCredentials::Basic { password, .. }) = &settings.credentials else {
                panic!("no user")
            };
            assert_eq!(password.expose_secret(), "from-env");
            assert!(!format!("{settings:?}").contains("from-env"));

            // A key beside a user and password: refused without showing either.
            jail.set_env(API_KEY_ENV, "the-key");
            let err = format!("{:#}", Settings::from_cli(cli(&[])).unwrap_err());
            assert!(
                err.contains("not both") && !err.contains("from-env") && !err.contains("the-key"),
                "{err}"
            );

            jail.set_env("CONNECTOR_SYNC_PROXY_ES_USERNAME", "");
            jail.set_env(PASSWORD_ENV, "");
            let settings = Settings::from_cli(cli(&[])).unwrap();
            assert!(matches!(
                settings.credentials,
                Some(ServiceCredentials::ApiKey(_))
            ));
            assert!(!format!("{settings:?}").contains("the-key"));

            // A password without a user.
            jail.set_env(API_KEY_ENV, "");
            let err = format!(
                "{:#}",
                Settings::from_cli(cli(&["--es-password-file", "password"])).unwrap_err()
            );
            assert!(
                err.contains("without es_username") && !err.contains("s3cret"),
                "{err}"
            );
            let err = format!(
                "{:#}",
                Settings::from_cli(cli(&["--es-username", "svc"])).unwrap_err()
            );
            assert!(err.contains("needs a password"), "{err}");
        });
    }

    #[test]
    fn there_is_no_flag_for_a_secret() {
        for flag in ["--es-password", "--es-api-key"] {
            let error = command()
                .try_get_matches_from(["connector-sync-proxy", flag, "x"])
                .unwrap_err();
            assert_eq!(error.kind(), clap::error::ErrorKind::UnknownArgument, "{flag}");
        }
    }

    #[test]
    fn unknown_file_keys_are_rejected_and_unknown_variables_ignored() {
        in_jail(|jail| {
            jail.create_file("settings.toml", "lisen = \"x\"").unwrap();
            let err = layered(&["--config-file", "settings.toml"]).unwrap_err();
            assert!(err.contains("lisen"), "{err}");
            jail.set_env("CONNECTOR_SYNC_PROXY_LISEN", "x");
            assert_eq!(layered(&[]).unwrap(), Layered::default());
        });
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
