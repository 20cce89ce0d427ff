//! The HTTP layer: everything that knows requests and answers. The route table and request
//! dispatch (`routes`), each resource's API declarations (`apis`), reading bodies and
//! parameters as Elasticsearch does (`request`, `json`, `encoding`), the middleware every answer
//! passes (`middleware`, `filter_path`) and the service's own health paths (`health`). The
//! domains below it never import it.

pub mod apis;
pub mod authorization;
mod encoding;
mod filter_path;
pub mod health;
pub mod json;
pub mod middleware;
pub mod request;
pub mod routes;

use crate::connector::Connectors;
use crate::connector_secrets::ConnectorSecrets;
use crate::documents::templates::Installer;
use crate::documents::Store;
use crate::sync_job::SyncJobs;

pub use routes::configure;

/// What the handlers share.
pub struct State {
    pub store: std::sync::Arc<Store>,
    /// The index templates and pipeline the service installs, and what became of them.
    pub setup: std::sync::Arc<Installer>,
    /// The largest body an API reads (`max_body_size`).
    pub max_body_size: usize,
    pub jobs: SyncJobs,
    pub connectors: Connectors,
    pub secrets: ConnectorSecrets,
    /// Who may run which connector API (`authorization`).
    pub authorization: std::sync::Arc<authorization::Authorization>,
}
