//! Single flight per tenant: a lock object in the bucket, taken and moved with conditional
//! writes.
//!
//! `state/{tenant}/_lock.json` holds the owner (one invocation), the run it works for and an
//! expiry. Taking it is a create-only write (`If-None-Match: *`); replacing an expired or
//! released lock, renewing it, and releasing it are compare-and-swap writes on its ETag
//! (`If-Match`). Two invocations racing for the same expired lock both read the same ETag, and
//! only one swap can succeed.
//!
//! Releasing does not delete the object: it marks it released and records when the last
//! requests of the credential were sent, so the next holder (a continuation, or the next
//! scheduled run a second later) seeds its pacer and does not burst past the server's window.

use crate::landing::STATE_PREFIX;
use crate::store::{Condition, ObjectStore, StoreError};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

/// The lock object's key for a tenant.
pub fn lock_key(tenant: &str) -> String {
    format!("{STATE_PREFIX}{tenant}/_lock.json")
}

/// The lock object's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockRecord {
    /// The invocation holding (or that last held) the lock.
    pub owner: String,
    /// The run it works for, when known.
    #[serde(default)]
    pub run_id: Option<String>,
    pub acquired_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub released: bool,
    /// Send times of the credential's most recent requests (for the next holder's pacer).
    #[serde(default)]
    pub recent_requests: Vec<DateTime<Utc>>,
}

/// A held lock.
#[derive(Debug, Clone)]
pub struct LockGuard {
    pub tenant: String,
    pub owner: String,
    etag: Option<String>,
    pub record: LockRecord,
    /// What the previous holder left: its recent request times.
    pub inherited_requests: Vec<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another invocation holds the lock: this one must not proceed.
    #[error("tenant {tenant} is locked by {owner} (run {run_id}) until {expires_at}")]
    Held {
        tenant: String,
        owner: String,
        run_id: String,
        expires_at: DateTime<Utc>,
    },
    /// The lock was taken over (it expired and another invocation stole it).
    #[error("lost the lock of tenant {tenant}: another invocation took it over")]
    Lost { tenant: String },
    #[error("lock store error: {0}")]
    Store(#[from] StoreError),
}

impl LockError {
    pub fn is_retryable(&self) -> bool {
        match self {
            LockError::Held { .. } | LockError::Lost { .. } => true,
            LockError::Store(e) => e.is_retryable(),
        }
    }
}

fn body(rec: &LockRecord) -> Bytes {
    Bytes::from(serde_json::to_vec(rec).unwrap_or_default())
}

fn expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(20))
}

/// Take the tenant's lock for `owner`, or say who holds it.
pub async fn acquire<S: ObjectStore>(
    store: &S,
    tenant: &str,
    owner: &str,
    run_id: Option<&str>,
    ttl: Duration,
) -> Result<LockGuard, LockError> {
    let key = lock_key(tenant);
    let now = Utc::now();
    let mut rec = LockRecord {
        owner: owner.to_string(),
        run_id: run_id.map(str::to_string),
        acquired_at: now,
        expires_at: expiry(now, ttl),
        released: false,
        recent_requests: Vec::new(),
    };
    let guard = |etag, record, inherited_requests| LockGuard {
        tenant: tenant.to_string(),
        owner: owner.to_string(),
        etag,
        record,
        inherited_requests,
    };
    let held = |owner: &str, run_id: String, expires_at| LockError::Held {
        tenant: tenant.to_string(),
        owner: owner.to_string(),
        run_id,
        expires_at,
    };
    if let Write::Done(etag) = write_lock(store, &key, &rec, Condition::IfNoneMatch).await? {
        return Ok(guard(etag, rec, Vec::new()));
    }
    // It exists: free only if released or expired.
    let current = match store.get(&key).await {
        Ok(o) => o,
        // Deleted between our two calls: try once more from scratch (no loop).
        Err(StoreError::NotFound { .. }) => {
            return match write_lock(store, &key, &rec, Condition::IfNoneMatch).await? {
                Write::Done(etag) => Ok(guard(etag, rec, Vec::new())),
                Write::Refused => Err(held("(unknown)", "(unknown)".into(), now)),
            };
        }
        Err(e) => return Err(e.into()),
    };
    // An unreadable lock is treated as expired: better one takeover than a tenant stuck forever.
    let prev: Option<LockRecord> = serde_json::from_slice(&current.body).ok();
    if let Some(p) = &prev {
        if !p.released && p.expires_at > now && p.owner != owner {
            return Err(held(
                &p.owner,
                p.run_id.clone().unwrap_or_default(),
                p.expires_at,
            ));
        }
    }
    let Some(etag) = current.etag.clone() else {
        return Err(no_etag("get", key));
    };
    let inherited = prev.map(|p| p.recent_requests).unwrap_or_default();
    rec.recent_requests = inherited.clone();
    match write_lock(store, &key, &rec, Condition::IfMatch(etag)).await? {
        Write::Done(etag) => Ok(guard(etag, rec, inherited)),
        Write::Refused => Err(held("(a concurrent invocation)", String::new(), now)),
    }
}

