//! `/_connector/_sync_job/...`: the sync-job APIs, one declaration each.

use actix_web::http::{Method, StatusCode};

use crate::http::routes::{ok, Api, Body};
use crate::op;
use crate::sync_job::transitions::{CLAIM, ERROR, POST, STATS};

pub const APIS: &[Api] = &[
    Api {
        name: "post_connector_sync_job",
        method: Method::POST,
        path: "/_connector/_sync_job",
        params: &[],
        body: Body::Required(&POST),
        op: op!(|state, call| {
            let body = state.jobs.post(&call.body, &call.forwarded).await?;
            Ok((StatusCode::CREATED, body))
        }),
    },
    Api {
        name: "list_connector_sync_jobs",
        method: Method::GET,
        path: "/_connector/_sync_job",
        params: &["from", "size", "connector_id", "status", "job_type"],
        body: Body::None,
        op: op!(|state, call| state.jobs.list(&call.params, &call.forwarded).await.map(ok)),
    },
    Api {
        name: "get_connector_sync_job",
        method: Method::GET,
        path: "/_connector/_sync_job/{connector_sync_job_id}",
        params: &[],
        body: Body::None,
        op: op!(|state, call| state.jobs.get(call.id(), &call.forwarded).await.map(ok)),
    },
    Api {
        name: "delete_connector_sync_job",
        method: Method::DELETE,
        path: "/_connector/_sync_job/{connector_sync_job_id}",
        params: &[],
        body: Body::None,
        op: op!(|state, call| state.jobs.delete(call.id(), &call.forwarded).await.map(ok)),
    },
    Api {
        name: "cancel_connector_sync_job",
        method: Method::PUT,
        path: "/_connector/_sync_job/{connector_sync_job_id}/_cancel",
        params: &[],
        body: Body::None,
        op: op!(|state, call| state.jobs.cancel(call.id(), &call.forwarded).await.map(ok)),
    },
    Api {
        name: "check_in_connector_sync_job",
        method: Method::PUT,
        path: "/_connector/_sync_job/{connector_sync_job_id}/_check_in",
        params: &[],
        body: Body::None,
        op: op!(|state, call| state.jobs.check_in(call.id(), &call.forwarded).await.map(ok)),
    },
    Api {
        name: "claim_connector_sync_job",
        method: Method::PUT,
        path: "/_connector/_sync_job/{connector_sync_job_id}/_claim",
        params: &[],
        body: Body::Required(&CLAIM),
        op: op!(|state, call| state
            .jobs
            .claim(call.id(), &call.body, &call.forwarded)
            .await
            .map(ok)),
    },
    Api {
        name: "set_connector_sync_job_error",
        method: Method::PUT,
        path: "/_connector/_sync_job/{connector_sync_job_id}/_error",
        params: &[],
        body: Body::Required(&ERROR),
        op: op!(|state, call| state
            .jobs
            .error(call.id(), &call.body, &call.forwarded)
            .await
            .map(ok)),
    },
    Api {
        name: "update_connector_sync_job_stats",
        method: Method::PUT,
        path: "/_connector/_sync_job/{connector_sync_job_id}/_stats",
        params: &[],
        body: Body::Required(&STATS),
        op: op!(|state, call| state
            .jobs
            .update_stats(call.id(), &call.body, &call.forwarded)
            .await
            .map(ok)),
    },
];
