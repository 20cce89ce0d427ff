//! `/_connector/...`: the connector APIs, one declaration each; what their bodies accept is in
//! `bodies.rs` (and the nested `configuration.rs`, `filtering.rs`), and each typed request is
//! built there or here (parameters) from what was read.

mod bodies;
mod configuration;
mod errors;
mod filtering;

use actix_web::http::Method;

use crate::connector::model::Names;
use crate::connector::requests::{DeleteConnector, GetConnector, ListConnectors};
use crate::error::ApiError;
use crate::http::json::{Json, JsonValue};
use crate::http::request::page_bounds;
use crate::http::request::Params;
use crate::http::routes::{ok, Api, Body};
use crate::op;
use bodies::*;

/// A body value naming one of a closed set (null reads as the text `null`, as Elasticsearch
/// passes it on).
fn names(names: &Names, value: &Json) -> Result<(), ApiError> {
    let text = match &value.value {
        JsonValue::String(text) => text.as_str(),
        _ => "null",
    };
    names.parse(text).map(drop).map_err(ApiError::from)
}

fn get_connector(params: &Params) -> Result<GetConnector, ApiError> {
    Ok(GetConnector {
        include_deleted: params.bool("include_deleted", false)?,
    })
}

/// The page is checked here, once the parameters are read and before anything is searched.
fn list_connectors(params: &Params) -> Result<ListConnectors, ApiError> {
    let from = params.int("from", 0)?;
    let size = params.int("size", 100)?;
    let include_deleted = params.bool("include_deleted", false)?;
    page_bounds(from, size)?;
    Ok(ListConnectors {
        from,
        size,
        include_deleted,
        index_names: params.list("index_name").unwrap_or_default(),
        connector_names: params.list("connector_name").unwrap_or_default(),
        service_types: params.list("service_type").unwrap_or_default(),
        query: params
            .get("query")
            .filter(|query| !query.is_empty())
            .map(str::to_owned),
    })
}

fn delete_connector(params: &Params) -> Result<DeleteConnector, ApiError> {
    Ok(DeleteConnector {
        hard: params.bool("hard", false)?,
        delete_sync_jobs: params.bool("delete_sync_jobs", false)?,
    })
}

/// An update of one connector: `PUT /_connector/{connector_id}/<endpoint>` with the body the
/// parser reads, built into the typed request and answered by the operation of the same name.
macro_rules! update {
    ($name:literal, $endpoint:literal, $parser:expr, $operation:ident) => {
        Api {
            name: $name,
            method: Method::PUT,
            path: concat!("/_connector/{connector_id}/", $endpoint),
            params: &[],
            body: Body::Required(&$parser),
            op: op!(|state, call| Ok(ok(state
                .connectors
                .$operation(call.id(), &$operation(&call.body), &call.forwarded)
                .await?))),
        }
    };
}

/// A new connector with a generated id: `PUT /_connector` and `POST /_connector` alike.
const PUT_WITHOUT_ID: crate::http::routes::Op = op!(|state, call| Ok(state
    .connectors
    .put(None, &put_connector(&call.body), &call.forwarded)
    .await?));

pub const APIS: &[Api] = &[
    Api {
        name: "put_connector",
        method: Method::PUT,
        path: "/_connector/{connector_id}",
        params: &[],
        body: Body::Optional(&PUT),
        op: op!(|state, call| Ok(state
            .connectors
            .put(Some(call.id()), &put_connector(&call.body), &call.forwarded)
            .await?)),
    },
    Api {
        name: "put_connector_without_id",
        method: Method::PUT,
        path: "/_connector",
        params: &[],
        body: Body::Optional(&PUT),
        op: PUT_WITHOUT_ID,
    },
    Api {
        name: "post_connector",
        method: Method::POST,
        path: "/_connector",
        params: &[],
        body: Body::Optional(&PUT),
        op: PUT_WITHOUT_ID,
    },
    Api {
        name: "get_connector",
        method: Method::GET,
        path: "/_connector/{connector_id}",
        params: &["include_deleted"],
        body: Body::None,
        op: op!(|state, call| Ok(ok(state
            .connectors
            .get(call.id(), &get_connector(&call.params)?, &call.forwarded)
            .await?))),
    },
    Api {
        name: "list_connector",
        method: Method::GET,
        path: "/_connector",
        params: &[
            "from",
            "size",
            "index_name",
            "connector_name",
            "service_type",
            "query",
            "include_deleted",
        ],
        body: Body::None,
        op: op!(|state, call| Ok(ok(state
            .connectors
            .list(&list_connectors(&call.params)?, &call.forwarded)
            .await?))),
    },
    Api {
        name: "delete_connector",
        method: Method::DELETE,
        path: "/_connector/{connector_id}",
        params: &["hard", "delete_sync_jobs"],
        body: Body::None,
        op: op!(|state, call| Ok(ok(state
            .connectors
            .delete(call.id(), &delete_connector(&call.params)?, &call.forwarded)
            .await?))),
    },
    Api {
        name: "update_connector_last_seen",
        method: Method::PUT,
        path: "/_connector/{connector_id}/_check_in",
        params: &[],
        body: Body::None,
        op: op!(|state, call| Ok(ok(state.connectors.check_in(call.id(), &call.forwarded).await?))),
    },
    Api {
        name: "update_connector_active_filtering",
        method: Method::PUT,
        path: "/_connector/{connector_id}/_filtering/_activate",
        params: &[],
        body: Body::None,
        op: op!(|state, call| Ok(ok(state
            .connectors
            .activate_filtering(call.id(), &call.forwarded)
            .await?))),
    },
    update!(
        "update_connector_api_key_id",
        "_api_key_id",
        API_KEY_ID,
        update_api_key_id
    ),
    update!(
        "update_connector_configuration",
        "_configuration",
        CONFIGURATION,
        update_configuration
    ),
    update!("update_connector_error", "_error", ERROR, update_error),
    update!(
        "update_connector_features",
        "_features",
        FEATURES,
        update_features
    ),
    update!(
        "update_connector_filtering",
        "_filtering",
        FILTERING,
        update_filtering
    ),
    update!(
        "update_connector_filtering_validation",
        "_filtering/_validation",
        FILTERING_VALIDATION,
        update_filtering_validation
    ),
    update!(
        "update_connector_index_name",
        "_index_name",
        INDEX_NAME,
        update_index_name
    ),
    update!(
        "update_connector_last_sync_stats",
        "_last_sync",
        LAST_SYNC,
        update_last_sync
    ),
    update!("update_connector_name", "_name", NAME, update_name),
    update!("update_connector_native", "_native", NATIVE, update_native),
    update!(
        "update_connector_pipeline",
        "_pipeline",
        PIPELINE,
        update_pipeline
    ),
    update!(
        "update_connector_scheduling",
        "_scheduling",
        SCHEDULING,
        update_scheduling
    ),
    update!(
        "update_connector_service_type",
        "_service_type",
        SERVICE_TYPE,
        update_service_type
    ),
    update!("update_connector_status", "_status", STATUS, update_status),
];
