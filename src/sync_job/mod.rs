//! The domain: sync-job statuses, the cancel rule, and the cancel operation against the cluster.

mod cancel;
pub mod status;
pub mod transition;

use std::sync::atomic::AtomicBool;

use crate::cluster::Cluster;
use crate::config::{Refresh, Settings, UpdateStrategy};

pub use cancel::{request_stamp, CANCEL_SCRIPT, CANCEL_SOURCE_FIELDS};

/// The sync jobs of one cluster, and how to change them.
pub struct SyncJobs {
    cluster: Cluster,
    index: String,
    refresh: Refresh,
    strategy: UpdateStrategy,
    conflict_retries: u32,
    /// Set, once, when `auto` learns that the cluster cannot run the update script.
    scripts_unavailable: AtomicBool,
}

impl SyncJobs {
    pub fn new(cluster: Cluster, settings: &Settings) -> Self {
        cluster.metrics().set_strategy(match settings.update_strategy {
            UpdateStrategy::Optimistic => "optimistic",
            UpdateStrategy::Auto | UpdateStrategy::Script => "script",
        });
        Self {
            cluster,
            index: settings.index.clone(),
            refresh: settings.refresh,
            strategy: settings.update_strategy,
            conflict_retries: settings.conflict_retries,
            scripts_unavailable: AtomicBool::new(false),
        }
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }
}
