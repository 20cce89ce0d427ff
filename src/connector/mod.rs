//! The connector domain: the connector document, its defaults and the rule of each operation.
//! Every change of a connector goes through `documents::Store::update` (or `put` when it is
//! created): operations Elasticsearch writes directly merge a partial document; operations it
//! looks the connector up for decide on the stored document, in the same atomic step as the
//! write.

pub(crate) mod configuration;
pub(crate) mod cron;
pub(crate) mod errors;
pub(crate) mod filtering;
pub(crate) mod index_names;
pub(crate) mod model;
pub(crate) mod requests;
pub(crate) mod scheduling;
pub(crate) mod status;

use std::sync::Arc;

use actix_web::http::StatusCode;
use serde_json::{json, Map, Value};

use crate::cluster::Forwarded;
use crate::documents::layouts::{self, Layout};
use crate::documents::{
    merged, page, with_id, Applied, Decide, Decision, Outcome, Rule, Source, Store, Target, Written,
};
use crate::sync_job::status::ConnectorSyncStatus;
use crate::time::{format_instant, parse_date, request_stamp};
use errors::{ConnectorError, Invalid};
use index_names::{Claim, IndexNames};
use model::MANAGED_INDEX_PREFIX;
use requests::{
    DeleteConnector, GetConnector, ListConnectors, PutConnector, UpdateApiKeyId, UpdateConfiguration,
    UpdateError, UpdateFeatures, UpdateFiltering, UpdateFilteringValidation, UpdateIndexName, UpdateLastSync,
    UpdateName, UpdateNative, UpdatePipeline, UpdateScheduling, UpdateServiceType, UpdateStatus,
};
use status::ConnectorStatus;

/// The connectors of one cluster.
pub struct Connectors {
    store: Arc<Store>,
    connectors: Layout,
    jobs: Layout,
    names: IndexNames,
}

impl Connectors {
    pub fn new(store: Arc<Store>, connectors: Layout, jobs: Layout) -> Self {
        let reservations = Layout::new(
            layouts::INDEX_NAMES,
            &layouts::index_names_alias(&connectors.alias),
        );
        Self {
            names: IndexNames::new(store.clone(), reservations, &connectors.alias),
            store,
            connectors,
            jobs,
        }
    }

    /// `PUT /_connector/{id}` (`id` given) and `PUT`/`POST /_connector` (a new id): a connector
    /// with the defaults, replacing whatever had the id.
    pub async fn put(
        &self,
        id: Option<&str>,
        creation: &PutConnector,
        forwarded: &Forwarded,
    ) -> Result<(StatusCode, Value), ConnectorError> {
        let index_name = creation.index_name.as_deref();
        let mut problems = Vec::new();
        if let Some(index_name) = index_name {
            problems.extend(index_names::invalid(index_name));
            if creation.is_native && !index_name.starts_with(MANAGED_INDEX_PREFIX) {
                problems.push(Invalid::UnmanagedIndexName {
                    index_name: index_name.to_owned(),
                });
            }
        }
        if !problems.is_empty() {
            return Err(ConnectorError::Invalid(problems));
        }
        if let Some(index_name) = index_name {
            self.names.check_unused(index_name, id, forwarded).await?;
        }
        let generated = id.is_none().then(crate::ids::base64_uuid);
        let id = id.or(generated.as_deref()).unwrap_or_default();
        let claim = self.claim(index_name, id, forwarded).await?;
        // The name the connector held before, released once the new document is written.
        let previous = match generated {
            Some(_) => None,
            None => self
                .stored(id, forwarded)
                .await?
                .and_then(|source| model::index_name(&source).map(str::to_owned)),
        };
        let doc = model::new_connector(creation, &request_stamp());
        let written = self
            .store
            .put(&self.connectors, id, &doc, generated.is_some(), forwarded)
            .await;
        let written = self.settle(claim, index_name, id, written, forwarded).await?;
        self.release_previous(previous.as_deref(), index_name, id, forwarded)
            .await;
        Ok(match written {
            // An existing document with a new id can only be this request's own earlier
            // attempt, whose answer was lost.
            Some(Written::Created) | None => (StatusCode::CREATED, json!({"id": id, "result": "created"})),
            Some(Written::Updated) => (StatusCode::OK, json!({"id": id, "result": "updated"})),
        })
    }

