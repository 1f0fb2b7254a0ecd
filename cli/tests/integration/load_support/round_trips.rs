//! A TCP proxy in front of the local PostgreSQL that checks round trips on the wire, so a test
//! can check "one round trip" where the server sees it rather than trust the loader's own
//! report.
//!
//! - [`RoundTrips::flights`] counts client flights: bytes from the client after bytes from
//!   the server. A client that waits for an answer before going on makes a new flight, so a
//!   page loaded step by step shows several.
//! - With [`RoundTrips::hold_transactions`], the server's answers inside a transaction are held
//!   back from the client from its `BEGIN` until it has sent its `COMMIT` (or `ROLLBACK`): a
//!   client that sends the whole transaction at once gets every answer then, as usual; one
//!   that waits for an answer in between is never given it, and after [`HOLD_BOUND`] the
//!   proxy lets go and records that the client waited. No stall of a client that does not
//!   wait can make it look as if it had.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// How long held answers wait for a `COMMIT` before the proxy decides the client is waiting.
pub const HOLD_BOUND: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Wire {
    /// Whether the last chunk seen came from the client.
    client_spoke_last: Mutex<bool>,
    flights: AtomicU64,
    hold: AtomicBool,
    /// Inside a transaction the client has not finished sending.
    holding: AtomicBool,
    waited: AtomicBool,
}

/// The proxy; it stops accepting when dropped.
pub struct RoundTrips {
    pub port: u16,
    wire: Arc<Wire>,
    accept: tokio::task::JoinHandle<()>,
}

impl RoundTrips {
    /// Listen on a free local port and relay every connection to `target`.
    pub async fn start(target: (String, u16)) -> RoundTrips {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let port = listener.local_addr().expect("bound").port();
        let wire = Arc::new(Wire::default());
        let shared = wire.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect((target.0.as_str(), target.1)).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(from_client(client_read, server_write, shared.clone()));
                tokio::spawn(from_server(server_read, client_write, shared.clone()));
            }
        });
        RoundTrips { port, wire, accept }
    }

    /// Client flights so far, over every connection through the proxy.
    pub fn flights(&self) -> u64 {
        self.wire.flights.load(Ordering::SeqCst)
    }

    /// Hold the server's answers inside transactions (or stop), and forget earlier waits.
    pub fn hold_transactions(&self, on: bool) {
        self.wire.hold.store(on, Ordering::SeqCst);
        self.wire.waited.store(false, Ordering::SeqCst);
    }

    /// Whether a client waited for an answer inside a held transaction.
    pub fn waited(&self) -> bool {
        self.wire.waited.load(Ordering::SeqCst)
    }
}

impl Drop for RoundTrips {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Wire {
    fn saw(&self, from_client: bool) {
        let mut last = self.client_spoke_last.lock().unwrap();
        if from_client && !*last {
            self.flights.fetch_add(1, Ordering::SeqCst);
        }
        *last = from_client;
    }
}

/// The first word of a simple query (`Q`) or of a statement being parsed (`P`), upper-cased.
fn first_word(kind: u8, body: &[u8]) -> Option<String> {
    let text = match kind {
        b'Q' => body,
        b'P' => {
            let name_end = body.iter().position(|b| *b == 0)?;
            &body[name_end + 1..]
        }
        _ => return None,
    };
    let text = String::from_utf8_lossy(text);
    let word = text
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()?;
    Some(word.to_ascii_uppercase())
}

/// Client → server: frames the protocol's messages to see transactions begin and end.
async fn from_client(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, wire: Arc<Wire>) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    // The startup message has no type byte.
    let mut started = false;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        wire.saw(true);
        pending.extend_from_slice(&buf[..n]);
        let mut ends_transaction = false;
        loop {
            let header = if started { 5 } else { 4 };
            if pending.len() < header {
                break;
            }
            let len_at = header - 4;
            let len = u32::from_be_bytes(pending[len_at..len_at + 4].try_into().unwrap()) as usize;
            let total = len_at + len;
            if pending.len() < total {
                break;
            }
            if started {
                match first_word(pending[0], &pending[5..total]).as_deref() {
                    Some("BEGIN" | "START") if wire.hold.load(Ordering::SeqCst) => {
                        wire.holding.store(true, Ordering::SeqCst)
                    }
                    Some("COMMIT" | "ROLLBACK" | "END") => ends_transaction = true,
                    _ => {}
                }
            }
            started = true;
            pending.drain(..total);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        if ends_transaction {
            wire.holding.store(false, Ordering::SeqCst);
        }
    }
    let _ = to.shutdown().await;
}

/// Server → client: answers go on at once, except inside a held transaction.
async fn from_server(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, wire: Arc<Wire>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut waited = Duration::ZERO;
        while wire.holding.load(Ordering::SeqCst) {
            if waited >= HOLD_BOUND {
                wire.waited.store(true, Ordering::SeqCst);
                wire.holding.store(false, Ordering::SeqCst);
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            waited += Duration::from_millis(5);
        }
        wire.saw(false);
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
