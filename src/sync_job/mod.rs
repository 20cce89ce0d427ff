//! The sync-job domain: statuses, the rule of each operation, and the operations against the
//! cluster. Every status change goes through `documents::Store::update` as a table rule.

pub mod status;
pub mod transitions;

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::cluster::Forwarded;
use crate::documents::layouts::Layout;
use crate::documents::{
    page, page_bounds, with_id, Field, Missing, Rule, Source, Store, Table, Target, UpdateError,
};
use crate::error::{ApiError, ErrorType};
use crate::http::request::{parse_error, Fields, Params};
use crate::time::{format_instant, parse_date, request_stamp};
use status::ConnectorSyncStatus;
use transitions::{
    JobType, Transition, TriggerMethod, CANCEL, CLAIM_TRANSITION, COUNTS, ERROR_TRANSITION, LAST_SEEN,
};

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
    pub async fn post(&self, body: &Fields, forwarded: &Forwarded) -> Result<Value, ApiError> {
        let (job_type, trigger_method) = post_enums(body)?;
        let connector_id = body.str("id").unwrap_or_default();
        if connector_id.is_empty() {
            return Err(ApiError::validation([
                "[id] of the connector cannot be null or empty".to_owned(),
            ]));
        }
        let connector = match self
            .store
            .get(&self.connectors.alias, connector_id, forwarded, None)
            .await?
        {
            Ok(found) => found.source,
            Err(Missing::Document) => {
                return Err(ApiError::new(
                    ErrorType::ResourceNotFound,
                    format!("Connector with id '{connector_id}' does not exist."),
                ))
            }
            Err(Missing::Index) => return Err(ApiError::index_not_found(&self.connectors.alias)),
        };
        let index_name = target_index(&connector, job_type);
        if index_name.as_deref().unwrap_or_default().is_empty() {
            return Err(ApiError::new(
                ErrorType::Status,
                format!("Cannot start a sync for connector [{connector_id}] with no index attached. Set the [index_name] property for the connector to enable syncing data."),
            ));
        }
        if connector
            .get("service_type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
        {
            return Err(ApiError::new(
                ErrorType::Status,
                format!("Cannot start a sync for connector [{connector_id}] with [service_type] not defined. Set the service type of your connector before starting the sync."),
            ));
        }
        let now = request_stamp();
        let doc = transitions::new_job(
            connector_id,
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
    pub async fn get(&self, id: &str, forwarded: &Forwarded) -> Result<Value, ApiError> {
        let found = self
            .store
            .get(&self.jobs.alias, id, forwarded, None)
            .await?
            .map_err(|missing| not_found(id, missing))?;
        Ok(with_id(id, found.source))
    }

    /// `GET /_connector/_sync_job`: newest first, filtered by connector, status and job types.
    pub async fn list(&self, params: &Params, forwarded: &Forwarded) -> Result<Value, ApiError> {
        let from = params.int("from", 0)?;
        let size = params.int("size", 100)?;
        let connector_id = params.get("connector_id");
        let status = params
            .get("status")
            .map(|value| {
                ConnectorSyncStatus::from_param(value).ok_or_else(|| {
                    ApiError::new(
                        ErrorType::IllegalArgument,
                        format!("Unknown ConnectorSyncStatus [{value}]."),
                    )
                })
            })
            .transpose()?;
        let job_types = params
            .list("job_type")
            .unwrap_or_default()
            .iter()
            .map(|value| JobType::parse(value))
            .collect::<Result<Vec<_>, _>>()?;
        page_bounds(from, size)?;
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
    pub async fn delete(&self, id: &str, forwarded: &Forwarded) -> Result<Value, ApiError> {
        self.store
            .delete(&self.jobs.alias, id, forwarded)
            .await?
            .map_err(|missing| not_found(id, missing))?;
        Ok(json!({ "acknowledged": true }))
    }

    /// `PUT /_connector/_sync_job/{id}/_cancel`
    pub async fn cancel(&self, id: &str, forwarded: &Forwarded) -> Result<Value, ApiError> {
        let now = request_stamp();
        let table = CANCEL.table(
            |to| transitions::cancel_fields(to, &now),
            Some((transitions::CANCELATION_REQUESTED_AT, &now)),
        );
        self.transition(id, &CANCEL, table, forwarded).await
    }

    /// `PUT /_connector/_sync_job/{id}/_claim`: only a pending or suspended job, atomically.
    pub async fn claim(&self, id: &str, body: &Fields, forwarded: &Forwarded) -> Result<Value, ApiError> {
        let worker_hostname = body.str("worker_hostname").unwrap_or_default();
        let sync_cursor = body.object("sync_cursor");
        let now = request_stamp();
        let table = CLAIM_TRANSITION.table(
            |_| transitions::claim_fields(worker_hostname, &now, sync_cursor.as_ref()),
            Some((transitions::STARTED_AT, &now)),
        );
        self.transition(id, &CLAIM_TRANSITION, table, forwarded).await
    }

    /// `PUT /_connector/_sync_job/{id}/_error`
    pub async fn error(&self, id: &str, body: &Fields, forwarded: &Forwarded) -> Result<Value, ApiError> {
        let message = body.str("error").unwrap_or_default();
        if message.is_empty() {
            return Err(ApiError::validation([
                "[error] of the connector sync job cannot be null or empty".to_owned(),
            ]));
        }
        let table = ERROR_TRANSITION.table(|_| vec![("error", Field::Text(message))], None);
        self.transition(id, &ERROR_TRANSITION, table, forwarded).await
    }

    /// `PUT /_connector/_sync_job/{id}/_check_in`: `last_seen`, whatever the status.
    pub async fn check_in(&self, id: &str, forwarded: &Forwarded) -> Result<Value, ApiError> {
        let partial = Map::from_iter([(LAST_SEEN.to_owned(), Value::from(request_stamp()))]);
        self.merge(id, partial, forwarded).await
    }

    /// `PUT /_connector/_sync_job/{id}/_stats`: the counts, `last_seen` and `metadata`,
    /// whatever the status.
    pub async fn update_stats(
        &self,
        id: &str,
        body: &Fields,
        forwarded: &Forwarded,
    ) -> Result<Value, ApiError> {
        let negative: Vec<String> = COUNTS
            .iter()
            .filter(|count| body.long(count).is_some_and(|value| value < 0))
            .map(|count| format!("[{count}] cannot be negative."))
            .collect();
        if !negative.is_empty() {
            return Err(ApiError::validation(negative));
        }
        let last_seen = match body.get(LAST_SEEN) {
            None => request_stamp(),
            Some(value) => {
                let text = body.str(LAST_SEEN);
                let instant = text.and_then(parse_date).ok_or_else(|| {
                    let cause = match text {
                        Some(text) => format!(
                            "failed to parse date field [{text}] with format [strict_date_optional_time||epoch_millis]"
                        ),
                        None => format!("unexpected token [{}] for [{LAST_SEEN}]", value.token()),
                    };
                    parse_error(
                        value.at,
                        format!("[{}] failed to parse field [{LAST_SEEN}]", transitions::STATS.name),
                    )
                    .caused_by(ApiError::new(ErrorType::IllegalArgument, cause))
                })?;
                format_instant(instant)
            }
        };
        let mut partial = Map::new();
        for count in COUNTS {
            if let Some(value) = body.long(count) {
                partial.insert(count.to_owned(), value.into());
            }
        }
        partial.insert(LAST_SEEN.to_owned(), last_seen.into());
        if let Some(metadata) = body.object("metadata") {
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
    ) -> Result<Value, ApiError> {
        let rule: Rule = Rule::Table(table);
        let outcome = self
            .store
            .update(self.target(id), rule, forwarded)
            .await
            .map_err(|err| match err {
                UpdateError::Missing(missing) => not_found(id, missing),
                UpdateError::NoRow(found) => transition.refusal(id, &found),
                UpdateError::Refused(never) => match never {},
                UpdateError::Failed(err) => err,
            })?;
        Ok(json!({ "result": outcome.applied.result() }))
    }

    /// Merges `partial` into the job. Elasticsearch writes it without reading first, so it names
    /// the job in full whatever was missing.
    async fn merge(&self, id: &str, partial: Source, forwarded: &Forwarded) -> Result<Value, ApiError> {
        let rule: Rule<(), ApiError> = Rule::Merge(partial);
        let outcome = self
            .store
            .update(self.target(id), rule, forwarded)
            .await
            .map_err(|err| match err.missing_or() {
                Ok(_) => ApiError::job_not_found(id),
                Err(err) => err,
            })?;
        Ok(json!({ "result": outcome.applied.result() }))
    }
}

/// The answer for a job a read did not find: the bare id when the index exists (Elasticsearch
/// found no document), the longer message when the index does not.
fn not_found(id: &str, missing: Missing) -> ApiError {
    match missing {
        Missing::Document => ApiError::new(ErrorType::ResourceNotFound, id),
        Missing::Index => ApiError::job_not_found(id),
    }
}

/// The job type and trigger method of a post, read as Elasticsearch's parser reads them: an
/// unknown value fails the build of the request, reported under the last field of the body when
/// every field was given.
fn post_enums(body: &Fields) -> Result<(JobType, TriggerMethod), ApiError> {
    let job_type = body.str("job_type").map(JobType::parse).transpose();
    let trigger_method = body.str("trigger_method").map(TriggerMethod::parse).transpose();
    let cause = match (job_type, trigger_method) {
        (Ok(job_type), Ok(trigger_method)) => {
            return Ok((
                job_type.unwrap_or(JobType::Full),
                trigger_method.unwrap_or(TriggerMethod::OnDemand),
            ))
        }
        (Err(cause), _) | (_, Err(cause)) => cause,
    };
    let name = transitions::POST.name;
    let build = ApiError::new(
        ErrorType::XContentParse,
        format!("Failed to build [{name}] after last required field arrived"),
    )
    .caused_by(cause);
    match body.last() {
        Some((field, value)) if transitions::POST.fields.iter().all(|(name, _)| body.has(name)) => {
            Err(parse_error(value.at, format!("[{name}] failed to parse field [{field}]")).caused_by(build))
        }
        _ => Err(build),
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
