//! What Elasticsearch's connector module installs in a cluster besides its APIs: the index
//! templates that lay out the connector indices whoever creates them, and the ingest pipeline
//! the connector service names. The service installs them into the cluster it fronts, at start-up
//! and again whenever a periodic check finds one missing or older than its own, so that a client
//! creating `.elastic-connectors-v1`, `.elastic-connectors-sync-jobs-v1` or a
//! `.search-acl-filter-<index>` (the connector service, Kibana, a script) gets Elasticsearch's
//! layout.
//!
//! The templates are built from the same layout files the service creates its indices from
//! (`layouts/*.json`): one definition of each index. A template whose version is lower than the
//! service's is upgraded; one with a higher version belongs to a newer service or to the
//! ent-search module itself and is left alone.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::web::Bytes;
use elasticsearch::http::Method;
use serde_json::{json, Value};

use super::layouts::{self, Layout};
use super::{encode, Store};
use crate::cluster::Forwarded;
use crate::config::IngestPipeline;
use crate::error::{ApiError, ErrorType};

/// The version of every template and of the pipeline: the version of Elasticsearch's connector
/// template registry whose layout the service follows (also `_meta.version` of the mappings).
pub const VERSION: u64 = 3;

/// The access-control indices the connector service writes document-level security into.
pub const ACL_TEMPLATE: &str = "search-acl-filter";
const ACL_PATTERN: &str = ".search-acl-filter-*";

/// The ingest pipeline that Kibana and the connector service name as a content index's default.
pub const PIPELINE_NAME: &str = "search-default-ingestion";
const PIPELINE: &str = include_str!("layouts/search-default-ingestion.json");

/// How often the templates are checked once installed; a cluster that could not be reached is
/// tried again sooner (`RETRY_FIRST`, doubling up to the interval).
pub const CHECK_INTERVAL: Duration = Duration::from_secs(60);
const RETRY_FIRST: Duration = Duration::from_secs(2);

/// How the empty stand-in pipeline's description begins, so that it is replaced by the real one
/// once the cluster has the processors (OpenSearch's pipelines take no `_meta` to mark it).
const STAND_IN: &str = "Empty stand-in for";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Component,
    Composable,
    Pipeline,
}

impl Kind {
    fn path(self) -> &'static str {
        match self {
            Self::Component => "_component_template",
            Self::Composable => "_index_template",
            Self::Pipeline => "_ingest/pipeline",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Component => "component template",
            Self::Composable => "index template",
            Self::Pipeline => "ingest pipeline",
        }
    }

    /// The version of the stored item, from the answer to a GET of it.
    fn stored_version(self, name: &str, answer: &Value) -> Option<u64> {
        let stored = match self {
            Self::Component => &answer["component_templates"][0]["component_template"],
            Self::Composable => &answer["index_templates"][0]["index_template"],
            Self::Pipeline => &answer[name],
        };
        stored["version"].as_u64()
    }
}

/// One thing to install: what it is, its name and its body.
#[derive(Debug, Clone)]
struct Item {
    kind: Kind,
    name: String,
    body: Value,
}

/// What became of one item in the last check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Installed,
    Upgraded {
        from: Option<u64>,
    },
    /// Already there at the service's version.
    Current,
    /// A higher version is there: left alone.
    Newer {
        version: u64,
    },
    /// Not installed, on purpose or because the cluster cannot take it; why.
    NotInstalled(String),
    /// The cluster refused or failed; why.
    Failed(String),
}

impl Outcome {
    fn describe(&self) -> String {
        match self {
            Self::Installed => format!("installed (version {VERSION})"),
            Self::Upgraded { from: Some(from) } => format!("upgraded from version {from} to {VERSION}"),
            Self::Upgraded { from: None } => format!("replaced an unversioned one with version {VERSION}"),
            Self::Current => format!("present (version {VERSION})"),
            Self::Newer { version } => {
                format!("left alone: its version {version} is newer than the service's {VERSION}")
            }
            Self::NotInstalled(why) => format!("not installed: {why}"),
            Self::Failed(why) => format!("could not be installed: {why}"),
        }
    }

    /// Whether the item is in place as the cluster needs it.
    fn in_place(&self) -> bool {
        matches!(
            self,
            Self::Installed | Self::Upgraded { .. } | Self::Current | Self::Newer { .. }
        )
    }
}

