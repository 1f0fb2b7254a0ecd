//! # The CVDW client
//!
//! One GET per page against `{base}/{object-path}?pagina=N&registros_por_pagina=500[&a_partir_data_referencia=…]`
//! with the headers `email`, `token` and `Accept: application/json` (docs/cvdw-api.md §2). The base
//! is `https://{subdomain}.cvcrm.com.br/api/v1/cvdw` unless `CVDW_BASE_URL` overrides it.
//!
//! - [`pacer`]: one [`Pacer`] per credential, shared by every object, keeps the request rate
//!   within the allowance (20 per rolling 60 s by default) while using it fully.
//! - [`envelope`]: lenient reading of the page envelope (int-or-string `pagina`, totals that
//!   contradict the rows) and the stop rule.
//! - [`client`]: [`CvdwClient::fetch_page`] returns the exact bytes of one good page.
//!
//! ## How responses are treated
//! | response | treatment |
//! |---|---|
//! | 2xx with an envelope | the page (body kept byte for byte) |
//! | 429, or any status with body `{"Response":"Too many requests"}` | pause the whole credential ≥ the window (escalating ×2 per repeat, capped), retry the **same** page; give up after `max_throttles` (retryable error) |
//! | HTML/non-JSON body, truncated or invalid JSON, 5xx, 408, 422, timeout, connection error | exponential backoff with jitter, at most `max_attempts` attempts, then a retryable error |
//! | 400, 401, 403, 404, 405 and other 4xx | permanent error naming the object, the parameters and the server's message |
//!
//! Every attempt, including failed ones, goes through the pacer: the server counts them too.
//! No loop can spin forever: both retry kinds are bounded and every retry waits.

pub mod client;
pub mod envelope;
pub mod pacer;

pub use client::{
    base_url_for_subdomain, build_query, install_ring_provider, ClientConfig, CvdwClient,
    CvdwError, FetchedPage, PageRequest, RetryPolicy, WaitHook, WaitKind, MAX_PAGE_SIZE,
};
pub use envelope::{inspect, Body, PageSummary};
pub use pacer::{Pacer, PacerConfig, PacerStats, Ticket};
