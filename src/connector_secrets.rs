//! The connector secrets (`/_connector/_secret`): values a connector keeps out of its own
//! document (an API key), one document each in `.connector-secrets`, read and written as
//! Elasticsearch's `ConnectorSecretsIndexService` does.
//!
//! A secret value never leaves this module except in the answer to `GET`: the request log line
//! holds the method, path and status only, metrics count routes, and every error on the way
//! (the body's parse errors, the cluster's answers to a write) goes through `conceal`, which
//! takes out the places where a parser or the cluster would repeat the value.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::cluster::Forwarded;
use crate::documents::layouts::{Layout, CONNECTOR_SECRETS};
use crate::documents::{Missing, RefreshPolicy, Store, Written};
use crate::error::ApiError;
use crate::ids::base64_uuid;

/// Where the secrets live, as in Elasticsearch (not configurable there either).
pub(crate) const SECRETS_ALIAS: &str = ".connector-secrets";
/// The concrete index behind it, named as Elasticsearch's system index descriptor names it.
const SECRETS_INDEX: &str = ".connector-secrets-1";

/// `POST /_connector/_secret`: a secret under a new id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostSecret {
    /// Empty when left out, and then refused.
    pub value: String,
}

/// `PUT /_connector/_secret/{id}`: a secret under the path's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutSecret {
    /// Empty is refused.
    pub value: String,
}

/// What the secrets domain refuses, as values; the HTTP layer holds Elasticsearch's wording
/// (`http::apis::connector_secrets`).
#[derive(Debug)]
pub enum SecretError {
    /// A post without a value.
    PostWithoutValue,
    /// A put without an id, a value, or both.
    PutWithout { id: bool, value: bool },
    /// A get or delete without an id.
    NoId,
    /// No secret with the id, or one stored without a value.
    NotFound { id: String },
    /// No secret was ever stored: the index does not exist.
    IndexMissing { index: &'static str },
    /// The cluster's own error, concealed when it may hold the value.
    Cluster(ApiError),
}

impl From<ApiError> for SecretError {
    fn from(err: ApiError) -> Self {
        Self::Cluster(err)
    }
}

/// The secrets of one cluster.
pub struct ConnectorSecrets {
    store: Arc<Store>,
    layout: Layout,
}

impl ConnectorSecrets {
    pub fn new(store: Arc<Store>) -> Self {
        Self {
            store,
            layout: Layout::named(CONNECTOR_SECRETS, SECRETS_ALIAS, SECRETS_INDEX),
        }
    }

    /// `POST /_connector/_secret`: the value under a new id. Not refreshed, as in Elasticsearch.
    pub async fn post(&self, request: PostSecret, forwarded: &Forwarded) -> Result<Value, SecretError> {
        let value = request.value;
        if value.is_empty() {
            return Err(SecretError::PostWithoutValue);
        }
        let id = base64_uuid();
        // The id is new, so an existing document with it can only be this request's own
        // earlier attempt, whose answer was lost.
        self.store
            .put_refreshed(
                &self.layout,
                &id,
                &document(&value),
                true,
                RefreshPolicy::Interval,
                forwarded,
            )
            .await
            .map_err(conceal)?;
        Ok(json!({ "id": id }))
    }

    /// `PUT /_connector/_secret/{id}`: creates or replaces the secret, refreshed at once as in
    /// Elasticsearch. 201 `created` or 200 `updated`.
    pub async fn put(
        &self,
        id: &str,
        request: PutSecret,
        forwarded: &Forwarded,
    ) -> Result<(Written, Value), SecretError> {
        let value = request.value;
        if id.is_empty() || value.is_empty() {
            return Err(SecretError::PutWithout {
                id: id.is_empty(),
                value: value.is_empty(),
            });
        }
        let written = self
            .store
            .put_refreshed(
                &self.layout,
                id,
                &document(&value),
                false,
                RefreshPolicy::Immediate,
                forwarded,
            )
            .await
            .map_err(conceal)?
            .unwrap_or(Written::Updated);
        let result = match written {
            Written::Created => "created",
            Written::Updated => "updated",
        };
        Ok((written, json!({ "result": result })))
    }

    /// `GET /_connector/_secret/{id}`: `{"id", "value"}`.
    pub async fn get(&self, id: &str, forwarded: &Forwarded) -> Result<Value, SecretError> {
        require_id(id)?;
        let found = self
            .store
            .get(SECRETS_ALIAS, id, forwarded, Some("value"))
            .await?
            .map_err(|missing| not_found(id, missing))?;
        let value = match found.source.get("value") {
            Some(Value::String(text)) => text.clone(),
            // Elasticsearch answers with the stored value's text, whatever its type.
            Some(other) if !other.is_null() => other.to_string(),
            // Elasticsearch fails with a 500 on a stored secret without a value.
            _ => return Err(SecretError::NotFound { id: id.to_owned() }),
        };
        let mut answer = Map::with_capacity(2);
        answer.insert("id".into(), id.into());
        answer.insert("value".into(), value.into());
        Ok(Value::Object(answer))
    }

