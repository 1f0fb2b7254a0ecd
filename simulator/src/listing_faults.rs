//! Faults in a whole listing, not in one response: what makes a full run see less than the
//! object holds while every answer looks fine on its own.
//!
//! The per-request faults ([`crate::Fault`]) are errors a client retries. These are answers a
//! client must *not* trust: an empty page in the middle of a listing, a listing that stops
//! early, an envelope whose `total_de_registros` lies (docs/cvdw-api.md §3.1 saw a zero total
//! with 17 rows). They apply to unfiltered requests of one object (what a full run sends), so
//! the loader's deletion evidence can be tested against them (`cvdw` chaos tests).

use crate::Simulator;
use std::sync::PoisonError;

/// A lie in the listing of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListingFault {
    /// Page `page` answers with the envelope's totals and no rows, the next `times` times it
    /// is asked for (then the truth again).
    EmptyPage { page: u64, times: u32 },
    /// The listing announces at most `pages` pages and serves no rows past them; the total of
    /// rows stays true.
    Truncated { pages: u64 },
    /// `total_de_registros` says this instead of the truth.
    LyingTotal { total: u64 },
}

/// What the listing faults make of one page of an unfiltered listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shown {
    pub total: u64,
    pub pages: u64,
    /// Serve no rows on this page.
    pub empty: bool,
}

impl Shown {
    /// The envelope's figures as they are, rows served.
    pub(crate) fn truth(total: u64, pages: u64) -> Self {
        Self {
            total,
            pages,
            empty: false,
        }
    }
}

impl Simulator {
    /// Make every unfiltered listing of `object` (a catalogue path or name) lie as `fault`
    /// says, until [`Simulator::clear_listing_faults`].
    pub fn script_listing_fault(&self, object: &str, fault: ListingFault) {
        let Some(spec) = shared::catalogue::find(object) else {
            return;
        };
        self.inner
            .listing_faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((spec.path, fault));
    }

    pub fn clear_listing_faults(&self) {
        self.inner
            .listing_faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Apply the listing faults of `path` to page `pagina` whose true figures are `shown`
    /// (consumes one use of a counted [`ListingFault::EmptyPage`]).
    pub(crate) fn listing_shown(&self, path: &str, pagina: u64, mut shown: Shown) -> Shown {
        let mut faults = self
            .inner
            .listing_faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (faulty_path, fault) in faults.iter_mut() {
            if *faulty_path != path {
                continue;
            }
            match fault {
                ListingFault::EmptyPage { page, times } if *page == pagina && *times > 0 => {
                    *times -= 1;
                    shown.empty = true;
                }
                ListingFault::EmptyPage { .. } => {}
                ListingFault::Truncated { pages } => {
                    shown.pages = shown.pages.min(*pages);
                    shown.empty |= pagina > *pages;
                }
                ListingFault::LyingTotal { total } => shown.total = *total,
            }
        }
        shown
    }
}
