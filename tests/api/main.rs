//! Integration tests: the service on a random port, real HTTP, real nodes.
//! Start the nodes with `scripts/node.sh start elasticsearch` and `scripts/node.sh start opensearch`,
//! or run everything with `scripts/test.sh`.

mod cancel;
mod client;
mod cluster;
mod concurrency;
mod connector;
mod connector_filtering;
mod connector_hostile;
mod connector_races;
mod connector_secrets;
mod connector_security;
mod conventions;
mod faults;
mod group_commit;
mod helpers;
mod hostile;
mod lifecycle;
mod observability;
mod passthrough;
mod proxy;
mod scripts;
mod security;
mod sync_job;
mod sync_job_races;
mod templates;
mod wire_options;
