pub mod cluster;
pub mod config;
pub mod error;
pub mod logging;
pub mod metrics;
pub mod routes;
pub mod startup;
pub mod sync_job;
