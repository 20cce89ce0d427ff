//! Each resource's APIs, one declaration per API: `sync_job`, `connector`, `connector_secrets`.

pub mod connector;
pub mod connector_secrets;
pub mod sync_job;
