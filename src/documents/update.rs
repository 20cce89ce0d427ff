//! The one way a stored document changes. An operation declares its rule; this module writes it
//! as one atomic step in the cluster:
//!
//! - `Rule::Merge`: a partial document merged into whatever is stored (Elasticsearch's partial
//!   `_update`, which is atomic by itself and never creates a document).
//! - `Rule::Table`: a transition keyed on one field. The same table is either sent with a fixed
//!   script that applies the row for the stored value inside the cluster (one round trip), or
//!   looked up here on a realtime read and written with `if_seq_no`/`if_primary_term`, so that it
//!   only lands on the version it was decided on.
//! - `Rule::Decide`: any decision on the whole stored document, written with the same guard.

use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use actix_web::web::Bytes;
use elasticsearch::http::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{doc_path, unexpected, Found, Source, Store};
use crate::cluster::{Forwarded, Reply};
use crate::config::UpdateStrategy;
use crate::error::{ApiError, ErrorType};

/// Applies the row of `params.rows` for the stored value of `params.field`, merging it into the
/// document as a partial update merges (objects key by key, anything else replaced); a value
/// without a row leaves the document untouched (`noop`), and the service answers from the value
/// returned with the noop.
pub const TABLE_SCRIPT: &str = "void merge(Map into, Map changes) { for (def entry : changes.entrySet()) { \
def value = entry.getValue(); def current = into.get(entry.getKey()); \
if (value instanceof Map && current instanceof Map) { merge(current, value); } else { into.put(entry.getKey(), value); } } } \
def row = params.rows.get(ctx._source.get(params.field)); \
if (row == null) { ctx.op = 'noop'; } else { merge(ctx._source, row); }";

/// Pieces of the error a cluster gives when it cannot run the script: Painless missing, inline
/// scripts forbidden (`script.allowed_types`) or the update context forbidden
/// (`script.allowed_contexts`).
const SCRIPTS_UNAVAILABLE: [&str; 3] = [
    "script_lang not supported",
    "cannot execute [inline] scripts",
    "cannot execute scripts using [update] context",
];

/// The document to change, and the answers when it is not there.
pub struct Target<'a> {
    pub index: &'a str,
    pub id: &'a str,
    pub missing: &'a (dyn Fn(Missing) -> ApiError + Sync),
}

/// What was not there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Document,
    Index,
}

impl Missing {
    /// Which one a 404 from the cluster means.
    pub fn of(reply: &Reply) -> Self {
        match reply.body()["error"]["type"].as_str() {
            Some("index_not_found_exception") => Self::Index,
            _ => Self::Document,
        }
    }
}

/// How an operation changes a document.
pub enum Rule<'a> {
    /// Merge this partial document into whatever is stored.
    Merge(Source),
    Table(Table<'a>),
    /// The new document, decided on the stored one, or the answer that refuses the change.
    Decide(&'a (dyn Fn(&Source) -> Result<Source, ApiError> + Sync)),
}

/// A transition keyed on one field: for each value the field may hold, the partial document to
/// merge. A value without a row refuses the change with `refuse(value)`.
pub struct Table<'a> {
    pub field: &'static str,
    pub rows: Rows<'a>,
    pub refuse: &'a (dyn Fn(&Value) -> ApiError + Sync),
    /// A field every row sets to a value unique to this request: finding it there means an
    /// earlier attempt of this same request landed and only its answer was lost.
    pub stamp: Option<(&'static str, &'a str)>,
}

/// The rows of a table: each value of the key field with the fields written there. Built for
/// every request, so kept as plain lists (no hashing) of values the request mostly lends.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows<'a>(pub Vec<(&'static str, Row<'a>)>);

/// The fields one row writes: a partial document.
pub type Row<'a> = Vec<(&'static str, Field<'a>)>;

/// A value a row writes: text the request holds (a status, a timestamp, a name), or any JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Field<'a> {
    Text(&'a str),
    Json(Value),
}

