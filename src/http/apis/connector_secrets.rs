//! `/_connector/_secret/...`: the connector secrets APIs, one declaration each, the bodies they
//! read, and Elasticsearch's answer for each `SecretError`. Declared before the connector APIs,
//! which would otherwise read `_secret` as a connector id.

use actix_web::http::{Method, StatusCode};

use crate::connector_secrets::{PostSecret, PutSecret, SecretError};
use crate::documents::Written;
use crate::error::{ApiError, ErrorType};
use crate::http::request::{BodyParser, Fields, Kind};
use crate::http::routes::{ok, Api, Body};
use crate::op;

pub const APIS: &[Api] = &[
    Api {
        name: "post_connector_secret",
        method: Method::POST,
        path: "/_connector/_secret",
        params: &[],
        body: Body::Secret(&POST),
        op: op!(|state, call| {
            let request = PostSecret {
                value: value(&call.body),
            };
            Ok(ok(state.secrets.post(request, &call.forwarded).await?))
        }),
    },
    Api {
        name: "put_connector_secret",
        method: Method::PUT,
        path: "/_connector/_secret/{id}",
        params: &[],
        body: Body::Secret(&PUT),
        op: op!(|state, call| {
            let request = PutSecret {
                value: value(&call.body),
            };
            let (written, answer) = state.secrets.put(call.id(), request, &call.forwarded).await?;
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
        op: op!(|state, call| Ok(ok(state.secrets.get(call.id(), &call.forwarded).await?))),
    },
    Api {
        name: "delete_connector_secret",
        method: Method::DELETE,
        path: "/_connector/_secret/{id}",
        params: &[],
        body: Body::None,
        op: op!(|state, call| Ok(ok(state.secrets.delete(call.id(), &call.forwarded).await?))),
    },
];

/// `POST /_connector/_secret`: `value` may be left out, and is then refused by the validation.
const POST: BodyParser = BodyParser {
    name: "post_secret_request",
    fields: &[("value", Kind::Str)],
    required: &[],
};

/// `PUT /_connector/_secret/{id}`: `value` is a constructor argument there.
const PUT: BodyParser = BodyParser {
    name: "connector_secret_put_request",
    fields: &[("value", Kind::Str)],
    required: &["value"],
};

/// The secret of a post or put body; empty when left out.
fn value(body: &Fields) -> String {
    body.str("value").unwrap_or_default().to_owned()
}

impl From<SecretError> for ApiError {
    fn from(err: SecretError) -> Self {
        match err {
            SecretError::PostWithoutValue => {
                ApiError::validation(
                    ["[value] of the connector secret cannot be [null] or [\"\"]".to_owned()],
                )
            }
            SecretError::PutWithout { id, value } => ApiError::validation(
                [
                    id.then(|| "[id] cannot be [null] or [\"\"]".to_owned()),
                    value.then(|| "[value] cannot be [null] or [\"\"]".to_owned()),
                ]
                .into_iter()
                .flatten(),
            ),
            SecretError::NoId => {
                ApiError::validation(["[id] of the connector secret cannot be null or empty.".to_owned()])
            }
            SecretError::NotFound { id } => {
                ApiError::new(ErrorType::ResourceNotFound, format!("No secret with id [{id}]"))
            }
            SecretError::IndexMissing { index } => ApiError::index_not_found(index),
            SecretError::Cluster(err) => err,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(err: SecretError) -> serde_json::Value {
        ApiError::from(err).body()["error"]["reason"].clone()
    }

    #[test]
    fn a_put_names_each_missing_part() {
        assert_eq!(
            reason(SecretError::PutWithout {
                id: true,
                value: true
            }),
            "Validation Failed: 1: [id] cannot be [null] or [\"\"];2: [value] cannot be [null] or [\"\"];"
        );
        assert_eq!(
            reason(SecretError::PutWithout {
                id: false,
                value: true
            }),
            "Validation Failed: 1: [value] cannot be [null] or [\"\"];"
        );
    }
}