/// The last check: each item and what became of it, and the connector indices found without
/// their layout.
#[derive(Debug, Clone, Default)]
pub struct Report {
    items: Vec<(Kind, String, Outcome)>,
    /// Each index that exists without the layout the connector APIs need, and what is wrong.
    pub bare_indices: Vec<(String, String)>,
    /// Set until a check reached the cluster.
    pending: Option<String>,
}

impl Report {
    /// The report as `/-/ready` shows it.
    pub fn to_json(&self) -> Value {
        let mut templates = serde_json::Map::new();
        let mut pipelines = serde_json::Map::new();
        for (kind, name, outcome) in &self.items {
            let into = if *kind == Kind::Pipeline {
                &mut pipelines
            } else {
                &mut templates
            };
            into.insert(name.clone(), outcome.describe().into());
        }
        let mut detail = json!({
            "templates": templates,
            "ingest_pipelines": pipelines,
            "indices": self.bare_indices.iter().map(|(index, problem)| (index.clone(), Value::from(problem.clone()))).collect::<serde_json::Map<_, _>>(),
        });
        if let Some(pending) = &self.pending {
            detail["pending"] = pending.clone().into();
        }
        detail
    }

    /// Whether every template is in place (the pipeline aside).
    pub fn templates_in_place(&self) -> bool {
        self.pending.is_none()
            && self
                .items
                .iter()
                .filter(|(kind, ..)| *kind != Kind::Pipeline)
                .all(|(.., outcome)| outcome.in_place())
    }
}

/// Installs the templates and the pipeline, and keeps the last report.
pub struct Installer {
    store: Arc<Store>,
    layouts: Vec<Layout>,
    pipeline: IngestPipeline,
    report: Mutex<Report>,
}

/// The name of the templates of the index behind `alias`: the alias without its leading dot, so
/// that the default aliases give Elasticsearch's own names (`elastic-connectors`,
/// `elastic-connectors-sync-jobs`).
pub fn template_name(alias: &str) -> &str {
    alias.strip_prefix('.').unwrap_or(alias)
}

impl Installer {
    /// `layouts`: the connectors' first (its settings template is shared, as Elasticsearch
    /// shares it), then the others.
    pub fn new(store: Arc<Store>, layouts: Vec<Layout>, pipeline: IngestPipeline) -> Self {
        Self {
            store,
            layouts,
            pipeline,
            report: Mutex::new(Report {
                pending: Some("the first check of the templates has not reached the cluster yet".to_owned()),
                ..Report::default()
            }),
        }
    }

    /// Says in the report that nothing is installed (`install_templates` is off).
    pub fn disable(&self) {
        *self.report.lock().expect("the report lock is never poisoned") = Report {
            pending: Some("install_templates is off".to_owned()),
            ..Report::default()
        };
    }

    pub fn report(&self) -> Report {
        self.report
            .lock()
            .expect("the report lock is never poisoned")
            .clone()
    }

