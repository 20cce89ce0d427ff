//! The connector domain: the connector document, its defaults and the rule of each operation.

use std::sync::Arc;

use crate::documents::layouts::Layout;
use crate::documents::Store;

/// The connectors of one cluster.
pub struct Connectors {
    #[allow(dead_code)]
    store: Arc<Store>,
    #[allow(dead_code)]
    connectors: Layout,
    #[allow(dead_code)]
    jobs: Layout,
}

impl Connectors {
    pub fn new(store: Arc<Store>, connectors: Layout, jobs: Layout) -> Self {
        Self {
            store,
            connectors,
            jobs,
        }
    }
}
