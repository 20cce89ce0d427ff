//! Cancel connector sync job: one atomic step in Elasticsearch, by script or by a write guarded
//! with the sequence number of the version it was decided on.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, SecondsFormat, Utc};
use elasticsearch::{GetParts, UpdateParts};
use serde_json::{json, Value};

use super::status::ConnectorSyncStatus;
use super::transition::{
    cancel_table, cancel_transition, CancelTransition, CANCELATION_REQUESTED_AT, STATUS,
};
use super::SyncJobs;
use crate::cluster::{Forwarded, Reply};
use crate::config::UpdateStrategy;
use crate::error::{ApiError, ErrorType};
use crate::forward_headers;

/// Reads the job's status inside Elasticsearch and applies the row of the cancel table
/// (`params.transitions`) for it; a status without a row leaves the document untouched (`noop`),
/// and the service answers from the status returned with the noop.
pub const CANCEL_SCRIPT: &str = "def updates = params.transitions.get(ctx._source.status); \
if (updates == null) { ctx.op = 'noop'; } else { ctx._source.putAll(updates); }";

/// The fields of the job a cancel asks the cluster to return: the status decides the answer,
/// and the request's own timestamp shows that an earlier attempt of the same request landed.
pub const CANCEL_SOURCE_FIELDS: [&str; 2] = [STATUS, CANCELATION_REQUESTED_AT];

/// Pieces of the error a cluster gives when it cannot run the script: Painless missing, inline
/// scripts forbidden (`script.allowed_types`) or the update context forbidden
/// (`script.allowed_contexts`).
const SCRIPTS_UNAVAILABLE: [&str; 3] = [
    "script_lang not supported",
    "cannot execute [inline] scripts",
    "cannot execute scripts using [update] context",
];

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

impl SyncJobs {
    /// Cancels the job: 200 when the transition was written, otherwise the error Elasticsearch
    /// would answer with. The document is either changed by exactly one transition or not at all.
    pub async fn cancel_connector_sync_job(
        &self,
        connector_sync_job_id: &str,
        forwarded: &Forwarded,
    ) -> Result<(), ApiError> {
        let now = request_stamp();
        match self.strategy {
            UpdateStrategy::Optimistic => {
                self.cancel_optimistically(connector_sync_job_id, &now, forwarded)
                    .await
            }
            UpdateStrategy::Script => match self
                .cancel_with_script(connector_sync_job_id, &now, forwarded)
                .await
            {
                Ok(()) => Ok(()),
                Err(ScriptFailure::Api(err)) => Err(err),
                Err(ScriptFailure::Unavailable(reply)) => {
                    log::error!(
                        "the cluster cannot run the cancel script and update_strategy is script; \
                         use auto or optimistic: {}",
                        reply.body
                    );
                    Err(reply.into_error())
                }
            },
            UpdateStrategy::Auto if self.scripts_unavailable.load(Ordering::Relaxed) => {
                self.cancel_optimistically(connector_sync_job_id, &now, forwarded)
                    .await
            }
            UpdateStrategy::Auto => match self
                .cancel_with_script(connector_sync_job_id, &now, forwarded)
                .await
            {
                Ok(()) => Ok(()),
                Err(ScriptFailure::Api(err)) => Err(err),
                Err(ScriptFailure::Unavailable(reply)) => {
                    if !self.scripts_unavailable.swap(true, Ordering::Relaxed) {
                        self.cluster.metrics().set_strategy("optimistic");
                        log::warn!(
                            "the cluster cannot run the cancel script ({}); switching to optimistic \
                             concurrency (realtime get, then a write guarded by if_seq_no/if_primary_term)",
                            script_error_reason(&reply.body)
                        );
                    }
                    self.cancel_optimistically(connector_sync_job_id, &now, forwarded)
                        .await
                }
            },
        }
    }

