//! Whether a full run saw the whole object: the evidence its deletions rest on.
//!
//! A full run marks deleted every stored row it did not see. That is only right if it saw
//! everything, and CVDW gives reasons to doubt it: an empty page (or a 204) in the middle of a
//! listing, a run cut short, totals that contradict the rows (docs/cvdw-api.md §3.1). One
//! glitch on page 1 of the daily full run would otherwise make every sale vanish until the next
//! one. So a full run's manifest deletes only when every test below holds; otherwise it is
//! recorded as `deletion_skipped` with the first failing reason, nothing is deleted, and the
//! load function counts it in the `DeletionsSkipped` metric, which an alarm watches.
//!
//! On the pages (this module, [`check_pages`]):
//! 1. the manifest lists pages `1..=n` with no gap, and each one is in the ledger with the
//!    row count the manifest gives (the loader counted the rows itself);
//! 2. every page carries the envelope's totals, and `n` reaches the highest
//!    `total_de_paginas` any page announced;
//! 3. no page before the last is short: an empty or partial page before the end means the
//!    listing lost rows;
//! 4. the rows seen agree with every page's `total_de_registros` within
//!    [`TOTAL_TOLERANCE_ROWS`] or [`TOTAL_TOLERANCE_SHARE`], whichever is larger. CVDW pages
//!    by offset, so a row added or removed while the run walks the pages shifts the others by
//!    one: the count seen can differ from a total by about the number of changes made during
//!    the run. Tens of changes in an hour-long crawl of a big object are normal; a total that
//!    is off by more is a lie (a zero total with rows, seen live) or a lost stretch.
//!
//! On the database ([`super::try_apply`]): 5. the share of the object's live rows that the run
//! would delete is below `etl.deletion_policy.max_share` (20 % unless an operator set
//! otherwise for the tenant or object, migration 0010). A real mass deletion is then applied
//! by raising the limit and replaying the manifest; a glitch costs nothing.
//!
//! A row that was in a page but quarantined still counts as seen: its stored twin gets the
//! sighting (`Bookkeeping` in [`super`]), so one bad value cannot make a live sale vanish.

use crate::landing::ManifestPage;
use std::collections::HashMap;

/// Rows by which the count seen may differ from `total_de_registros` whatever the size.
pub const TOTAL_TOLERANCE_ROWS: u64 = 10;
/// ... or this share of the total, when larger.
pub const TOTAL_TOLERANCE_SHARE: f64 = 0.01;
/// The share of live rows a full run may delete when `etl.deletion_policy` has no row for the
/// tenant and object (migration 0010 inserts this default for all).
pub const DEFAULT_MAX_SHARE: f64 = 0.20;

