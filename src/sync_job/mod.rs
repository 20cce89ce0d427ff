//! The sync-job domain: statuses, the typed request of each API, the rule of each operation,
//! and the operations against the cluster. Every status change goes through
//! `documents::Store::update` as a table rule. What it refuses is a `SyncJobError`.

pub mod errors;
pub mod requests;
pub mod status;
pub mod transitions;

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::cluster::Forwarded;
use crate::documents::layouts::Layout;
use crate::documents::{page, with_id, Field, Missing, Rule, Source, Store, Table, Target, UpdateError};
use crate::time::{format_instant, request_stamp};
use errors::SyncJobError;
use requests::{ClaimJob, ListJobs, PostJob, SetJobError, UpdateJobStats};
use transitions::{JobType, Transition, CANCEL, CLAIM_TRANSITION, ERROR_TRANSITION, LAST_SEEN};

/// The sync jobs of one cluster, and the connectors they are made from.
pub struct SyncJobs {
    store: Arc<Store>,
    jobs: Layout,
    connectors: Layout,
}

impl SyncJobs {
    pub fn new(store: Arc<Store>, jobs: Layout, connectors: Layout) -> Self {
        Self {
            store,
            jobs,
            connectors,
        }
    }

    /// The job to change.
    fn target<'a>(&'a self, id: &'a str) -> Target<'a> {
        Target {
            index: &self.jobs.alias,
            id,
        }
    }

