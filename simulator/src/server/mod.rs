//! The HTTP face of the simulator (axum): the routes, and the servers that run them.
//!
//! Files: `listener.rs` (connections a handler can reset), `objects.rs` (the object routes
//! and their check order), `admission.rs` (deny list, faults, rate limit), `page.rs` (a
//! page's parameters, envelope and rows), `parameters.rs` (query string and JSON body),
//! `responses.rs` (CVDW's fixed answers), `admin.rs` (the `/_sim/` test hooks).

mod admin;
mod admission;
mod listener;
mod objects;
mod page;
mod parameters;
mod responses;

use std::io;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use axum::Router;
use tokio::net::TcpListener;

pub use listener::{KillSwitch, KillableListener, KillableStream};
pub use responses::{
    HTML_500_FIRST_LINE, PAGINA_NOT_INT_BODY, TOO_MANY_BODY, UNAUTHORIZED_BODY, UNPROCESSABLE_BODY,
};

use crate::Simulator;

/// A simulator serving HTTP. Dropping it leaves the server running until the runtime ends;
/// call [`RunningSimulator::shutdown`] to stop it.
pub struct RunningSimulator {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    sim: Option<Simulator>,
}

impl RunningSimulator {
    /// `http://127.0.0.1:PORT/api/v1/cvdw` — what `CVDW_BASE_URL` should be.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1/cvdw", self.addr)
    }
    /// `http://127.0.0.1:PORT` (for the `/_sim/...` admin routes).
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// The simulator behind this server (`None` for the benchmark's static baseline).
    pub fn simulator(&self) -> Option<&Simulator> {
        self.sim.as_ref()
    }
    /// Stop accepting, let in-flight requests finish for up to a second, then abort.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let abort = self.task.abort_handle();
        if tokio::time::timeout(std::time::Duration::from_secs(1), &mut self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

pub(crate) async fn serve(sim: Simulator, addr: SocketAddr) -> io::Result<RunningSimulator> {
    let app = Router::new()
        .route("/api/v1/cvdw/{*path}", any(objects::object_handler))
        .route("/_sim/advance", post(admin::advance_handler))
        .route("/_sim/stats", get(admin::stats_handler))
        .route("/_sim/aggregates", get(admin::aggregates_handler))
        .fallback(|| async { responses::method_not_allowed() })
        .with_state(sim.clone());
    spawn_server(app, addr, Some(sim)).await
}

/// A bare server on the same stack (axum, same listener) that answers every
/// `GET /api/v1/cvdw/vendas` with one pre-rendered body: the baseline of `cvdw bench simulator`.
pub async fn serve_static_page(body: Vec<u8>, addr: SocketAddr) -> io::Result<RunningSimulator> {
    let body = Bytes::from(body);
    let app = Router::new().route(
        "/api/v1/cvdw/vendas",
        get(move || {
            let body = body.clone();
            async move { responses::json_response(StatusCode::OK, body) }
        }),
    );
    spawn_server(app, addr, None).await
}

/// Serve `app` on `addr` from a task of its own, until [`RunningSimulator::shutdown`].
async fn spawn_server(
    app: Router,
    addr: SocketAddr,
    sim: Option<Simulator>,
) -> io::Result<RunningSimulator> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(
            KillableListener(listener),
            app.into_make_service_with_connect_info::<KillSwitch>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        })
        .await;
        if let Err(error) = served {
            tracing::warn!(%error, "simulator server ended with an error");
        }
    });
    Ok(RunningSimulator {
        addr,
        stop: Some(stop),
        task,
        sim,
    })
}
