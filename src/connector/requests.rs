//! What each connector request asks for, as plain data: the HTTP layer reads a request with
//! Elasticsearch's parser and builds one of these, and the operations take nothing else.
//! A field a body may leave out is an `Option`; `null` where it clears nothing reads as absent.

use serde_json::{Map, Value};

use super::status::ConnectorStatus;
use crate::sync_job::status::ConnectorSyncStatus;

/// `PUT /_connector/{id}`, `PUT`/`POST /_connector`: what a new connector is given; everything
/// else is a default.
#[derive(Debug, Default)]
pub struct PutConnector {
    pub description: Option<String>,
    pub index_name: Option<String>,
    pub is_native: bool,
    pub language: Option<String>,
    pub name: Option<String>,
    pub service_type: Option<String>,
}

/// `GET /_connector/{id}`
#[derive(Debug, Default)]
pub struct GetConnector {
    pub include_deleted: bool,
}

/// `GET /_connector`: a page of connectors; each list filters when given and not empty.
#[derive(Debug)]
pub struct ListConnectors {
    pub from: i32,
    pub size: i32,
    pub index_names: Vec<String>,
    pub connector_names: Vec<String>,
    pub service_types: Vec<String>,
    /// Matched as a wildcard in the index name, name and description.
    pub query: Option<String>,
    pub include_deleted: bool,
}

/// `DELETE /_connector/{id}`
#[derive(Debug, Default)]
pub struct DeleteConnector {
    pub hard: bool,
    pub delete_sync_jobs: bool,
}

/// `PUT /_connector/{id}/_api_key_id`
#[derive(Debug, Default)]
pub struct UpdateApiKeyId {
    pub api_key_id: Option<String>,
    pub api_key_secret_id: Option<String>,
}

/// `PUT /_connector/{id}/_configuration`: a whole new schema, or values of existing entries.
#[derive(Debug, Default)]
pub struct UpdateConfiguration {
    /// Each entry by its key, in the order given.
    pub configuration: Option<Vec<(String, ConfigurationEntry)>>,
    pub values: Option<Map<String, Value>>,
}

/// One entry of a configuration schema, as given.
#[derive(Debug, Default)]
pub struct ConfigurationEntry {
    pub category: Option<String>,
    pub default_value: Value,
    pub depends_on: Option<Vec<Dependency>>,
    /// The display type, in its stored spelling.
    pub display: Option<&'static str>,
    pub label: String,
    pub options: Option<Vec<SelectOption>>,
    /// `Some(None)`: given as something that is no whole number (written as null).
    pub order: Option<Option<i64>>,
    pub placeholder: Option<String>,
    pub required: bool,
    pub sensitive: bool,
    pub tooltip: Option<String>,
    pub field_type: Option<String>,
    /// Each restriction as text (or null).
    pub ui_restrictions: Option<Vec<Value>>,
    pub validations: Option<Vec<Validation>>,
    pub value: Value,
}

/// An entry another depends on: the field and the value it must have.
#[derive(Debug, Default)]
pub struct Dependency {
    pub field: String,
    pub value: Value,
}

/// One choice of a dropdown entry.
#[derive(Debug, Default)]
pub struct SelectOption {
    pub label: String,
    pub value: Value,
}

/// A check of an entry's value: the constraint and its type, in its stored spelling.
#[derive(Debug, Default)]
pub struct Validation {
    pub constraint: Value,
    pub validation_type: Option<&'static str>,
}

/// `PUT /_connector/{id}/_error`: an error, or null (or empty) for none.
#[derive(Debug, Default)]
pub struct UpdateError {
    pub error: Option<String>,
}

/// `PUT /_connector/{id}/_features`: each feature given, enabled or not.
#[derive(Debug, Default)]
pub struct UpdateFeatures {
    pub document_level_security: Option<bool>,
    pub incremental_sync: Option<bool>,
    pub native_connector_api_keys: Option<bool>,
    pub sync_rules: Option<SyncRulesFeatures>,
}

#[derive(Debug, Default)]
pub struct SyncRulesFeatures {
    pub advanced: Option<bool>,
    pub basic: Option<bool>,
}