impl Field<'_> {
    fn to_value(&self) -> Value {
        match self {
            Self::Text(text) => Value::from(*text),
            Self::Json(value) => value.clone(),
        }
    }
}

impl Rows<'_> {
    fn get(&self, value: &str) -> Option<&Row<'_>> {
        self.0
            .iter()
            .find_map(|(key, row)| (*key == value).then_some(row))
    }
}

impl Serialize for Rows<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(key, row)| (key, RowFields(row))))
    }
}

/// A row as a JSON object.
struct RowFields<'r, 'a>(&'r Row<'a>);

impl Serialize for RowFields<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(name, value)| (name, value)))
    }
}

/// A row as the partial document it is.
pub fn row_document(row: &Row<'_>) -> Source {
    row.iter()
        .map(|(name, value)| ((*name).to_owned(), value.to_value()))
        .collect()
}

impl Table<'_> {
    fn row(&self, source: &Source) -> Option<&Row<'_>> {
        let value = source.get(self.field)?.as_str()?;
        self.rows.get(value)
    }

    /// The row for the stored document, or why there is none.
    fn decide(&self, source: &Source) -> Result<Option<&Row<'_>>, ApiError> {
        if let Some(row) = self.row(source) {
            return Ok(Some(row));
        }
        if let Some((field, stamp)) = self.stamp {
            if source.get(field).and_then(Value::as_str) == Some(stamp) {
                return Ok(None);
            }
        }
        Err((self.refuse)(source.get(self.field).unwrap_or(&Value::Null)))
    }

    /// The fields to read back: the key, and the stamp.
    pub fn source_fields(&self) -> String {
        match self.stamp {
            Some((stamp, _)) => format!("{},{stamp}", self.field),
            None => self.field.to_owned(),
        }
    }
}

/// What an update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Updated,
    /// Nothing needed to change.
    Noop,
}

impl Applied {
    pub fn result(self) -> &'static str {
        match self {
            Self::Updated => "updated",
            Self::Noop => "noop",
        }
    }
}

enum ScriptFailure {
    /// The cluster cannot run the script; nothing was written.
    Unavailable(Reply),
    Api(ApiError),
}

impl From<ApiError> for ScriptFailure {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

impl Store {
    /// Changes one document by `rule`, as one atomic step: the document is either changed by
    /// exactly what the rule decided on the version it changes, or not at all.
    pub async fn update(
        &self,
        target: &Target<'_>,
        rule: Rule<'_>,
        forwarded: &Forwarded,
    ) -> Result<Applied, ApiError> {
        match rule {
            Rule::Merge(partial) => self.merge(target, &partial, forwarded).await,
            Rule::Decide(decide) => self.guarded(target, decide, forwarded).await,
            Rule::Table(table) => self.transition(target, &table, forwarded).await,
        }
    }

    async fn merge(
        &self,
        target: &Target<'_>,
        partial: &Source,
        forwarded: &Forwarded,
    ) -> Result<Applied, ApiError> {
        let body = partial_update(partial);
        let reply = self.send_update(target, &[], body, forwarded).await?;
        match reply.status {
            200 => applied(&reply),
            404 => Err((target.missing)(Missing::of(&reply))),
            _ => Err(reply.into_error()),
        }
    }

    async fn transition(
        &self,
        target: &Target<'_>,
        table: &Table<'_>,
        forwarded: &Forwarded,
    ) -> Result<Applied, ApiError> {
        let scripted = match self.strategy {
            UpdateStrategy::Optimistic => false,
            UpdateStrategy::Script => true,
            UpdateStrategy::Auto => !self.scripts_unavailable.load(Ordering::Relaxed),
        };
        if !scripted {
            return self.transition_guarded(target, table, forwarded).await;
        }
        match self.transition_scripted(target, table, forwarded).await {
            Ok(applied) => Ok(applied),
            Err(ScriptFailure::Api(err)) => Err(err),
            Err(ScriptFailure::Unavailable(reply)) if self.strategy == UpdateStrategy::Script => {
                log::error!(
                    "the cluster cannot run the update script and update_strategy is script; \
                     use auto or optimistic: {}",
                    reply.body()
                );
                Err(reply.into_error())
            }
            Err(ScriptFailure::Unavailable(reply)) => {
                if !self.scripts_unavailable.swap(true, Ordering::Relaxed) {
                    self.cluster.metrics().set_strategy("optimistic");
                    log::warn!(
                        "the cluster cannot run the update script ({}); switching to optimistic \
                         concurrency (realtime get, then a write guarded by if_seq_no/if_primary_term)",
                        script_error_reason(&reply.body())
                    );
                }
                self.transition_guarded(target, table, forwarded).await
            }
        }
    }

