pub mod cluster;
pub mod config;
pub mod error;
pub mod routes;
pub mod startup;
pub mod sync_job;
