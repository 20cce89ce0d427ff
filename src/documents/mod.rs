//! The connector documents in the cluster: reading, creating and deleting them, the index
//! layouts, and the one way every change to a stored document is written (`update`).

pub mod layouts;
mod pages;
pub mod repair;
pub mod templates;
mod update;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use actix_web::web::Bytes;
use elasticsearch::http::Method;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::cluster::{Batcher, Cluster, ClusterAnswer, DocRead, DocWrite, Forwarded, WriteAction};
use crate::config::{Refresh, Settings, UpdateStrategy};
use crate::error::{ApiError, ErrorType};
use layouts::Layout;
pub use pages::{page, page_bounds, with_id};
pub use update::{
    merged, partial_update, row_document, script_body, Applied, Decide, Decision, Field, Missing, Outcome,
    Row, Rows, Rule, Table, Target, UpdateError,
};

pub type Source = Map<String, Value>;

/// Characters an id keeps in a URL path; everything else is percent-encoded.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The documents of one cluster, and how changes to them are written. Every read and write of
/// one document goes through `read` and `write`, which group concurrent ones into one request
/// (`group_commit`, see `cluster::batch`) or send each alone.
pub struct Store {
    cluster: Arc<Cluster>,
    /// None when group commit is turned off.
    batcher: Option<Arc<Batcher>>,
    refresh: &'static str,
    strategy: UpdateStrategy,
    conflict_retries: u32,
    /// Set, once, when `auto` learns that the cluster cannot run update scripts.
    scripts_unavailable: AtomicBool,
}

/// A stored document and the version it was read at.
#[derive(Debug, Clone)]
pub struct Found {
    pub source: Source,
    pub seq_no: i64,
    pub primary_term: i64,
}

/// When a write becomes visible to searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshPolicy {
    /// As the service's `refresh` setting says.
    Setting,
    /// Refreshed before the answer (`refresh=true`), whatever the setting.
    Immediate,
    /// Left to the index's refresh interval (`refresh=false`), whatever the setting.
    Interval,
}

/// What a write that may create a document did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    Updated,
}

impl Store {
    pub fn new(cluster: Cluster, settings: &Settings) -> Self {
        cluster.metrics().set_strategy(match settings.update_strategy {
            UpdateStrategy::Optimistic => "optimistic",
            UpdateStrategy::Auto | UpdateStrategy::Script => "script",
        });
        let cluster = Arc::new(cluster);
        let batcher = settings
            .group_commit
            .map(|bounds| Batcher::new(cluster.clone(), bounds));
        Self {
            cluster,
            batcher,
            refresh: match settings.refresh {
                Refresh::True => "true",
                Refresh::WaitFor => "wait_for",
                Refresh::False => "false",
            },
            strategy: settings.update_strategy,
            conflict_retries: settings.conflict_retries,
            scripts_unavailable: AtomicBool::new(false),
        }
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// One write of one document: grouped with concurrent ones, or alone.
    async fn write(&self, write: DocWrite, forwarded: &Forwarded) -> Result<ClusterAnswer, ApiError> {
        match &self.batcher {
            Some(batcher) => batcher.write(write, forwarded).await,
            None => write.send(&self.cluster, forwarded).await,
        }
    }

    /// One realtime read of one document: grouped with concurrent ones, or alone.
    async fn read(&self, read: DocRead, forwarded: &Forwarded) -> Result<ClusterAnswer, ApiError> {
        match &self.batcher {
            Some(batcher) => batcher.read(read, forwarded).await,
            None => read.send(&self.cluster, forwarded).await,
        }
    }

    /// The document, or `Missing` when it or its index does not exist. A realtime read sees
    /// every write that was acknowledged, refreshed or not.
    pub async fn get(
        &self,
        index: &str,
        id: &str,
        forwarded: &Forwarded,
        source_fields: Option<&str>,
    ) -> Result<Result<Found, Missing>, ApiError> {
        let read = DocRead {
            index: index.to_owned(),
            id: id.to_owned(),
            source: source_fields.map(str::to_owned),
        };
        let reply = self.read(read, forwarded).await?;
        match reply.status {
            200 => found(&reply).map(Ok),
            404 => Ok(Err(Missing::of(&reply))),
            _ => Err(reply.into_error()),
        }
    }

    /// A search; `None` when the index does not exist.
    pub async fn search(
        &self,
        index: &str,
        body: &Value,
        forwarded: &Forwarded,
    ) -> Result<Option<Value>, ApiError> {
        let path = format!("/{}/_search", encode(index));
        let body = Bytes::from(body.to_string());
        let reply = self
            .cluster
            .call("search", forwarded, Method::Post, &path, &[], Some(&body))
            .await?;
        match reply.status {
            200 => Ok(Some(reply.body())),
            404 if Missing::of(&reply) == Missing::Index => Ok(None),
            _ => Err(reply.into_error()),
        }
    }

    /// The `refresh` parameter of a write under `policy`.
    fn refresh_param(&self, policy: RefreshPolicy) -> &'static str {
        match policy {
            RefreshPolicy::Setting => self.refresh,
            RefreshPolicy::Immediate => "true",
            RefreshPolicy::Interval => "false",
        }
    }