/// `PUT /_connector/{id}/_filtering`: a whole filtering list, or a new draft (its filtering
/// rules, its advanced snippet, or both).
#[derive(Debug, Default)]
pub struct UpdateFiltering {
    pub filtering: Option<Vec<Filtering>>,
    pub rules: Option<Vec<FilteringRule>>,
    pub advanced_snippet: Option<AdvancedSnippet>,
}

/// One element of a filtering list, as given.
#[derive(Debug, Default)]
pub struct Filtering {
    pub active: FilteringRules,
    pub draft: FilteringRules,
}

/// The active or the draft filtering of an element.
#[derive(Debug, Default)]
pub struct FilteringRules {
    pub advanced_snippet: AdvancedSnippet,
    pub rules: Vec<FilteringRule>,
    pub validation: FilteringValidation,
}

/// One filtering rule, as given; dates as given (written back in Elasticsearch's format).
#[derive(Debug, Default)]
pub struct FilteringRule {
    pub created_at: Option<String>,
    pub field: String,
    pub id: String,
    pub order: i64,
    /// The policy and the condition, in their stored spelling.
    pub policy: &'static str,
    pub rule: &'static str,
    pub updated_at: Option<String>,
    pub value: String,
}

#[derive(Debug, Default)]
pub struct AdvancedSnippet {
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub value: Value,
}

/// A validation result of a draft, as the connector service reports it.
#[derive(Debug, Default)]
pub struct FilteringValidation {
    pub errors: Vec<FilteringValidationError>,
    /// The state, in its stored spelling.
    pub state: &'static str,
}

#[derive(Debug, Default)]
pub struct FilteringValidationError {
    /// The ids and messages, each as text (or null).
    pub ids: Vec<Value>,
    pub messages: Vec<Value>,
}

/// `PUT /_connector/{id}/_filtering/_validation`
#[derive(Debug, Default)]
pub struct UpdateFilteringValidation {
    pub validation: FilteringValidation,
}

/// `PUT /_connector/{id}/_index_name`: a name, or null for none.
#[derive(Debug, Default)]
pub struct UpdateIndexName {
    pub index_name: Option<String>,
}

/// `PUT /_connector/{id}/_last_sync`: the statistics given; dates as given (written back in
/// Elasticsearch's format).
#[derive(Debug, Default)]
pub struct UpdateLastSync {
    pub last_access_control_sync_error: Option<String>,
    pub last_access_control_sync_scheduled_at: Option<String>,
    pub last_access_control_sync_status: Option<ConnectorSyncStatus>,
    pub last_deleted_document_count: Option<i64>,
    pub last_incremental_sync_scheduled_at: Option<String>,
    pub last_indexed_document_count: Option<i64>,
    pub last_sync_error: Option<String>,
    pub last_sync_scheduled_at: Option<String>,
    pub last_sync_status: Option<ConnectorSyncStatus>,
    pub last_synced: Option<String>,
    pub sync_cursor: Option<Map<String, Value>>,
}

/// `PUT /_connector/{id}/_name`
#[derive(Debug, Default)]
pub struct UpdateName {
    pub name: Option<String>,
    pub description: Option<String>,
}

/// `PUT /_connector/{id}/_native`
#[derive(Debug, Default)]
pub struct UpdateNative {
    pub is_native: bool,
}

/// `PUT /_connector/{id}/_pipeline`
#[derive(Debug, Default)]
pub struct UpdatePipeline {
    pub extract_binary_content: bool,
    pub name: String,
    pub reduce_whitespace: bool,
    pub run_ml_inference: bool,
}

/// `PUT /_connector/{id}/_scheduling`: the schedules given.
#[derive(Debug, Default)]
pub struct UpdateScheduling {
    pub access_control: Option<Schedule>,
    pub full: Option<Schedule>,
    pub incremental: Option<Schedule>,
}

/// One schedule: enabled or not, and its cron expression as given.
#[derive(Debug, Default, Clone)]
pub struct Schedule {
    pub enabled: bool,
    pub interval: String,
}

/// `PUT /_connector/{id}/_service_type`
#[derive(Debug, Default)]
pub struct UpdateServiceType {
    pub service_type: String,
}

/// `PUT /_connector/{id}/_status`: the status asked for (none when the body left it out).
#[derive(Debug, Default)]
pub struct UpdateStatus {
    pub status: Option<ConnectorStatus>,
}
