//! `/_connector/_sync_job/...`: the sync-job APIs, one declaration each; the bodies they read
//! (Elasticsearch's parsers), the one function per API that builds its typed request from what
//! was read, and Elasticsearch's answer for each `SyncJobError`.

use actix_web::http::{Method, StatusCode};

use crate::error::{ApiError, ErrorType};
use crate::http::request::{page_bounds, parse_error, BodyParser, Fields, Kind, Params};
use crate::http::routes::{ok, Api, Body};
use crate::op;
use crate::sync_job::errors::SyncJobError;
use crate::sync_job::requests::{ClaimJob, Counts, ListJobs, PostJob, SetJobError, UpdateJobStats};
use crate::sync_job::status::ConnectorSyncStatus;
use crate::sync_job::transitions::{JobType, TriggerMethod};
use crate::time::parse_date;

pub const APIS: &[Api] = &[
    Api {
        name: "post_connector_sync_job",
        method: Method::POST,
        path: "/_connector/_sync_job",
        params: &[],
        body: Body::Required(&POST),
        op: op!(|state, call| {
            let body = state.jobs.post(post(&call.body)?, &call.forwarded).await?;
            Ok((StatusCode::CREATED, body))
        }),
    },
    Api {
        name: "list_connector_sync_jobs",
        method: Method::GET,
        path: "/_connector/_sync_job",
        params: &["from", "size", "connector_id", "status", "job_type"],
        body: Body::None,
        op: op!(|state, call| {
            let page = state.jobs.list(list(&call.params)?, &call.forwarded).await?;
            Ok(ok(page))
        }),
    },
    Api {
        name: "get_connector_sync_job",
        method: Method::GET,
        path: "/_connector/_sync_job/{connector_sync_job_id}",
        params: &[],
        body: Body::None,
        op: op!(|state, call| Ok(ok(state.jobs.get(call.id(), &call.forwarded).await?))),
    },
    Api {
        name: "delete_connector_sync_job",
        method: Method::DELETE,
        path: "/_connector/_sync_job/{connector_sync_job_id}",
        params: &[],
        body: Body::None,
        op: op!(|state, call| Ok(ok(state.jobs.delete(call.id(), &call.forwarded).await?))),
    },
    Api {
        name: "cancel_connector_sync_job",
        method: Method::PUT,
        path: "/_connector/_sync_job/{connector_sync_job_id}/_cancel",
        params: &[],
        body: Body::None,
        op: op!(|state, call| Ok(ok(state.jobs.cancel(call.id(), &call.forwarded).await?))),
    },
    Api {
        name: "check_in_connector_sync_job",
        method: Method::PUT,
        path: "/_connector/_sync_job/{connector_sync_job_id}/_check_in",
        params: &[],
        body: Body::None,
        op: op!(|state, call| Ok(ok(state.jobs.check_in(call.id(), &call.forwarded).await?))),
    },
    Api {
        name: "claim_connector_sync_job",
        method: Method::PUT,
        path: "/_connector/_sync_job/{connector_sync_job_id}/_claim",
        params: &[],
        body: Body::Required(&CLAIM),
        op: op!(|state, call| {
            let answer = state
                .jobs
                .claim(call.id(), claim(&call.body), &call.forwarded)
                .await?;
            Ok(ok(answer))
        }),
    },
    Api {
        name: "set_connector_sync_job_error",
        method: Method::PUT,
        path: "/_connector/_sync_job/{connector_sync_job_id}/_error",
        params: &[],
        body: Body::Required(&ERROR),
        op: op!(|state, call| {
            let answer = state
                .jobs
                .error(call.id(), error(&call.body), &call.forwarded)
                .await?;
            Ok(ok(answer))
        }),
    },
    Api {
        name: "update_connector_sync_job_stats",
        method: Method::PUT,
        path: "/_connector/_sync_job/{connector_sync_job_id}/_stats",
        params: &[],
        body: Body::Required(&STATS),
        op: op!(|state, call| {
            let request = update_stats(&call.body)?;
            Ok(ok(state
                .jobs
                .update_stats(call.id(), request, &call.forwarded)
                .await?))
        }),
    },
];