    /// `GET /_connector/{id}`
    pub async fn get(
        &self,
        id: &str,
        request: &GetConnector,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        match self.stored(id, forwarded).await? {
            Some(source) if request.include_deleted || !model::is_deleted(&source) => Ok(with_id(id, source)),
            _ => Err(not_found(id)),
        }
    }

    /// `GET /_connector`: by index name, filtered by index names, names, service types and a
    /// wildcard query.
    pub async fn list(
        &self,
        request: &ListConnectors,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let problems: Vec<Invalid> = request
            .index_names
            .iter()
            .filter_map(|name| index_names::invalid(name))
            .collect();
        if !problems.is_empty() {
            return Err(ConnectorError::Invalid(problems));
        }
        let mut must = Vec::new();
        for (values, field) in [
            (&request.index_names, model::INDEX_NAME),
            (&request.connector_names, "name"),
            (&request.service_types, "service_type"),
        ] {
            if !values.is_empty() {
                must.push(json!({"terms": {field: values}}));
            }
        }
        if let Some(query) = &request.query {
            let pattern = format!("*{query}*");
            let should: Vec<Value> = [model::INDEX_NAME, "name", "description"]
                .iter()
                .map(|field| json!({"wildcard": {*field: {"value": pattern}}}))
                .collect();
            must.push(json!({"bool": {"should": should}}));
        }
        let mut query = Map::new();
        if !must.is_empty() {
            query.insert("must".into(), Value::Array(must));
        }
        if !request.include_deleted {
            query.insert("must_not".into(), json!([{"term": {model::DELETED: true}}]));
        }
        let search = json!({
            "from": request.from,
            "size": request.size,
            "query": {"bool": query},
            "sort": [{model::INDEX_NAME: {"order": "asc", "unmapped_type": "keyword"}}],
        });
        let hits = self
            .store
            .search(&self.connectors.alias, &search, forwarded)
            .await?;
        Ok(page(hits))
    }

    /// `DELETE /_connector/{id}`: soft (marked `deleted`) unless `hard`, then its sync jobs if
    /// asked.
    pub async fn delete(
        &self,
        id: &str,
        request: &DeleteConnector,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let held = if request.hard {
            let held = self
                .stored(id, forwarded)
                .await?
                .and_then(|source| model::index_name(&source).map(str::to_owned));
            self.store
                .delete(&self.connectors.alias, id, forwarded)
                .await?
                .map_err(|_| not_found(id))?;
            held
        } else {
            // The name it held, handed back by the decision on the version it deleted.
            let soft_delete = |source: &Source| {
                Ok(Decision {
                    document: with(source, [(model::DELETED, true.into())]),
                    value: model::index_name(source).map(str::to_owned),
                })
            };
            self.decide(id, &soft_delete, forwarded).await?.value
        };
        if let Some(name) = held {
            self.names.release(&name, id, forwarded).await;
        }
        if request.delete_sync_jobs {
            let failures = self
                .store
                .delete_by_query(&self.jobs.alias, json!({"term": {"connector.id": id}}), forwarded)
                .await?;
            if !failures.is_empty() {
                let reasons: Vec<String> = failures
                    .iter()
                    .map(|failure| {
                        failure["cause"]["reason"]
                            .as_str()
                            .map_or_else(|| failure.to_string(), str::to_owned)
                    })
                    .collect();
                return Err(ConnectorError::SyncJobsNotDeleted {
                    connector_id: id.to_owned(),
                    reasons,
                });
            }
        }
        Ok(json!({"acknowledged": true}))
    }

    /// `PUT /_connector/{id}/_check_in`
    pub async fn check_in(&self, id: &str, forwarded: &Forwarded) -> Result<Value, ConnectorError> {
        self.merge(id, partial([("last_seen", request_stamp().into())]), forwarded)
            .await
    }

