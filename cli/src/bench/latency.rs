//! A TCP proxy that adds network latency, for benchmarks against a local server.
//!
//! The loader and the API run against Neon over a network: a Lambda in the same region sees a
//! round trip of about 1–3 ms, the old cron script from an office much more. On loopback a round
//! trip costs ~50 µs, which hides exactly the cost that separates one statement per page from
//! one statement per row. `--rtt-ms` puts this proxy between the benchmark and PostgreSQL.
//!
//! Each direction delays every chunk by half the round trip, *in order and without throttling*:
//! a reader stamps each chunk with its due time and a writer sends it when due, so bytes in
//! flight overlap as on a real link (a pipelined batch of statements pays one round trip, not
//! one per statement). Bandwidth is not limited.
//!
//! The reader and writer of each direction are OS threads that sleep with `std::thread::sleep`
//! (nanosleep: ~0.1 ms late at most here). tokio's timer wheel ticks in whole milliseconds and
//! rounds every wait up to the next tick, so the async proxy this replaces turned `--rtt-ms 1`
//! into a measured ~3.3 ms round trip. A benchmark opens a handful of connections, so four
//! threads per connection cost nothing that matters.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// A running proxy; it stops accepting when dropped (connections already open run until
/// either end closes them).
pub struct LatencyProxy {
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Listen on a free loopback port and forward to `target`, adding `rtt` per round trip.
pub fn start(target: (String, u16), rtt: Duration) -> std::io::Result<LatencyProxy> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    let port = listener.local_addr()?.port();
    let stop = Arc::new(AtomicBool::new(false));
    let one_way = rtt / 2;
    let stopped = stop.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            if stopped.load(Ordering::SeqCst) {
                break;
            }
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect((target.0.as_str(), target.1)) else {
                continue;
            };
            let _ = connect_pair(client, server, one_way);
        }
    });
    Ok(LatencyProxy { port, stop })
}

fn connect_pair(client: TcpStream, server: TcpStream, one_way: Duration) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    pipe(client.try_clone()?, server.try_clone()?, one_way);
    pipe(server, client, one_way);
    Ok(())
}

/// Copy `from` → `to`, each chunk `delay` after it was read.
fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx
                        .send((Instant::now() + delay, buf[..n].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        while let Ok((due, chunk)) = rx.recv() {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// Median round trip of a trivial statement on a fresh connection, in ms.
pub async fn round_trip_ms(cfg: &shared::db::DbConfig) -> anyhow::Result<f64> {
    let mut db = shared::db::Db::connect(cfg).await?;
    let c = db.client();
    c.simple_query("SELECT 1").await?;
    let mut ms = Vec::with_capacity(50);
    for _ in 0..50 {
        let t = std::time::Instant::now();
        c.simple_query("SELECT 1").await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    Ok(ms[ms.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes arrive whole and in order, and no sooner than the added round trip (only the
    /// lower bound is checked: an upper one would be flaky on a busy machine).
    #[tokio::test]
    async fn forwards_in_order_and_delays_each_round_trip() {
        let echo = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let echo_port = echo.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = echo.accept() {
                let mut buf = [0u8; 1024];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        });
        let rtt = Duration::from_millis(20);
        let proxy = start(("127.0.0.1".into(), echo_port), rtt).unwrap();
        let mut c = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
        for round in 0..3u8 {
            let msg = [b'a' + round; 100];
            let t = Instant::now();
            c.write_all(&msg[..50]).unwrap();
            c.write_all(&msg[50..]).unwrap();
            let mut got = [0u8; 100];
            c.read_exact(&mut got).unwrap();
            assert!(t.elapsed() >= rtt, "{:?}", t.elapsed());
            assert_eq!(got, msg);
        }
    }
}
