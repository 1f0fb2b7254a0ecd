//! What loading a page or a manifest can end in: the outcomes, the reports, the errors.

use super::wire;
use crate::db::is_retryable_pg;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("database: {}", crate::db::pg_error_text(.0))]
    Db(#[from] tokio_postgres::Error),
    /// The page cannot be loaded as it is (recorded in `etl.failed_pages`).
    #[error("page {key}: {reason}")]
    BadPage { key: String, reason: String },
    /// The manifest cannot be read (recorded in `etl.failed_pages`).
    #[error("manifest {key}: {reason}")]
    BadManifest { key: String, reason: String },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The database's table differs from what the loader writes (a migration is missing).
    #[error(transparent)]
    Layout(#[from] wire::LayoutMismatch),
    /// The page was committed without waiting for the disk, and the commit that would have
    /// made it durable failed ([`queue`]): it may be lost; load it again (a no-op if it was
    /// not).
    #[error("page {key}: not known to be durable: {reason}")]
    Unconfirmed { key: String, reason: String },
}

impl LoadError {
    /// Database hiccups pass; a bad page or manifest stays bad until someone fixes it.
    pub fn is_retryable(&self) -> bool {
        match self {
            LoadError::Db(e) => is_retryable_pg(e),
            LoadError::BadPage { .. } | LoadError::BadManifest { .. } | LoadError::Layout(_) => {
                false
            }
            LoadError::Store(e) => e.is_retryable(),
            LoadError::Unconfirmed { .. } => true,
        }
    }
}

/// Options of a load.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Reload a page even when the ledger already has it with the same sha256.
    pub force: bool,
}

/// What loading a page did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageOutcome {
    Loaded(PageReport),
    /// Already in the ledger with the same sha256: nothing done.
    Duplicate {
        key: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageReport {
    pub key: String,
    /// Rows in `dados`.
    pub rows: u32,
    /// Distinct natural keys upserted.
    pub loaded: u32,
    /// Of those, rows whose stored values now come from this page.
    pub newest: u32,
    pub duplicates: u32,
    pub rejected: u32,
    /// Pending manifests this page completed (and that were applied).
    pub manifests_applied: u32,
    /// Of those, full runs applied without deletions for want of evidence ([`evidence`]).
    pub deletions_skipped: u32,
    /// Loaded in one round trip (the usual case), not step by step.
    pub one_round_trip: bool,
    /// Where the time went.
    pub phases: PagePhases,
}

/// Wall time of a page load by phase (what `cvdw bench load` breaks its figure down into).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PagePhases {
    /// Client CPU: sha256, JSON parse, coercion, de-duplication.
    pub parse: Duration,
    /// What the ledger check added to the parse it overlaps; reading the row layout when it
    /// was not cached. Step by step: also BEGIN, the locks and the reads under them.
    pub begin: Duration,
    /// In one round trip: the whole transaction, BEGIN to COMMIT. Step by step: the bulk
    /// upsert (plus, for a late out-of-order page, the bookkeeping of newer rows).
    pub upsert: Duration,
    /// Step by step: children, quarantine, ledger and pending manifests (pipelined), and
    /// manifests applied.
    pub rest: Duration,
    /// Step by step: COMMIT (the WAL flush).
    pub commit: Duration,
}

/// What loading a manifest did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestOutcome {
    Applied {
        deleted: u64,
    },
    /// Waiting for this many pages.
    Pending {
        missing: i64,
    },
    AlreadyApplied,
    /// A full run whose pages were not complete evidence ([`evidence`]): recorded, nothing
    /// deleted.
    DeletionSkipped {
        reason: String,
    },
}
