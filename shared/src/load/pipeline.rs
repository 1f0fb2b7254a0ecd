//! Several statements of one transaction in flight at once, on one connection.
//!
//! tokio-postgres sends a statement when its future is first polled and answers each from its
//! own channel, so polling the futures in order puts them on the wire in that order, and the
//! server runs them in that order. Two things need care, and are why this is not `try_join!`:
//!
//! - **Which error is the cause.** Once a statement fails, every later one in the transaction
//!   fails with "current transaction is aborted" (25P02). The connection task runs on another
//!   worker thread and may hand over a later statement's answer before an earlier future is
//!   polled again, so the first error *seen* can be a 25P02 that hides a deadlock (retryable)
//!   or a guard's SQLSTATE. [`run`] waits for every statement and reports the first failure
//!   in statement order, which is the cause.
//! - **Nothing after a statement that never left.** A statement that fails on the client
//!   (encoding) fails on its first poll, before it is sent. Polling must stop there, so that
//!   a COMMIT later in the list is never sent after a missing statement. The transaction the
//!   steps began is then still open, and whatever is sent next on the connection would run
//!   inside it — another page's transaction, when pages are pipelined
//!   ([`super::queue`]). So [`run`] sends the caller's `on_stop` step (a ROLLBACK) in that
//!   same first poll, before anything else can be queued behind the steps.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// One statement, sent when first polled.
pub type Step<'a> = Pin<Box<dyn Future<Output = Result<(), tokio_postgres::Error>> + Send + 'a>>;

/// How a pipeline failed.
#[derive(Debug)]
pub struct Failed {
    /// The first failure in statement order.
    pub error: tokio_postgres::Error,
    /// The failed statement and the ones after it were never sent (it failed on the client):
    /// a transaction the steps began is still open on the connection.
    pub rest_unsent: bool,
}

/// Send `steps` in order and wait for all of them (see the module docs). If a step fails
/// before it is sent, `on_stop` is sent at once in its place, and awaited.
pub async fn run(mut steps: Vec<Step<'_>>, on_stop: Option<Step<'_>>) -> Result<(), Failed> {
    let mut results: Vec<Option<Result<(), tokio_postgres::Error>>> =
        steps.iter().map(|_| None).collect();
    let mut polled = 0;
    let mut on_stop = on_stop;
    let mut stopping = None;
    let unsent = std::future::poll_fn(|cx| {
        for (i, step) in steps.iter_mut().enumerate() {
            if results[i].is_some() {
                continue;
            }
            let first_poll = i >= polled;
            polled = polled.max(i + 1);
            if let Poll::Ready(r) = step.as_mut().poll(cx) {
                let client_side = matches!(&r, Err(e) if e.as_db_error().is_none());
                results[i] = Some(r);
                if first_poll && client_side {
                    if let Some(mut stop) = on_stop.take() {
                        // Sent on this first poll; answered below.
                        if stop.as_mut().poll(cx).is_pending() {
                            stopping = Some(stop);
                        }
                    }
                    return Poll::Ready(true);
                }
            }
        }
        if results.iter().all(Option::is_some) {
            Poll::Ready(false)
        } else {
            Poll::Pending
        }
    })
    .await;
    if let Some(stop) = stopping {
        // The statements' own error is the one to report.
        let _ = stop.await;
    }
    match results.into_iter().flatten().find_map(Result::err) {
        None => Ok(()),
        Some(error) => Err(Failed {
            error,
            rest_unsent: unsent,
        }),
    }
}

/// A statement with its typed parameters, as a [`Step`].
pub fn statement<'a, C>(c: &'a C, sql: &'a str, params: Vec<super::Param<'a>>) -> Step<'a>
where
    C: tokio_postgres::GenericClient + Sync,
{
    Box::pin(async move { c.execute_typed(sql, &params).await.map(drop) })
}

/// A simple-protocol command (BEGIN, COMMIT), as a [`Step`].
pub fn command<'a>(c: &'a tokio_postgres::Client, sql: &'a str) -> Step<'a> {
    Box::pin(c.batch_execute(sql))
}
