//! Pass-through, the upload side: the request body on its way from the client to a node, in
//! chunks through a small bounded queue, so that a slow node slows the client down instead of
//! filling memory, and kept for a second node when nothing of it reached the first.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use actix_web::web::{self, Bytes};
use futures_core::Stream;
use tokio::sync::mpsc;

/// Chunks of a request body on their way to the node at any time (actix reads at most 32 KiB
/// ahead of them): the memory one upload holds, whatever its size.
const UPLOAD_CHUNKS: usize = 4;
/// The largest GET or HEAD body kept to send again when the first node's answer is lost
/// (search bodies are far smaller; a larger one is not sent again).
const REPLAY_LIMIT: usize = 64 * 1024;

/// The body of a passed-through request: the chunks the client sends, through a bounded channel,
/// to whichever attempt is current. An attempt takes chunks only once the node's connection is
/// up and hyper asks for them, so a request whose connection failed keeps its whole body for the
/// next node. GET and HEAD bodies are also copied (up to `REPLAY_LIMIT`) so that they can be sent
/// again when an answer is lost.
pub(crate) struct Upload {
    shared: Arc<Mutex<Source>>,
}

struct Source {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    /// The attempt allowed to take chunks; earlier ones are done.
    attempt: u64,
    /// Whether any chunk has been taken from `chunks`.
    taken: bool,
    /// Every chunk taken so far, while the request is idempotent and they stay small.
    replay: Option<Vec<Bytes>>,
    replay_bytes: usize,
    /// Why reading the client's body failed.
    client_failure: Option<String>,
}

impl Upload {
    /// The client's body, read as the node takes it; an idempotent request's is kept to be sent
    /// again.
    pub(crate) fn from_payload(payload: web::Payload, idempotent: bool) -> Self {
        Self::new(pump(payload), idempotent)
    }

    fn new(chunks: mpsc::Receiver<io::Result<Bytes>>, idempotent: bool) -> Self {
        Self {
            shared: Arc::new(Mutex::new(Source {
                chunks,
                attempt: 0,
                taken: false,
                replay: idempotent.then(Vec::new),
                replay_bytes: 0,
                client_failure: None,
            })),
        }
    }

    fn source(&self) -> MutexGuard<'_, Source> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The body for the next attempt: what earlier attempts took (when it was kept), then the
    /// rest of the client's chunks.
    pub(super) fn attempt(&self) -> AttemptBody {
        let mut source = self.source();
        debug_assert!(!source.taken || source.replay.is_some(), "a body sent twice");
        source.attempt += 1;
        AttemptBody {
            shared: self.shared.clone(),
            attempt: source.attempt,
            replay: source.replay.iter().flatten().cloned().collect(),
        }
    }

    /// Whether the whole body can be sent again.
    pub(super) fn can_resend(&self) -> bool {
        let source = self.source();
        !source.taken || source.replay.is_some()
    }

    pub(super) fn client_failure(&self) -> Option<String> {
        self.source().client_failure.clone()
    }
}

/// One attempt's view of the request body.
pub(super) struct AttemptBody {
    shared: Arc<Mutex<Source>>,
    attempt: u64,
    /// Chunks an earlier attempt took, sent first.
    replay: VecDeque<Bytes>,
}

impl Stream for AttemptBody {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(chunk) = this.replay.pop_front() {
            return Poll::Ready(Some(Ok(chunk)));
        }
        let mut source = this.shared.lock().unwrap_or_else(PoisonError::into_inner);
        if source.attempt != this.attempt {
            return Poll::Ready(Some(Err(io::Error::other(
                "a later attempt took the request body",
            ))));
        }
        match source.chunks.poll_recv(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                source.taken = true;
                source.replay_bytes += chunk.len();
                if source.replay_bytes > REPLAY_LIMIT {
                    source.replay = None;
                } else if let Some(replay) = &mut source.replay {
                    replay.push(chunk.clone());
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(err))) => {
                source.client_failure = Some(err.to_string());
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Hands the client's body over to the node's side in chunks, through a bounded channel: when
/// the node reads slowly the channel fills, this stops reading, and actix stops reading the
/// socket, so the client slows down. Ends as soon as nobody wants the body any more.
fn pump(mut payload: web::Payload) -> mpsc::Receiver<io::Result<Bytes>> {
    let (tx, rx) = mpsc::channel(UPLOAD_CHUNKS);
    actix_web::rt::spawn(async move {
        loop {
            let next = tokio::select! {
                next = std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)) => next,
                () = tx.closed() => break,
            };
            let Some(item) = next else { break };
            let item = item.map_err(|err| io::Error::other(err.to_string()));
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_never_taken_goes_whole_to_the_next_attempt() {
        let (tx, rx) = mpsc::channel(4);
        let upload = Upload::new(rx, false);
        tx.send(Ok(Bytes::from_static(b"one"))).await.unwrap();
        tx.send(Ok(Bytes::from_static(b"two"))).await.unwrap();
        drop(tx);
        drop(upload.attempt()); // the connection failed before the body was asked for
        assert!(upload.can_resend());
        let mut second = upload.attempt();
        let mut got = Vec::new();
        while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut second).poll_next(cx)).await {
            got.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(got, b"onetwo");
        assert!(!upload.can_resend(), "a POST body is not kept");
    }

    #[tokio::test]
    async fn a_small_get_body_is_sent_again_and_a_stale_attempt_gets_nothing() {
        let (tx, rx) = mpsc::channel(4);
        let upload = Upload::new(rx, true);
        tx.send(Ok(Bytes::from_static(b"{\"query\":"))).await.unwrap();
        let mut first = upload.attempt();
        let chunk = std::future::poll_fn(|cx| Pin::new(&mut first).poll_next(cx)).await;
        assert_eq!(chunk.unwrap().unwrap(), "{\"query\":");
        assert!(upload.can_resend());
        let mut second = upload.attempt();
        let stale = std::future::poll_fn(|cx| Pin::new(&mut first).poll_next(cx)).await;
        assert!(stale.unwrap().is_err());
        tx.send(Ok(Bytes::from_static(b"{}}"))).await.unwrap();
        drop(tx);
        let mut got = Vec::new();
        while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut second).poll_next(cx)).await {
            got.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(got, b"{\"query\":{}}");
    }
}
