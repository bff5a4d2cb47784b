//! The listening server: binds, serves each connection with hyper (header read timeout)
//! through the axum routes, and on Ctrl-C or SIGTERM stops accepting, pauses every job
//! at a checkpoint and exits.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use super::api::{self, AppState};
use super::auth::Tokens;
use super::jobs::Jobs;
use super::store::Store;
use super::{ServeConfig, ServeError};
use crate::wasm::{RuntimeConfig, WasmRuntime};

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    state: Arc<AppState>,
    header_timeout: Duration,
}

impl Server {
    /// Opens the data directory, resumes the jobs that were running, and binds.
    ///
    /// # Errors
    /// [`ServeError`] when the data directory, the runtime or the address cannot be used.
    pub async fn bind(config: ServeConfig) -> Result<Server, ServeError> {
        let store = Store::open(&config.server.data_dir)?;
        let runtime = WasmRuntime::new(RuntimeConfig::from_env())
            .map_err(|e| ServeError::Setup(e.to_string()))?;
        let tokens = Tokens::from_config(&config);
        let tenants = config.tenants.clone();
        let jobs_store = store.clone();
        let jobs_runtime = runtime.clone();
        let jobs =
            tokio::task::spawn_blocking(move || Jobs::open(jobs_store, tenants, jobs_runtime))
                .await
                .map_err(|e| ServeError::Setup(format!("cannot resume the jobs: {e}")))?;
        let listener = TcpListener::bind(&config.server.listen)
            .await
            .map_err(|e| {
                ServeError::Setup(format!("cannot listen on {}: {e}", config.server.listen))
            })?;
        let header_timeout = config
            .server
            .request_timeout
            .to_std()
            .min(Duration::from_secs(10));
        let state = Arc::new(AppState {
            jobs,
            store,
            tokens,
            runtime,
            tenants: config.tenants,
            limits: api::Limits {
                plugin_bytes: config.server.max_plugin_size.0 as usize,
                job_bytes: config.server.max_job_size.0 as usize,
                request_timeout: config.server.request_timeout.to_std(),
            },
        });
        Ok(Server {
            listener,
            state,
            header_timeout,
        })
    }

    /// The address it listens on (the port chosen when the config said 0).
    ///
    /// # Errors
    /// When the socket has no address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then pauses every job at a checkpoint.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let app = api::router(self.state.clone());
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                _ = &mut shutdown => break,
                a = self.listener.accept() => a,
            };
            let Ok((stream, _)) = accepted else { continue };
            let service = TowerToHyperService::new(app.clone());
            let header_timeout = self.header_timeout;
            tokio::spawn(async move {
                let mut http = hyper::server::conn::http1::Builder::new();
                http.timer(TokioTimer::new())
                    .header_read_timeout(header_timeout);
                let _ = http.serve_connection(TokioIo::new(stream), service).await;
            });
        }
        tracing::info!("Shutting down: pausing every job at a checkpoint.");
        let state = self.state.clone();
        let _ = tokio::task::spawn_blocking(move || state.jobs.shutdown()).await;
    }
}

/// Runs `sluice serve` with `config` until Ctrl-C or SIGTERM; `on_bound` is told the
/// address first.
///
/// # Errors
/// [`ServeError`] when the server cannot start.
pub fn serve(config: ServeConfig, on_bound: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let workers = config.server.workers;
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .enable_all()
        .thread_name("sluice-serve")
        .worker_threads(2);
    let rt = builder
        .build()
        .map_err(|e| ServeError::Setup(format!("cannot start the I/O runtime: {e}")))?;
    if let Some(n) = workers {
        // The shared pool that jobs' partitions run on.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global();
    }
    rt.block_on(async {
        let server = Server::bind(config).await?;
        let addr = server
            .local_addr()
            .map_err(|e| ServeError::Setup(format!("no local address: {e}")))?;
        on_bound(addr);
        server.run(wait_for_signal()).await;
        Ok(())
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