    /// `PUT /_connector/{id}/_api_key_id`: the ids given; null clears nothing.
    pub async fn update_api_key_id(
        &self,
        id: &str,
        request: &UpdateApiKeyId,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let given = [
            ("api_key_id", request.api_key_id.as_deref()),
            ("api_key_secret_id", request.api_key_secret_id.as_deref()),
        ];
        self.merge_given(id, given, forwarded).await
    }

    /// `PUT /_connector/{id}/_configuration`: the whole schema, or the values of existing entries.
    pub async fn update_configuration(
        &self,
        id: &str,
        request: &UpdateConfiguration,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let (schema, values) = (&request.configuration, &request.values);
        match (schema, values) {
            (None, None) => return Err(Invalid::NoConfiguration.into()),
            (Some(_), Some(_)) => return Err(Invalid::ConfigurationAndValues.into()),
            _ => {}
        }
        if let Some(schema) = schema {
            let replace = |source: &Source| Ok(Decision::new(configuration::replace(source, schema)));
            self.decide(id, &replace, forwarded).await?;
            // Elasticsearch replaces the schema with a script, which always reports a change.
            return Ok(json!({ "result": Applied::Updated.result() }));
        }
        let values = values.clone().unwrap_or_default();
        let set = |source: &Source| configuration::set_values(source, &values).map(Decision::new);
        self.decide(id, &set, forwarded).await.map(result)
    }

    /// `PUT /_connector/{id}/_error`: the error, and `error` or `connected` as the status.
    pub async fn update_error(
        &self,
        id: &str,
        request: &UpdateError,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let error = request.error.as_deref();
        let status = if error.is_some_and(|error| !error.is_empty()) {
            ConnectorStatus::Error
        } else {
            ConnectorStatus::Connected
        };
        let error = error.map_or(Value::Null, Value::from);
        self.merge(
            id,
            partial([("error", error), (model::STATUS, status.as_str().into())]),
            forwarded,
        )
        .await
    }

    /// `PUT /_connector/{id}/_features`: the features given, merged into the stored ones.
    pub async fn update_features(
        &self,
        id: &str,
        request: &UpdateFeatures,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let features = model::features(request);
        self.merge(id, partial([("features", features)]), forwarded).await
    }

    /// `PUT /_connector/{id}/_filtering`: the whole filtering list, or a new draft.
    pub async fn update_filtering(
        &self,
        id: &str,
        request: &UpdateFiltering,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let now = request_stamp();
        let (list, rules, snippet) = (&request.filtering, &request.rules, &request.advanced_snippet);
        if let Some(list) = list {
            if rules.is_some() || snippet.is_some() {
                return Err(Invalid::FilteringAndDraft.into());
            }
            let written = filtering::filtering_list(list, &now);
            return self.merge(id, partial([("filtering", written)]), forwarded).await;
        }
        if rules.is_none() && snippet.is_none() {
            return Err(Invalid::NoDraft.into());
        }
        let rules: Option<Vec<Value>> = rules
            .as_ref()
            .map(|rules| rules.iter().map(|rule| filtering::rule(rule, &now)).collect());
        let snippet = snippet
            .as_ref()
            .map(|snippet| filtering::advanced_snippet(snippet, &now));
        let draft = |source: &Source| {
            filtering::update_draft(source, rules.clone(), snippet.clone(), &now).map(Decision::new)
        };
        self.decide(id, &draft, forwarded).await.map(result)
    }

    /// `PUT /_connector/{id}/_filtering/_validation`
    pub async fn update_filtering_validation(
        &self,
        id: &str,
        request: &UpdateFilteringValidation,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let now = request_stamp();
        let validation = filtering::validation(&request.validation);
        let set = |source: &Source| {
            filtering::set_draft_validation(source, validation.clone(), &now).map(Decision::new)
        };
        self.decide(id, &set, forwarded).await.map(result)
    }