const POST: BodyParser = BodyParser {
    name: "connector_sync_job_post_request",
    fields: &[
        ("id", Kind::Str),
        ("job_type", Kind::Str),
        ("trigger_method", Kind::Str),
    ],
    required: &["id"],
};

const CLAIM: BodyParser = BodyParser {
    name: "claim_connector_sync_job",
    fields: &[("worker_hostname", Kind::Str), ("sync_cursor", Kind::Object)],
    required: &["worker_hostname"],
};

const ERROR: BodyParser = BodyParser {
    name: "connector_sync_job_error_request",
    fields: &[("error", Kind::Str)],
    required: &["error"],
};

const STATS: BodyParser = BodyParser {
    name: "connector_sync_job_update_ingestion_stats",
    fields: &[
        ("deleted_document_count", Kind::Long),
        ("indexed_document_count", Kind::Long),
        ("indexed_document_volume", Kind::Long),
        ("total_document_count", Kind::Long),
        ("last_seen", Kind::StrOrObject),
        ("metadata", Kind::Object),
    ],
    required: &[
        "deleted_document_count",
        "indexed_document_count",
        "indexed_document_volume",
    ],
};

/// A post, with its job type and trigger method read as Elasticsearch's parser reads them: an
/// unknown value fails the build of the request, reported under the last field of the body when
/// every field was given.
fn post(body: &Fields) -> Result<PostJob, ApiError> {
    let job_type = body.str("job_type").map(JobType::parse).transpose();
    let trigger_method = body.str("trigger_method").map(TriggerMethod::parse).transpose();
    let cause = match (job_type, trigger_method) {
        (Ok(job_type), Ok(trigger_method)) => {
            return Ok(PostJob {
                connector_id: body.str("id").unwrap_or_default().to_owned(),
                job_type: job_type.unwrap_or_default(),
                trigger_method: trigger_method.unwrap_or_default(),
            })
        }
        (Err(cause), _) | (_, Err(cause)) => ApiError::from(cause),
    };
    let name = POST.name;
    let build = ApiError::new(
        ErrorType::XContentParse,
        format!("Failed to build [{name}] after last required field arrived"),
    )
    .caused_by(cause);
    match body.last() {
        Some((field, value)) if POST.fields.iter().all(|(name, _)| body.has(name)) => {
            Err(parse_error(value.at, format!("[{name}] failed to parse field [{field}]")).caused_by(build))
        }
        _ => Err(build),
    }
}

/// The list's parameters, in the order Elasticsearch reads them.
fn list(params: &Params) -> Result<ListJobs, ApiError> {
    let from = params.int("from", 0)?;
    let size = params.int("size", 100)?;
    let connector_id = params.get("connector_id").map(str::to_owned);
    let status = params
        .get("status")
        .map(|value| {
            ConnectorSyncStatus::from_param(value)
                .ok_or_else(|| SyncJobError::UnknownStatus(value.to_owned()))
        })
        .transpose()?;
    let job_types = params
        .list("job_type")
        .unwrap_or_default()
        .iter()
        .map(|value| JobType::parse(value))
        .collect::<Result<Vec<_>, _>>()?;
    page_bounds(from, size)?;
    Ok(ListJobs {
        from,
        size,
        connector_id,
        status,
        job_types,
    })
}

fn claim(body: &Fields) -> ClaimJob {
    ClaimJob {
        worker_hostname: body.str("worker_hostname").unwrap_or_default().to_owned(),
        sync_cursor: body.object("sync_cursor"),
    }
}

fn error(body: &Fields) -> SetJobError {
    SetJobError {
        error: body.str("error").unwrap_or_default().to_owned(),
    }
}

