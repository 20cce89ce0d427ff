//! Group commit: the service's writes to single documents (and the realtime reads of guarded
//! updates) share requests to the cluster when they arrive together.
//!
//! Each operation is a plain value (`DocWrite`, `DocRead`) that can be sent on its own, exactly as
//! before, or as one item of a `_bulk` (writes) or `_mget` (reads). Operations queue in a lane:
//! one per kind and per caller's credentials, since a grouped request carries one caller's
//! `Authorization`. A lane has one request in flight at a time per configured node (one, with
//! one node). An operation that finds its lane idle goes at once, alone and in its own form, from
//! its caller's own task (no timer and no hand-off, so a lone write costs what it costs without
//! group commit); those that arrive while the lane is busy wait, and when a request returns they
//! go together, sent by a task of the lane's, up to `max_items` operations and `max_bytes` of
//! bodies per request. A slot passes on when its request ends, however it ends (a caller whose
//! future is dropped included): to a task for those waiting, or back to the lane. One request
//! per node keeps a hanging node from holding up every write behind the one request sent to it.
//!
//! Each operation gets back the answer it would have got as a request of its own: a bulk item
//! becomes an answer of that item's status with the item's body (an error item as the error
//! body a single request carries), so that the code above reads it as before, with its own
//! 404/409 handling and retries. A grouped request that fails as a whole (no node reached, a
//! timeout, a 5xx, a refusal of the whole request) gives each operation that failure. A bulk
//! applies its items in order on each shard, so two operations on one document in one bulk are
//! applied one after the other, as two requests would be; a guarded write decided on the
//! version the other changed then conflicts and is decided again.
//!
//! Visibility: the grouped request refreshes as the strongest of its operations asks
//! (`true` over `wait_for` over `false`), so every operation that asked for `refresh=true` is
//! visible to search when it answers, with one refresh for the whole group.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::web::Bytes;
use elasticsearch::http::headers::HeaderValue;
use elasticsearch::http::Method;
use serde_json::{json, Map, Value};
use tokio::sync::oneshot;

use super::{Cluster, ClusterAnswer, Forwarded};
use crate::config::GroupCommit;
use crate::error::{ApiError, ErrorType};

/// What a write does to its document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteAction {
    /// `_update`: a partial document or a script.
    Update,
    /// `_doc`: the whole document, created or replaced.
    Index,
    /// `_create`: the whole document, only when there is none.
    Create,
    /// `_doc` deleted.
    Delete,
}

/// One write to one document, as the cluster's single-document APIs take it.
#[derive(Debug, Clone)]
pub(crate) struct DocWrite {
    /// The name the request is measured under when it goes alone (`update`, `index`, `delete`).
    pub operation: &'static str,
    pub action: WriteAction,
    /// Percent-encoding is done here; these are the plain names.
    pub index: String,
    pub id: String,
    pub refresh: &'static str,
    pub require_alias: bool,
    pub retry_on_conflict: Option<u32>,
    /// `if_seq_no` and `if_primary_term`: the write lands only on that version.
    pub version: Option<(i64, i64)>,
    /// The fields of the updated document an update answer carries (comma-separated).
    pub source: Option<String>,
    /// The JSON body (none for a delete), compact: one line.
    pub body: Option<Bytes>,
}

/// One realtime read of one document.
#[derive(Debug, Clone)]
pub(crate) struct DocRead {
    pub index: String,
    pub id: String,
    /// The fields to read (comma-separated); the whole document when none.
    pub source: Option<String>,
}

type Answer = Result<ClusterAnswer, ApiError>;

enum Op {
    Write(DocWrite),
    Read(DocRead),
}

impl Op {
    /// The operation as a request of its own.
    async fn send(&self, cluster: &Cluster, forwarded: &Forwarded) -> Answer {
        match self {
            Self::Write(write) => write.send(cluster, forwarded).await,
            Self::Read(read) => read.send(cluster, forwarded).await,
        }
    }

    /// The bytes it adds to a grouped request, roughly: its body and its metadata.
    fn size(&self) -> usize {
        match self {
            Self::Write(write) => {
                write.body.as_ref().map_or(0, Bytes::len) + write.index.len() + write.id.len() + 96
            }
            Self::Read(read) => read.index.len() + read.id.len() + 64,
        }
    }
}

struct Queued {
    op: Op,
    forwarded: Forwarded,
    reply: oneshot::Sender<Answer>,
}

