//! [`UiServer`]: the web UI (`/`, assets embedded in the binary), the JSON API
//! (`/api/...`) and the metrics (`/metrics`) of one job, on axum, on a thread of its own
//! with a one-thread tokio runtime (so that a busy job never delays a scrape).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::text::{only_tenant, openmetrics_to_text};
use super::{JobObserver, Metrics};

/// Why the UI cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// The address cannot be bound.
    #[error("cannot serve the UI on {addr}: {cause}")]
    Bind { addr: String, cause: std::io::Error },
}

/// The embedded page and assets: (path, content type, bytes).
const ASSETS: [(&str, &str, &[u8]); 6] = [
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/app.css"),
    ),
    (
        "uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/uPlot.iife.min.js"),
    ),
    (
        "uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/uPlot.min.css"),
    ),
    (
        "uPlot-LICENSE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("assets/uPlot-LICENSE"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("assets/favicon.svg"),
    ),
];

const INDEX: &str = include_str!("assets/index.html");

/// The content type Prometheus negotiates for the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The classic Prometheus text format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A running UI server.
#[derive(Debug)]
pub struct UiServer {
    addr: SocketAddr,
}

impl UiServer {
    /// Binds `addr` (`127.0.0.1:PORT`; port 0 picks a free one) and serves the UI of
    /// `job` until the process exits.
    ///
    /// # Errors
    /// [`UiError::Bind`] when the address cannot be bound.
    pub fn start(addr: &str, job: Arc<JobObserver>) -> Result<UiServer, UiError> {
        let bind = |cause| UiError::Bind {
            addr: addr.to_owned(),
            cause,
        };
        let listener = std::net::TcpListener::bind(addr).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let local = listener.local_addr().map_err(bind)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(bind)?;
        let app = router(job);
        std::thread::Builder::new()
            .name("sluice-ui".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => {
                            if let Err(e) = axum::serve(l, app).await {
                                tracing::error!(error = %e, "The UI server stopped.");
                            }
                        }
                        Err(e) => tracing::error!(error = %e, "The UI server cannot start."),
                    }
                });
            })
            .map_err(bind)?;
        Ok(UiServer { addr: local })
    }

    /// The address served.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

/// `?after=TIME`.
#[derive(Debug, serde::Deserialize)]
struct After {
    after: Option<i64>,
}

fn router(job: Arc<JobObserver>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/assets/{file}", get(asset))
        .route("/metrics", get(metrics))
        .route(
            "/api/job",
            get(|State(j): State<Arc<JobObserver>>| async move { Json(j.job_json()) }),
        )
        .route(
            "/api/batches",
            get(
                |State(j): State<Arc<JobObserver>>, Query(q): Query<After>| async move {
                    Json(j.batches_json(q.after))
                },
            ),
        )
        .route(
            "/api/graph",
            get(|State(j): State<Arc<JobObserver>>| async move { Json(j.graph_json()) }),
        )
        .route(
            "/api/checkpoints",
            get(|State(j): State<Arc<JobObserver>>| async move { Json(j.checkpoints_json()) }),
        )
        .route(
            "/api/errors",
            get(|State(j): State<Arc<JobObserver>>| async move { Json(j.errors_json()) }),
        )
        .route(
            "/api/status",
            get(
                |State(j): State<Arc<JobObserver>>, Query(q): Query<After>| async move {
                    Json(j.status_json(q.after))
                },
            ),
        )
        .with_state(job)
}

async fn index() -> Response {
    page(false)
}

/// The page: for one job of `sluice run`, or (`serve`) the page that asks for a token
/// and lists the caller's jobs of `sluice serve`.
pub fn page(serve: bool) -> Response {
    let html = if serve {
        INDEX.replace("data-mode=\"run\"", "data-mode=\"serve\"")
    } else {
        INDEX.to_owned()
    };
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    asset_response(&file)
}

/// An embedded asset by file name, or 404.
pub fn asset_response(file: &str) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, kind, bytes)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, format!("no asset `{file}`")).into_response(),
    }
}

async fn metrics(State(job): State<Arc<JobObserver>>, headers: HeaderMap) -> Response {
    metrics_response(&headers, job.metrics(), None)
}

/// The metrics (of one tenant's series, or all) in OpenMetrics when the client asks for
/// it (Prometheus does), else in the text format 0.0.4.
pub fn metrics_response(headers: &HeaderMap, metrics: &Metrics, tenant: Option<&str>) -> Response {
    let wants_openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let mut om = metrics.encode();
    if let Some(t) = tenant {
        om = only_tenant(&om, t);
    }
    if wants_openmetrics {
        ([(header::CONTENT_TYPE, OPENMETRICS)], om).into_response()
    } else {
        let text = openmetrics_to_text(&om);
        ([(header::CONTENT_TYPE, TEXT_FORMAT)], text).into_response()
    }
}
