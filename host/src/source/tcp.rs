//! The `tcp` receiver: a client like Spark's `socketTextStream`, reconnecting with backoff.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

use super::pump::{pump, ReceiverSpec};
use crate::batch::{BlockGenerator, RateLimiter};

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Connects to `host:port` and reads lines until the job stops; reconnects after errors
/// and after the server closes the connection.
pub(super) async fn run(
    spec: ReceiverSpec,
    host: String,
    port: u16,
    g: Arc<BlockGenerator>,
    rate: Arc<RateLimiter>,
) {
    let source = spec.decoder.source().to_owned();
    let addr = format!("{host}:{port}");
    let mut backoff = Duration::from_millis(100);
    loop {
        match TcpStream::connect((host.as_str(), port)).await {
            Ok(stream) => {
                tracing::info!(%source, %addr, "Receiver connected.");
                backoff = Duration::from_millis(100);
                let at = |offset: u64| format!("tcp {addr} byte {offset}");
                match pump(&spec, stream, &g, &rate, at).await {
                    Ok(bytes) => tracing::info!(
                        %source, %addr, bytes,
                        "Connection closed by the server; reconnecting."
                    ),
                    Err(e) => tracing::warn!(
                        %source, %addr, error = %e,
                        "Connection failed; reconnecting."
                    ),
                }
            }
            Err(e) => {
                tracing::warn!(
                    %source, %addr, error = %e, retry_in = ?backoff,
                    "Cannot connect; retrying."
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