    /// One scripted update: the transition is decided and written inside Elasticsearch.
    async fn cancel_with_script(
        &self,
        connector_sync_job_id: &str,
        now: &str,
        forwarded: &Forwarded,
    ) -> Result<(), ScriptFailure> {
        let body = json!({
            "script": {
                "lang": "painless",
                "source": CANCEL_SCRIPT,
                "params": { "transitions": cancel_table(now) },
            }
        });
        let reply = self
            .cluster
            .send("update", |client| {
                let body = body.clone();
                async move {
                    forward_headers!(
                        client.update(UpdateParts::IndexId(&self.index, connector_sync_job_id)),
                        forwarded
                    )
                    .refresh(self.refresh.into())
                    .require_alias(true)
                    .retry_on_conflict(i64::from(self.conflict_retries))
                    ._source(&CANCEL_SOURCE_FIELDS)
                    .body(body)
                    .send()
                    .await
                }
            })
            .await?;
        match reply.status {
            200 => match reply.body["result"].as_str() {
                Some("updated") => Ok(()),
                Some("noop") => match decide(connector_sync_job_id, &reply.body["get"]["_source"], now)? {
                    // An earlier attempt of this same request landed; its answer was lost.
                    Decision::AlreadyDone => Ok(()),
                    Decision::Write(transition) => {
                        debug_assert!(
                            false,
                            "the script left a job unchanged that it should have changed"
                        );
                        log::error!("the cancel script did not apply {transition:?}");
                        Err(unexpected(&reply).into())
                    }
                },
                _ => Err(unexpected(&reply).into()),
            },
            404 => Err(ApiError::job_not_found(connector_sync_job_id).into()),
            409 => Err(self.conflicts_exhausted(connector_sync_job_id).into()),
            400 if cannot_run_script(&reply.body) => Err(ScriptFailure::Unavailable(reply)),
            _ => Err(reply.into_error().into()),
        }
    }

    /// Realtime GET, the transition decided here, then a partial-document update that only
    /// applies if nobody wrote the document since it was read; retried on conflict.
    async fn cancel_optimistically(
        &self,
        connector_sync_job_id: &str,
        now: &str,
        forwarded: &Forwarded,
    ) -> Result<(), ApiError> {
        for _attempt in 0..=self.conflict_retries {
            let read = self
                .cluster
                .send("get", |client| async move {
                    forward_headers!(
                        client.get(GetParts::IndexId(&self.index, connector_sync_job_id)),
                        forwarded
                    )
                    .realtime(true)
                    ._source(&CANCEL_SOURCE_FIELDS)
                    .send()
                    .await
                })
                .await?;
            match read.status {
                200 => {}
                404 => return Err(ApiError::job_not_found(connector_sync_job_id)),
                _ => return Err(read.into_error()),
            }
            let transition = match decide(connector_sync_job_id, &read.body["_source"], now)? {
                Decision::AlreadyDone => return Ok(()),
                Decision::Write(transition) => transition,
            };
            let (Some(seq_no), Some(primary_term)) =
                (read.body["_seq_no"].as_i64(), read.body["_primary_term"].as_i64())
            else {
                return Err(unexpected(&read));
            };
            let doc = Value::Object(transition.partial_document(now));
            let write = self
                .cluster
                .send("update", |client| {
                    let body = json!({ "doc": doc });
                    async move {
                        let update = client.update(UpdateParts::IndexId(&self.index, connector_sync_job_id));
                        forward_headers!(update, forwarded)
                            .if_seq_no(seq_no)
                            .if_primary_term(primary_term)
                            .refresh(self.refresh.into())
                            .require_alias(true)
                            .body(body)
                            .send()
                            .await
                    }
                })
                .await?;
            match write.status {
                200 => return Ok(()),
                // Another writer got there first: read again and decide on its version.
                409 => continue,
                404 => return Err(ApiError::job_not_found(connector_sync_job_id)),
                _ => return Err(write.into_error()),
            }
        }
        Err(self.conflicts_exhausted(connector_sync_job_id))
    }

    fn conflicts_exhausted(&self, connector_sync_job_id: &str) -> ApiError {
        ApiError::new(
            ErrorType::VersionConflictEngine,
            format!(
                "[{connector_sync_job_id}]: the job document kept changing; gave up after {} retries",
                self.conflict_retries
            ),
        )
    }
}