    /// One scripted update: the row is chosen and written inside the cluster.
    async fn transition_scripted(
        &self,
        target: &Target<'_>,
        table: &Table<'_>,
        forwarded: &Forwarded,
    ) -> Result<Applied, ScriptFailure> {
        let body = script_body(table.field, &table.rows);
        let retries = self.conflict_retries.to_string();
        let fields = table.source_fields();
        let query = [
            ("retry_on_conflict", retries.as_str()),
            ("_source", fields.as_str()),
        ];
        let reply = self.send_update(target, &query, body, forwarded).await?;
        match reply.status {
            // The result alone decides, unless the script left the document unchanged; only
            // then are the fields it returned read.
            200 => match reply.parse::<UpdateResult>().map(|answer| answer.result) {
                Some(WriteResult::Updated) => Ok(Applied::Updated),
                Some(WriteResult::Noop) => {
                    let get = reply.parse::<UpdateAnswer>().and_then(|answer| answer.get);
                    let source = get.and_then(|get| get.source).unwrap_or_default();
                    match table.decide(&source)? {
                        None => Ok(Applied::Updated),
                        Some(row) => {
                            log::error!("the update script left a row unapplied: {row:?}");
                            Err(unexpected(&reply).into())
                        }
                    }
                }
                _ => Err(unexpected(&reply).into()),
            },
            404 => Err((target.missing)(Missing::of(&reply)).into()),
            409 => Err(self.conflicts_exhausted(target.id).into()),
            400 if cannot_run_script(&reply.body()) => Err(ScriptFailure::Unavailable(reply)),
            _ => Err(reply.into_error().into()),
        }
    }

    /// Realtime read, the row looked up here, then a partial update that only applies if nobody
    /// wrote the document since it was read; decided again on a conflict.
    async fn transition_guarded(
        &self,
        target: &Target<'_>,
        table: &Table<'_>,
        forwarded: &Forwarded,
    ) -> Result<Applied, ApiError> {
        let fields = table.source_fields();
        for _attempt in 0..=self.conflict_retries {
            let found = self
                .get(target.index, target.id, forwarded, Some(&fields))
                .await?
                .map_err(target.missing)?;
            let Some(row) = table.decide(&found.source)? else {
                return Ok(Applied::Updated);
            };
            let body = partial_update(&row_document(row));
            match self
                .write_guarded(target, &found, "_update", body, forwarded)
                .await?
            {
                Some(applied) => return Ok(applied),
                None => continue,
            }
        }
        Err(self.conflicts_exhausted(target.id))
    }

    /// Realtime read, the new document decided here, then a write of the whole document that
    /// only applies if nobody wrote it since it was read; decided again on a conflict.
    async fn guarded(
        &self,
        target: &Target<'_>,
        decide: &(dyn Fn(&Source) -> Result<Source, ApiError> + Sync),
        forwarded: &Forwarded,
    ) -> Result<Applied, ApiError> {
        for _attempt in 0..=self.conflict_retries {
            let found = self
                .get(target.index, target.id, forwarded, None)
                .await?
                .map_err(target.missing)?;
            let new = decide(&found.source)?;
            if new == found.source {
                return Ok(Applied::Noop);
            }
            let body = Bytes::from(serde_json::to_vec(&new).unwrap_or_default());
            match self
                .write_guarded(target, &found, "_doc", body, forwarded)
                .await?
            {
                Some(applied) => return Ok(applied),
                None => continue,
            }
        }
        Err(self.conflicts_exhausted(target.id))
    }

