//! Pass-through: every request the service does not serve itself goes to a node as it came, and
//! the node's answer comes back as it was sent. A streaming reverse proxy in three parts: the
//! handler (`handler`: the client's request in, the node's answer out, counted and logged), the
//! upstream side (`upstream`: a node of the pool, failover, timeouts, credentials) and the
//! upload (`upload`: the request body through a small bounded queue). Bodies are streams handed
//! from one side to the other, never collected, so a slow node slows the client down instead of
//! filling memory.
//!
//! The route table calls `forward` for a request it does not serve; nothing here knows the route
//! table.

mod handler;
mod upload;
mod upstream;

pub(crate) use handler::{forward, marked, PassedThrough};
pub(crate) use upstream::Passthrough;