    /// `PUT /_connector/{id}/_filtering/_activate`
    pub async fn activate_filtering(&self, id: &str, forwarded: &Forwarded) -> Result<Value, ConnectorError> {
        let now = request_stamp();
        let activate = |source: &Source| filtering::activate_draft(source, &now).map(Decision::new);
        self.decide(id, &activate, forwarded).await.map(result)
    }

    /// `PUT /_connector/{id}/_index_name`: a name no other connector holds, or none.
    pub async fn update_index_name(
        &self,
        id: &str,
        request: &UpdateIndexName,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let name = request.index_name.as_deref();
        if let Some(problem) = name.and_then(index_names::invalid) {
            return Err(problem.into());
        }
        if let Some(name) = name {
            self.names.check_unused(name, Some(id), forwarded).await?;
            // Looked up before the claim too, so that a connector that is not there claims
            // nothing (the decision below checks again, atomically).
            match self.stored(id, forwarded).await? {
                Some(source) if !model::is_deleted(&source) => {}
                _ => return Err(not_found(id)),
            }
        }
        let claim = self.claim(name, id, forwarded).await?;
        // The name it held before, handed back by the decision on the version it replaced.
        let attach = |source: &Source| {
            if let Some(name) = name {
                let native = source.get(model::IS_NATIVE).and_then(Value::as_bool) == Some(true);
                if native && !name.starts_with(MANAGED_INDEX_PREFIX) {
                    return Err(ConnectorError::UnmanagedIndexName {
                        index_name: name.to_owned(),
                    });
                }
            }
            Ok(Decision {
                document: with(
                    source,
                    [(model::INDEX_NAME, name.map_or(Value::Null, Value::from))],
                ),
                value: model::index_name(source).map(str::to_owned),
            })
        };
        let outcome = self.decide(id, &attach, forwarded).await;
        let outcome = self.settle(claim, name, id, outcome, forwarded).await?;
        self.release_previous(outcome.value.as_deref(), name, id, forwarded)
            .await;
        Ok(result(outcome))
    }

    /// `PUT /_connector/{id}/_last_sync`: the statistics given; null clears nothing.
    pub async fn update_last_sync(
        &self,
        id: &str,
        request: &UpdateLastSync,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let text = |given: &Option<String>| given.as_deref().map(Value::from);
        // Dates as Elasticsearch writes them back.
        let date = |given: &Option<String>| {
            given.as_deref().map(|text| {
                parse_date(text).map_or_else(|| text.into(), |instant| format_instant(instant).into())
            })
        };
        let status = |given: Option<ConnectorSyncStatus>| given.map(|status| Value::from(status.as_str()));
        let count = |given: Option<i64>| given.map(Value::from);
        let stats: Source = [
            (
                "last_access_control_sync_error",
                text(&request.last_access_control_sync_error),
            ),
            (
                "last_access_control_sync_scheduled_at",
                date(&request.last_access_control_sync_scheduled_at),
            ),
            (
                "last_access_control_sync_status",
                status(request.last_access_control_sync_status),
            ),
            (
                "last_deleted_document_count",
                count(request.last_deleted_document_count),
            ),
            (
                "last_incremental_sync_scheduled_at",
                date(&request.last_incremental_sync_scheduled_at),
            ),
            (
                "last_indexed_document_count",
                count(request.last_indexed_document_count),
            ),
            ("last_sync_error", text(&request.last_sync_error)),
            ("last_sync_scheduled_at", date(&request.last_sync_scheduled_at)),
            ("last_sync_status", status(request.last_sync_status)),
            ("last_synced", date(&request.last_synced)),
            ("sync_cursor", request.sync_cursor.clone().map(Value::Object)),
        ]
        .into_iter()
        .filter_map(|(field, value)| Some((field.to_owned(), value?)))
        .collect();
        self.merge(id, stats, forwarded).await
    }

    /// `PUT /_connector/{id}/_name`: the name and description given; null clears nothing.
    pub async fn update_name(
        &self,
        id: &str,
        request: &UpdateName,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let given = [
            ("name", request.name.as_deref()),
            ("description", request.description.as_deref()),
        ];
        self.merge_given(id, given, forwarded).await
    }

