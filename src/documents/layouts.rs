//! How the connector indices are laid out, defined once: each is a hidden concrete index
//! `<alias>-v1` behind its alias, with the settings and mappings Elasticsearch's template
//! registry gives it (the JSON files beside this one, which `scripts/create-index.sh` sends as
//! they are), plus the service's own index of claimed index names. Only operations that create a
//! document create its index, and only when it is missing.

use actix_web::web::Bytes;
use elasticsearch::http::Method;
use serde_json::{json, Value};

use super::encode;
use crate::cluster::{Cluster, Forwarded};
use crate::error::ApiError;

/// `.elastic-connectors-v1` behind `.elastic-connectors`.
pub const CONNECTORS: &str = include_str!("layouts/elastic-connectors.json");
/// `.elastic-connectors-sync-jobs-v1` behind `.elastic-connectors-sync-jobs`.
pub const SYNC_JOBS: &str = include_str!("layouts/elastic-connectors-sync-jobs.json");

/// `.elastic-connectors-index-names-v1` behind `.elastic-connectors-index-names`: not
/// Elasticsearch's, the service's own record of which connector holds which index name.
pub const INDEX_NAMES: &str = include_str!("layouts/elastic-connectors-index-names.json");

/// The alias of the index-name reservations that belong to the connectors behind `connectors`.
pub fn index_names_alias(connectors: &str) -> String {
    format!("{connectors}-index-names")
}

/// One index: the alias the service reads and writes through, and the body that creates the
/// concrete index behind it.
#[derive(Debug, Clone)]
pub struct Layout {
    pub alias: String,
    body: Value,
}

impl Layout {
    /// The layout of `definition` (one of the files above) behind `alias`.
    pub fn new(definition: &str, alias: &str) -> Self {
        let mut body: Value = serde_json::from_str(definition).expect("the index layouts are valid JSON");
        body["aliases"] = json!({ alias: {} });
        Self {
            alias: alias.to_owned(),
            body,
        }
    }

    /// The concrete index behind the alias.
    pub fn concrete_index(&self) -> String {
        format!("{}-v1", self.alias)
    }

    pub fn body(&self) -> &Value {
        &self.body
    }
}

/// Whether `create_index` made the index or found it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    Created,
    Existed,
}

/// Creates the concrete index with its alias, from the same definition the index templates are
/// built from, so that an index the service creates is laid out even where the templates could
/// not be installed. An index that exists by now (another request or client created it first)
/// is `Existed`: whether it is laid out is for the caller to ask (`problems`).
pub async fn create_index(
    cluster: &Cluster,
    layout: &Layout,
    forwarded: &Forwarded,
) -> Result<Creation, ApiError> {
    let path = format!("/{}", encode(&layout.concrete_index()));
    let body = Bytes::from(layout.body.to_string());
    let reply = cluster
        .call(
            "create_index",
            forwarded,
            Method::Put,
            &path,
            &[("wait_for_active_shards", "1")],
            Some(&body),
        )
        .await?;
    match reply.status {
        200 => {
            log::info!(
                "created the index {} with the alias {}",
                layout.concrete_index(),
                layout.alias
            );
            Ok(Creation::Created)
        }
        400 if reply.body()["error"]["type"] == "resource_already_exists_exception" => Ok(Creation::Existed),
        // The alias is taken by an index of that name.
        400 if reply.body()["error"]["type"] == "invalid_alias_name_exception" => Ok(Creation::Existed),
        _ => Err(reply.into_error()),
    }
}

/// What keeps the connector APIs from using the index behind `layout`: each index that exists
/// without the layout they need, with what is wrong and how to repair it. Nothing when the
/// indices are laid out, do not exist yet, or cannot be inspected with the credentials at hand.
pub async fn problems(cluster: &Cluster, layout: &Layout) -> Result<Vec<(String, String)>, ApiError> {
    let forwarded = Forwarded::default();
    let mut found = Vec::new();
    let repair = "; repair it with `connector-sync-proxy --repair`, which moves its documents into an \
                  index laid out behind the alias (README: Repairing a connector index)";
    let concrete = layout.concrete_index();
    let reply = cluster
        .call(
            "setup",
            &forwarded,
            Method::Get,
            &format!("/{}", encode(&concrete)),
            &[
                ("filter_path", "*.aliases,*.mappings.dynamic"),
                ("expand_wildcards", "all"),
            ],
            None,
        )
        .await?;
    if reply.status == 200 {
        let body = reply.body();
        let index = &body[&concrete];
        let mut wrong = Vec::new();
        if index["aliases"].get(&layout.alias).is_none() {
            wrong.push(format!("it has no alias [{}]", layout.alias));
        }
        if !matches!(index["mappings"]["dynamic"].as_str(), Some("false" | "strict")) {
            wrong.push("its mappings are dynamic".to_owned());
        }
        if !wrong.is_empty() {
            found.push((
                concrete.clone(),
                format!(
                    "the index [{concrete}] exists without the layout the connector APIs need: {} (it was \
                     created before the index templates were installed, or by an older version){repair}",
                    wrong.join(" and ")
                ),
            ));
        }
    }
    let reply = cluster
        .call(
            "setup",
            &forwarded,
            Method::Get,
            &format!("/{}", encode(&layout.alias)),
            &[("filter_path", "*.aliases"), ("expand_wildcards", "all")],
            None,
        )
        .await?;
    if reply.status == 200 && reply.body().get(&layout.alias).is_some() {
        let alias = &layout.alias;
        found.push((
            alias.clone(),
            format!(
                "[{alias}] is an index, not the alias of [{concrete}]: a client wrote to [{alias}] before \
                 the index behind it existed{repair}"
            ),
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_is_a_hidden_single_shard_index_without_dynamic_mapping() {
        for (definition, alias) in [
            (CONNECTORS, ".elastic-connectors"),
            (SYNC_JOBS, ".elastic-connectors-sync-jobs"),
            (INDEX_NAMES, ".elastic-connectors-index-names"),
        ] {
            let layout = Layout::new(definition, alias);
            let body = layout.body();
            assert_eq!(body["settings"]["index"]["hidden"], true);
            assert_eq!(body["settings"]["index"]["number_of_shards"], "1");
            assert_eq!(body["mappings"]["dynamic"], "false");
            assert_eq!(body["aliases"], json!({ alias: {} }));
            assert_eq!(
                serde_json::from_str::<Value>(definition).unwrap()["aliases"],
                json!({ alias: {} }),
                "the files hold the default alias, so the scripts can send them as they are"
            );
        }
        assert_eq!(
            index_names_alias(".elastic-connectors"),
            ".elastic-connectors-index-names"
        );
        let jobs = Layout::new(SYNC_JOBS, "jobs");
        assert_eq!(jobs.concrete_index(), "jobs-v1");
        assert_eq!(jobs.body()["aliases"], json!({"jobs": {}}));
        assert_eq!(
            jobs.body()["mappings"]["properties"]["connector"]["properties"]["id"]["type"],
            "keyword"
        );
    }
}