    /// `POST /_connector/_sync_job`: a pending job for the connector, with a new id.
    pub async fn post(&self, request: PostJob, forwarded: &Forwarded) -> Result<Value, SyncJobError> {
        let PostJob {
            connector_id,
            job_type,
            trigger_method,
        } = request;
        if connector_id.is_empty() {
            return Err(SyncJobError::NoConnectorId);
        }
        let connector = match self
            .store
            .get(&self.connectors.alias, &connector_id, forwarded, None)
            .await?
        {
            Ok(found) => found.source,
            Err(Missing::Document) => return Err(SyncJobError::ConnectorNotFound { connector_id }),
            Err(Missing::Index) => {
                return Err(SyncJobError::ConnectorsIndexMissing {
                    index: self.connectors.alias.clone(),
                })
            }
        };
        let index_name = target_index(&connector, job_type);
        if index_name.as_deref().unwrap_or_default().is_empty() {
            return Err(SyncJobError::NoIndexAttached { connector_id });
        }
        if connector
            .get("service_type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
        {
            return Err(SyncJobError::NoServiceType { connector_id });
        }
        let now = request_stamp();
        let doc = transitions::new_job(
            &connector_id,
            &connector,
            index_name.as_deref().unwrap_or_default(),
            job_type,
            trigger_method,
            &now,
        );
        let id = crate::ids::base64_uuid();
        // The id is new, so an existing document with it can only be this request's own
        // earlier attempt, whose answer was lost.
        self.store.put(&self.jobs, &id, &doc, true, forwarded).await?;
        Ok(json!({ "id": id }))
    }

    /// `GET /_connector/_sync_job/{id}`
    pub async fn get(&self, id: &str, forwarded: &Forwarded) -> Result<Value, SyncJobError> {
        let found = self
            .store
            .get(&self.jobs.alias, id, forwarded, None)
            .await?
            .map_err(|missing| not_found(id, missing))?;
        Ok(with_id(id, found.source))
    }

    /// `GET /_connector/_sync_job`: newest first, filtered by connector, status and job types.
    pub async fn list(&self, request: ListJobs, forwarded: &Forwarded) -> Result<Value, SyncJobError> {
        let ListJobs {
            from,
            size,
            connector_id,
            status,
            job_types,
        } = request;
        let mut must = Vec::new();
        if let Some(connector_id) = connector_id {
            must.push(json!({"term": {"connector.id": connector_id}}));
        }
        if let Some(status) = status {
            must.push(json!({"term": {"status": status.as_str()}}));
        }
        if !job_types.is_empty() {
            let names: Vec<&str> = job_types.iter().map(|kind| kind.as_str()).collect();
            must.push(json!({"terms": {"job_type": names}}));
        }
        let query = if must.is_empty() {
            json!({"match_all": {}})
        } else {
            json!({"bool": {"must": must}})
        };
        let search = json!({
            "from": from,
            "size": size,
            "query": query,
            "sort": [{"created_at": {"order": "desc", "unmapped_type": "date"}}],
        });
        let hits = self.store.search(&self.jobs.alias, &search, forwarded).await?;
        Ok(page(hits))
    }

    /// `DELETE /_connector/_sync_job/{id}`
    pub async fn delete(&self, id: &str, forwarded: &Forwarded) -> Result<Value, SyncJobError> {
        self.store
            .delete(&self.jobs.alias, id, forwarded)
            .await?
            .map_err(|missing| not_found(id, missing))?;
        Ok(json!({ "acknowledged": true }))
    }

    /// `PUT /_connector/_sync_job/{id}/_cancel`
    pub async fn cancel(&self, id: &str, forwarded: &Forwarded) -> Result<Value, SyncJobError> {
        let now = request_stamp();
        let table = CANCEL.table(
            |to| transitions::cancel_fields(to, &now),
            Some((transitions::CANCELATION_REQUESTED_AT, &now)),
        );
        self.transition(id, &CANCEL, table, forwarded).await
    }

    /// `PUT /_connector/_sync_job/{id}/_claim`: only a pending or suspended job, atomically.
    pub async fn claim(
        &self,
        id: &str,
        request: ClaimJob,
        forwarded: &Forwarded,
    ) -> Result<Value, SyncJobError> {
        let now = request_stamp();
        let table = CLAIM_TRANSITION.table(
            |_| transitions::claim_fields(&request.worker_hostname, &now, request.sync_cursor.as_ref()),
            Some((transitions::STARTED_AT, &now)),
        );
        self.transition(id, &CLAIM_TRANSITION, table, forwarded).await
    }

    /// `PUT /_connector/_sync_job/{id}/_error`
    pub async fn error(
        &self,
        id: &str,
        request: SetJobError,
        forwarded: &Forwarded,
    ) -> Result<Value, SyncJobError> {
        if request.error.is_empty() {
            return Err(SyncJobError::NoErrorMessage);
        }
        let table = ERROR_TRANSITION.table(|_| vec![("error", Field::Text(&request.error))], None);
        self.transition(id, &ERROR_TRANSITION, table, forwarded).await
    }

    /// `PUT /_connector/_sync_job/{id}/_check_in`: `last_seen`, whatever the status.
    pub async fn check_in(&self, id: &str, forwarded: &Forwarded) -> Result<Value, SyncJobError> {
        let partial = Map::from_iter([(LAST_SEEN.to_owned(), Value::from(request_stamp()))]);
        self.merge(id, partial, forwarded).await
    }

    /// `PUT /_connector/_sync_job/{id}/_stats`: the counts, `last_seen` and `metadata`,
    /// whatever the status.
    pub async fn update_stats(
        &self,
        id: &str,
        request: UpdateJobStats,
        forwarded: &Forwarded,
    ) -> Result<Value, SyncJobError> {
        request.counts.check()?;
        let mut partial = Map::new();
        for (count, value) in request.counts.given() {
            partial.insert(count.to_owned(), value.into());
        }
        let last_seen = request.last_seen.map_or_else(request_stamp, format_instant);
        partial.insert(LAST_SEEN.to_owned(), last_seen.into());
        if let Some(metadata) = request.metadata {
            partial.insert("metadata".to_owned(), Value::Object(metadata));
        }
        self.merge(id, partial, forwarded).await
    }

    /// Moves the job by `table`. Elasticsearch reads the job first, so a missing job is named
    /// as a read names it; a status without a row is the transition's refusal.
    async fn transition(
        &self,
        id: &str,
        transition: &Transition,
        table: Table<'_>,
        forwarded: &Forwarded,
    ) -> Result<Value, SyncJobError> {
        let rule: Rule = Rule::Table(table);
        let outcome = self
            .store
            .update(self.target(id), rule, forwarded)
            .await
            .map_err(|err| match err {
                UpdateError::Missing(missing) => not_found(id, missing),
                UpdateError::NoRow(found) => transition.refusal(id, &found),
                UpdateError::Refused(never) => match never {},
                UpdateError::Failed(err) => SyncJobError::Cluster(err),
            })?;
        Ok(json!({ "result": outcome.applied.result() }))
    }

    /// Merges `partial` into the job. Elasticsearch writes it without reading first, so it names
    /// the job in full whatever was missing.
    async fn merge(&self, id: &str, partial: Source, forwarded: &Forwarded) -> Result<Value, SyncJobError> {
        let rule: Rule<(), SyncJobError> = Rule::Merge(partial);
        let outcome = self
            .store
            .update(self.target(id), rule, forwarded)
            .await
            .map_err(|err| match err.missing_or() {
                Ok(_) => SyncJobError::NotFound { id: id.to_owned() },
                Err(err) => err,
            })?;
        Ok(json!({ "result": outcome.applied.result() }))
    }
}

/// A job a read did not find: no document when the index exists, no job at all when it does
/// not.
fn not_found(id: &str, missing: Missing) -> SyncJobError {
    let id = id.to_owned();
    match missing {
        Missing::Document => SyncJobError::NoDocument { id },
        Missing::Index => SyncJobError::NotFound { id },
    }
}

/// The index a job of `job_type` writes to: the connector's, or its access-control index.
fn target_index(connector: &Source, job_type: JobType) -> Option<String> {
    let index_name = connector.get("index_name").and_then(Value::as_str);
    match job_type {
        // Elasticsearch builds the name even without an index, and so accepts the job.
        JobType::AccessControl => Some(format!(".search-acl-filter-{}", index_name.unwrap_or("null"))),
        _ => index_name.map(str::to_owned),
    }
}
