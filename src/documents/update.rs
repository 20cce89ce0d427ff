//! The one way a stored document changes. An operation hands `Store::update` a `Target` and a
//! `Rule`, both plain values; the update writes the rule as one atomic step in the cluster and
//! answers with what happened as a value (`Outcome`, or an `UpdateError` the caller turns into
//! its own answer). Storage never calls back into the domain to build an error.
//!
//! What each kind of rule does, under each `update_strategy`:
//!
//! | rule | `script` | `optimistic` | `auto` |
//! |---|---|---|---|
//! | `Merge` | one partial `_update` | the same | the same |
//! | `Table` | one scripted `_update` | guarded | scripted, guarded once the cluster cannot run the script |
//! | `Decide` | guarded | guarded | guarded |
//!
//! - `Rule::Merge`: a partial document merged into whatever is stored (Elasticsearch's partial
//!   `_update`, atomic by itself and never creating a document).
//! - `Rule::Table`: a transition keyed on one field. Scripted, a fixed Painless script receives
//!   the table as parameters and applies the row for the stored value inside the cluster (one
//!   round trip); guarded, the row is looked up here and written as a partial update.
//! - `Rule::Decide`: a decision in Rust on the whole stored document, so it is always guarded:
//!   the whole new document is written.
//!
//! Guarded means: a realtime GET, the rule applied here, then a write with
//! `if_seq_no`/`if_primary_term`, so that it only lands on the version it was decided on; on a
//! version conflict it reads and decides again, up to `conflict_retries` times. One loop serves
//! tables and decisions.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use actix_web::web::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{unexpected, Found, Source, Store};
use crate::cluster::{ClusterAnswer, DocWrite, Forwarded, WriteAction};
use crate::config::UpdateStrategy;
use crate::error::{ApiError, ErrorType};

/// Applies the row of `params.rows` for the stored value of `params.field`, merging it into the
/// document as a partial update merges (objects key by key, anything else replaced); a value
/// without a row leaves the document untouched (`noop`), and the service answers from the value
/// returned with the noop.
const TABLE_SCRIPT: &str = "void merge(Map into, Map changes) { for (def entry : changes.entrySet()) { \
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

/// The document to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    pub index: &'a str,
    pub id: &'a str,
}

/// What was not there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Document,
    Index,
}

impl Missing {
    /// Which one a 404 from the cluster means.
    pub(super) fn of(reply: &ClusterAnswer) -> Self {
        match reply.body()["error"]["type"].as_str() {
            Some("index_not_found_exception") => Self::Index,
            _ => Self::Document,
        }
    }
}

/// A decision in Rust on the whole stored document: the new document and a value handed back
/// to the caller with the outcome, or the domain's refusal `E`.
pub type Decide<'a, D, E> = dyn Fn(&Source) -> Result<Decision<D>, E> + Sync + 'a;

/// How an operation changes a document: a plain value, built by the operation and handed to
/// `Store::update`. `D` is what a `Decide` rule hands back and `E` what it refuses with;
/// `Merge` and `Table` decide nothing in Rust, and are used with the defaults.
pub enum Rule<'a, D = (), E = Infallible> {
    /// Merge this partial document into whatever is stored.
    Merge(Source),
    Table(Table<'a>),
    Decide(&'a Decide<'a, D, E>),
}

/// What a `Decide` rule decided: the whole new document (the stored one, unchanged, for no
/// change), and the value the caller gets back.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision<D = ()> {
    pub document: Source,
    pub value: D,
}

impl Decision {
    /// A new document and nothing else to hand back.
    pub fn new(document: Source) -> Self {
        Self { document, value: () }
    }
}

/// What an update did, and the value its rule decided (`D::default()` for `Merge` and
/// `Table`, which decide nothing in Rust).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome<D = ()> {
    pub applied: Applied,
    pub value: D,
}