    /// Writes a whole document under `id` into the index of `layout`, creating the index the
    /// way Elasticsearch lays it out when it does not exist yet. With `only_new`, an existing
    /// document is left alone and the answer is `None`.
    pub async fn put(
        &self,
        layout: &Layout,
        id: &str,
        doc: &Source,
        only_new: bool,
        forwarded: &Forwarded,
    ) -> Result<Option<Written>, ApiError> {
        self.put_refreshed(layout, id, doc, only_new, RefreshPolicy::Setting, forwarded)
            .await
    }

    /// `put`, refreshed as `refresh` says.
    pub async fn put_refreshed(
        &self,
        layout: &Layout,
        id: &str,
        doc: &Source,
        only_new: bool,
        refresh: RefreshPolicy,
        forwarded: &Forwarded,
    ) -> Result<Option<Written>, ApiError> {
        let write = DocWrite {
            operation: "index",
            action: if only_new {
                WriteAction::Create
            } else {
                WriteAction::Index
            },
            index: layout.alias.clone(),
            id: id.to_owned(),
            refresh: self.refresh_param(refresh),
            require_alias: true,
            retry_on_conflict: None,
            version: None,
            source: None,
            body: Some(Bytes::from(serde_json::to_vec(doc).unwrap_or_default())),
        };
        for _ in 0..2 {
            let reply = self.write(write.clone(), forwarded).await?;
            match reply.status {
                201 => return Ok(Some(Written::Created)),
                200 => return Ok(Some(Written::Updated)),
                409 if only_new => return Ok(None),
                404 if Missing::of(&reply) == Missing::Index => {
                    let creation = layouts::create_index(&self.cluster, layout, forwarded).await?;
                    if creation == layouts::Creation::Existed {
                        let problems = layouts::problems(&self.cluster, layout).await?;
                        if !problems.is_empty() {
                            return Err(templates::bare_index_error(&problems));
                        }
                    }
                }
                _ => return Err(reply.into_error()),
            }
        }
        Err(ApiError::new(
            ErrorType::UpstreamError,
            format!(
                "the index [{}] was created but a write to it still failed",
                layout.alias
            ),
        ))
    }

    /// Deletes the document; `Missing` when it or its index does not exist.
    pub async fn delete(
        &self,
        index: &str,
        id: &str,
        forwarded: &Forwarded,
    ) -> Result<Result<(), Missing>, ApiError> {
        self.delete_refreshed(index, id, RefreshPolicy::Setting, forwarded)
            .await
    }

    /// `delete`, refreshed as `refresh` says.
    pub async fn delete_refreshed(
        &self,
        index: &str,
        id: &str,
        refresh: RefreshPolicy,
        forwarded: &Forwarded,
    ) -> Result<Result<(), Missing>, ApiError> {
        let reply = self
            .write(delete(index, id, self.refresh_param(refresh), None), forwarded)
            .await?;
        match reply.status {
            200 => Ok(Ok(())),
            404 => Ok(Err(Missing::of(&reply))),
            _ => Err(reply.into_error()),
        }
    }

    /// Deletes the document only if it is still the version `read` was read at; false when it
    /// changed or is gone since.
    pub async fn delete_found(
        &self,
        index: &str,
        id: &str,
        read: &Found,
        forwarded: &Forwarded,
    ) -> Result<bool, ApiError> {
        let version = Some((read.seq_no, read.primary_term));
        let reply = self
            .write(delete(index, id, self.refresh, version), forwarded)
            .await?;
        match reply.status {
            200 => Ok(true),
            404 | 409 => Ok(false),
            _ => Err(reply.into_error()),
        }
    }