/// The caller's credentials: operations of different callers never share a request.
type Key = Option<HeaderValue>;

/// The lanes of one kind: a lane is in the map while a request of it is in flight.
#[derive(Default)]
struct Lanes(Mutex<HashMap<Key, Lane>>);

#[derive(Default)]
struct Lane {
    /// Requests in flight (slots taken): a lone operation's, sent from its caller's task, or a
    /// group's, sent by a task of its own (`Batcher::drive`).
    in_flight: usize,
    /// The operations waiting for the next request.
    waiting: VecDeque<Queued>,
}

impl Lanes {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Lane>> {
        // Nothing panics while the lock is held; a poisoned map is still consistent.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bulk,
    Mget,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Bulk => "bulk",
            Self::Mget => "mget",
        }
    }
}

/// Group commit of one cluster's document writes and reads.
pub(crate) struct Batcher {
    cluster: Arc<Cluster>,
    bounds: GroupCommit,
    /// Requests of one lane in flight at once: one per configured node, so that a node that
    /// hangs holds up only the requests sent to it (as without group commit), not every write
    /// queued behind it. With one node, one.
    depth: usize,
    writes: Lanes,
    reads: Lanes,
}

impl Batcher {
    pub(crate) fn new(cluster: Arc<Cluster>, bounds: GroupCommit) -> Arc<Self> {
        let depth = cluster.nodes().max(1);
        Arc::new(Self {
            cluster,
            bounds,
            depth,
            writes: Lanes::default(),
            reads: Lanes::default(),
        })
    }

    /// Sends the write, alone or with others that arrive together; its answer as a request of
    /// its own would have it.
    pub(crate) async fn write(self: &Arc<Self>, write: DocWrite, forwarded: &Forwarded) -> Answer {
        self.submit(Kind::Bulk, Op::Write(write), forwarded).await
    }

    /// Reads the document, alone or with others that arrive together; the answer as a
    /// realtime GET would have it.
    pub(crate) async fn read(self: &Arc<Self>, read: DocRead, forwarded: &Forwarded) -> Answer {
        self.submit(Kind::Mget, Op::Read(read), forwarded).await
    }

    fn lanes(&self, kind: Kind) -> &Lanes {
        match kind {
            Kind::Bulk => &self.writes,
            Kind::Mget => &self.reads,
        }
    }

    async fn submit(self: &Arc<Self>, kind: Kind, op: Op, forwarded: &Forwarded) -> Answer {
        let key = forwarded.authorization();
        // The operation back when the lane has room for it, or where its answer will come.
        let entered = {
            let mut lanes = self.lanes(kind).lock();
            let lane = lanes.entry(key.clone()).or_default();
            if lane.in_flight < self.depth {
                lane.in_flight += 1;
                Ok(op)
            } else {
                let (sender, reply) = oneshot::channel();
                lane.waiting.push_back(Queued {
                    op,
                    forwarded: forwarded.clone(),
                    reply: sender,
                });
                Err(reply)
            }
        };
        let reply = match entered {
            Err(reply) => reply,
            Ok(op) => {
                // The lane had room: the operation goes at once, from the caller's own task, as it
                // would without group commit. The slot passes on when it ends, however it ends (a
                // client that disconnects drops this future): to a task sending those that queued
                // behind it meanwhile, or back to the lane.
                let _slot = Slot::new(self, kind, key);
                self.cluster.metrics().observe_batch(kind.name(), 1);
                return op.send(&self.cluster, forwarded).await;
            }
        };
        reply.await.unwrap_or_else(|_| {
            Err(ApiError::new(
                ErrorType::Internal,
                "the group commit of this write ended without an answer",
            ))
        })
    }

    /// Sends the lane's queued operations, a group at a time, until none waits. It holds one
    /// of the lane's slots throughout, and hands it on if it ends early.
    async fn drive(self: Arc<Self>, kind: Kind, key: Key, mut batch: Vec<Queued>) {
        let mut slot = Slot::new(&self, kind, key);
        loop {
            self.send(kind, batch).await;
            match slot.next() {
                Some(next) => batch = next,
                None => return,
            }
        }
    }