    /// `DELETE /_connector/_secret/{id}`: `{"deleted": true}`. Not refreshed, as in
    /// Elasticsearch.
    pub async fn delete(&self, id: &str, forwarded: &Forwarded) -> Result<Value, SecretError> {
        require_id(id)?;
        self.store
            .delete_refreshed(SECRETS_ALIAS, id, RefreshPolicy::Interval, forwarded)
            .await?
            .map_err(|missing| not_found(id, missing))?;
        Ok(json!({ "deleted": true }))
    }
}

/// The stored document: the value and nothing else.
fn document(value: &str) -> Map<String, Value> {
    Map::from_iter([("value".to_owned(), Value::from(value))])
}

/// The validation of a get or delete.
fn require_id(id: &str) -> Result<(), SecretError> {
    if id.is_empty() {
        return Err(SecretError::NoId);
    }
    Ok(())
}

/// A missing secret, or a missing index when no secret was ever stored.
fn not_found(id: &str, missing: Missing) -> SecretError {
    match missing {
        Missing::Document => SecretError::NotFound { id: id.to_owned() },
        Missing::Index => SecretError::IndexMissing { index: SECRETS_ALIAS },
    }
}

/// Where an error repeats what it was given: the value preview and the immense-term prefix a
/// cluster adds to a refused document, and the token or number a JSON parser found. Each is cut
/// (the first two) or masked (the others).
const CUT_AT: [&str; 2] = [
    ". Preview of field's value:",
    " The prefix of the first immense term is:",
];
const MASKED: [(&str, char); 2] = [("Unrecognized token '", '\''), ("Invalid numeric value: [", ']')];
const MASK: &str = "***";

/// The error without any text of the request body or the stored document in it: its reasons,
/// and those of its causes, with the places where parsers and clusters repeat a value taken
/// out. A secret can thus never come back in an error, nor reach the log with one.
pub(crate) fn conceal(err: ApiError) -> ApiError {
    match err {
        ApiError::Own {
            kind,
            reason,
            metadata,
            caused_by,
            headers,
        } => ApiError::Own {
            kind,
            reason: conceal_text(&reason),
            metadata,
            caused_by: caused_by.map(|cause| Box::new(conceal(*cause))),
            headers,
        },
        ApiError::Upstream {
            status,
            mut body,
            headers,
        } => {
            conceal_strings(&mut body);
            ApiError::Upstream {
                status,
                body,
                headers,
            }
        }
    }
}

fn conceal_strings(value: &mut Value) {
    match value {
        Value::String(text) => *text = conceal_text(text),
        Value::Array(items) => items.iter_mut().for_each(conceal_strings),
        Value::Object(entries) => entries.values_mut().for_each(conceal_strings),
        _ => {}
    }
}

fn conceal_text(text: &str) -> String {
    let mut text = text.to_owned();
    for marker in CUT_AT {
        if let Some(at) = text.find(marker) {
            text.truncate(at);
        }
    }
    for (opening, closing) in MASKED {
        let mut from = 0;
        while let Some(found) = text[from..].find(opening) {
            let start = from + found + opening.len();
            let Some(length) = text[start..].find(closing) else {
                text.truncate(start);
                text.push_str(MASK);
                break;
            };
            text.replace_range(start..start + length, MASK);
            from = start + MASK.len() + closing.len_utf8();
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorType;

    #[test]
    fn a_parse_error_does_not_repeat_the_token_it_found() {
        let err = ApiError::new(
            ErrorType::XContentParse,
            "[1:11] Unrecognized token 'hunter2': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
        );
        let reason = conceal(err).body()["error"]["reason"].clone();
        assert_eq!(
            reason,
            "[1:11] Unrecognized token '***': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        );
        let err = ApiError::new(ErrorType::XContentParse, "[1:11] Invalid numeric value: [12345.]");
        assert_eq!(
            conceal(err).body()["error"]["reason"],
            "[1:11] Invalid numeric value: [***]"
        );
    }

    #[test]
    fn a_refused_document_loses_the_preview_of_its_value_at_every_level() {
        let preview = "[1:10] failed to parse field [value] of type [keyword] in document with id '1'. \
                       Preview of field's value: 'SSSSSSSS'";
        let immense = "Document contains at least one immense term in field=\"value\" (whose UTF8 encoding \
                       is longer than the max length 32766), all of which were skipped. Please correct the \
                       analyzer to not produce such terms. The prefix of the first immense term is: '[83, 83]...'";
        let err = ApiError::Upstream {
            status: actix_web::http::StatusCode::BAD_REQUEST,
            body: json!({
                "error": {
                    "root_cause": [{"type": "document_parsing_exception", "reason": preview}],
                    "type": "document_parsing_exception",
                    "reason": preview,
                    "caused_by": {"type": "illegal_argument_exception", "reason": immense},
                },
                "status": 400,
            }),
            headers: Vec::new(),
        };
        let body = conceal(err).body();
        let text = body.to_string();
        assert!(!text.contains("SSSS") && !text.contains("83, 83"), "{text}");
        assert_eq!(
            body["error"]["root_cause"][0]["reason"],
            "[1:10] failed to parse field [value] of type [keyword] in document with id '1'"
        );
        assert!(body["error"]["caused_by"]["reason"]
            .as_str()
            .unwrap()
            .ends_with("Please correct the analyzer to not produce such terms."));
        assert_eq!(body["status"], 400);
    }

    #[test]
    fn errors_without_a_value_are_left_as_they_are() {
        let reason = "action [indices:data/read/get] is unauthorized for user [reader] with effective roles \
                      [connectors_reader] on indices [.connector-secrets]";
        let err = ApiError::new(ErrorType::IllegalArgument, reason);
        assert_eq!(conceal(err).body()["error"]["reason"], reason);
        assert_eq!(conceal_text("Unrecognized token 'abc"), "Unrecognized token '***");
    }
}