    /// Checks and installs now, then again every `CHECK_INTERVAL` (sooner while the cluster
    /// cannot be reached). Runs until the process ends.
    pub async fn run(self: Arc<Self>) {
        let mut retry = RETRY_FIRST;
        loop {
            let wait = match self.check().await {
                Ok(()) => {
                    retry = RETRY_FIRST;
                    CHECK_INTERVAL
                }
                Err(err) => {
                    log::debug!("the index templates could not be checked yet: {err}");
                    let wait = retry;
                    retry = (retry * 2).min(CHECK_INTERVAL);
                    wait
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// One check of every item, and of the connector indices. Fails only when the cluster
    /// could not be reached at all; what the cluster refuses is in the report.
    pub async fn check(&self) -> Result<(), ApiError> {
        let opensearch = self.is_opensearch().await?;
        let mut items = Vec::new();
        for item in self.templates(opensearch) {
            let outcome = self.install(&item).await?;
            items.push((item.kind, item.name, outcome));
        }
        let (name, outcome) = self.install_pipeline(opensearch).await?;
        items.push((Kind::Pipeline, name, outcome));
        let mut bare_indices = Vec::new();
        for layout in &self.layouts {
            for problem in layouts::problems(self.store.cluster(), layout).await? {
                bare_indices.push(problem);
            }
        }
        let report = Report {
            items,
            bare_indices,
            pending: None,
        };
        self.log_changes(&report);
        *self.report.lock().expect("the report lock is never poisoned") = report;
        Ok(())
    }

    /// Logs what changed since the last check (everything, the first time).
    fn log_changes(&self, report: &Report) {
        let before = self.report();
        for (kind, name, outcome) in &report.items {
            // "Present" after "installed" or "upgraded" is no news.
            let known = before.items.iter().any(|(k, n, o)| {
                k == kind && n == name && (o == outcome || (*outcome == Outcome::Current && o.in_place()))
            });
            if known {
                continue;
            }
            let line = format!("{} [{name}]: {}", kind.noun(), outcome.describe());
            match outcome {
                Outcome::Failed(_) => log::warn!("{line}"),
                Outcome::NotInstalled(_) if *kind == Kind::Pipeline => log::warn!("{line}"),
                _ => log::info!("{line}"),
            }
        }
        for (index, problem) in &report.bare_indices {
            if !before
                .bare_indices
                .iter()
                .any(|(i, p)| i == index && p == problem)
            {
                log::error!("{problem}");
            }
        }
    }

    /// Composable templates in OpenSearch do not take `allow_auto_create`.
    async fn is_opensearch(&self) -> Result<bool, ApiError> {
        let reply = self
            .store
            .cluster()
            .call("setup", &Forwarded::default(), Method::Get, "/", &[], None)
            .await?;
        Ok(reply.body()["version"]["distribution"] == "opensearch")
    }

    /// Every template, components before the templates composed of them.
    fn templates(&self, opensearch: bool) -> Vec<Item> {
        build_templates(&self.layouts, opensearch)
    }

    async fn install(&self, item: &Item) -> Result<Outcome, ApiError> {
        let path = format!("/{}/{}", item.kind.path(), encode(&item.name));
        let cluster = self.store.cluster();
        let forwarded = Forwarded::default();
        let reply = cluster
            .call("setup", &forwarded, Method::Get, &path, &[], None)
            .await?;
        let stored = match reply.status {
            200 => Some(item.kind.stored_version(&item.name, &reply.body())),
            404 => None,
            _ => return Ok(Outcome::Failed(refusal(&reply.body(), reply.status))),
        };
        let outcome = match stored {
            None => Outcome::Installed,
            Some(Some(version)) if version > VERSION => return Ok(Outcome::Newer { version }),
            Some(Some(VERSION)) if !replaces_stand_in(item, &reply.body()) => return Ok(Outcome::Current),
            Some(from) => Outcome::Upgraded { from },
        };
        let body = Bytes::from(item.body.to_string());
        let reply = cluster
            .call("setup", &forwarded, Method::Put, &path, &[], Some(&body))
            .await?;
        Ok(match reply.status {
            200 => outcome,
            status => Outcome::Failed(refusal(&reply.body(), status)),
        })
    }

    /// The pipeline as configured: Elasticsearch's where the cluster has its processors; where
    /// it does not, an empty stand-in (`full_or_empty`) or nothing, said once.
    async fn install_pipeline(&self, opensearch: bool) -> Result<(String, Outcome), ApiError> {
        let name = PIPELINE_NAME.to_owned();
        if self.pipeline == IngestPipeline::None {
            return Ok((name, Outcome::NotInstalled("ingest_pipeline is none".to_owned())));
        }
        let missing = self.missing_processors().await?;
        let body = match (missing.is_empty(), self.pipeline) {
            (true, _) => full_pipeline(),
            (false, IngestPipeline::FullOrEmpty) => empty_pipeline(&missing),
            (false, _) => {
                let why = format!(
                    "the cluster has no [{}] ingest processors, so bulk requests that name the pipeline \
                     (as connectors using the default pipeline settings do) fail with \"pipeline with id \
                     [{PIPELINE_NAME}] does not exist\"; set ingest_pipeline = full_or_empty to install an \
                     empty pipeline of that name instead",
                    missing.join(", ")
                );
                return Ok((name, Outcome::NotInstalled(why)));
            }
        };
        let mut item = Item {
            kind: Kind::Pipeline,
            name: name.clone(),
            body,
        };
        if opensearch {
            // OpenSearch's pipelines take no `_meta`.
            item.body.as_object_mut().map(|body| body.remove("_meta"));
        }
        let outcome = self.install(&item).await?;
        Ok((name, outcome))
    }

    /// The processors the pipeline uses that some ingest node of the cluster lacks.
    async fn missing_processors(&self) -> Result<Vec<String>, ApiError> {
        let reply = self
            .store
            .cluster()
            .call(
                "setup",
                &Forwarded::default(),
                Method::Get,
                "/_nodes/ingest",
                &[("filter_path", "nodes.*.ingest.processors.type")],
                None,
            )
            .await?;
        if reply.status != 200 {
            return Ok(vec![format!(
                "(the processors could not be listed: {})",
                refusal(&reply.body(), reply.status)
            )]);
        }
        let body = reply.body();
        let nodes: Vec<Vec<String>> = body["nodes"]
            .as_object()
            .map(|nodes| {
                nodes
                    .values()
                    .map(|node| {
                        node["ingest"]["processors"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|processor| processor["type"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(pipeline_processors()
            .into_iter()
            .filter(|needed| nodes.is_empty() || nodes.iter().any(|types| !types.contains(needed)))
            .collect())
    }
}

/// The templates for these layouts (connectors first), and the access-control template.
fn build_templates(layouts: &[Layout], opensearch: bool) -> Vec<Item> {
    let Some(first) = layouts.first() else {
        return Vec::new();
    };
    let settings = format!("{}-settings", template_name(&first.alias));
    let mut components = vec![Item {
        kind: Kind::Component,
        name: settings.clone(),
        body: json!({
            "template": {"settings": first.body()["settings"]},
            "_meta": {"description": "Settings of the connector management indices", "managed": true},
            "version": VERSION,
        }),
    }];
    let mut composables = Vec::new();
    for layout in layouts {
        let name = template_name(&layout.alias).to_owned();
        let mappings = format!("{name}-mappings");
        components.push(Item {
            kind: Kind::Component,
            name: mappings.clone(),
            body: json!({
                "template": {"aliases": layout.body()["aliases"], "mappings": layout.body()["mappings"]},
                "_meta": {"description": format!("Alias and mappings of {}", layout.concrete_index()), "managed": true},
                "version": VERSION,
            }),
        });
        let mut body = json!({
            "index_patterns": [format!("{}-v*", layout.alias)],
            "priority": 100,
            "composed_of": [settings, mappings],
            "_meta": {"description": format!("Template for {name}"), "managed": true},
            "version": VERSION,
        });
        if !opensearch {
            body["allow_auto_create"] = true.into();
        }
        composables.push(Item {
            kind: Kind::Composable,
            name,
            body,
        });
    }
    let mut acl = json!({
        "index_patterns": [ACL_PATTERN],
        "priority": 110,
        "template": {
            "settings": {"index": {"hidden": true, "number_of_shards": 1, "number_of_replicas": 1}},
            "mappings": {"dynamic": "false", "properties": {"created_at": {"type": "date"}}},
        },
        "_meta": {"description": "Template for access control indices", "managed": true},
        "version": VERSION,
    });
    if !opensearch {
        acl["allow_auto_create"] = true.into();
    }
    composables.push(Item {
        kind: Kind::Composable,
        name: ACL_TEMPLATE.to_owned(),
        body: acl,
    });
    components.extend(composables);
    components
}

fn full_pipeline() -> Value {
    let mut body: Value = serde_json::from_str(PIPELINE).expect("the pipeline is valid JSON");
    body["version"] = VERSION.into();
    body
}

fn empty_pipeline(missing: &[String]) -> Value {
    json!({
        "description": format!(
            "{STAND_IN} {PIPELINE_NAME}: the cluster had no [{}] processors when it was installed",
            missing.join(", ")
        ),
        "_meta": {"managed": true},
        "processors": [],
        "version": VERSION,
    })
}

/// Whether the stored item is the empty stand-in and the one to install is the full pipeline.
fn replaces_stand_in(item: &Item, answer: &Value) -> bool {
    let stand_in = |pipeline: &Value| {
        pipeline["description"]
            .as_str()
            .is_some_and(|description| description.starts_with(STAND_IN))
    };
    item.kind == Kind::Pipeline && stand_in(&answer[&item.name]) && !stand_in(&item.body)
}

/// Every processor type the full pipeline uses, its `on_failure` handlers included.
fn pipeline_processors() -> Vec<String> {
    fn collect(processors: &Value, into: &mut Vec<String>) {
        for processor in processors.as_array().into_iter().flatten() {
            for (kind, config) in processor.as_object().into_iter().flatten() {
                if !into.contains(kind) {
                    into.push(kind.clone());
                }
                collect(&config["on_failure"], into);
            }
        }
    }
    let mut kinds = Vec::new();
    collect(&full_pipeline()["processors"], &mut kinds);
    kinds.sort();
    kinds
}

/// Why the cluster refused, for the log and `/-/ready`, with what to do about credentials.
fn refusal(body: &Value, status: u16) -> String {
    let kind = body["error"]["type"].as_str().unwrap_or("no error type");
    let reason = body["error"]["reason"].as_str().unwrap_or("no reason given");
    let hint = match status {
        401 => {
            "; the service needs credentials of its own for this: configure es_username or es_api_key \
                with the cluster privileges manage_index_templates and manage_pipeline"
        }
        403 => {
            "; the service credentials need the cluster privileges manage_index_templates and manage_pipeline"
        }
        _ => "",
    };
    format!("the cluster answered {status} [{kind}] {reason}{hint}")
}

/// The error for a write to an index that exists without the layout the connector APIs need.
pub fn bare_index_error(problems: &[(String, String)]) -> ApiError {
    let reasons: Vec<&str> = problems.iter().map(|(_, problem)| problem.as_str()).collect();
    ApiError::new(ErrorType::IllegalState, reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layouts() -> Vec<Layout> {
        vec![
            Layout::new(layouts::CONNECTORS, ".elastic-connectors"),
            Layout::new(layouts::SYNC_JOBS, ".elastic-connectors-sync-jobs"),
        ]
    }

    #[test]
    fn the_default_aliases_give_elasticsearchs_template_names_and_patterns() {
        let items = build_templates(&layouts(), false);
        let names: Vec<(&str, Kind)> = items.iter().map(|item| (item.name.as_str(), item.kind)).collect();
        assert_eq!(
            names,
            [
                ("elastic-connectors-settings", Kind::Component),
                ("elastic-connectors-mappings", Kind::Component),
                ("elastic-connectors-sync-jobs-mappings", Kind::Component),
                ("elastic-connectors", Kind::Composable),
                ("elastic-connectors-sync-jobs", Kind::Composable),
                ("search-acl-filter", Kind::Composable),
            ]
        );
        let jobs = &items[4].body;
        assert_eq!(
            jobs["index_patterns"],
            json!([".elastic-connectors-sync-jobs-v*"])
        );
        assert_eq!(
            jobs["composed_of"],
            json!([
                "elastic-connectors-settings",
                "elastic-connectors-sync-jobs-mappings"
            ])
        );
        assert_eq!(jobs["priority"], 100);
        assert_eq!(jobs["allow_auto_create"], true);
        assert_eq!(items[5].body["priority"], 110);
        assert!(items.iter().all(|item| item.body["version"] == VERSION));
        let mappings = &items[2].body["template"];
        assert_eq!(mappings["aliases"], json!({".elastic-connectors-sync-jobs": {}}));
        assert_eq!(mappings["mappings"]["dynamic"], "false");
        assert_eq!(mappings["mappings"]["_meta"]["version"], VERSION);
        assert_eq!(items[0].body["template"]["settings"]["index"]["hidden"], true);
        let opensearch = build_templates(&layouts(), true);
        assert!(opensearch
            .iter()
            .all(|item| item.body.get("allow_auto_create").is_none()));
    }

    #[test]
    fn every_layout_shares_the_settings_template() {
        let connectors = layouts();
        let settings = &connectors[0].body()["settings"];
        for definition in [layouts::SYNC_JOBS, layouts::INDEX_NAMES] {
            assert_eq!(&Layout::new(definition, "x").body()["settings"], settings);
        }
    }

    #[test]
    fn the_pipeline_needs_the_processors_it_names() {
        assert_eq!(
            pipeline_processors(),
            ["append", "attachment", "gsub", "remove", "set", "trim"]
        );
        assert_eq!(full_pipeline()["version"], VERSION);
        let empty = empty_pipeline(&["attachment".to_owned()]);
        assert_eq!(empty["processors"], json!([]));
        let item = Item {
            kind: Kind::Pipeline,
            name: PIPELINE_NAME.to_owned(),
            body: full_pipeline(),
        };
        assert!(replaces_stand_in(&item, &json!({ PIPELINE_NAME: empty })));
        assert!(!replaces_stand_in(
            &item,
            &json!({ PIPELINE_NAME: full_pipeline() })
        ));
    }

    #[test]
    fn stored_versions_are_read_from_each_answer_shape() {
        let component = json!({"component_templates": [{"name": "a", "component_template": {"version": 2}}]});
        assert_eq!(Kind::Component.stored_version("a", &component), Some(2));
        let composable =
            json!({"index_templates": [{"name": "a", "index_template": {"index_patterns": ["x"]}}]});
        assert_eq!(Kind::Composable.stored_version("a", &composable), None);
        let pipeline = json!({"p": {"version": 7, "processors": []}});
        assert_eq!(Kind::Pipeline.stored_version("p", &pipeline), Some(7));
    }
}
