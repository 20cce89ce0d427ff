//! `/_connector/_secret/...`: the connector secrets APIs, one declaration each. Declared before
//! the connector APIs, which would otherwise read `_secret` as a connector id.

use actix_web::http::{Method, StatusCode};

use crate::connector_secrets::{POST, PUT};
use crate::documents::Written;
use crate::http::routes::{ok, Api, Body};
use crate::op;

pub const APIS: &[Api] = &[
    Api {
        name: "post_connector_secret",
        method: Method::POST,
        path: "/_connector/_secret",
        params: &[],
        body: Body::Secret(&POST),
        op: op!(|state, call| state.secrets.post(&call.body, &call.forwarded).await.map(ok)),
    },
    Api {
        name: "put_connector_secret",
        method: Method::PUT,
        path: "/_connector/_secret/{id}",
        params: &[],
        body: Body::Secret(&PUT),
        op: op!(|state, call| {
            let (written, answer) = state.secrets.put(call.id(), &call.body, &call.forwarded).await?;
            let status = match written {
                Written::Created => StatusCode::CREATED,
                Written::Updated => StatusCode::OK,
            };
            Ok((status, answer))
        }),
    },
    Api {
        name: "get_connector_secret",
        method: Method::GET,
        path: "/_connector/_secret/{id}",
        params: &[],
        body: Body::None,
        op: op!(|state, call| state.secrets.get(call.id(), &call.forwarded).await.map(ok)),
    },
    Api {
        name: "delete_connector_secret",
        method: Method::DELETE,
        path: "/_connector/_secret/{id}",
        params: &[],
        body: Body::None,
        op: op!(|state, call| state.secrets.delete(call.id(), &call.forwarded).await.map(ok)),
    },
];
