//! The authorization step at the HTTP edge, for the service's own connector APIs (pass-through
//! never comes here). In `cluster_privileges` mode it does what Elasticsearch does before one
//! of its connector actions runs: the caller is authenticated by the cluster (401 as the cluster
//! answers, naming the request's own URI), the request is read and validated (400), and the
//! caller must hold a cluster privilege that grants the API's action (`table`), or the answer is
//! Elasticsearch's 403. The operation then reaches the cluster with the service credentials.
//! The cluster's answer about a caller is kept for `privilege_cache_ttl` (`cache`). In
//! `forward` mode the caller's own credentials go on to the cluster, as they always did.

mod cache;
pub mod table;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::AUTHORIZATION;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::HttpRequest;
use elasticsearch::http::Method;
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use crate::cluster::{Cluster, ClusterAnswer, Forwarded};
use crate::config::{self, Settings};
use crate::error::{ApiError, ErrorType};

use cache::Cache;

/// How the connector APIs are authorised, once decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    ClusterPrivileges,
    Forward,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::ClusterPrivileges => "cluster_privileges",
            Self::Forward => "forward",
        }
    }
}

/// What the cluster said about one caller: who it is, as Elasticsearch's denial message
/// describes it, and which actions of the table it may run.
#[derive(Debug)]
pub struct Grant {
    /// `user [mon] with effective roles [connector_monitor]`, `API key id [..] of user [..]`,
    /// `service account [..]`.
    caller: String,
    allowed: Vec<&'static str>,
}

/// A caller past authentication.
pub enum Caller {
    /// `forward` mode: the request's own headers go on.
    Forward(Forwarded),
    /// `cluster_privileges` mode: authenticated by the cluster, to be authorised per API.
    Checked { grant: Arc<Grant>, forwarded: Forwarded },
}

/// The `Authorization` value sent for a request that brings none, so that the cluster answers
/// as it answers a request without credentials (no realm reads this scheme): its 401 with its
/// challenges, or its anonymous user where that is enabled.
const NO_CREDENTIALS: &[u8] = b"ConnectorSyncProxy no-credentials";
const AUTHENTICATE: &str = "/_security/_authenticate";
const HAS_PRIVILEGES: &str = "/_security/user/_has_privileges";
/// Time between two attempts of `auto` to reach the cluster at start-up.
const RETRY: Duration = Duration::from_secs(5);

pub struct Authorization {
    setting: config::Authorization,
    service_credentials: bool,
    mode: OnceCell<Mode>,
    cache: Cache,
    /// The body of the privileges question: every action of the table and the connector
    /// privileges. Asked for an action name alone the cluster tests the pattern `<action>*`,
    /// which a caller holding only the named privilege that grants the action does not hold; so
    /// both are asked, and either grants.
    question: Bytes,
}