    /// With one of the lane's slots held: the next group if any operation waits, or else the
    /// slot given back — in one step under the lane's lock, so that an operation that queues
    /// is never left behind by a slot about to be given back.
    fn next_or_release(&self, kind: Kind, key: &Key) -> Option<Vec<Queued>> {
        let mut lanes = self.lanes(kind).lock();
        let lane = lanes.get_mut(key)?;
        if !lane.waiting.is_empty() {
            return Some(self.take(&mut lane.waiting));
        }
        lane.in_flight = lane.in_flight.saturating_sub(1);
        if lane.in_flight == 0 {
            lanes.remove(key);
        }
        None
    }

    /// The next group: at least one operation, then as many as the bounds allow, in order.
    fn take(&self, waiting: &mut VecDeque<Queued>) -> Vec<Queued> {
        let mut batch = Vec::new();
        let mut bytes = 0;
        while let Some(next) = waiting.front() {
            let size = next.op.size();
            if !batch.is_empty()
                && (batch.len() >= self.bounds.max_items || bytes + size > self.bounds.max_bytes)
            {
                break;
            }
            bytes += size;
            batch.extend(waiting.pop_front());
        }
        batch
    }

    async fn send(&self, kind: Kind, mut batch: Vec<Queued>) {
        self.cluster.metrics().observe_batch(kind.name(), batch.len());
        if batch.len() == 1 {
            let queued = batch.pop().expect("one operation");
            let answer = queued.op.send(&self.cluster, &queued.forwarded).await;
            let _ = queued.reply.send(answer);
            return;
        }
        let forwarded = Forwarded::shared(batch.iter().map(|queued| &queued.forwarded));
        let answers = match kind {
            Kind::Bulk => self.bulk(&batch, &forwarded).await,
            Kind::Mget => self.mget(&batch, &forwarded).await,
        };
        for (queued, answer) in batch.into_iter().zip(answers) {
            // The caller may have gone away; its operation was done all the same.
            let _ = queued.reply.send(answer);
        }
    }

    /// The writes as one bulk request; an answer per write, in order.
    async fn bulk(&self, batch: &[Queued], forwarded: &Forwarded) -> Vec<Answer> {
        let writes: Vec<&DocWrite> = batch
            .iter()
            .filter_map(|queued| match &queued.op {
                Op::Write(write) => Some(write),
                Op::Read(_) => None,
            })
            .collect();
        let refresh = strongest_refresh(writes.iter().map(|write| write.refresh));
        let mut body = Vec::with_capacity(batch.iter().map(|queued| queued.op.size()).sum());
        for write in &writes {
            write.bulk_lines(&mut body);
        }
        let body = Bytes::from(body);
        let reply = self
            .cluster
            .call(
                "bulk",
                forwarded,
                Method::Post,
                "/_bulk",
                &[("refresh", refresh)],
                Some(&body),
            )
            .await;
        let reply = match reply {
            Ok(reply) if reply.status == 200 => reply,
            whole => return self.unless_refused(batch, vec![whole; batch.len()]).await,
        };
        let items = reply.parse::<BulkAnswer>().map(|answer| answer.items);
        let answers = match items {
            Some(items) if items.len() == batch.len() => {
                items.into_iter().map(|item| Ok(item_answer(item))).collect()
            }
            _ => {
                let err = crate::documents::unexpected(&reply);
                vec![Err(err); batch.len()]
            }
        };
        self.unless_refused(batch, answers).await
    }

    /// The answers, except that an operation whose answer refuses the caller (401, or 403 for
    /// its privileges) is sent again alone: such an answer names the request it refused (a bulk,
    /// a multi-get), and the caller is to read its own request there. A refused operation wrote
    /// nothing, so sending it again is safe. Sent at once, side by side.
    async fn unless_refused(&self, batch: &[Queued], mut answers: Vec<Answer>) -> Vec<Answer> {
        let mut again = Vec::new();
        for (at, (queued, answer)) in batch.iter().zip(&answers).enumerate() {
            if refuses_caller(answer) {
                let cluster = self.cluster.clone();
                let forwarded = queued.forwarded.clone();
                let alone = match &queued.op {
                    Op::Write(write) => {
                        let write = write.clone();
                        tokio::spawn(async move { write.send(&cluster, &forwarded).await })
                    }
                    Op::Read(read) => {
                        let read = read.clone();
                        tokio::spawn(async move { read.send(&cluster, &forwarded).await })
                    }
                };
                again.push((at, alone));
            }
        }
        for (at, alone) in again {
            if let Ok(answer) = alone.await {
                answers[at] = answer;
            }
        }
        answers
    }

