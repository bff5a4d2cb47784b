//! The `stdin` receiver: lines from standard input until it ends.

use std::sync::Arc;

use super::pump::{pump, InputEnded, ReceiverSpec};
use crate::batch::{BlockGenerator, RateLimiter};

/// Reads standard input to its end; then, with `ended` (no `keep_running`), asks the job
/// to stop once the records read are processed.
pub(super) async fn run(
    spec: ReceiverSpec,
    g: Arc<BlockGenerator>,
    rate: Arc<RateLimiter>,
    ended: Option<InputEnded>,
) {
    let source = spec.decoder.source().to_owned();
    let at = |offset: u64| format!("stdin byte {offset}");
    match pump(&spec, tokio::io::stdin(), &g, &rate, at).await {
        Ok(bytes) if ended.is_some() => tracing::info!(
            %source, bytes,
            "Standard input ended; the job stops once its last records are processed."
        ),
        Ok(bytes) => {
            tracing::info!(%source, bytes, "Standard input ended; keep_running: the job goes on.")
        }
        Err(e) => tracing::warn!(%source, error = %e, "Cannot read standard input."),
    }
    if let Some(ended) = ended {
        ended(&source);
    }
}