    /// A write that only lands on the version that was read; `None` when another write got there
    /// first.
    async fn write_guarded(
        &self,
        target: &Target<'_>,
        read: &Found,
        endpoint: &str,
        body: Bytes,
        forwarded: &Forwarded,
    ) -> Result<Option<Applied>, ApiError> {
        let seq_no = read.seq_no.to_string();
        let primary_term = read.primary_term.to_string();
        let query = [
            ("if_seq_no", seq_no.as_str()),
            ("if_primary_term", primary_term.as_str()),
            ("refresh", self.refresh),
            ("require_alias", "true"),
        ];
        let path = doc_path(target.index, endpoint, target.id);
        let method = if endpoint == "_doc" {
            Method::Put
        } else {
            Method::Post
        };
        let reply = self
            .cluster
            .call("update", forwarded, method, &path, &query, Some(&body))
            .await?;
        match reply.status {
            200 => applied(&reply).map(Some),
            409 => Ok(None),
            404 => Err((target.missing)(Missing::of(&reply))),
            _ => Err(reply.into_error()),
        }
    }

    async fn send_update(
        &self,
        target: &Target<'_>,
        extra: &[(&str, &str)],
        body: Bytes,
        forwarded: &Forwarded,
    ) -> Result<Reply, ApiError> {
        let mut query = vec![("refresh", self.refresh), ("require_alias", "true")];
        query.extend_from_slice(extra);
        let path = doc_path(target.index, "_update", target.id);
        self.cluster
            .call("update", forwarded, Method::Post, &path, &query, Some(&body))
            .await
    }

