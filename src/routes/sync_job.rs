//! `/_connector/_sync_job/...`

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::check_parameters;
use crate::cluster::Forwarded;
use crate::error::{ApiError, ErrorType};
use crate::sync_job::SyncJobs;

/// Elasticsearch refuses document ids longer than this.
const MAX_ID_BYTES: usize = 512;

/// `PUT /_connector/_sync_job/{connector_sync_job_id}/_cancel`
pub async fn cancel_connector_sync_job(
    req: HttpRequest,
    body: web::Bytes,
    jobs: web::Data<SyncJobs>,
) -> Result<HttpResponse, ApiError> {
    check_parameters(&req, &[])?;
    if !body.is_empty() {
        return Err(ApiError::new(
            ErrorType::IllegalArgument,
            format!(
                "request [{} {}] does not support having a body",
                req.method(),
                req.path()
            ),
        ));
    }
    let connector_sync_job_id = connector_sync_job_id(&req)?;
    let forwarded = Forwarded::from_request(req.headers());
    jobs.cancel_connector_sync_job(&connector_sync_job_id, &forwarded)
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "result": "updated" })))
}

/// The id as Elasticsearch sees it: the raw path segment, percent-decoded once.
fn connector_sync_job_id(req: &HttpRequest) -> Result<String, ApiError> {
    let raw = req
        .uri()
        .path()
        .strip_prefix("/_connector/_sync_job/")
        .and_then(|rest| rest.strip_suffix("/_cancel"))
        .unwrap_or_default();
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(raw).collect();
    let id = String::from_utf8(bytes).map_err(|_| {
        ApiError::new(
            ErrorType::IllegalArgument,
            format!("[connector_sync_job_id] [{raw}] is not valid UTF-8 once percent-decoded"),
        )
    })?;
    validate(&id)?;
    Ok(id)
}

fn validate(id: &str) -> Result<(), ApiError> {
    let problem = if id.is_empty() {
        "[connector_sync_job_id] of the connector sync job cannot be null or empty.".to_owned()
    } else if id.len() > MAX_ID_BYTES {
        format!(
            "id [{id}] is too long, must be no longer than {MAX_ID_BYTES} bytes but was: {}",
            id.len()
        )
    } else if id == "." || id == ".." {
        // URL handling resolves such path segments, so the request would reach another path.
        "[connector_sync_job_id] cannot be [.] or [..]".to_owned()
    } else {
        return Ok(());
    };
    Err(ApiError::new(
        ErrorType::ActionRequestValidation,
        format!("Validation Failed: 1: {problem};"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated_as_elasticsearch_does() {
        assert!(validate("abc").is_ok());
        assert!(validate("é").is_ok());
        assert!(validate(&"x".repeat(512)).is_ok());
        let long = validate(&"x".repeat(513)).unwrap_err();
        assert!(long.to_string().contains("but was: 513"), "{long}");
        let empty = validate("").unwrap_err();
        assert_eq!(
            empty.body()["error"]["reason"],
            "Validation Failed: 1: [connector_sync_job_id] of the connector sync job cannot be null or empty.;"
        );
        assert!(validate("..").is_err());
        assert!(validate(".").is_err());
    }
}