/// Stats: the counts are checked before `last_seen` is read, as they always were.
fn update_stats(body: &Fields) -> Result<UpdateJobStats, ApiError> {
    let counts = Counts {
        deleted_document_count: body.long("deleted_document_count").unwrap_or_default(),
        indexed_document_count: body.long("indexed_document_count").unwrap_or_default(),
        indexed_document_volume: body.long("indexed_document_volume").unwrap_or_default(),
        total_document_count: body.long("total_document_count"),
    };
    counts.check()?;
    let last_seen = match body.get("last_seen") {
        None => None,
        Some(value) => {
            let text = body.str("last_seen");
            let instant = text.and_then(parse_date).ok_or_else(|| {
                let cause = match text {
                    Some(text) => format!(
                        "failed to parse date field [{text}] with format [strict_date_optional_time||epoch_millis]"
                    ),
                    None => format!("unexpected token [{}] for [last_seen]", value.token()),
                };
                parse_error(
                    value.at,
                    format!("[{}] failed to parse field [last_seen]", STATS.name),
                )
                .caused_by(ApiError::new(ErrorType::IllegalArgument, cause))
            })?;
            Some(instant)
        }
    };
    Ok(UpdateJobStats {
        counts,
        last_seen,
        metadata: body.object("metadata"),
    })
}