/// Why an update wrote nothing. The caller turns each case into its own answer.
#[derive(Debug)]
pub enum UpdateError<E = Infallible> {
    /// The document, or its index, is not there.
    Missing(Missing),
    /// A table has no row for the stored value of its key field (`null` when the field is
    /// absent), and the stamp of this request is not there either.
    NoRow(Value),
    /// The decision refused the change.
    Refused(E),
    /// The cluster failed, or the document kept changing past `conflict_retries`: the answer
    /// as it stands.
    Failed(ApiError),
}

impl<E: From<ApiError>> UpdateError<E> {
    /// What is left of the error of a rule without a table (`Merge`, `Decide`): the document or
    /// index that was missing, or else the answer (the decision's refusal, or the failure as it
    /// stands).
    pub fn missing_or(self) -> Result<Missing, E> {
        match self {
            Self::Missing(missing) => Ok(missing),
            Self::Refused(refusal) => Err(refusal),
            Self::Failed(err) => Err(err.into()),
            Self::NoRow(found) => {
                debug_assert!(false, "a rule without a table found no row for {found}");
                Err(ApiError::new(
                    ErrorType::Internal,
                    "an update without a transition table was refused as a transition",
                )
                .into())
            }
        }
    }
}

impl<E> From<ApiError> for UpdateError<E> {
    fn from(err: ApiError) -> Self {
        Self::Failed(err)
    }
}