/// The first reason the pages of a full run are not complete evidence, or `Ok`.
/// `ledger_rows` maps each page key in the ledger to the rows the loader counted in it.
pub fn check_pages(
    pages: &[ManifestPage],
    ledger_rows: &HashMap<String, i32>,
) -> Result<(), String> {
    if pages.is_empty() {
        return Err("no page was stored (an empty answer or a 204 on page 1)".into());
    }
    for (i, p) in pages.iter().enumerate() {
        let expected = i as u32 + 1;
        if p.page != expected {
            return Err(format!("page {expected} is missing from the manifest"));
        }
        match ledger_rows.get(&p.key) {
            Some(&n) if n >= 0 && n as u32 == p.rows => {}
            Some(&n) => {
                return Err(format!(
                    "page {}: the loader counted {n} rows, the manifest says {}",
                    p.page, p.rows
                ))
            }
            None => return Err(format!("page {} is not loaded", p.page)),
        }
    }
    let mut announced = 0;
    for p in pages {
        match (p.total_de_paginas, p.total_de_registros) {
            (Some(tp), Some(_)) => announced = announced.max(tp),
            _ => {
                return Err(format!(
                    "page {} carries no total_de_paginas/total_de_registros",
                    p.page
                ))
            }
        }
    }
    let n = pages.len() as u64;
    if n < announced {
        return Err(format!(
            "the run ended at page {n} of the {announced} announced"
        ));
    }
    for p in &pages[..pages.len() - 1] {
        if let Some(size) = p.registros.filter(|&s| s > 0) {
            if u64::from(p.rows) < size {
                return Err(format!(
                    "page {} is short ({} of {size} rows) before the last page",
                    p.page, p.rows
                ));
            }
        } else if p.rows == 0 {
            return Err(format!("page {} is empty before the last page", p.page));
        }
    }
    let seen: u64 = pages.iter().map(|p| u64::from(p.rows)).sum();
    for p in pages {
        let claimed = p.total_de_registros.unwrap_or_default();
        let tolerance = TOTAL_TOLERANCE_ROWS.max((claimed as f64 * TOTAL_TOLERANCE_SHARE) as u64);
        if seen.abs_diff(claimed) > tolerance {
            return Err(format!(
                "{seen} rows seen, but page {} says total_de_registros = {claimed}",
                p.page
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: u32, rows: u32, total: u64, pages: u64) -> ManifestPage {
        ManifestPage {
            page: n,
            key: format!("k{n}"),
            rows,
            sha256: String::new(),
            total_de_registros: Some(total),
            total_de_paginas: Some(pages),
            registros: Some(500),
        }
    }

    fn ledger(pages: &[ManifestPage]) -> HashMap<String, i32> {
        pages
            .iter()
            .map(|p| (p.key.clone(), p.rows as i32))
            .collect()
    }

    fn check(pages: &[ManifestPage]) -> Result<(), String> {
        check_pages(pages, &ledger(pages))
    }

    #[test]
    fn a_whole_run_is_evidence() {
        let pages = [
            page(1, 500, 1203, 3),
            page(2, 500, 1203, 3),
            page(3, 203, 1203, 3),
        ];
        assert_eq!(check(&pages), Ok(()));
        // An empty object, answered honestly.
        assert_eq!(check(&[page(1, 0, 0, 0)]), Ok(()));
        // Offset drift of a few rows is normal.
        let drift = [
            page(1, 500, 1210, 3),
            page(2, 500, 1203, 3),
            page(3, 200, 1200, 3),
        ];
        assert_eq!(check(&drift), Ok(()));
    }

    #[test]
    fn an_incomplete_run_is_not() {
        let cases: Vec<(Vec<ManifestPage>, &str)> = vec![
            (vec![], "no page"),
            (
                vec![page(1, 500, 1203, 3), page(3, 203, 1203, 3)],
                "page 2 is missing",
            ),
            (
                vec![page(1, 500, 1203, 3), page(2, 0, 1203, 3)],
                "ended at page 2 of the 3",
            ),
            (
                vec![
                    page(1, 500, 1203, 3),
                    page(2, 0, 1203, 3),
                    page(3, 203, 1203, 3),
                ],
                "page 2 is short (0 of 500",
            ),
            (
                vec![
                    page(1, 500, 1203, 3),
                    page(2, 480, 1203, 3),
                    page(3, 203, 1203, 3),
                ],
                "page 2 is short",
            ),
            // A lying total: the known "0 total with rows", and a doubled one.
            (
                vec![page(1, 17, 0, 0)],
                "17 rows seen, but page 1 says total_de_registros = 0",
            ),
            (vec![page(1, 500, 2406, 1)], "500 rows seen"),
            // A truncated listing that looks whole page by page.
            (vec![page(1, 500, 5000, 1)], "500 rows seen"),
        ];
        for (pages, why) in cases {
            let err = check(&pages).unwrap_err();
            assert!(err.contains(why), "{err} (expected: {why})");
        }
        let mut no_totals = page(1, 5, 5, 1);
        no_totals.total_de_registros = None;
        assert!(check(&[no_totals])
            .unwrap_err()
            .contains("carries no total"));
    }

    #[test]
    fn the_ledger_must_agree_with_the_manifest() {
        let pages = [page(1, 500, 600, 2), page(2, 100, 600, 2)];
        let mut l = ledger(&pages);
        l.remove("k2");
        assert!(check_pages(&pages, &l)
            .unwrap_err()
            .contains("page 2 is not loaded"));
        l.insert("k2".into(), 99);
        assert!(check_pages(&pages, &l)
            .unwrap_err()
            .contains("the loader counted 99 rows"));
    }
}
