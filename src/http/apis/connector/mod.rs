//! `/_connector/...`: the connector APIs, one declaration each.

use actix_web::http::Method;

use crate::connector::requests::{
    API_KEY_ID, CONFIGURATION, ERROR, FEATURES, FILTERING, FILTERING_VALIDATION, INDEX_NAME, LAST_SYNC, NAME,
    NATIVE, PIPELINE, PUT, SCHEDULING, SERVICE_TYPE, STATUS,
};
use crate::http::routes::{ok, Api, Body};
use crate::op;

/// An update of one connector: `PUT /_connector/{connector_id}/<endpoint>` with the body the
/// parser reads, answered by the operation of the same name.
macro_rules! update {
    ($name:literal, $endpoint:literal, $parser:expr, $operation:ident) => {
        Api {
            name: $name,
            method: Method::PUT,
            path: concat!("/_connector/{connector_id}/", $endpoint),
            params: &[],
            body: Body::Required(&$parser),
            op: op!(|state, call| state
                .connectors
                .$operation(call.id(), &call.body, &call.forwarded)
                .await
                .map(ok)),
        }
    };
}

pub const APIS: &[Api] = &[
    Api {
        name: "put_connector",
        method: Method::PUT,
        path: "/_connector/{connector_id}",
        params: &[],
        body: Body::Optional(&PUT),
        op: op!(|state, call| state
            .connectors
            .put(Some(call.id()), &call.body, &call.forwarded)
            .await),
    },
    Api {
        name: "put_connector_without_id",
        method: Method::PUT,
        path: "/_connector",
        params: &[],
        body: Body::Optional(&PUT),
        op: op!(|state, call| state.connectors.put(None, &call.body, &call.forwarded).await),
    },
    Api {
        name: "post_connector",
        method: Method::POST,
        path: "/_connector",
        params: &[],
        body: Body::Optional(&PUT),
        op: op!(|state, call| state.connectors.put(None, &call.body, &call.forwarded).await),
    },
    Api {
        name: "get_connector",
        method: Method::GET,
        path: "/_connector/{connector_id}",
        params: &["include_deleted"],
        body: Body::None,
        op: op!(|state, call| state
            .connectors
            .get(call.id(), &call.params, &call.forwarded)
            .await
            .map(ok)),
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
        op: op!(|state, call| state.connectors.list(&call.params, &call.forwarded).await.map(ok)),
    },
    Api {
        name: "delete_connector",
        method: Method::DELETE,
        path: "/_connector/{connector_id}",
        params: &["hard", "delete_sync_jobs"],
        body: Body::None,
        op: op!(|state, call| state
            .connectors
            .delete(call.id(), &call.params, &call.forwarded)
            .await
            .map(ok)),
    },
    Api {
        name: "update_connector_last_seen",
        method: Method::PUT,
        path: "/_connector/{connector_id}/_check_in",
        params: &[],
        body: Body::None,
        op: op!(|state, call| state
            .connectors
            .check_in(call.id(), &call.forwarded)
            .await
            .map(ok)),
    },
    Api {
        name: "update_connector_active_filtering",
        method: Method::PUT,
        path: "/_connector/{connector_id}/_filtering/_activate",
        params: &[],
        body: Body::None,
        op: op!(|state, call| state
            .connectors
            .activate_filtering(call.id(), &call.forwarded)
            .await
            .map(ok)),
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