    /// `PUT /_connector/{id}/_native`: a connector becomes Elastic-managed only with a
    /// `content-` index; a connected one goes back to `configured`.
    pub async fn update_native(
        &self,
        id: &str,
        request: &UpdateNative,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let is_native = request.is_native;
        let set = |source: &Source| {
            if let Some(index_name) = model::index_name(source) {
                if is_native && !index_name.starts_with(MANAGED_INDEX_PREFIX) {
                    return Err(ConnectorError::UnmanagedIndexOfNative {
                        connector_id: id.to_owned(),
                        index_name: index_name.to_owned(),
                    });
                }
            }
            let mut changes = vec![(model::IS_NATIVE, Value::from(is_native))];
            if let Some(status) = source.get(model::STATUS).and_then(Value::as_str) {
                let status = match ConnectorStatus::stored(status) {
                    Some(ConnectorStatus::Connected) => ConnectorStatus::Configured.as_str(),
                    _ => status,
                };
                changes.push((model::STATUS, status.into()));
            }
            Ok(Decision::new(with(source, changes)))
        };
        self.decide(id, &set, forwarded).await.map(result)
    }

    /// `PUT /_connector/{id}/_pipeline`
    pub async fn update_pipeline(
        &self,
        id: &str,
        request: &UpdatePipeline,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let pipeline = model::pipeline(request);
        self.merge(id, partial([("pipeline", pipeline)]), forwarded).await
    }

    /// `PUT /_connector/{id}/_scheduling`: the schedules given, each replacing its kind.
    pub async fn update_scheduling(
        &self,
        id: &str,
        request: &UpdateScheduling,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let schedules = scheduling::scheduling(request);
        if schedules.is_empty() {
            return Err(Invalid::NoSchedule.into());
        }
        self.merge(id, partial([("scheduling", Value::Object(schedules))]), forwarded)
            .await
    }

    /// `PUT /_connector/{id}/_service_type`: a connector past `created` needs configuring again.
    pub async fn update_service_type(
        &self,
        id: &str,
        request: &UpdateServiceType,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let service_type = request.service_type.as_str();
        if service_type.is_empty() {
            return Err(Invalid::NoServiceType.into());
        }
        let set = |source: &Source| {
            let stored = source.get(model::STATUS).and_then(Value::as_str);
            let status = match stored.and_then(ConnectorStatus::stored) {
                Some(ConnectorStatus::Created) => ConnectorStatus::Created,
                _ => ConnectorStatus::NeedsConfiguration,
            };
            Ok(Decision::new(with(
                source,
                [
                    ("service_type", service_type.into()),
                    (model::STATUS, status.as_str().into()),
                ],
            )))
        };
        self.decide(id, &set, forwarded).await.map(result)
    }

    /// `PUT /_connector/{id}/_status`: only where the connector protocol's state machine allows,
    /// checked against the status the write replaces.
    pub async fn update_status(
        &self,
        id: &str,
        request: &UpdateStatus,
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let Some(to) = request.status else {
            return Err(Invalid::NoStatus.into());
        };
        let set = |source: &Source| {
            let stored = source
                .get(model::STATUS)
                .and_then(Value::as_str)
                .unwrap_or("null");
            let from = ConnectorStatus::parse(stored).ok_or_else(|| model::unknown_status(stored))?;
            if !from.may_become(to) {
                return Err(ConnectorError::InvalidTransition { from, to });
            }
            Ok(Decision::new(with(source, [(model::STATUS, to.as_str().into())])))
        };
        self.decide(id, &set, forwarded).await.map(result)
    }

    /// The stored connector, deleted or not; `None` when it or its index does not exist.
    async fn stored(&self, id: &str, forwarded: &Forwarded) -> Result<Option<Source>, ConnectorError> {
        Ok(self
            .store
            .get(&self.connectors.alias, id, forwarded, None)
            .await?
            .ok()
            .map(|found| found.source))
    }

