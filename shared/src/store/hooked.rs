//! A store that lets a hook see, fail or answer each call before it reaches the real one.
//!
//! Everything that needs to stand between the pipeline and its bucket is the same wrapper:
//! [`Hooked`] forwards every call to the inner [`ObjectStore`] and asks its [`StoreHook`]
//! first (which may fail the call, or hold it up) and, after a write the inner store
//! accepted, tells it so. The freshness benchmark's [`Announcing`] store is the hook that
//! turns each write into the `ObjectCreated` notification S3 would send; the tests' fault
//! injectors (a put that fails once, an invocation that dies at an exact write) are hooks too,
//! so the forwarding is written once.

use std::future::{ready, Future};
use std::sync::Arc;

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use super::{ListedObject, ObjectStore, StoreError, StoredObject, Write};

/// One call through a [`Hooked`] store, as its hook sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreCall<'a> {
    /// An unconditional write.
    Put {
        key: &'a str,
    },
    /// A conditional write (`If-None-Match` or `If-Match`).
    PutIf {
        key: &'a str,
    },
    Get {
        key: &'a str,
    },
    List {
        prefix: &'a str,
    },
    Delete {
        key: &'a str,
    },
}

impl<'a> StoreCall<'a> {
    /// The key the call names (the prefix, for a listing).
    pub fn key(&self) -> &'a str {
        match *self {
            StoreCall::Put { key }
            | StoreCall::PutIf { key }
            | StoreCall::Get { key }
            | StoreCall::Delete { key } => key,
            StoreCall::List { prefix } => prefix,
        }
    }
}

/// What stands between a [`Hooked`] store and its inner store. Both steps default to
/// letting the call through untouched.
pub trait StoreHook: Send + Sync + 'static {
    /// Runs before the call reaches the inner store; an error fails the call without
    /// reaching it, and a future that never ends holds the call up for good.
    fn before(&self, call: StoreCall<'_>) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = call;
        ready(Ok(()))
    }

    /// Runs after a write (`Put` or `PutIf`) that the inner store accepted.
    fn written(&self, call: StoreCall<'_>) -> impl Future<Output = ()> + Send {
        let _ = call;
        ready(())
    }
}

/// An [`ObjectStore`] that forwards to `inner` under the eye of `hook`.
pub struct Hooked<S, H> {
    inner: S,
    hook: Arc<H>,
}

impl<S: Clone, H> Clone for Hooked<S, H> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            hook: self.hook.clone(),
        }
    }
}

impl<S: ObjectStore, H: StoreHook> Hooked<S, H> {
    pub fn new(inner: S, hook: H) -> Self {
        Self {
            inner,
            hook: Arc::new(hook),
        }
    }
}

impl<S: ObjectStore, H: StoreHook> ObjectStore for Hooked<S, H> {
    async fn write(&self, write: Write<'_>) -> Result<Option<String>, StoreError> {
        let key = write.key;
        let call = match write.condition {
            None => StoreCall::Put { key },
            Some(_) => StoreCall::PutIf { key },
        };
        self.hook.before(call).await?;
        let written = self.inner.write(write).await;
        if written.is_ok() {
            self.hook.written(call).await;
        }
        written
    }

    async fn get(&self, key: &str) -> Result<StoredObject, StoreError> {
        self.hook.before(StoreCall::Get { key }).await?;
        self.inner.get(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StoreError> {
        self.hook.before(StoreCall::List { prefix }).await?;
        self.inner.list(prefix).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.hook.before(StoreCall::Delete { key }).await?;
        self.inner.delete(key).await
    }
}

/// The hook that announces every key written, as S3's `ObjectCreated` notifications do, on a
/// channel: the freshness benchmark loads pages as they land, in process, the way the load
/// Lambda is triggered.
pub struct Announcer {
    created: UnboundedSender<String>,
}

/// A store whose every accepted write is announced (see [`Announcer`]).
pub type Announcing<S> = Hooked<S, Announcer>;

impl Announcer {
    /// `inner`, announcing its writes on the returned receiver.
    pub fn around<S: ObjectStore>(inner: S) -> (Announcing<S>, UnboundedReceiver<String>) {
        let (created, receiver) = unbounded_channel();
        (Hooked::new(inner, Announcer { created }), receiver)
    }
}

impl StoreHook for Announcer {
    fn written(&self, call: StoreCall<'_>) -> impl Future<Output = ()> + Send {
        // A closed receiver means nobody listens any more: nothing to announce to.
        let _ = self.created.send(call.key().to_string());
        ready(())
    }
}