/// What to do with a job, decided from its stored fields.
#[derive(Debug)]
enum Decision {
    Write(CancelTransition),
    /// The job already carries this request's own timestamp: an earlier attempt of this request
    /// landed and only its answer was lost, so the answer is 200 again, not a spurious 400.
    AlreadyDone,
}

/// The transition a cancel makes from the status found in the document (`source`), or the error
/// to answer when there is none: Elasticsearch's `status_exception` for a forbidden transition,
/// and a clear 400 for a status that is missing or not one the connector protocol knows.
fn decide(connector_sync_job_id: &str, source: &Value, stamp: &str) -> Result<Decision, ApiError> {
    let found = source.get(STATUS);
    let Some(from) = found.and_then(Value::as_str).and_then(ConnectorSyncStatus::parse) else {
        let reason = match found {
            None | Some(Value::Null) => {
                format!("connector sync job [{connector_sync_job_id}] has no [status]; it was left unchanged")
            }
            Some(value) => format!(
                "connector sync job [{connector_sync_job_id}] has the unknown status [{}]; it was left unchanged",
                value.as_str().map_or_else(|| value.to_string(), str::to_owned)
            ),
        };
        return Err(ApiError::new(ErrorType::IllegalArgument, reason));
    };
    match cancel_transition(from) {
        Ok(transition) => Ok(Decision::Write(transition)),
        Err(_) if source.get(CANCELATION_REQUESTED_AT).and_then(Value::as_str) == Some(stamp) => {
            Ok(Decision::AlreadyDone)
        }
        Err(to) => Err(ApiError::invalid_transition(from.as_str(), to.as_str())),
    }
}

/// The timestamp of one cancel request: UTC with nanoseconds, strictly increasing within this
/// process, so that it also identifies the request when its answer is lost and it is sent again.
pub fn request_stamp() -> String {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let previous = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last + 1))
        })
        .unwrap_or_default();
    let stamp = now.max(previous + 1);
    DateTime::<Utc>::from_timestamp_nanos(stamp).to_rfc3339_opts(SecondsFormat::Nanos, true)
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

fn unexpected(reply: &Reply) -> ApiError {
    log::error!(
        "unexpected answer from the cluster ({}): {}",
        reply.status,
        reply.body
    );
    ApiError::new(
        ErrorType::UpstreamError,
        format!(
            "the Elasticsearch cluster gave an unexpected answer ({})",
            reply.status
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAMP: &str = "2026-11-29T03:07:58.048123456Z";

    #[test]
    fn a_forbidden_transition_names_both_statuses() {
        let err = decide("j", &json!({"status": "completed"}), STAMP).unwrap_err();
        assert_eq!(
            err.body()["error"]["reason"],
            "Invalid transition attempt from [completed] to [canceling]. Such a ConnectorSyncStatus transition is not supported by the Connector Protocol."
        );
    }

    #[test]
    fn a_missing_or_unknown_status_is_refused() {
        let sources = [
            json!({}),
            json!({"status": null}),
            json!({"status": "cancelling"}),
            json!({"status": ["pending"]}),
        ];
        for source in sources {
            let err = decide("j", &source, STAMP).unwrap_err();
            assert_eq!(err.type_name(), "illegal_argument_exception", "{source}");
        }
    }

    #[test]
    fn a_job_carrying_this_requests_stamp_was_canceled_by_it() {
        let landed = json!({"status": "canceling", "cancelation_requested_at": STAMP});
        assert!(matches!(decide("j", &landed, STAMP), Ok(Decision::AlreadyDone)));
        let other =
            json!({"status": "canceling", "cancelation_requested_at": "2026-01-01T00:00:00.000000001Z"});
        assert!(decide("j", &other, STAMP).is_err());
    }

    #[test]
    fn request_stamps_are_unique_and_utc() {
        let stamps: Vec<String> = (0..1000).map(|_| request_stamp()).collect();
        let unique: std::collections::BTreeSet<&String> = stamps.iter().collect();
        assert_eq!(unique.len(), stamps.len());
        assert!(
            stamps
                .iter()
                .all(|stamp| stamp.ends_with('Z') && stamp.len() == 30),
            "{}",
            stamps[0]
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
