//! The advisory locks every page and manifest transaction takes, always in this order: its page
//! key exclusively, then `(tenant, object)`: shared for a page, exclusive for a manifest (see
//! the module docs of [`super`] for why that cannot deadlock).

/// Take a transaction-level advisory lock named `$1`: exclusively, or shared.
pub(super) const LOCK: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";

pub(super) const LOCK_SHARED: &str = "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))";

pub(super) fn lock_name(tenant: &str, object: &str) -> String {
    format!("cvdw-load/{tenant}/{object}")
}

pub(super) fn page_lock_name(key: &str) -> String {
    format!("cvdw-page/{key}")
}