impl From<SyncJobError> for ApiError {
    fn from(err: SyncJobError) -> Self {
        use SyncJobError::*;
        match err {
            NoConnectorId => ApiError::validation(["[id] of the connector cannot be null or empty".to_owned()]),
            NoErrorMessage => ApiError::validation([
                "[error] of the connector sync job cannot be null or empty".to_owned(),
            ]),
            NegativeCounts(names) => {
                ApiError::validation(names.iter().map(|name| format!("[{name}] cannot be negative.")))
            }
            UnknownStatus(value) => ApiError::new(
                ErrorType::IllegalArgument,
                format!("Unknown ConnectorSyncStatus [{value}]."),
            ),
            UnknownJobType(value) => ApiError::new(
                ErrorType::IllegalArgument,
                format!("Unknown ConnectorSyncJobType [{value}]."),
            ),
            UnknownTriggerMethod(value) => ApiError::new(
                ErrorType::IllegalArgument,
                format!("Unknown ConnectorSyncJobTriggerMethod [{value}]."),
            ),
            ConnectorNotFound { connector_id } => ApiError::new(
                ErrorType::ResourceNotFound,
                format!("Connector with id '{connector_id}' does not exist."),
            ),
            ConnectorsIndexMissing { index } => ApiError::index_not_found(&index),
            NoIndexAttached { connector_id } => ApiError::new(
                ErrorType::Status,
                format!("Cannot start a sync for connector [{connector_id}] with no index attached. Set the [index_name] property for the connector to enable syncing data."),
            ),
            NoServiceType { connector_id } => ApiError::new(
                ErrorType::Status,
                format!("Cannot start a sync for connector [{connector_id}] with [service_type] not defined. Set the service type of your connector before starting the sync."),
            ),
            // Elasticsearch names only the id when its read finds no document.
            NoDocument { id } => ApiError::new(ErrorType::ResourceNotFound, id),
            NotFound { id } => ApiError::job_not_found(&id),
            InvalidTransition { from, to } => ApiError::invalid_transition(from.as_str(), to.as_str()),
            UnknownStoredStatus { id, found } => {
                let reason = match found {
                    serde_json::Value::Null => {
                        format!("connector sync job [{id}] has no [status]; it was left unchanged")
                    }
                    serde_json::Value::String(value) => format!(
                        "connector sync job [{id}] has the unknown status [{value}]; it was left unchanged"
                    ),
                    other => format!(
                        "connector sync job [{id}] has the unknown status [{other}]; it was left unchanged"
                    ),
                };
                ApiError::new(ErrorType::IllegalArgument, reason)
            }
            Cluster(err) => err,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sync_job::transitions::CANCEL;

    fn reason(err: SyncJobError) -> String {
        ApiError::from(err).body()["error"]["reason"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn a_refusal_names_both_statuses_or_the_unknown_value() {
        let err = ApiError::from(CANCEL.refusal("j", &json!("completed")));
        assert_eq!(
            err.body()["error"]["reason"],
            "Invalid transition attempt from [completed] to [canceling]. Such a ConnectorSyncStatus transition is not supported by the Connector Protocol."
        );
        assert_eq!(err.type_name(), "status_exception");
        for (found, said) in [
            (
                json!(null),
                "connector sync job [j] has no [status]; it was left unchanged",
            ),
            (
                json!("cancelling"),
                "connector sync job [j] has the unknown status [cancelling]; it was left unchanged",
            ),
            (
                json!(["pending"]),
                "connector sync job [j] has the unknown status [[\"pending\"]]; it was left unchanged",
            ),
        ] {
            let err = ApiError::from(CANCEL.refusal("j", &found));
            assert_eq!(err.type_name(), "illegal_argument_exception", "{found}");
            assert_eq!(err.body()["error"]["reason"], said);
        }
    }

    #[test]
    fn a_body_builds_its_typed_request() {
        let fields = CLAIM
            .parse(br#"{"worker_hostname": "h", "sync_cursor": {"a": 1}}"#)
            .unwrap();
        let request = claim(&fields);
        assert_eq!(request.worker_hostname, "h");
        assert_eq!(request.sync_cursor.unwrap()["a"], 1);
        let fields = STATS
            .parse(br#"{"deleted_document_count": "1", "indexed_document_count": 2, "indexed_document_volume": 3.0, "last_seen": "2026-01-02T03:04:05Z"}"#)
            .unwrap();
        let request = update_stats(&fields).unwrap();
        assert_eq!(
            request.counts.given(),
            [
                ("deleted_document_count", 1),
                ("indexed_document_count", 2),
                ("indexed_document_volume", 3)
            ]
        );
        assert!(request.last_seen.is_some() && request.metadata.is_none());
        let fields = POST
            .parse(br#"{"id": "c", "job_type": "ACCESS_CONTROL"}"#)
            .unwrap();
        assert_eq!(
            post(&fields).unwrap(),
            PostJob {
                connector_id: "c".into(),
                job_type: JobType::AccessControl,
                trigger_method: TriggerMethod::OnDemand
            }
        );
    }

    #[test]
    fn an_unknown_enum_value_fails_the_build_of_a_post() {
        let fields = POST
            .parse(br#"{"id": "c", "trigger_method": "x", "job_type": "full"}"#)
            .unwrap();
        let body = post(&fields).unwrap_err().body();
        assert_eq!(
            body["error"]["reason"],
            "[1:48] [connector_sync_job_post_request] failed to parse field [job_type]"
        );
        assert_eq!(
            body["error"]["caused_by"]["caused_by"]["reason"],
            "Unknown ConnectorSyncJobTriggerMethod [x]."
        );
        let fields = POST.parse(br#"{"id": "c", "job_type": "x"}"#).unwrap();
        assert_eq!(
            post(&fields).unwrap_err().body()["error"]["reason"],
            "Failed to build [connector_sync_job_post_request] after last required field arrived"
        );
    }

    #[test]
    fn list_parameters_are_read_in_order_and_bounded() {
        let read = |query: &str| {
            list(
                &Params::parse(
                    "/_connector/_sync_job",
                    query,
                    &["from", "size", "connector_id", "status", "job_type"],
                )
                .unwrap(),
            )
        };
        assert_eq!(
            read("status=IN_PROGRESS&job_type=full,,incremental&connector_id=c").unwrap(),
            ListJobs {
                from: 0,
                size: 100,
                connector_id: Some("c".into()),
                status: Some(ConnectorSyncStatus::InProgress),
                job_types: vec![JobType::Full, JobType::Incremental],
            }
        );
        let said = |query: &str| read(query).unwrap_err().body()["error"]["reason"].clone();
        assert_eq!(said("status=nope&from=-1"), "Unknown ConnectorSyncStatus [nope].");
        assert_eq!(
            said("job_type=nope&from=-1"),
            "Unknown ConnectorSyncJobType [nope]."
        );
        assert_eq!(said("from=-1&status=pending"), "Parameter [from] cannot be < 0");
        assert_eq!(said("size=-1"), "Parameter [size] cannot be < 0");
    }

    #[test]
    fn validation_errors_keep_elasticsearchs_wording() {
        assert_eq!(
            reason(SyncJobError::NegativeCounts(vec!["a", "b"])),
            "Validation Failed: 1: [a] cannot be negative.;2: [b] cannot be negative.;"
        );
        assert_eq!(reason(SyncJobError::NoDocument { id: "j".into() }), "j");
        assert_eq!(
            reason(SyncJobError::NotFound { id: "j".into() }),
            "connector sync job [j] not found"
        );
    }
}