/// A transition keyed on one field: for each value the field may hold, the partial document to
/// merge. A value without a row refuses the change (`UpdateError::NoRow`).
pub struct Table<'a> {
    pub field: &'static str,
    pub rows: Rows<'a>,
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

    /// The row for the stored document; `None` when this request's stamp is already there;
    /// the stored value when it has no row.
    fn decide(&self, source: &Source) -> Result<Option<&Row<'_>>, Value> {
        if let Some(row) = self.row(source) {
            return Ok(Some(row));
        }
        if let Some((field, stamp)) = self.stamp {
            if source.get(field).and_then(Value::as_str) == Some(stamp) {
                return Ok(None);
            }
        }
        Err(source.get(self.field).cloned().unwrap_or(Value::Null))
    }

    /// The fields to read back: the key, and the stamp.
    fn source_fields(&self) -> String {
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

/// What a guarded step writes on the version it read.
enum Write {
    /// A partial update (`_update` with `doc`).
    Partial(Source),
    /// The whole document (`_doc`).
    Whole(Source),
}

/// What a guarded step decided on the version it read.
enum Step<D> {
    /// Nothing to write: the answer is this.
    Done(Applied, D),
    Write(Write, D),
}

enum ScriptFailure<E> {
    /// The cluster cannot run the script; nothing was written.
    Unavailable(ClusterAnswer),
    Update(UpdateError<E>),
}

impl<E> From<UpdateError<E>> for ScriptFailure<E> {
    fn from(err: UpdateError<E>) -> Self {
        Self::Update(err)
    }
}

impl<E> From<ApiError> for ScriptFailure<E> {
    fn from(err: ApiError) -> Self {
        Self::Update(err.into())
    }
}

impl Store {
    /// Changes one document by `rule`, as one atomic step: the document is either changed by
    /// exactly what the rule decided on the version it changes, or not at all. See the module
    /// documentation for what each rule does under each `update_strategy`.
    pub async fn update<D: Default, E>(
        &self,
        target: Target<'_>,
        rule: Rule<'_, D, E>,
        forwarded: &Forwarded,
    ) -> Result<Outcome<D>, UpdateError<E>> {
        let applied = match rule {
            Rule::Merge(partial) => self.merge(target, &partial, forwarded).await?,
            Rule::Table(table) => self.transition(target, &table, forwarded).await?,
            Rule::Decide(decide) => return self.decided(target, decide, forwarded).await,
        };
        Ok(Outcome {
            applied,
            value: D::default(),
        })
    }

    async fn merge<E>(
        &self,
        target: Target<'_>,
        partial: &Source,
        forwarded: &Forwarded,
    ) -> Result<Applied, UpdateError<E>> {
        // A partial update has no precondition: a concurrent write to the same document is
        // retried inside the cluster, so that it lands rather than answering 409.
        let body = partial_update(partial);
        let reply = self.send_update(target, None, body, forwarded).await?;
        match reply.status {
            200 => Ok(applied(&reply)?),
            404 => Err(UpdateError::Missing(Missing::of(&reply))),
            _ => Err(reply.into_error().into()),
        }
    }

    /// Whether a table is applied by the script: `script` always, `optimistic` never, `auto`
    /// until the cluster said it cannot run it.
    fn scripted(&self) -> bool {
        match self.strategy {
            UpdateStrategy::Optimistic => false,
            UpdateStrategy::Script => true,
            UpdateStrategy::Auto => !self.scripts_unavailable.load(Ordering::Relaxed),
        }
    }

    async fn transition<E>(
        &self,
        target: Target<'_>,
        table: &Table<'_>,
        forwarded: &Forwarded,
    ) -> Result<Applied, UpdateError<E>> {
        if !self.scripted() {
            return self.transition_guarded(target, table, forwarded).await;
        }
        match self.transition_scripted(target, table, forwarded).await {
            Ok(applied) => Ok(applied),
            Err(ScriptFailure::Update(err)) => Err(err),
            Err(ScriptFailure::Unavailable(reply)) if self.strategy == UpdateStrategy::Script => {
                log::error!(
                    "the cluster cannot run the update script and update_strategy is script; \
                     use auto or optimistic: {}",
                    reply.body()
                );
                Err(reply.into_error().into())
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
    async fn transition_scripted<E>(
        &self,
        target: Target<'_>,
        table: &Table<'_>,
        forwarded: &Forwarded,
    ) -> Result<Applied, ScriptFailure<E>> {
        let body = script_body(table.field, &table.rows);
        let fields = table.source_fields();
        let reply = self.send_update(target, Some(fields), body, forwarded).await?;
        match reply.status {
            // The result alone decides, unless the script left the document unchanged; only
            // then are the fields it returned read.
            200 => match reply.parse::<UpdateResult>().map(|answer| answer.result) {
                Some(WriteResult::Updated) => Ok(Applied::Updated),
                Some(WriteResult::Noop) => {
                    let get = reply.parse::<UpdateAnswer>().and_then(|answer| answer.get);
                    let source = get.and_then(|get| get.source).unwrap_or_default();
                    match table.decide(&source).map_err(UpdateError::NoRow)? {
                        None => Ok(Applied::Updated),
                        Some(row) => {
                            log::error!("the update script left a row unapplied: {row:?}");
                            Err(unexpected(&reply).into())
                        }
                    }
                }
                _ => Err(unexpected(&reply).into()),
            },
            404 => Err(UpdateError::Missing(Missing::of(&reply)).into()),
            409 => Err(self.conflicts_exhausted(target.id).into()),
            400 if cannot_run_script(&reply.body()) => Err(ScriptFailure::Unavailable(reply)),
            _ => Err(reply.into_error().into()),
        }
    }

    /// The table applied by the guarded loop: the row looked up here, written as a partial
    /// update; this request's stamp already there means it landed before.
    async fn transition_guarded<E>(
        &self,
        target: Target<'_>,
        table: &Table<'_>,
        forwarded: &Forwarded,
    ) -> Result<Applied, UpdateError<E>> {
        let fields = table.source_fields();
        let step = |source: &Source| match table.decide(source).map_err(UpdateError::NoRow)? {
            None => Ok(Step::Done(Applied::Updated, ())),
            Some(row) => Ok(Step::Write(Write::Partial(row_document(row)), ())),
        };
        let outcome = self.guarded(target, Some(&fields), step, forwarded).await?;
        Ok(outcome.applied)
    }

    /// The decision applied by the guarded loop: the whole new document written, unless it is
    /// the stored one.
    async fn decided<D, E>(
        &self,
        target: Target<'_>,
        decide: &Decide<'_, D, E>,
        forwarded: &Forwarded,
    ) -> Result<Outcome<D>, UpdateError<E>> {
        let step = |source: &Source| {
            let Decision { document, value } = decide(source).map_err(UpdateError::Refused)?;
            Ok(if document == *source {
                Step::Done(Applied::Noop, value)
            } else {
                Step::Write(Write::Whole(document), value)
            })
        };
        self.guarded(target, None, step, forwarded).await
    }

    /// The guarded loop: a realtime read (of `fields`, or the whole document), `step` decided
    /// on it here, then its write guarded by `if_seq_no`/`if_primary_term`, so that it only
    /// lands on the version it was decided on; read and decided again when another write got
    /// there first, up to `conflict_retries` times.
    async fn guarded<D, E>(
        &self,
        target: Target<'_>,
        fields: Option<&str>,
        step: impl Fn(&Source) -> Result<Step<D>, UpdateError<E>>,
        forwarded: &Forwarded,
    ) -> Result<Outcome<D>, UpdateError<E>> {
        for _attempt in 0..=self.conflict_retries {
            let found = self
                .get(target.index, target.id, forwarded, fields)
                .await?
                .map_err(UpdateError::Missing)?;
            let (write, value) = match step(&found.source)? {
                Step::Done(applied, value) => return Ok(Outcome { applied, value }),
                Step::Write(write, value) => (write, value),
            };
            if let Some(applied) = self.write_guarded(target, &found, &write, forwarded).await? {
                return Ok(Outcome { applied, value });
            }
        }
        Err(self.conflicts_exhausted(target.id).into())
    }

    /// A write that only lands on the version that was read; `None` when another write got there
    /// first.
    async fn write_guarded<E>(
        &self,
        target: Target<'_>,
        read: &Found,
        write: &Write,
        forwarded: &Forwarded,
    ) -> Result<Option<Applied>, UpdateError<E>> {
        let (action, body) = match write {
            Write::Partial(partial) => (WriteAction::Update, partial_update(partial)),
            Write::Whole(document) => (
                WriteAction::Index,
                Bytes::from(serde_json::to_vec(document).unwrap_or_default()),
            ),
        };
        let write = DocWrite {
            operation: "update",
            action,
            index: target.index.to_owned(),
            id: target.id.to_owned(),
            refresh: self.refresh,
            require_alias: true,
            retry_on_conflict: None,
            version: Some((read.seq_no, read.primary_term)),
            source: None,
            body: Some(body),
        };
        let reply = self.write(write, forwarded).await?;
        match reply.status {
            200 => Ok(Some(applied(&reply)?)),
            409 => Ok(None),
            404 => Err(UpdateError::Missing(Missing::of(&reply))),
            _ => Err(reply.into_error().into()),
        }
    }

    /// An update that retries inside the cluster on a version conflict (a partial document or
    /// the table's script: neither was decided on a version), answering with `source` fields.
    async fn send_update(
        &self,
        target: Target<'_>,
        source: Option<String>,
        body: Bytes,
        forwarded: &Forwarded,
    ) -> Result<ClusterAnswer, ApiError> {
        let write = DocWrite {
            operation: "update",
            action: WriteAction::Update,
            index: target.index.to_owned(),
            id: target.id.to_owned(),
            refresh: self.refresh,
            require_alias: true,
            retry_on_conflict: Some(self.conflict_retries),
            version: None,
            source,
            body: Some(body),
        };
        self.write(write, forwarded).await
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

fn applied(reply: &ClusterAnswer) -> Result<Applied, ApiError> {
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
        let table = Table {
            field: "status",
            rows: Rows(vec![(
                "pending",
                vec![("status", Field::Text("canceled")), ("at", Field::Text("T1"))],
            )]),
            stamp: Some(("at", "T1")),
        };
        let row = table.decide(&object(json!({"status": "pending"}))).unwrap();
        assert_eq!(row_document(row.unwrap())["status"], "canceled");
        assert!(table
            .decide(&object(json!({"status": "canceled", "at": "T1"})))
            .unwrap()
            .is_none());
        let found = table
            .decide(&object(json!({"status": "canceled", "at": "T0"})))
            .unwrap_err();
        assert_eq!(found, json!("canceled"));
        assert_eq!(
            table.decide(&object(json!({"at": "T0"}))).unwrap_err(),
            Value::Null
        );
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