/// What a conditional write of the lock record found.
enum Write {
    /// Written; the store's new ETag.
    Done(Option<String>),
    /// The condition failed: another invocation wrote the lock first.
    Refused,
}

async fn write_lock<S: ObjectStore>(
    store: &S,
    key: &str,
    rec: &LockRecord,
    condition: Condition,
) -> Result<Write, StoreError> {
    let metadata = HashMap::new();
    match store
        .put_if(key, body(rec), "application/json", &metadata, condition)
        .await
    {
        Ok(etag) => Ok(Write::Done(etag)),
        Err(StoreError::PreconditionFailed { .. }) => Ok(Write::Refused),
        Err(e) => Err(e),
    }
}

/// A store that gives no ETag cannot guard the lock with conditional writes.
fn no_etag(op: &'static str, key: String) -> LockError {
    LockError::Store(StoreError::Permanent {
        op,
        key,
        message: "the store returned no ETag for the lock object".into(),
    })
}

impl LockGuard {
    /// Whether less than half the lifetime is left (renew then).
    pub fn needs_renewal(&self, ttl: Duration) -> bool {
        let half = chrono::Duration::from_std(ttl / 2).unwrap_or_default();
        self.record.expires_at - Utc::now() < half
    }

    /// Extend the expiry (and record the run id). Fails with `Lost` if someone else took it.
    pub async fn renew<S: ObjectStore>(
        &mut self,
        store: &S,
        run_id: Option<&str>,
        ttl: Duration,
    ) -> Result<(), LockError> {
        let mut rec = self.record.clone();
        rec.expires_at = expiry(Utc::now(), ttl);
        if let Some(r) = run_id {
            rec.run_id = Some(r.to_string());
        }
        self.swap(store, rec).await
    }

    /// Mark released, leaving the credential's recent request times for the next holder.
    pub async fn release<S: ObjectStore>(
        mut self,
        store: &S,
        recent_requests: Vec<DateTime<Utc>>,
    ) -> Result<(), LockError> {
        let mut rec = self.record.clone();
        rec.released = true;
        rec.expires_at = Utc::now();
        rec.recent_requests = recent_requests;
        self.swap(store, rec).await
    }

    async fn swap<S: ObjectStore>(&mut self, store: &S, rec: LockRecord) -> Result<(), LockError> {
        let key = lock_key(&self.tenant);
        let Some(etag) = self.etag.clone() else {
            return Err(no_etag("put", key));
        };
        match write_lock(store, &key, &rec, Condition::IfMatch(etag)).await? {
            Write::Done(etag) => {
                self.etag = etag;
                self.record = rec;
                Ok(())
            }
            Write::Refused => Err(LockError::Lost {
                tenant: self.tenant.clone(),
            }),
        }
    }
}
