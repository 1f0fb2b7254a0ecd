//! CSV exports streamed into the HTTP body: every row of a metric for the filters, tenant after
//! tenant, with no cap and in constant memory. Rows come from a [`RowStream`] (read as the
//! body is sent) through the CSV [`Encoder`] in chunks of about [`CHUNK`] bytes; nothing holds
//! the whole result. The first tenant's query runs before the response starts, so a database
//! error still gets its status code; one later on can only cut the body short (logged).

use std::pin::Pin;
use std::sync::Arc;

use axum::body::Bytes;
use axum::response::Response;
use futures::StreamExt;
use tokio_postgres::RowStream;
use tracing::error;

use super::csv::Encoder;
use super::{ApiError, AppState, PooledClient};
use crate::analytics::{self, Filters, Metric};

/// Bytes gathered before a chunk is sent: big enough that compression and the socket see few
/// calls, small enough to stay a rounding error in memory.
pub const CHUNK: usize = 64 * 1024;

/// One tenant's rows being read, with the connection they are read on (kept busy until done).
struct Open {
    rows: Pin<Box<RowStream>>,
    _client: PooledClient,
}

/// The export's progress between chunks.
struct Export {
    state: Arc<AppState>,
    metric: &'static Metric,
    filters: Filters,
    /// Tenants whose rows are still to come, in order.
    tenants: std::vec::IntoIter<Option<String>>,
    open: Option<Open>,
    encoder: Encoder,
    finished: bool,
}

async fn open(
    state: &AppState,
    metric: &Metric,
    filters: &Filters,
    tenant: Option<String>,
) -> Result<Open, ApiError> {
    let mut filters = filters.clone();
    filters.tenant = tenant;
    let client = state.db.client().await?;
    let rows = analytics::stream(&client, metric, &filters).await?;
    Ok(Open {
        rows: Box::pin(rows),
        _client: client,
    })
}

impl Export {
    /// The next chunk of the document, `None` after the last one (or after an error).
    async fn next_chunk(&mut self) -> Option<Result<Bytes, ApiError>> {
        if self.finished {
            return None;
        }
        let chunk = self.fill().await;
        if chunk.is_err() {
            self.finished = true;
        }
        Some(chunk)
    }

    /// Encode rows until a chunk is full or the last tenant's rows are done.
    async fn fill(&mut self) -> Result<Bytes, ApiError> {
        while self.encoder.buffered() < CHUNK {
            let Some(current) = self.open.as_mut() else {
                match self.tenants.next() {
                    Some(tenant) => {
                        self.open =
                            Some(open(&self.state, self.metric, &self.filters, tenant).await?);
                        continue;
                    }
                    None => {
                        self.finished = true;
                        break;
                    }
                }
            };
            match current.rows.next().await {
                Some(row) => self.encoder.row_text(&row?.try_get::<_, String>(0)?),
                None => self.open = None,
            }
        }
        Ok(Bytes::from(self.encoder.take()))
    }
}

/// Stream `metric`'s CSV for `filters` over `tenants` (already checked against the key).
pub async fn csv_response(
    state: Arc<AppState>,
    metric: &'static Metric,
    filters: &Filters,
    tenants: Vec<Option<String>>,
) -> Result<Response, ApiError> {
    state.db.ensure_analytics_cache().await;
    let mut tenants = tenants.into_iter();
    let first = match tenants.next() {
        Some(tenant) => Some(open(&state, metric, filters, tenant).await?),
        None => None,
    };
    let export = Export {
        state,
        metric,
        filters: filters.clone(),
        tenants,
        open: first,
        encoder: Encoder::new(metric),
        finished: false,
    };
    let body = futures::stream::unfold(export, |mut export| async move {
        let chunk = export.next_chunk().await?;
        Some((chunk, export))
    })
    // The compression layer polls a body again after its end; `unfold` panics on that.
    .fuse()
    .map(|chunk| {
        chunk.map_err(|e| {
            error!(error = %e, "CSV export cut short");
            std::io::Error::other("export failed")
        })
    });
    Ok(super::csv::streamed(metric, body))
}
