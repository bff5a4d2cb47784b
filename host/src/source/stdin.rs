//! The `stdin` receiver: lines from standard input until it ends.

use std::sync::Arc;

use super::pump::{pump, ReceiverSpec};
use crate::batch::{BlockGenerator, RateLimiter};

/// Reads standard input to its end.
pub(super) async fn run(spec: ReceiverSpec, g: Arc<BlockGenerator>, rate: Arc<RateLimiter>) {
    let source = spec.decoder.source().to_owned();
    let at = |offset: u64| format!("stdin byte {offset}");
    match pump(&spec, tokio::io::stdin(), &g, &rate, at).await {
        Ok(bytes) => tracing::info!(%source, bytes, "Standard input ended."),
        Err(e) => tracing::warn!(%source, error = %e, "Cannot read standard input."),
    }
}