    /// The reads as one multi-get; an answer per read, in order. A read whose item the
    /// multi-get answers with an error other than a missing index is sent again alone, so that
    /// it gets the status and body a GET gives.
    async fn mget(&self, batch: &[Queued], forwarded: &Forwarded) -> Vec<Answer> {
        let reads: Vec<&DocRead> = batch
            .iter()
            .filter_map(|queued| match &queued.op {
                Op::Read(read) => Some(read),
                Op::Write(_) => None,
            })
            .collect();
        let docs: Vec<Value> = reads.iter().map(|read| read.mget_doc()).collect();
        let body = Bytes::from(json!({ "docs": docs }).to_string());
        let reply = self
            .cluster
            .call(
                "mget",
                forwarded,
                Method::Post,
                "/_mget",
                &[("realtime", "true")],
                Some(&body),
            )
            .await;
        let reply = match reply {
            Ok(reply) if reply.status == 200 => reply,
            whole => return self.unless_refused(batch, vec![whole; batch.len()]).await,
        };
        let docs = reply
            .parse::<MgetAnswer>()
            .map(|answer| answer.docs)
            .filter(|docs| docs.len() == batch.len());
        let Some(docs) = docs else {
            let err = crate::documents::unexpected(&reply);
            return vec![Err(err); batch.len()];
        };
        let mut answers = Vec::with_capacity(batch.len());
        for (doc, queued) in docs.into_iter().zip(batch) {
            let answer = match doc_answer(doc) {
                Some(answer) => Ok(answer),
                None => match &queued.op {
                    Op::Read(read) => read.send(&self.cluster, &queued.forwarded).await,
                    Op::Write(_) => unreachable!("the reads lane holds reads"),
                },
            };
            answers.push(answer);
        }
        answers
    }
}

/// One of a lane's slots (a request in flight), held by the task sending it. Dropped, it passes
/// on: to a new task for the operations that queued meanwhile, or back to the lane. So a caller
/// that goes away mid-request, or a task that ends early, never strands the operations waiting
/// behind it.
struct Slot<'a> {
    batcher: &'a Arc<Batcher>,
    kind: Kind,
    key: Key,
    /// False once given back.
    held: bool,
}

impl<'a> Slot<'a> {
    fn new(batcher: &'a Arc<Batcher>, kind: Kind, key: Key) -> Self {
        Self {
            batcher,
            kind,
            key,
            held: true,
        }
    }

    /// Keeps the slot for the next group, or gives it back when none waits.
    fn next(&mut self) -> Option<Vec<Queued>> {
        let next = self.batcher.next_or_release(self.kind, &self.key);
        self.held = next.is_some();
        next
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if !self.held {
            return;
        }
        let runtime = tokio::runtime::Handle::try_current();
        while let Some(batch) = self.batcher.next_or_release(self.kind, &self.key) {
            match &runtime {
                Ok(runtime) => {
                    let driver = self.batcher.clone().drive(self.kind, self.key.clone(), batch);
                    runtime.spawn(driver);
                    return;
                }
                // No runtime left to send them (the process is stopping): each gets an error
                // answer as its reply is dropped, until the slot goes back.
                Err(_) => drop(batch),
            }
        }
    }
}

impl DocWrite {
    /// The write as a request of its own.
    pub(crate) async fn send(&self, cluster: &Cluster, forwarded: &Forwarded) -> Answer {
        let (method, endpoint) = match self.action {
            WriteAction::Update => (Method::Post, "_update"),
            WriteAction::Index => (Method::Put, "_doc"),
            WriteAction::Create => (Method::Put, "_create"),
            WriteAction::Delete => (Method::Delete, "_doc"),
        };
        let path = crate::documents::doc_path(&self.index, endpoint, &self.id);
        let retries = self.retry_on_conflict.map(|retries| retries.to_string());
        let version = self
            .version
            .map(|(seq_no, primary_term)| (seq_no.to_string(), primary_term.to_string()));
        let mut query = vec![("refresh", self.refresh)];
        if self.require_alias {
            query.push(("require_alias", "true"));
        }
        if let Some(retries) = &retries {
            query.push(("retry_on_conflict", retries));
        }
        if let Some((seq_no, primary_term)) = &version {
            query.push(("if_seq_no", seq_no));
            query.push(("if_primary_term", primary_term));
        }
        if let Some(source) = &self.source {
            query.push(("_source", source));
        }
        cluster
            .call(
                self.operation,
                forwarded,
                method,
                &path,
                &query,
                self.body.as_ref(),
            )
            .await
    }

