//! A small fault-injecting TCP proxy, put in front of a real node to make it hang, cut its
//! answers or slow it down. It never answers on the node's behalf.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Accept connections and read requests, never forward or answer them.
    Hang,
    /// Forward the request, wait until the node starts answering, then pass on only the first
    /// bytes of its answer and close: the request landed, its answer is lost.
    CutAnswer,
    /// Hold each new connection this long before passing bytes.
    Delay(Duration),
    /// No fault: pass bytes both ways and keep a copy of what the service sent.
    Record,
    /// Accept connections and never read from them: a node too slow to take a request.
    Stall,
    /// As `Record`, except that a request carrying this text is never answered: from it on,
    /// nothing more goes through its connection either way, and the connection stays open.
    HangOn(&'static str),
}

pub(crate) struct FaultProxy {
    pub url: String,
    cuts: Arc<AtomicUsize>,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl FaultProxy {
    /// Listens on a random port of 127.0.0.1 and forwards to the node at `node_url`.
    pub(crate) async fn start(node_url: &str, fault: Fault) -> Self {
        let upstream = node_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let cuts = Arc::new(AtomicUsize::new(0));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let (shared_cuts, shared_sent) = (cuts.clone(), sent.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(
                    client,
                    upstream.clone(),
                    fault,
                    shared_cuts.clone(),
                    shared_sent.clone(),
                ));
            }
        });
        Self { url, cuts, sent }
    }

    /// Everything the service sent through the proxy so far, as text.
    pub(crate) fn sent(&self) -> String {
        String::from_utf8_lossy(&self.sent.lock().unwrap()).into_owned()
    }

    /// How many answers were cut so far.
    pub(crate) fn cuts(&self) -> usize {
        self.cuts.load(Ordering::SeqCst)
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: String,
    fault: Fault,
    cuts: Arc<AtomicUsize>,
    sent: Arc<Mutex<Vec<u8>>>,
) {
    match fault {
        Fault::Record | Fault::HangOn(_) => {
            let marker = match fault {
                Fault::HangOn(marker) => Some(marker.as_bytes()),
                _ => None,
            };
            let Ok(mut node) = TcpStream::connect(&upstream).await else {
                return;
            };
            let (mut node_read, mut node_write) = node.split();
            let (mut client_read, mut client_write) = client.split();
            let forward = async {
                let mut buf = [0u8; 8192];
                while let Ok(read) = client_read.read(&mut buf).await {
                    if read == 0 {
                        break;
                    }
                    sent.lock().unwrap().extend_from_slice(&buf[..read]);
                    if marker.is_some_and(|marker| buf[..read].windows(marker.len()).any(|w| w == marker)) {
                        // Hold the connection: no answer ever comes back on it.
                        std::future::pending::<()>().await;
                    }
                    if node_write.write_all(&buf[..read]).await.is_err() {
                        break;
                    }
                }
            };
            let back = tokio::io::copy(&mut node_read, &mut client_write);
            tokio::select! {
                _ = forward => {}
                _ = back => {}
            }
        }
        Fault::Stall => {
            // Hold the connection open and unread.
            tokio::time::sleep(Duration::from_secs(300)).await;
            drop(client);
        }
        Fault::Hang => {
            let mut sink = [0u8; 4096];
            while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
        }
        Fault::Delay(delay) => {
            tokio::time::sleep(delay).await;
            if let Ok(mut node) = TcpStream::connect(&upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut node).await;
            }
        }
        Fault::CutAnswer => {
            let Ok(mut node) = TcpStream::connect(&upstream).await else {
                return;
            };
            let (mut node_read, mut node_write) = node.split();
            let (mut client_read, mut client_write) = client.split();
            let forward = tokio::io::copy(&mut client_read, &mut node_write);
            let mut answer = [0u8; 16];
            tokio::select! {
                _ = forward => {}
                read = node_read.read(&mut answer) => {
                    if let Ok(n) = read {
                        let _ = client_write.write_all(&answer[..n.min(12)]).await;
                        cuts.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        }
    }
}
