#![warn(unreachable_pub)]

mod cluster;
pub mod config;
mod connector;
mod connector_secrets;
pub mod documents;
mod error;
pub mod http;
mod ids;
pub mod logging;
mod metrics;
mod passthrough;
pub mod startup;
pub mod sync_job;
pub mod time;