    /// Deletes every document matching `query`; a missing index deletes nothing. Returns the
    /// failures the cluster reported, if any.
    pub async fn delete_by_query(
        &self,
        index: &str,
        query: Value,
        forwarded: &Forwarded,
    ) -> Result<Vec<Value>, ApiError> {
        let path = format!("/{}/_delete_by_query", encode(index));
        let body = Bytes::from(json!({ "query": &query }).to_string());
        let refresh = if self.refresh == "false" { "false" } else { "true" };
        let params = [
            ("refresh", refresh),
            ("ignore_unavailable", "true"),
            ("conflicts", "proceed"),
        ];
        let reply = self
            .cluster
            .call(
                "delete_by_query",
                forwarded,
                Method::Post,
                &path,
                &params,
                Some(&body),
            )
            .await?;
        match reply.status {
            200 => Ok(reply.body()["failures"].as_array().cloned().unwrap_or_default()),
            // Clusters without the reindex module (minimal distributions) have no
            // delete-by-query.
            400 if no_handler(&reply) => self.delete_matching(index, &query, forwarded).await,
            _ => Err(reply.into_error()),
        }
    }

    /// Delete-by-query done here: pages of matching documents deleted with bulk requests until
    /// none is left. Version conflicts and documents already gone are not failures, as with
    /// `conflicts=proceed`.
    async fn delete_matching(
        &self,
        index: &str,
        query: &Value,
        forwarded: &Forwarded,
    ) -> Result<Vec<Value>, ApiError> {
        let search = json!({"size": 1000, "query": query, "_source": false, "sort": ["_doc"]});
        let mut failures = Vec::new();
        loop {
            let Some(found) = self.search(index, &search, forwarded).await? else {
                return Ok(failures);
            };
            let hits = found["hits"]["hits"].as_array().cloned().unwrap_or_default();
            if hits.is_empty() {
                return Ok(failures);
            }
            let mut lines = String::new();
            for hit in &hits {
                lines.push_str(&json!({"delete": {"_index": hit["_index"], "_id": hit["_id"]}}).to_string());
                lines.push('\n');
            }
            let body = Bytes::from(lines);
            // Refreshed, so that the next page no longer finds them.
            let reply = self
                .cluster
                .call(
                    "bulk",
                    forwarded,
                    Method::Post,
                    "/_bulk",
                    &[("refresh", "true")],
                    Some(&body),
                )
                .await?;
            if reply.status != 200 {
                return Err(reply.into_error());
            }
            let mut deleted = 0;
            for item in reply.body()["items"].as_array().into_iter().flatten() {
                let item = &item["delete"];
                match item["status"].as_u64() {
                    Some(200) => deleted += 1,
                    Some(404 | 409) => {}
                    status => failures.push(json!({
                        "index": item["_index"], "id": item["_id"], "cause": item["error"], "status": status,
                    })),
                }
            }
            if deleted == 0 {
                return Ok(failures);
            }
        }
    }
}

/// The delete of one document, only of that version when one is given.
fn delete(index: &str, id: &str, refresh: &'static str, version: Option<(i64, i64)>) -> DocWrite {
    DocWrite {
        operation: "delete",
        action: WriteAction::Delete,
        index: index.to_owned(),
        id: id.to_owned(),
        refresh,
        require_alias: false,
        retry_on_conflict: None,
        version,
        source: None,
        body: None,
    }
}

/// Whether the cluster has no handler for the request (an API its distribution lacks).
fn no_handler(reply: &ClusterAnswer) -> bool {
    reply.body()["error"]
        .as_str()
        .is_some_and(|error| error.starts_with("no handler found"))
}

/// The parts of a get answer the service reads.
#[derive(Deserialize)]
struct GetAnswer {
    #[serde(rename = "_source")]
    source: Option<Source>,
    #[serde(rename = "_seq_no")]
    seq_no: Option<i64>,
    #[serde(rename = "_primary_term")]
    primary_term: Option<i64>,
}

fn found(reply: &ClusterAnswer) -> Result<Found, ApiError> {
    match reply.parse::<GetAnswer>() {
        Some(GetAnswer {
            source: Some(source),
            seq_no: Some(seq_no),
            primary_term: Some(primary_term),
        }) => Ok(Found {
            source,
            seq_no,
            primary_term,
        }),
        _ => Err(unexpected(reply)),
    }
}

/// `/{index}/{endpoint}/{id}`, each part percent-encoded.
pub fn doc_path(index: &str, endpoint: &str, id: &str) -> String {
    format!("/{}/{endpoint}/{}", encode(index), encode(id))
}

pub fn encode(part: &str) -> String {
    utf8_percent_encode(part, PATH_SEGMENT).to_string()
}

pub fn unexpected(reply: &ClusterAnswer) -> ApiError {
    log::error!(
        "unexpected answer from the cluster ({}): {}",
        reply.status,
        String::from_utf8_lossy(&reply.bytes)
    );
    ApiError::new(
        ErrorType::UpstreamError,
        format!(
            "the Elasticsearch cluster gave an unexpected answer ({})",
            reply.status
        ),
    )
}