    /// The write as bulk lines: its action and metadata, then its body (none for a delete).
    fn bulk_lines(&self, out: &mut Vec<u8>) {
        let action = match self.action {
            WriteAction::Update => "update",
            WriteAction::Index => "index",
            WriteAction::Create => "create",
            WriteAction::Delete => "delete",
        };
        let mut meta = Map::new();
        meta.insert("_index".to_owned(), self.index.clone().into());
        meta.insert("_id".to_owned(), self.id.clone().into());
        if let Some(retries) = self.retry_on_conflict {
            meta.insert("retry_on_conflict".to_owned(), retries.into());
        }
        if let Some((seq_no, primary_term)) = self.version {
            meta.insert("if_seq_no".to_owned(), seq_no.into());
            meta.insert("if_primary_term".to_owned(), primary_term.into());
        }
        if self.require_alias {
            meta.insert("require_alias".to_owned(), true.into());
        }
        let line = json!({ action: meta });
        serde_json::to_writer(&mut *out, &line).expect("JSON values serialize");
        out.push(b'\n');
        let Some(body) = &self.body else { return };
        match (&self.source, body.first()) {
            // The fields an update answer carries are part of the update's body in a bulk.
            (Some(source), Some(b'{')) => {
                out.extend_from_slice(br#"{"_source":"#);
                serde_json::to_writer(&mut *out, &fields(source)).expect("strings serialize");
                if body.len() > 2 {
                    out.push(b',');
                }
                out.extend_from_slice(&body[1..]);
            }
            _ => out.extend_from_slice(body),
        }
        out.push(b'\n');
    }
}

impl DocRead {
    /// The read as a realtime GET of its own.
    pub(crate) async fn send(&self, cluster: &Cluster, forwarded: &Forwarded) -> Answer {
        let path = crate::documents::doc_path(&self.index, "_doc", &self.id);
        let mut query = vec![("realtime", "true")];
        if let Some(fields) = &self.source {
            query.push(("_source", fields));
        }
        cluster
            .call("get", forwarded, Method::Get, &path, &query, None)
            .await
    }

    fn mget_doc(&self) -> Value {
        let mut doc = json!({ "_index": self.index, "_id": self.id });
        if let Some(source) = &self.source {
            doc["_source"] = fields(source).into();
        }
        doc
    }
}

fn fields(list: &str) -> Vec<&str> {
    list.split(',').filter(|field| !field.is_empty()).collect()
}

/// `true` if any asks for it, else `wait_for` if any asks for that, else `false`.
fn strongest_refresh<'a>(asked: impl Iterator<Item = &'a str>) -> &'static str {
    let mut strongest = "false";
    for refresh in asked {
        match refresh {
            "true" => return "true",
            "wait_for" => strongest = "wait_for",
            _ => {}
        }
    }
    strongest
}

#[derive(serde::Deserialize)]
struct BulkAnswer {
    items: Vec<Map<String, Value>>,
}

#[derive(serde::Deserialize)]
struct MgetAnswer {
    docs: Vec<Map<String, Value>>,
}

/// A bulk item as the answer a single request gives: its status, and its body (a success as
/// is; an error as the error body of a single request).
fn item_answer(item: Map<String, Value>) -> ClusterAnswer {
    let item = item
        .into_iter()
        .next()
        .map(|(_, item)| item)
        .unwrap_or(Value::Null);
    let status = item["status"]
        .as_u64()
        .and_then(|status| u16::try_from(status).ok())
        .unwrap_or(500);
    let body = match item.get("error") {
        Some(error) if status >= 300 => json!({ "error": with_root_cause(error), "status": status }),
        _ => item,
    };
    answer(status, &body)
}

/// A multi-get item as the answer a GET gives, or `None` for an error a GET would answer with
/// a status the item does not carry.
fn doc_answer(doc: Map<String, Value>) -> Option<ClusterAnswer> {
    if let Some(error) = doc.get("error") {
        if error["type"] != "index_not_found_exception" {
            return None;
        }
        return Some(answer(
            404,
            &json!({ "error": with_root_cause(error), "status": 404 }),
        ));
    }
    let status = if doc.get("found") == Some(&Value::Bool(true)) {
        200
    } else {
        404
    };
    Some(answer(status, &Value::Object(doc)))
}

