//! `connector-sync-proxy --repair`: moves the documents of a connector index that exists without
//! its layout (created bare by a client before the templates were installed, or by an older
//! version, or an index named like the alias) into the index laid out behind the alias, keeping
//! every document.
//!
//! The steps, each safe to run again after an interruption:
//! 1. writes to the bare indices are blocked, so nothing written during the repair is lost
//!    (writers get the cluster's 403 `cluster_block_exception` until it is over);
//! 2. every document is copied, with its id, into a holding index `<alias>-repair` (laid out,
//!    but without the alias), and counted there;
//! 3. the bare indices are deleted, and `<alias>-v1` is created laid out, with its alias;
//! 4. the holding index is copied into it (documents already there are kept), counted again,
//!    and deleted.
//!
//! A holding index left by an interrupted run is picked up as one more source.

use std::collections::BTreeSet;

use actix_web::web::Bytes;
use anyhow::{bail, Context};
use elasticsearch::http::Method;
use serde_json::{json, Value};

use super::encode;
use super::layouts::{self, Layout};
use crate::cluster::{Cluster, ClusterAnswer, Forwarded};

const PAGE: usize = 1000;

/// Repairs the indices behind `layout`; each line says what was done.
pub async fn repair(cluster: &Cluster, layout: &Layout) -> anyhow::Result<Vec<String>> {
    let mut done = Vec::new();
    let problems = layouts::problems(cluster, layout).await.map_err(api)?;
    let holding = format!("{}-repair", layout.alias);
    let held = exists(cluster, &holding).await?;
    if problems.is_empty() && !held {
        done.push(format!(
            "{}: laid out, nothing to repair",
            layout.concrete_index()
        ));
        return Ok(done);
    }
    let sources: Vec<String> = problems.iter().map(|(index, _)| index.clone()).collect();
    for (_, problem) in &problems {
        done.push(format!("found: {problem}"));
    }
    for source in &sources {
        expect_ok(
            call(
                cluster,
                Method::Put,
                &format!("/{}/_block/write", encode(source)),
                &[],
                None,
            )
            .await?,
            &format!("block writes to {source}"),
        )?;
        done.push(format!("blocked writes to {source}"));
    }
    if !held {
        let mut body = layout.body().clone();
        body.as_object_mut().map(|body| body.remove("aliases"));
        expect_ok(
            call(
                cluster,
                Method::Put,
                &format!("/{}", encode(&holding)),
                &[("wait_for_active_shards", "1")],
                Some(body.to_string()),
            )
            .await?,
            &format!("create the holding index {holding}"),
        )?;
        done.push(format!("created the holding index {holding}"));
    }
    let mut ids = BTreeSet::new();
    for source in &sources {
        let copied = copy(cluster, source, &holding, "index").await?;
        done.push(format!(
            "copied {} documents from {source} to {holding}",
            copied.len()
        ));
        ids.extend(copied);
    }
    if held {
        ids.extend(all_ids(cluster, &holding).await?);
    }
    verify(cluster, &holding, &ids).await?;
    for source in &sources {
        expect_ok(
            call(
                cluster,
                Method::Delete,
                &format!("/{}", encode(source)),
                &[],
                None,
            )
            .await?,
            &format!("delete {source}"),
        )?;
        done.push(format!("deleted {source}"));
    }
    let creation = layouts::create_index(cluster, layout, &Forwarded::default())
        .await
        .map_err(api)?;
    let left = layouts::problems(cluster, layout).await.map_err(api)?;
    if !left.is_empty() {
        bail!(
            "{} is still not laid out after the repair ({}); the documents are safe in {holding}",
            layout.concrete_index(),
            left.iter()
                .map(|(_, problem)| problem.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    if creation == layouts::Creation::Created {
        done.push(format!(
            "created {} behind the alias {}",
            layout.concrete_index(),
            layout.alias
        ));
    }
    let copied = copy(cluster, &holding, &layout.concrete_index(), "create").await?;
    done.push(format!(
        "copied {} documents from {holding} to {}",
        copied.len(),
        layout.concrete_index()
    ));
    verify(cluster, &layout.concrete_index(), &ids).await?;
    expect_ok(
        call(
            cluster,
            Method::Delete,
            &format!("/{}", encode(&holding)),
            &[],
            None,
        )
        .await?,
        &format!("delete the holding index {holding}"),
    )?;
    done.push(format!(
        "deleted {holding}: all {} documents are in {} behind {}",
        ids.len(),
        layout.concrete_index(),
        layout.alias
    ));
    Ok(done)
}

async fn call(
    cluster: &Cluster,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
    body: Option<String>,
) -> anyhow::Result<ClusterAnswer> {
    let body = body.map(Bytes::from);
    cluster
        .call(
            "repair",
            &Forwarded::default(),
            method,
            path,
            query,
            body.as_ref(),
        )
        .await
        .map_err(api)
}

fn api(err: crate::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{}", err.body())
}

fn expect_ok(reply: ClusterAnswer, what: &str) -> anyhow::Result<Value> {
    if (200..300).contains(&reply.status) {
        return Ok(reply.body());
    }
    bail!(
        "could not {what}: the cluster answered {} {}",
        reply.status,
        String::from_utf8_lossy(&reply.bytes)
    )
}

async fn exists(cluster: &Cluster, index: &str) -> anyhow::Result<bool> {
    // A GET, not a HEAD: the cluster client reads every answer as JSON.
    let reply = call(
        cluster,
        Method::Get,
        &format!("/{}", encode(index)),
        &[
            ("expand_wildcards", "all"),
            ("filter_path", "*.settings.index.uuid"),
        ],
        None,
    )
    .await?;
    Ok(reply.status == 200)
}

/// Every document of `from`, page by page (a scroll in `_doc` order), written into `to` with its
/// id by bulk `op` (`index` replaces, `create` keeps what is there); `to` is refreshed. The ids
/// copied.
async fn copy(cluster: &Cluster, from: &str, to: &str, op: &str) -> anyhow::Result<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    let mut page = expect_ok(
        call(
            cluster,
            Method::Post,
            &format!("/{}/_search", encode(from)),
            &[("scroll", "1m")],
            Some(json!({"size": PAGE, "sort": ["_doc"]}).to_string()),
        )
        .await?,
        &format!("read {from}"),
    )?;
    loop {
        let hits = page["hits"]["hits"].as_array().cloned().unwrap_or_default();
        if hits.is_empty() {
            break;
        }
        let mut lines = String::new();
        for hit in &hits {
            let id = hit["_id"].as_str().context("a hit without an id")?;
            lines.push_str(&json!({ op: {"_index": to, "_id": id} }).to_string());
            lines.push('\n');
            lines.push_str(&hit["_source"].to_string());
            lines.push('\n');
            ids.insert(id.to_owned());
        }
        let answer = expect_ok(
            call(cluster, Method::Post, "/_bulk", &[], Some(lines)).await?,
            &format!("write into {to}"),
        )?;
        for item in answer["items"].as_array().into_iter().flatten() {
            let item = &item[op];
            let status = item["status"].as_u64().unwrap_or(0);
            // `create` leaves a document the target already holds as it is.
            let kept = op == "create" && status == 409;
            if !(200..300).contains(&status) && !kept {
                bail!("could not write a document into {to}: {item}");
            }
        }
        let scroll_id = page["_scroll_id"]
            .as_str()
            .context("a scroll without an id")?
            .to_owned();
        page = expect_ok(
            call(
                cluster,
                Method::Post,
                "/_search/scroll",
                &[],
                Some(json!({"scroll": "1m", "scroll_id": scroll_id}).to_string()),
            )
            .await?,
            &format!("read {from}"),
        )?;
    }
    if let Some(scroll_id) = page["_scroll_id"].as_str() {
        let body = json!({ "scroll_id": scroll_id }).to_string();
        let _ = call(cluster, Method::Delete, "/_search/scroll", &[], Some(body)).await;
    }
    expect_ok(
        call(
            cluster,
            Method::Post,
            &format!("/{}/_refresh", encode(to)),
            &[],
            None,
        )
        .await?,
        &format!("refresh {to}"),
    )?;
    Ok(ids)
}

async fn all_ids(cluster: &Cluster, index: &str) -> anyhow::Result<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    let mut after: Option<Value> = None;
    loop {
        let mut search = json!({"size": PAGE, "sort": [{"_id": "asc"}], "_source": false});
        if let Some(after) = &after {
            search["search_after"] = after.clone();
        }
        let page = expect_ok(
            call(
                cluster,
                Method::Post,
                &format!("/{}/_search", encode(index)),
                &[],
                Some(search.to_string()),
            )
            .await?,
            &format!("read {index}"),
        )?;
        let hits = page["hits"]["hits"].as_array().cloned().unwrap_or_default();
        let Some(last) = hits.last() else {
            return Ok(ids);
        };
        after = Some(last["sort"].clone());
        ids.extend(
            hits.iter()
                .filter_map(|hit| hit["_id"].as_str().map(str::to_owned)),
        );
    }
}

/// Fails unless every id is a document of `index`.
async fn verify(cluster: &Cluster, index: &str, ids: &BTreeSet<String>) -> anyhow::Result<()> {
    let ids: Vec<&String> = ids.iter().collect();
    let mut found = 0;
    for chunk in ids.chunks(PAGE) {
        let answer = expect_ok(
            call(
                cluster,
                Method::Post,
                &format!("/{}/_count", encode(index)),
                &[],
                Some(json!({"query": {"ids": {"values": chunk}}}).to_string()),
            )
            .await?,
            &format!("count the documents of {index}"),
        )?;
        found += answer["count"].as_u64().unwrap_or(0) as usize;
    }
    if found != ids.len() {
        bail!(
            "{index} holds {found} of the {} documents copied into it; nothing was deleted after this step",
            ids.len()
        );
    }
    Ok(())
}