    /// A partial update, as Elasticsearch writes without looking the connector up: a missing
    /// connector is a missing document, and a soft-deleted one is updated all the same.
    async fn merge(&self, id: &str, partial: Source, forwarded: &Forwarded) -> Result<Value, ConnectorError> {
        let rule: Rule<(), ConnectorError> = Rule::Merge(partial);
        let outcome = self
            .store
            .update(self.target(id), rule, forwarded)
            .await
            .map_err(|err| match err.missing_or() {
                Ok(_) => ConnectorError::DocumentMissing {
                    connector_id: id.to_owned(),
                    index: self.connectors.concrete_index(),
                },
                Err(err) => err,
            })?;
        Ok(result(outcome))
    }

    /// A partial update of whichever of the two fields the body gives (null clears nothing);
    /// a body with neither is Elasticsearch's validation error.
    async fn merge_given(
        &self,
        id: &str,
        fields: [(&'static str, Option<&str>); 2],
        forwarded: &Forwarded,
    ) -> Result<Value, ConnectorError> {
        let given: Source = fields
            .iter()
            .filter_map(|(name, value)| Some(((*name).to_owned(), Value::from((*value)?))))
            .collect();
        if given.is_empty() {
            let [(first, _), (second, _)] = fields;
            return Err(Invalid::NeitherGiven { first, second }.into());
        }
        self.merge(id, given, forwarded).await
    }

    /// A decision on the live connector, as Elasticsearch decides after looking it up: a missing
    /// or soft-deleted connector is not found. Decided and written in one atomic step.
    async fn decide<D: Default>(
        &self,
        id: &str,
        decide: &Decide<'_, D, ConnectorError>,
        forwarded: &Forwarded,
    ) -> Result<Outcome<D>, ConnectorError> {
        let live = |source: &Source| {
            if model::is_deleted(source) {
                return Err(not_found(id));
            }
            decide(source)
        };
        self.store
            .update(self.target(id), Rule::Decide(&live), forwarded)
            .await
            .map_err(|err| match err.missing_or() {
                Ok(_) => not_found(id),
                Err(err) => err,
            })
    }

    /// The connector to change.
    fn target<'a>(&'a self, id: &'a str) -> Target<'a> {
        Target {
            index: &self.connectors.alias,
            id,
        }
    }

    /// Claims the index name for the connector (nothing for none).
    async fn claim(
        &self,
        name: Option<&str>,
        id: &str,
        forwarded: &Forwarded,
    ) -> Result<Option<Claim>, ConnectorError> {
        match name {
            Some(name) => self.names.claim(name, id, forwarded).await.map(Some),
            None => Ok(None),
        }
    }

    /// The outcome of the write that follows a claim: a new claim is released when the write
    /// failed.
    async fn settle<T, E>(
        &self,
        claim: Option<Claim>,
        name: Option<&str>,
        id: &str,
        outcome: Result<T, E>,
        forwarded: &Forwarded,
    ) -> Result<T, E> {
        if outcome.is_err() && claim == Some(Claim::New) {
            if let Some(name) = name {
                self.names.release(name, id, forwarded).await;
            }
        }
        outcome
    }

    /// Releases the name the connector held before a write that gave it `current`.
    async fn release_previous(
        &self,
        previous: Option<&str>,
        current: Option<&str>,
        id: &str,
        forwarded: &Forwarded,
    ) {
        if let Some(previous) = previous.filter(|previous| Some(*previous) != current) {
            self.names.release(previous, id, forwarded).await;
        }
    }
}

fn not_found(id: &str) -> ConnectorError {
    ConnectorError::NotFound {
        connector_id: id.to_owned(),
    }
}

/// A partial document from its fields.
fn partial<const N: usize>(fields: [(&str, Value); N]) -> Source {
    fields
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// The stored connector with these fields changed, as a partial update changes them.
fn with(source: &Source, fields: impl IntoIterator<Item = (&'static str, Value)>) -> Source {
    let changes: Source = fields
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    merged(source.clone(), &changes)
}

/// Elasticsearch's answer to an update: what it did.
fn result<D>(outcome: Outcome<D>) -> Value {
    json!({ "result": outcome.applied.result() })
}
