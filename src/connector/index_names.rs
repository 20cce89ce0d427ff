//! Index names: which names a connector may attach (Elasticsearch's checks of an index or alias
//! name), and which connector holds which name.
//!
//! Elasticsearch checks that no other live connector uses a name with a search, then writes; two
//! requests at the same moment both pass the search. Here each claimed name also has a
//! reservation document in an index of the service's own, its `_id` the name. Creating that
//! document is atomic, so of concurrent claimants exactly one creates it; the others find it
//! and give way unless its holder is gone. A reservation is released when its connector lets
//! the name go (another name, none, deleted) or when the operation that claimed it fails.

use std::sync::Arc;

use chrono::Utc;
use serde_json::{json, Value};

use super::errors::{ConnectorError, Invalid};
use super::model;
use crate::cluster::Forwarded;
use crate::documents::layouts::Layout;
use crate::documents::{Decision, Found, Rule, Source, Store, Target, Written};
use crate::error::ApiError;
use crate::time::{parse_date, request_stamp};

/// How long a claim counts as in flight: its connector may not show the name yet.
const LEASE: chrono::Duration = chrono::Duration::seconds(60);
/// Claims tried before giving up on a name whose reservation keeps appearing and vanishing.
const CLAIM_ATTEMPTS: usize = 3;

/// Characters no index name may contain, in the order Elasticsearch lists them (the iteration
/// order of its `HashSet`).
const INVALID_CHARS: [char; 10] = [' ', '"', '*', '\\', '<', '|', ',', '>', '/', '?'];
/// Elasticsearch's limit on an index name, in UTF-8 bytes.
const MAX_NAME_BYTES: usize = 255;

/// The problem with an index name as Elasticsearch's request validation finds it, or `None`.
/// An empty name is refused here too (Elasticsearch fails on it with a server error).
pub(crate) fn invalid(name: &str) -> Option<Invalid> {
    let reason = if name.is_empty() {
        "must not be empty".to_owned()
    } else if name.contains(INVALID_CHARS) {
        let listed: Vec<String> = INVALID_CHARS.iter().map(char::to_string).collect();
        format!(
            "must not contain the following characters [{}]",
            listed.join(", ")
        )
    } else if name.contains('#') {
        "must not contain '#'".to_owned()
    } else if name.contains(':') {
        "must not contain ':'".to_owned()
    } else if name.starts_with(['_', '-', '+']) {
        "must not start with '_', '-', or '+'".to_owned()
    } else if name.len() > MAX_NAME_BYTES {
        format!("index name is too long, ({} > {MAX_NAME_BYTES})", name.len())
    } else if name == "." || name == ".." {
        "must not be '.' or '..'".to_owned()
    } else {
        return None;
    };
    Some(Invalid::IndexName {
        index_name: name.to_owned(),
        reason,
    })
}

/// The refusal when another connector uses the name.
fn in_use(name: &str) -> ConnectorError {
    ConnectorError::IndexNameInUse {
        index_name: name.to_owned(),
    }
}

/// What a claim did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// The reservation is new (or taken over): release it if the operation fails.
    New,
    /// The connector held it already.
    Held,
}

/// The index names held by the connectors behind one alias.
pub(crate) struct IndexNames {
    store: Arc<Store>,
    reservations: Layout,
    connectors: String,
}

impl IndexNames {
    pub(crate) fn new(store: Arc<Store>, reservations: Layout, connectors: &str) -> Self {
        Self {
            store,
            reservations,
            connectors: connectors.to_owned(),
        }
    }

    /// Elasticsearch's own check: no live connector but `except` has the name. It also sees
    /// connectors written without the service.
    pub(crate) async fn check_unused(
        &self,
        name: &str,
        except: Option<&str>,
        forwarded: &Forwarded,
    ) -> Result<(), ConnectorError> {
        let mut must_not = vec![json!({"term": {model::DELETED: true}})];
        if let Some(id) = except {
            must_not.push(json!({"ids": {"values": [id]}}));
        }
        let search = json!({
            "size": 0,
            "track_total_hits": 1,
            "query": {"bool": {"filter": [{"term": {model::INDEX_NAME: name}}], "must_not": must_not}},
        });
        let hits = self.store.search(&self.connectors, &search, forwarded).await?;
        match hits {
            Some(hits) if hits["hits"]["total"]["value"].as_u64().unwrap_or_default() > 0 => {
                Err(in_use(name))
            }
            _ => Ok(()),
        }
    }