/// Whether the answer refuses the caller: unauthenticated, or not allowed by its privileges
/// (a 403 for a blocked index is about the index, and stays).
fn refuses_caller(answer: &Answer) -> bool {
    match answer {
        Ok(reply) if reply.status == 401 => true,
        Ok(reply) if reply.status == 403 => reply
            .parse::<Value>()
            .is_some_and(|body| body["error"]["type"] == "security_exception"),
        _ => false,
    }
}

fn answer(status: u16, body: &Value) -> ClusterAnswer {
    ClusterAnswer {
        status,
        bytes: Bytes::from(body.to_string()),
        retry_after: None,
        www_authenticate: Vec::new(),
    }
}

/// The error with the `root_cause` a single request's error carries: its innermost cause, with
/// the index it names.
fn with_root_cause(error: &Value) -> Value {
    let mut error = error.clone();
    let Some(fields) = error.as_object_mut() else {
        return error;
    };
    if fields.contains_key("root_cause") {
        return error;
    }
    let mut root = Value::Object(fields.clone());
    while root["caused_by"].is_object() {
        root = root["caused_by"].take();
    }
    let mut cause = Map::new();
    for key in ["type", "reason", "index_uuid", "shard", "index"] {
        if let Some(value) = root.get(key) {
            cause.insert(key.to_owned(), value.clone());
        }
    }
    let mut with = Map::new();
    with.insert("root_cause".to_owned(), json!([cause]));
    with.extend(std::mem::take(fields));
    Value::Object(with)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Settings;
    use crate::metrics::Metrics;

    fn write(action: WriteAction, source: Option<&str>, body: Option<&str>) -> DocWrite {
        DocWrite {
            operation: "update",
            action,
            index: "jobs".to_owned(),
            id: "a\"b".to_owned(),
            refresh: "true",
            require_alias: true,
            retry_on_conflict: Some(3),
            version: None,
            source: source.map(str::to_owned),
            body: body.map(|body| Bytes::from(body.to_owned())),
        }
    }

    fn lines(write: &DocWrite) -> Vec<Value> {
        let mut out = Vec::new();
        write.bulk_lines(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with('\n'));
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// Whether an operation waits in the bulk lane of callers without credentials.
    fn queued(batcher: &Batcher) -> bool {
        let lanes = batcher.writes.lock();
        lanes.get(&None).is_some_and(|lane| !lane.waiting.is_empty())
    }

    #[tokio::test]
    async fn a_slot_dropped_mid_request_hands_the_writes_queued_behind_it_on() {
        // No node listens on port 9: every request gets the answer of an unreachable cluster,
        // quickly; what matters is that the queued write gets one.
        let settings = Settings {
            es_urls: vec!["http://127.0.0.1:9".parse().unwrap()],
            upstream_timeout: Duration::from_secs(5),
            ..Settings::default()
        };
        let cluster = Cluster::connect(&settings, Arc::new(Metrics::new())).unwrap();
        let bounds = settings.group_commit.unwrap();
        let batcher = Batcher::new(Arc::new(cluster), bounds);
        let nobody = Forwarded::from_request(&actix_web::http::header::HeaderMap::new());

        // A caller takes the lane's one slot, as `submit` does for a write that finds it idle...
        batcher.writes.lock().entry(None).or_default().in_flight = 1;
        let slot = Slot::new(&batcher, Kind::Bulk, None);
        // ...and a second write queues behind it.
        let behind = tokio::spawn({
            let (batcher, nobody) = (batcher.clone(), nobody.clone());
            async move {
                batcher
                    .write(write(WriteAction::Update, None, Some("{}")), &nobody)
                    .await
            }
        });
        while !queued(&batcher) {
            tokio::task::yield_now().await;
        }
        // The caller goes away mid-request (its future is dropped).
        drop(slot);

        let answer = tokio::time::timeout(Duration::from_secs(30), behind)
            .await
            .expect("the queued write was stranded")
            .unwrap();
        let err = answer.expect_err("no node listens");
        assert_ne!(err.type_name(), "internal_error", "{}", err.reason());
        assert!(!err.reason().contains("without an answer"), "{}", err.reason());
        // Sent, the lane is gone: a later write finds it idle.
        assert!(batcher.writes.lock().is_empty());
    }

    #[test]
    fn an_update_becomes_its_action_and_its_body_with_the_fields_to_return() {
        let update = write(WriteAction::Update, Some("status,at"), Some(r#"{"doc":{"x":1}}"#));
        assert_eq!(
            lines(&update),
            [
                json!({"update": {"_index": "jobs", "_id": "a\"b", "retry_on_conflict": 3, "require_alias": true}}),
                json!({"_source": ["status", "at"], "doc": {"x": 1}}),
            ]
        );
        let mut guarded = write(WriteAction::Index, None, Some(r#"{"x":1}"#));
        guarded.retry_on_conflict = None;
        guarded.version = Some((7, 2));
        assert_eq!(
            lines(&guarded),
            [
                json!({"index": {"_index": "jobs", "_id": "a\"b", "if_seq_no": 7, "if_primary_term": 2, "require_alias": true}}),
                json!({"x": 1}),
            ]
        );
        let mut delete = write(WriteAction::Delete, None, None);
        delete.retry_on_conflict = None;
        delete.require_alias = false;
        assert_eq!(
            lines(&delete),
            [json!({"delete": {"_index": "jobs", "_id": "a\"b"}})]
        );
    }

    #[test]
    fn the_group_refreshes_as_its_strongest_operation_asks() {
        assert_eq!(strongest_refresh(["false", "wait_for"].into_iter()), "wait_for");
        assert_eq!(
            strongest_refresh(["false", "true", "wait_for"].into_iter()),
            "true"
        );
        assert_eq!(strongest_refresh(["false"].into_iter()), "false");
    }

    #[test]
    fn a_bulk_item_answers_as_a_single_request_would() {
        let ok = item_answer(
            json!({"update": {"_index": "jobs-v1", "_id": "1", "result": "noop", "status": 200}})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(ok.status, 200);
        assert_eq!(ok.body()["result"], "noop");
        let conflict = item_answer(
            json!({"index": {"_index": "jobs-v1", "_id": "1", "status": 409,
                "error": {"type": "version_conflict_engine_exception", "reason": "[1]: version conflict",
                          "index_uuid": "u", "shard": "0", "index": "jobs-v1"}}})
            .as_object()
            .unwrap()
            .clone(),
        );
        assert_eq!(conflict.status, 409);
        assert_eq!(
            conflict.body(),
            json!({"error": {"root_cause": [{"type": "version_conflict_engine_exception", "reason": "[1]: version conflict",
                    "index_uuid": "u", "shard": "0", "index": "jobs-v1"}],
                "type": "version_conflict_engine_exception", "reason": "[1]: version conflict",
                "index_uuid": "u", "shard": "0", "index": "jobs-v1"}, "status": 409})
        );
    }

    #[test]
    fn only_a_refusal_of_the_caller_is_sent_again_alone() {
        let refusal = |status: u16, kind: &str| {
            Ok(answer(
                status,
                &json!({"error": {"type": kind}, "status": status}),
            ))
        };
        assert!(refuses_caller(&refusal(401, "security_exception")));
        assert!(refuses_caller(&refusal(403, "security_exception")));
        assert!(!refuses_caller(&refusal(403, "cluster_block_exception")));
        assert!(!refuses_caller(&refusal(429, "es_rejected_execution_exception")));
        assert!(!refuses_caller(&Err(ApiError::new(
            ErrorType::UpstreamError,
            "x"
        ))));
    }

    #[test]
    fn a_multi_get_item_answers_as_a_get_would_or_is_sent_again() {
        let object = |value: Value| value.as_object().unwrap().clone();
        let found = doc_answer(object(
            json!({"_index": "i", "_id": "1", "found": true, "_seq_no": 1}),
        ))
        .unwrap();
        assert_eq!(found.status, 200);
        let missing = doc_answer(object(json!({"_index": "i", "_id": "1", "found": false}))).unwrap();
        assert_eq!(
            (missing.status, missing.body()),
            (404, json!({"_index": "i", "_id": "1", "found": false}))
        );
        let no_index = doc_answer(object(
            json!({"_index": "i", "_id": "1", "error": {"type": "index_not_found_exception", "reason": "no such index [i]"}}),
        ))
        .unwrap();
        assert_eq!(no_index.status, 404);
        assert_eq!(no_index.body()["error"]["type"], "index_not_found_exception");
        assert!(doc_answer(object(
            json!({"_index": "i", "_id": "1", "error": {"type": "illegal_argument_exception"}})
        ))
        .is_none());
    }
}
