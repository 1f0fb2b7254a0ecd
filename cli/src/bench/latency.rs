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

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A running proxy; it stops when dropped.
pub struct LatencyProxy {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Listen on a free loopback port and forward to `target`, adding `rtt` per round trip.
pub async fn start(target: (String, u16), rtt: Duration) -> std::io::Result<LatencyProxy> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    let one_way = rtt / 2;
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect((target.0.as_str(), target.1)).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::join!(pipe(cr, sw, one_way), pipe(sr, cw, one_way));
            });
        }
    });
    Ok(LatencyProxy { port, task })
}

/// Copy `from` → `to`, each chunk `delay` after it was read.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf).await {
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
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
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