    /// Gives `name` to the connector `connector_id`, or refuses because another connector holds
    /// it or is claiming it right now.
    pub(crate) async fn claim(
        &self,
        name: &str,
        connector_id: &str,
        forwarded: &Forwarded,
    ) -> Result<Claim, ConnectorError> {
        for _ in 0..CLAIM_ATTEMPTS {
            let fresh = reservation(connector_id);
            if self
                .store
                .put(&self.reservations, name, &fresh, true, forwarded)
                .await?
                == Some(Written::Created)
            {
                return Ok(Claim::New);
            }
            let Ok(found) = self
                .store
                .get(&self.reservations.alias, name, forwarded, None)
                .await?
            else {
                // Released since: claim again.
                continue;
            };
            let holder = owner(&found.source).map(str::to_owned);
            let held = holder.as_deref() == Some(connector_id);
            if !held {
                if let Some(holder) = holder.as_deref() {
                    if self.holds(holder, name, forwarded).await? {
                        return Err(in_use(name));
                    }
                }
                if in_flight(&found.source) {
                    return Err(in_use(name));
                }
            }
            // Ours already (renewed, so that a release racing this claim fails), or stale and
            // taken over, but only the very reservation judged stale.
            let judged = found.source;
            let take = |current: &Source| {
                if owner(current) == Some(connector_id) || *current == judged {
                    Ok(Decision::new(reservation(connector_id)))
                } else {
                    Err(in_use(name))
                }
            };
            let target = Target {
                index: &self.reservations.alias,
                id: name,
            };
            self.store
                .update(target, Rule::Decide(&take), forwarded)
                .await
                .map_err(|err| match err.missing_or() {
                    // Released since it was judged: someone else may be claiming it now.
                    Ok(_) => in_use(name),
                    Err(err) => err,
                })?;
            return Ok(if held { Claim::Held } else { Claim::New });
        }
        Err(in_use(name))
    }

    /// Lets `name` go if `connector_id` holds its reservation but no longer uses it. Failures
    /// are logged, not answered: the operation they follow succeeded, and a reservation left
    /// behind is taken over once its lease ran out.
    pub(crate) async fn release(&self, name: &str, connector_id: &str, forwarded: &Forwarded) {
        if let Err(err) = self.try_release(name, connector_id, forwarded).await {
            log::warn!(
                "the reservation of index name [{name}] by connector [{connector_id}] was kept: {err}"
            );
        }
    }

    async fn try_release(
        &self,
        name: &str,
        connector_id: &str,
        forwarded: &Forwarded,
    ) -> Result<(), ApiError> {
        let Ok(found) = self
            .store
            .get(&self.reservations.alias, name, forwarded, None)
            .await?
        else {
            return Ok(());
        };
        if owner(&found.source) != Some(connector_id) || self.holds(connector_id, name, forwarded).await? {
            return Ok(());
        }
        self.release_found(name, &found, forwarded).await
    }

    async fn release_found(&self, name: &str, found: &Found, forwarded: &Forwarded) -> Result<(), ApiError> {
        // Only the version read: a claim that renewed it since keeps it.
        self.store
            .delete_found(&self.reservations.alias, name, found, forwarded)
            .await
            .map(drop)
    }

    /// Whether the connector's document is live and has the name.
    async fn holds(&self, connector_id: &str, name: &str, forwarded: &Forwarded) -> Result<bool, ApiError> {
        Ok(
            match self
                .store
                .get(&self.connectors, connector_id, forwarded, None)
                .await?
            {
                Ok(found) => {
                    !model::is_deleted(&found.source) && model::index_name(&found.source) == Some(name)
                }
                Err(_) => false,
            },
        )
    }
}

fn reservation(connector_id: &str) -> Source {
    let mut doc = Source::new();
    doc.insert("connector_id".into(), connector_id.into());
    doc.insert("reserved_at".into(), request_stamp().into());
    doc
}

fn owner(reservation: &Source) -> Option<&str> {
    reservation.get("connector_id").and_then(Value::as_str)
}

/// Whether the reservation is young enough to belong to a claim still in flight.
fn in_flight(reservation: &Source) -> bool {
    reservation
        .get("reserved_at")
        .and_then(Value::as_str)
        .and_then(parse_date)
        .is_some_and(|at| Utc::now() - at < LEASE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(name: &str) -> String {
        match invalid(name) {
            Some(Invalid::IndexName { reason, .. }) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn index_names_are_checked_as_elasticsearch_checks_them() {
        assert_eq!(invalid("search-ok"), None);
        assert_eq!(invalid("Upper-Case-Is-Fine"), None);
        assert_eq!(
            invalid("_this-is-invalid-index-name"),
            Some(Invalid::IndexName {
                index_name: "_this-is-invalid-index-name".into(),
                reason: "must not start with '_', '-', or '+'".into()
            })
        );
        assert!(reason("~.!$$#index-name$$$").ends_with("must not contain '#'"));
        assert!(reason("a b")
            .ends_with(r#"must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?]"#));
        assert!(reason("a:b").ends_with("must not contain ':'"));
        assert!(reason("..").ends_with("must not be '.' or '..'"));
        assert!(reason(&"x".repeat(256)).ends_with("(256 > 255)"));
        assert!(reason("").ends_with("must not be empty"));
    }

    #[test]
    fn a_fresh_reservation_is_in_flight_and_an_old_one_is_not() {
        let fresh = reservation("c1");
        assert_eq!(owner(&fresh), Some("c1"));
        assert!(in_flight(&fresh));
        let mut old = fresh.clone();
        old.insert("reserved_at".into(), "2020-01-01T00:00:00.000Z".into());
        assert!(!in_flight(&old));
        old.remove("reserved_at");
        assert!(!in_flight(&old));
    }
}