    fn conflicts_exhausted(&self, id: &str) -> ApiError {
        ApiError::new(
            ErrorType::VersionConflictEngine,
            format!(
                "[{id}]: the document kept changing; gave up after {} retries",
                self.conflict_retries
            ),
        )
    }
}

/// The body of the scripted update that applies `rows` keyed on `field`. The script itself is the
/// same in every body, so its escaped JSON is written once and copied.
pub fn script_body(field: &str, rows: &Rows<'_>) -> Bytes {
    static HEAD: OnceLock<Vec<u8>> = OnceLock::new();
    let head = HEAD.get_or_init(|| {
        let source = serde_json::to_string(TABLE_SCRIPT).expect("a string serializes");
        format!(r#"{{"script":{{"lang":"painless","source":{source},"params":{{"field":"#).into_bytes()
    });
    let mut body = Vec::with_capacity(head.len() + 512);
    body.extend_from_slice(head);
    serde_json::to_writer(&mut body, field).expect("a string serializes");
    body.extend_from_slice(br#","rows":"#);
    serde_json::to_writer(&mut body, rows).expect("rows always serialize");
    body.extend_from_slice(b"}}}");
    Bytes::from(body)
}

/// The body of a partial update merging `doc`.
pub fn partial_update(doc: &Source) -> Bytes {
    #[derive(Serialize)]
    struct Body<'a> {
        doc: &'a Source,
    }
    to_bytes(&Body { doc })
}

fn to_bytes(body: &impl Serialize) -> Bytes {
    Bytes::from(serde_json::to_vec(body).expect("JSON maps with string keys always serialize"))
}

/// The result of an update answer, all that is read of most of them.
#[derive(Deserialize)]
struct UpdateResult {
    result: WriteResult,
}

#[derive(Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum WriteResult {
    Created,
    Updated,
    Noop,
    #[serde(other)]
    Other,
}

/// The document's fields an update answer carries, read when a script left the document
/// unchanged.
#[derive(Deserialize)]
struct UpdateAnswer {
    get: Option<UpdatedSource>,
}

#[derive(Deserialize)]
struct UpdatedSource {
    #[serde(rename = "_source")]
    source: Option<Source>,
}

fn applied(reply: &Reply) -> Result<Applied, ApiError> {
    match reply.parse::<UpdateResult>().map(|answer| answer.result) {
        Some(WriteResult::Noop) => Ok(Applied::Noop),
        Some(WriteResult::Updated | WriteResult::Created) => Ok(Applied::Updated),
        _ => Err(unexpected(reply)),
    }
}

fn cannot_run_script(body: &Value) -> bool {
    let text = body.to_string();
    SCRIPTS_UNAVAILABLE.iter().any(|marker| text.contains(marker))
}

/// The innermost reason of an Elasticsearch error, for the log.
fn script_error_reason(body: &Value) -> String {
    let mut error = &body["error"];
    while error["caused_by"].is_object() {
        error = &error["caused_by"];
    }
    error["reason"].as_str().unwrap_or("no reason given").to_owned()
}

/// The document as a partial update leaves it: objects merged key by key, anything else
/// (arrays, scalars) replaced.
pub fn merged(mut source: Source, partial: &Source) -> Source {
    merge_into(&mut source, partial);
    source
}

fn merge_into(into: &mut Source, changes: &Source) {
    for (key, value) in changes {
        match (into.get_mut(key), value) {
            (Some(Value::Object(current)), Value::Object(change)) => merge_into(current, change),
            _ => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Source {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_merge_joins_objects_and_replaces_everything_else() {
        let stored = object(json!({"a": {"x": 1, "y": 2}, "b": [1, 2], "c": 1}));
        let partial = object(json!({"a": {"y": 3, "z": 4}, "b": [3], "d": null}));
        assert_eq!(
            Value::Object(merged(stored, &partial)),
            json!({"a": {"x": 1, "y": 3, "z": 4}, "b": [3], "c": 1, "d": null})
        );
    }

    #[test]
    fn a_table_picks_the_row_or_refuses_or_recognises_its_own_stamp() {
        let refuse = |value: &Value| ApiError::new(ErrorType::Status, format!("from {value}"));
        let table = Table {
            field: "status",
            rows: Rows(vec![(
                "pending",
                vec![("status", Field::Text("canceled")), ("at", Field::Text("T1"))],
            )]),
            refuse: &refuse,
            stamp: Some(("at", "T1")),
        };
        let row = table.decide(&object(json!({"status": "pending"}))).unwrap();
        assert_eq!(row_document(row.unwrap())["status"], "canceled");
        assert!(table
            .decide(&object(json!({"status": "canceled", "at": "T1"})))
            .unwrap()
            .is_none());
        let err = table
            .decide(&object(json!({"status": "canceled", "at": "T0"})))
            .unwrap_err();
        assert_eq!(err.body()["error"]["reason"], "from \"canceled\"");
        assert_eq!(table.source_fields(), "status,at");
    }

    #[test]
    fn the_script_body_carries_the_table_as_parameters() {
        let rows = Rows(vec![(
            "pending",
            vec![
                ("status", Field::Text("in_progress")),
                ("cursor", Field::Json(json!({"a": [1]}))),
            ],
        )]);
        let body: Value = serde_json::from_slice(&script_body("status", &rows)).unwrap();
        assert_eq!(
            body,
            json!({"script": {"lang": "painless", "source": TABLE_SCRIPT,
                              "params": {"field": "status", "rows": {"pending": {"status": "in_progress", "cursor": {"a": [1]}}}}}})
        );
        let doc: Value = serde_json::from_slice(&partial_update(&row_document(&rows.0[0].1))).unwrap();
        assert_eq!(
            doc,
            json!({"doc": {"status": "in_progress", "cursor": {"a": [1]}}})
        );
    }

    #[test]
    fn script_failures_are_recognised_in_the_cause_chain() {
        let body = json!({"error": {"type": "illegal_argument_exception", "reason": "failed to execute script",
            "caused_by": {"type": "illegal_argument_exception", "reason": "script_lang not supported [painless]"}}});
        assert!(cannot_run_script(&body));
        assert_eq!(script_error_reason(&body), "script_lang not supported [painless]");
        assert!(!cannot_run_script(
            &json!({"error": {"reason": "mapper_parsing_exception"}})
        ));
    }
}
