//! A page made ready for its transaction: everything the loader does to a page before it needs
//! the database — sha256, the checks against its metadata, the envelope, coercion,
//! de-duplication and sorting ([`prepare`]).
//!
//! [`super::load_page`] prepares a page while its ledger check travels (the load Lambda: one
//! page per call). A loader with a queue of pages (`cvdw replay`, `cvdw load`, `cvdw bench
//! load`) does better: it prepares the *next* page on another thread while the current one's
//! transaction runs on the server ([`PreparedPage::spawn`], [`super::queue`]), so the
//! client's parse (and, for replay, the S3 GET) costs no wall time once the pipeline is full.
//! For that the prepared page must own the body its rows borrow (the rows are slices of it,
//! never copied: `rows.rs`): [`PreparedPage`] is the body and its parse in one value
//! (`self_cell`), which can move between threads.

use super::rows::{build_batch, parse_envelope, Batch};
use super::tables::{self, TypedTable};
use super::{canonical_key, guard, sha256_hex};
use crate::catalogue::{self, ObjectSpec};
use crate::landing::PageMeta;
use std::time::{Duration, Instant};

/// A page parsed for its table, or why it cannot be loaded at all (recorded in
/// `etl.failed_pages` when its turn comes).
#[derive(Debug)]
pub struct Prepared<'a> {
    pub sha: String,
    pub ready: Result<Ready<'a>, String>,
    /// Client CPU spent preparing (sha256 included).
    pub parse: Duration,
}

/// A page whose rows are ready to send.
#[derive(Debug)]
pub struct Ready<'a> {
    pub spec: &'static ObjectSpec,
    pub typed: Option<&'static TypedTable>,
    pub batch: Batch<'a>,
}

/// Prepare a page. `marked` is [`guard::marked_utf8`] of `body` (the text the rows are read
/// from when the body is not UTF-8); the batch borrows it, or the body.
pub fn prepare<'a>(
    key: &str,
    body: &'a [u8],
    marked: Option<&'a str>,
    meta: &PageMeta,
) -> Prepared<'a> {
    let started = Instant::now();
    let mut prepared = prepare_hashed(key, body, marked, meta, sha256_hex(body));
    prepared.parse = started.elapsed();
    prepared
}

/// [`prepare`] with the body's sha256 already computed.
pub fn prepare_hashed<'a>(
    key: &str,
    body: &'a [u8],
    marked: Option<&'a str>,
    meta: &PageMeta,
    sha: String,
) -> Prepared<'a> {
    let started = Instant::now();
    let ready = check(key, &sha, meta).and_then(|spec| {
        let typed = tables::typed(spec.name);
        let rows = parse_envelope(marked.map_or(body, str::as_bytes))?;
        Ok(Ready {
            spec,
            typed,
            batch: build_batch(spec, typed, rows),
        })
    });
    Prepared {
        sha,
        ready,
        parse: started.elapsed(),
    }
}

/// What must hold before a page is parsed: its object is known, its key is the canonical key
/// of its metadata, and its body is the one the metadata describes.
fn check(key: &str, sha: &str, meta: &PageMeta) -> Result<&'static ObjectSpec, String> {
    let Some(spec) = catalogue::find(&meta.object_path) else {
        return Err(format!("unknown CVDW object path {:?}", meta.object_path));
    };
    let canonical = canonical_key(spec, meta);
    if key != canonical {
        return Err(format!(
            "key does not match its metadata (expected {canonical})"
        ));
    }
    if !meta.sha256.is_empty() && !meta.sha256.eq_ignore_ascii_case(sha) {
        return Err(format!(
            "body sha256 {sha} differs from the metadata's {}",
            meta.sha256
        ));
    }
    Ok(spec)
}

/// A raw page and where it came from: what a loader with a queue holds.
#[derive(Debug, Clone)]
pub struct PageInput {
    /// The S3 key, or the canonical key of a page read from disk.
    pub key: String,
    /// The page's bytes (S3's own buffer when it came from there: not copied).
    pub body: bytes::Bytes,
    pub meta: PageMeta,
    pub etag: Option<String>,
}

/// What a [`PreparedPage`] owns: the page, and its text when the body is not UTF-8.
#[derive(Debug)]
pub struct Source {
    pub input: PageInput,
    pub marked: Option<String>,
}

self_cell::self_cell!(
    struct Cell {
        owner: Source,
        #[covariant]
        dependent: Prepared,
    }
    impl {Debug}
);

/// Await a task a loader started ahead (reading or preparing a page: [`PreparedPage::spawn`]).
/// Such work handles its own errors, so a panic there is a bug: it goes on in the caller, as
/// if the work had been done in place.
pub async fn joined<T>(handle: tokio::task::JoinHandle<T>) -> T {
    match handle.await {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// A page and its [`Prepared`] parse in one owned value.
#[derive(Debug)]
pub struct PreparedPage(Cell);

impl PreparedPage {
    pub fn new(input: PageInput) -> Self {
        let marked = guard::marked_utf8(&input.body);
        PreparedPage(Cell::new(Source { input, marked }, |s| {
            prepare(
                &s.input.key,
                &s.input.body,
                s.marked.as_deref(),
                &s.input.meta,
            )
        }))
    }

    /// Prepare `input` on tokio's blocking pool: the parse of a 500-row page is milliseconds
    /// of CPU, which must not stall the runtime's workers (one of them drives the connection
    /// the current page is loading on).
    pub fn spawn(input: PageInput) -> tokio::task::JoinHandle<PreparedPage> {
        tokio::task::spawn_blocking(move || PreparedPage::new(input))
    }

    pub fn input(&self) -> &PageInput {
        &self.0.borrow_owner().input
    }

    pub fn key(&self) -> &str {
        &self.input().key
    }

    /// The body's sha256 (hex).
    pub fn sha(&self) -> &str {
        &self.0.borrow_dependent().sha
    }

    pub(crate) fn parts(&self) -> (&Source, &Prepared<'_>) {
        (self.0.borrow_owner(), self.0.borrow_dependent())
    }
}
