//! Which Elasticsearch action each API of the route table is, and which cluster privileges
//! grant it: the one table the authorization step reads. The action names are those of
//! Elasticsearch's transport actions behind each REST handler; the privileges that grant each
//! one are listed in the order Elasticsearch's denial message lists them (least privileged
//! first).

/// One API's action and the named cluster privileges that grant it.
pub struct Rule {
    /// The API's name in the route table (`Api::name`).
    pub api: &'static str,
    pub action: &'static str,
    pub granted_by: &'static [&'static str],
}

/// The connector privileges the cluster is asked about, besides the actions themselves.
/// `manage` and `all` imply each of them, so a caller holding those is answered true here.
pub const NAMED: [&str; 4] = [
    "monitor_connector",
    "manage_connector",
    "read_connector_secrets",
    "write_connector_secrets",
];

const MONITOR: &[&str] = &["monitor_connector", "manage_connector", "manage", "all"];
/// `manage_connector` grants every connector action but the secrets ones.
const MANAGE: &[&str] = &["manage_connector", "manage", "all"];
const READ_SECRETS: &[&str] = &["read_connector_secrets", "manage", "all"];
const WRITE_SECRETS: &[&str] = &["write_connector_secrets", "manage", "all"];

const fn rule(api: &'static str, action: &'static str, granted_by: &'static [&'static str]) -> Rule {
    Rule {
        api,
        action,
        granted_by,
    }
}

pub const RULES: &[Rule] = &[
    rule("put_connector", "cluster:admin/xpack/connector/put", MANAGE),
    // RestPutConnectorAction serves both paths with the same action.
    rule(
        "put_connector_without_id",
        "cluster:admin/xpack/connector/put",
        MANAGE,
    ),
    rule("post_connector", "cluster:admin/xpack/connector/post", MANAGE),
    rule("get_connector", "cluster:admin/xpack/connector/get", MONITOR),
    rule("list_connector", "cluster:admin/xpack/connector/list", MONITOR),
    rule("delete_connector", "cluster:admin/xpack/connector/delete", MANAGE),
    rule(
        "update_connector_last_seen",
        "cluster:admin/xpack/connector/update_last_seen",
        MANAGE,
    ),
    rule(
        "update_connector_active_filtering",
        "cluster:admin/xpack/connector/update_filtering/activate",
        MANAGE,
    ),
    rule(
        "update_connector_api_key_id",
        "cluster:admin/xpack/connector/update_api_key_id",
        MANAGE,
    ),
    rule(
        "update_connector_configuration",
        "cluster:admin/xpack/connector/update_configuration",
        MANAGE,
    ),
    rule(
        "update_connector_error",
        "cluster:admin/xpack/connector/update_error",
        MANAGE,
    ),
    rule(
        "update_connector_features",
        "cluster:admin/xpack/connector/update_features",
        MANAGE,
    ),
    rule(
        "update_connector_filtering",
        "cluster:admin/xpack/connector/update_filtering",
        MANAGE,
    ),
    rule(
        "update_connector_filtering_validation",
        "cluster:admin/xpack/connector/update_filtering/draft_validation",
        MANAGE,
    ),
    rule(
        "update_connector_index_name",
        "cluster:admin/xpack/connector/update_index_name",
        MANAGE,
    ),
    rule(
        "update_connector_last_sync_stats",
        "cluster:admin/xpack/connector/update_last_sync_stats",
        MANAGE,
    ),
    rule(
        "update_connector_name",
        "cluster:admin/xpack/connector/update_name",
        MANAGE,
    ),
    rule(
        "update_connector_native",
        "cluster:admin/xpack/connector/update_native",
        MANAGE,
    ),
    rule(
        "update_connector_pipeline",
        "cluster:admin/xpack/connector/update_pipeline",
        MANAGE,
    ),
    rule(
        "update_connector_scheduling",
        "cluster:admin/xpack/connector/update_scheduling",
        MANAGE,
    ),
    rule(
        "update_connector_service_type",
        "cluster:admin/xpack/connector/update_service_type",
        MANAGE,
    ),
    rule(
        "update_connector_status",
        "cluster:admin/xpack/connector/update_status",
        MANAGE,
    ),
    rule(
        "post_connector_sync_job",
        "cluster:admin/xpack/connector/sync_job/post",
        MANAGE,
    ),
    rule(
        "list_connector_sync_jobs",
        "cluster:admin/xpack/connector/sync_job/list",
        MONITOR,
    ),
    rule(
        "get_connector_sync_job",
        "cluster:admin/xpack/connector/sync_job/get",
        MONITOR,
    ),
    rule(
        "delete_connector_sync_job",
        "cluster:admin/xpack/connector/sync_job/delete",
        MANAGE,
    ),
    rule(
        "cancel_connector_sync_job",
        "cluster:admin/xpack/connector/sync_job/cancel",
        MANAGE,
    ),
    rule(
        "check_in_connector_sync_job",
        "cluster:admin/xpack/connector/sync_job/check_in",
        MANAGE,
    ),
    rule(
        "claim_connector_sync_job",
        "cluster:admin/xpack/connector/sync_job/claim",
        MANAGE,
    ),
    rule(
        "set_connector_sync_job_error",
        "cluster:admin/xpack/connector/sync_job/update_error",
        MANAGE,
    ),
    rule(
        "update_connector_sync_job_stats",
        "cluster:admin/xpack/connector/sync_job/update_stats",
        MANAGE,
    ),
    rule(
        "post_connector_secret",
        "cluster:admin/xpack/connector/secret/post",
        WRITE_SECRETS,
    ),
    rule(
        "put_connector_secret",
        "cluster:admin/xpack/connector/secret/put",
        WRITE_SECRETS,
    ),
    rule(
        "get_connector_secret",
        "cluster:admin/xpack/connector/secret/get",
        READ_SECRETS,
    ),
    rule(
        "delete_connector_secret",
        "cluster:admin/xpack/connector/secret/delete",
        WRITE_SECRETS,
    ),
];

/// The rule of the API named `api`.
pub fn rule_of(api: &str) -> Option<&'static Rule> {
    RULES.iter().find(|rule| rule.api == api)
}

/// Every action of the table once, in the table's order.
pub fn actions() -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = Vec::new();
    for rule in RULES {
        if !actions.contains(&rule.action) {
            actions.push(rule.action);
        }
    }
    actions
}
