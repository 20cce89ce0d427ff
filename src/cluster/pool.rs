//! The configured nodes and the way a request finds one that answers, for both clients of the
//! cluster: the official client (the service's own requests, `Cluster`) and the pass-through's
//! plain HTTP client (`Passthrough`). Each keeps its own pool, and so its own round-robin.
//!
//! A request goes to the next node in turn. When the connection to a node was never made, nothing
//! of the request reached it and the next node gets it. When the request went out and its answer
//! was lost, the caller says whether it may be sent again; it then goes to the next node, or once
//! more to the only one. When no node gave an answer: 503 if none could be reached, 502 if
//! answers were lost.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use url::Url;

use crate::config::Settings;
use crate::error::{ApiError, ErrorType};

pub(crate) struct Pool<C> {
    nodes: Vec<Node<C>>,
    /// The round-robin cursor: the first node of the next request.
    next: AtomicUsize,
}

pub(crate) struct Node<C> {
    pub(crate) client: C,
    /// The URL without credentials, as logs and error messages show it.
    pub(crate) shown: String,
}

/// What one attempt on one node came to.
pub(crate) enum Attempt<T> {
    /// An answer (of any status): the request is done.
    Answered(T),
    /// The connection was never made: nothing of the request reached the node.
    Unreached,
    /// The request went out but its answer was lost, and it may be sent again.
    Lost,
    /// No answer, and no other node is asked: the request ends with this error.
    Stop(ApiError),
}

impl<C> Pool<C> {
    /// One node per configured URL. `client` builds a node's client from its URL as configured
    /// (with any credentials written into it) and the URL without credentials; it also says how
    /// the node is shown.
    pub(crate) fn connect(
        settings: &Settings,
        mut client: impl FnMut(&Url, String) -> anyhow::Result<Node<C>>,
    ) -> anyhow::Result<Self> {
        let nodes = settings
            .es_urls
            .iter()
            .zip(settings.redacted_es_urls())
            .map(|(url, shown)| client(url, shown))
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!nodes.is_empty(), "at least one Elasticsearch URL is needed");
        Ok(Self {
            nodes,
            next: AtomicUsize::new(0),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The nodes as shown, comma-separated.
    pub(crate) fn describe(&self) -> String {
        self.nodes
            .iter()
            .map(|node| node.shown.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Runs `attempt` on the nodes in turn, starting with the next one, until one answers or
    /// an attempt stops the request: every node once, and with a single node a lost answer is
    /// asked for once more.
    pub(crate) async fn each_node<'a, T, F, Fut>(&'a self, mut attempt: F) -> Result<T, ApiError>
    where
        F: FnMut(&'a Node<C>) -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let attempts = self.nodes.len().max(2);
        let mut failures = Vec::new();
        let mut any_reached = false;
        for n in 0..attempts {
            let node = &self.nodes[(first + n) % self.nodes.len()];
            match attempt(node).await {
                Attempt::Answered(answer) => return Ok(answer),
                Attempt::Stop(err) => return Err(err),
                Attempt::Unreached => {}
                Attempt::Lost => any_reached = true,
            }
            failures.push(node.shown.as_str());
        }
        Err(no_node_answered(failures, any_reached))
    }
}

impl<C> Node<C> {
    /// The answer when the node took longer than the time allowed.
    pub(crate) fn timed_out(&self) -> ApiError {
        ApiError::new(
            ErrorType::UpstreamTimeout,
            format!(
                "the Elasticsearch cluster did not answer in time ({})",
                self.shown
            ),
        )
    }
}

/// The error once every node was tried and none gave an answer: lost answers when a request
/// reached some node, the cluster unavailable when none could be reached. `failures` names the
/// nodes in the order they were tried.
fn no_node_answered(mut failures: Vec<&str>, any_reached: bool) -> ApiError {
    failures.dedup();
    let nodes = failures.join(", ");
    if any_reached {
        ApiError::new(
            ErrorType::UpstreamError,
            format!("the Elasticsearch cluster's answers were lost [{nodes}]"),
        )
    } else {
        ApiError::new(
            ErrorType::UpstreamUnavailable,
            format!("the Elasticsearch cluster is unavailable: no node could be reached [{nodes}]"),
        )
    }
}

/// The error and its causes on one line, for the log.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use actix_web::ResponseError;

    use super::*;

    fn pool(names: &[&str]) -> Pool<()> {
        Pool {
            nodes: names
                .iter()
                .map(|name| Node {
                    client: (),
                    shown: (*name).to_owned(),
                })
                .collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// Runs one request whose attempts come to `outcomes` in turn; returns the nodes tried.
    async fn run(pool: &Pool<()>, outcomes: Vec<Attempt<u16>>) -> (Vec<String>, Result<u16, ApiError>) {
        let tried = RefCell::new(Vec::new());
        let outcomes = RefCell::new(outcomes.into_iter());
        let result = pool
            .each_node(|node| {
                tried.borrow_mut().push(node.shown.clone());
                let outcome = outcomes.borrow_mut().next().expect("an attempt too many");
                async move { outcome }
            })
            .await;
        (tried.into_inner(), result)
    }

    fn verdict(result: Result<u16, ApiError>) -> (u16, String) {
        let err = result.expect_err("no node answered");
        let body = err.body();
        (
            err.status_code().as_u16(),
            body["error"]["reason"].as_str().unwrap().to_owned(),
        )
    }

    #[tokio::test]
    async fn unreachable_nodes_are_each_tried_once_then_503_naming_them() {
        let pool = pool(&["a", "b", "c"]);
        let (tried, result) = run(
            &pool,
            vec![Attempt::Unreached, Attempt::Unreached, Attempt::Unreached],
        )
        .await;
        assert_eq!(tried, ["a", "b", "c"]);
        assert_eq!(
            verdict(result),
            (
                503,
                "the Elasticsearch cluster is unavailable: no node could be reached [a, b, c]".to_owned()
            )
        );
        // The next request starts with the next node.
        let (tried, result) = run(&pool, vec![Attempt::Unreached, Attempt::Answered(200)]).await;
        assert_eq!(
            (tried, result.unwrap()),
            (vec!["b".to_owned(), "c".to_owned()], 200)
        );
    }

    #[tokio::test]
    async fn a_lost_answer_makes_the_verdict_502_and_the_only_node_is_asked_twice() {
        let pool = pool(&["only"]);
        let (tried, result) = run(&pool, vec![Attempt::Lost, Attempt::Unreached]).await;
        assert_eq!(tried, ["only", "only"]);
        assert_eq!(
            verdict(result),
            (
                502,
                "the Elasticsearch cluster's answers were lost [only]".to_owned()
            )
        );
    }

    #[tokio::test]
    async fn a_stop_ends_the_request_at_once() {
        let pool = pool(&["a", "b"]);
        let stop = Attempt::Stop(pool.nodes[0].timed_out());
        let (tried, result) = run(&pool, vec![stop]).await;
        assert_eq!(tried, ["a"]);
        assert_eq!(
            verdict(result),
            (
                504,
                "the Elasticsearch cluster did not answer in time (a)".to_owned()
            )
        );
    }
}