impl Authorization {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let cluster: Vec<&str> = table::actions().into_iter().chain(table::NAMED).collect();
        Ok(Self {
            setting: settings.authorization,
            service_credentials: settings.credentials.is_some(),
            mode: OnceCell::new(),
            cache: Cache::new(settings.privilege_cache_ttl)?,
            question: Bytes::from(json!({ "cluster": cluster }).to_string()),
        })
    }

    /// Decides the mode now (`auto` asks the cluster, again every few seconds while it cannot
    /// be reached) and says which in one log line.
    pub async fn settle(self: Arc<Self>, cluster: &Cluster) {
        loop {
            match self.mode(cluster).await {
                Ok(_) => return,
                Err(err) => {
                    log::warn!(
                        "authorization auto: cannot ask the cluster whether it has security on, trying again in {}s: {}",
                        RETRY.as_secs(),
                        err.reason()
                    );
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }

    async fn mode(&self, cluster: &Cluster) -> Result<Mode, ApiError> {
        self.mode
            .get_or_try_init(|| async {
                let (mode, why) = self.decide(cluster).await?;
                log::info!("authorization {}: {why}", mode.name());
                Ok(mode)
            })
            .await
            .copied()
    }

    async fn decide(&self, cluster: &Cluster) -> Result<(Mode, String), ApiError> {
        match self.setting {
            config::Authorization::ClusterPrivileges => {
                return Ok((
                    Mode::ClusterPrivileges,
                    "set; callers need Elasticsearch's connector cluster privileges".to_owned(),
                ))
            }
            config::Authorization::Forward => {
                return Ok((
                    Mode::Forward,
                    "set; the caller's credentials go to the cluster".to_owned(),
                ))
            }
            config::Authorization::Auto if !self.service_credentials => {
                return Ok((
                    Mode::Forward,
                    "chosen by auto: no service credentials are configured, so the caller's credentials go to the cluster".to_owned(),
                ))
            }
            config::Authorization::Auto => {}
        }
        let question = Bytes::from(json!({ "cluster": table::NAMED }).to_string());
        let answer = cluster
            .call(
                "has_privileges",
                &Forwarded::default(),
                Method::Post,
                HAS_PRIVILEGES,
                &[],
                Some(&question),
            )
            .await?;
        if answer.status >= 500 {
            return Err(answer.into_error());
        }
        let body = answer.body();
        let said = || match &body["error"] {
            Value::Object(error) => error
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            Value::String(text) => text.clone(),
            _ => String::new(),
        };
        Ok(match answer.status {
            200 => (
                Mode::ClusterPrivileges,
                "chosen by auto: the cluster has security on and knows the connector privileges; callers need them, the service credentials read and write the connector indices".to_owned(),
            ),
            401 | 403 => {
                log::warn!(
                    "the cluster refuses the service credentials ({}): {}",
                    answer.status,
                    said()
                );
                (
                    Mode::Forward,
                    format!(
                        "chosen by auto: the cluster has security on but refused the service credentials ({}), so the caller's credentials go to the cluster",
                        answer.status
                    ),
                )
            }
            status => (
                Mode::Forward,
                format!(
                    "chosen by auto: the cluster has no security or no connector privileges ({status}: {}), so the caller's credentials go to the cluster",
                    said()
                ),
            ),
        })
    }

    /// Authentication, before the request is read: Elasticsearch authenticates at its REST
    /// layer, before any handler parses the body.
    pub async fn authenticate(&self, cluster: &Cluster, req: &HttpRequest) -> Result<Caller, ApiError> {
        let forwarded = Forwarded::from_request(req.headers());
        if self.mode(cluster).await? == Mode::Forward {
            return Ok(Caller::Forward(forwarded));
        }
        let credentials = req
            .headers()
            .get(AUTHORIZATION)
            .map_or(NO_CREDENTIALS, |value| value.as_bytes());
        let key = self.cache.key(credentials);
        let grant = match self.cache.get(&key) {
            Some(grant) => grant,
            None => {
                let grant = Arc::new(self.ask(cluster, credentials, req).await?);
                self.cache.put(key, grant.clone());
                grant
            }
        };
        Ok(Caller::Checked {
            grant,
            forwarded: forwarded.without_credentials(),
        })
    }

    /// Asks the cluster who the caller is and which actions of the table it may run, both with
    /// the caller's own credentials, at once.
    async fn ask(&self, cluster: &Cluster, credentials: &[u8], req: &HttpRequest) -> Result<Grant, ApiError> {
        let Some(as_caller) = Forwarded::credentials(credentials) else {
            // A header value actix accepted is one the client accepts; this is not reached.
            return Err(ApiError::new(
                ErrorType::IllegalArgument,
                "the Authorization header cannot be sent on",
            ));
        };
        let (who, privileges) = tokio::join!(
            cluster.call("authenticate", &as_caller, Method::Get, AUTHENTICATE, &[], None),
            cluster.call(
                "has_privileges",
                &as_caller,
                Method::Post,
                HAS_PRIVILEGES,
                &[],
                Some(&self.question)
            ),
        );
        let (who, privileges) = (who?, privileges?);
        for answer in [&who, &privileges] {
            if answer.status == 401 {
                return Err(unauthenticated(answer, &req.uri().to_string()));
            }
        }
        if who.status != 200 {
            return Err(who.into_error());
        }
        if privileges.status != 200 {
            return Err(privileges.into_error());
        }
        Ok(Grant::from_answers(&who.body(), &privileges.body()))
    }
}

impl Caller {
    /// Authorization of one API, after the request was read and validated (Elasticsearch
    /// validates a request before its security filter runs): the headers the operation sends
    /// to the cluster, or Elasticsearch's 403.
    pub fn authorize(self, api: &str) -> Result<Forwarded, ApiError> {
        let (grant, forwarded) = match self {
            Self::Forward(forwarded) => return Ok(forwarded),
            Self::Checked { grant, forwarded } => (grant, forwarded),
        };
        let Some(rule) = table::rule_of(api) else {
            log::error!("the API {api} has no rule in the authorization table: refused");
            return Err(ApiError::new(
                ErrorType::Internal,
                format!("the API [{api}] has no authorization rule"),
            ));
        };
        if grant.allowed.contains(&rule.action) {
            return Ok(forwarded);
        }
        Err(denied(&format!(
            "action [{}] is unauthorized for {}, this action is granted by the cluster privileges [{}]",
            rule.action,
            grant.caller,
            rule.granted_by.join(",")
        )))
    }
}

impl Grant {
    /// Reads `_authenticate` and `_has_privileges` as the cluster answered them.
    fn from_answers(who: &Value, privileges: &Value) -> Self {
        let held = |name: &str| privileges["cluster"][name].as_bool() == Some(true);
        let allowed = table::RULES
            .iter()
            .filter(|rule| held(rule.action) || rule.granted_by.iter().any(|privilege| held(privilege)))
            .map(|rule| rule.action)
            .collect();
        Self {
            caller: describe(who),
            allowed,
        }
    }
}

/// The caller as Elasticsearch's denial message names it: a user with its roles (sorted), an
/// API key by its id and owner, a service account by its name (keys and service accounts
/// have no roles to list).
fn describe(who: &Value) -> String {
    let username = who["username"].as_str().unwrap_or("");
    if who["authentication_type"] == "api_key" {
        let id = who["api_key"]["id"].as_str().unwrap_or("");
        return format!("API key id [{id}] of user [{username}]");
    }
    if who["authentication_realm"]["type"] == "_service_account" {
        return format!("service account [{username}]");
    }
    let mut roles: Vec<&str> = who["roles"]
        .as_array()
        .map(|roles| roles.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    roles.sort_unstable();
    format!("user [{username}] with effective roles [{}]", roles.join(","))
}

/// Elasticsearch's 403 for an action the caller may not run.
fn denied(reason: &str) -> ApiError {
    let error = json!({
        "root_cause": [{ "type": "security_exception", "reason": reason }],
        "type": "security_exception",
        "reason": reason,
    });
    ApiError::Upstream {
        status: StatusCode::FORBIDDEN,
        body: json!({ "error": error, "status": 403 }),
        headers: Vec::new(),
    }
}

/// The cluster's 401, naming the request the client sent rather than the question asked of the
/// cluster on its behalf, with the cluster's challenges.
fn unauthenticated(answer: &ClusterAnswer, uri: &str) -> ApiError {
    let mut body = answer.body();
    rename_request(&mut body, uri);
    ClusterAnswer {
        status: answer.status,
        bytes: Bytes::from(body.to_string()),
        retry_after: answer.retry_after.clone(),
        www_authenticate: answer.www_authenticate.clone(),
    }
    .into_error()
}

fn rename_request(value: &mut Value, uri: &str) {
    match value {
        Value::String(text) => {
            for path in [AUTHENTICATE, HAS_PRIVILEGES] {
                let asked = format!("REST request [{path}]");
                if text.contains(&asked) {
                    *text = text.replace(&asked, &format!("REST request [{uri}]"));
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rename_request(item, uri)),
        Value::Object(fields) => fields.values_mut().for_each(|field| rename_request(field, uri)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::apis::{connector, connector_secrets, sync_job};
    use actix_web::ResponseError;

    #[test]
    fn every_api_has_one_rule_and_every_rule_an_api() {
        let apis: Vec<&str> = sync_job::APIS
            .iter()
            .chain(connector_secrets::APIS.iter())
            .chain(connector::APIS.iter())
            .map(|api| api.name)
            .collect();
        for api in &apis {
            assert_eq!(
                table::RULES.iter().filter(|rule| rule.api == *api).count(),
                1,
                "{api} needs exactly one rule"
            );
        }
        for rule in table::RULES {
            assert!(apis.contains(&rule.api), "the rule of {} names no API", rule.api);
            assert!(rule.action.starts_with("cluster:admin/xpack/connector/"));
            assert_eq!(rule.granted_by[rule.granted_by.len() - 2..], ["manage", "all"]);
        }
    }

    fn who(roles: &[&str]) -> Value {
        json!({"username": "mon", "roles": roles, "authentication_type": "realm",
               "authentication_realm": {"name": "file", "type": "file"}})
    }

    #[test]
    fn a_named_privilege_or_the_action_itself_grants() {
        let monitor = json!({"cluster": {"monitor_connector": true, "manage_connector": false,
            "cluster:admin/xpack/connector/get": false}});
        let grant = Grant::from_answers(&who(&["connector_monitor"]), &monitor);
        assert!(grant.allowed.contains(&"cluster:admin/xpack/connector/get"));
        assert!(grant
            .allowed
            .contains(&"cluster:admin/xpack/connector/sync_job/list"));
        assert!(!grant
            .allowed
            .contains(&"cluster:admin/xpack/connector/sync_job/cancel"));

        let one_action = json!({"cluster": {"cluster:admin/xpack/connector/sync_job/cancel": true}});
        let grant = Grant::from_answers(&who(&[]), &one_action);
        assert_eq!(grant.allowed, ["cluster:admin/xpack/connector/sync_job/cancel"]);

        let manage = json!({"cluster": {"manage_connector": true, "monitor_connector": true}});
        let grant = Grant::from_answers(&who(&[]), &manage);
        assert!(grant
            .allowed
            .contains(&"cluster:admin/xpack/connector/sync_job/cancel"));
        assert!(!grant
            .allowed
            .contains(&"cluster:admin/xpack/connector/secret/get"));
    }

    #[test]
    fn the_refusal_reads_as_elasticsearchs() {
        let monitor = json!({"cluster": {"monitor_connector": true}});
        let caller = Caller::Checked {
            grant: Arc::new(Grant::from_answers(
                &who(&["zeta", "connector_monitor"]),
                &monitor,
            )),
            forwarded: Forwarded::default(),
        };
        let err = caller.authorize("cancel_connector_sync_job").unwrap_err();
        assert_eq!(err.status_code(), StatusCode::FORBIDDEN);
        assert_eq!(
            err.body(),
            json!({"error": {"root_cause": [{"type": "security_exception", "reason":
                "action [cluster:admin/xpack/connector/sync_job/cancel] is unauthorized for user [mon] with effective roles [connector_monitor,zeta], this action is granted by the cluster privileges [manage_connector,manage,all]"}],
                "type": "security_exception", "reason":
                "action [cluster:admin/xpack/connector/sync_job/cancel] is unauthorized for user [mon] with effective roles [connector_monitor,zeta], this action is granted by the cluster privileges [manage_connector,manage,all]"},
                "status": 403})
        );
    }

    #[test]
    fn keys_and_service_accounts_are_named_without_roles() {
        let key = json!({"username": "owner", "roles": [], "authentication_type": "api_key",
            "api_key": {"id": "k1", "name": "n"}});
        assert_eq!(describe(&key), "API key id [k1] of user [owner]");
        let account = json!({"username": "elastic/fleet-server", "roles": [],
            "authentication_type": "token", "authentication_realm": {"type": "_service_account"}});
        assert_eq!(describe(&account), "service account [elastic/fleet-server]");
    }

    #[test]
    fn the_401_names_the_request() {
        let mut body = json!({"error": {"root_cause": [{"reason":
            "unable to authenticate user [x] for REST request [/_security/_authenticate]"}],
            "reason": "missing authentication credentials for REST request [/_security/user/_has_privileges]"}});
        rename_request(&mut body, "/_connector/a?pretty");
        assert_eq!(
            body["error"]["root_cause"][0]["reason"],
            "unable to authenticate user [x] for REST request [/_connector/a?pretty]"
        );
        assert_eq!(
            body["error"]["reason"],
            "missing authentication credentials for REST request [/_connector/a?pretty]"
        );
    }
}
