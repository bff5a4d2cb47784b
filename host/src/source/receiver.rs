//! Starting a receiver: its reading task (tcp or stdin) and its block timer on the
//! job's tokio runtime, and the [`ReceiverInput`] the job takes its batches from.

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;

use super::pump::{InputEnded, ReceiverKind, ReceiverSpec};
use crate::batch::{BlockGenerator, BlockStore, RateLimiter, ReceiverInput};

/// Starts the receiver of `spec` and its block timer on `rt`; returns the batcher side.
/// With `initial_rate` (backpressure's initial rate), the receiver reads no faster than
/// that from its first read until backpressure sets a rate. `ended` is called when the
/// input ends and the job should stop.
pub fn start(
    spec: ReceiverSpec,
    rt: &Handle,
    store: Arc<dyn BlockStore>,
    block_interval: Duration,
    partitions: Option<usize>,
    initial_rate: Option<f64>,
    ended: InputEnded,
) -> ReceiverInput {
    let source = spec.decoder.source().to_owned();
    let generator = BlockGenerator::new(
        &source,
        store.clone(),
        spec.max_buffered,
        spec.budget.clone(),
    );
    let limiter = Arc::new(RateLimiter::new(spec.rate_limit));
    limiter.update_rate(initial_rate);
    let timer = {
        let g = generator.clone();
        rt.spawn(async move {
            let mut tick = tokio::time::interval(block_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                g.seal();
            }
        })
    };
    let reader = {
        let g = generator.clone();
        let rate = limiter.clone();
        match spec.kind.clone() {
            ReceiverKind::Tcp { host, port } => {
                rt.spawn(super::tcp::run(spec, host, port, g, rate))
            }
            ReceiverKind::Stdin { keep_running } => {
                let ended = (!keep_running).then_some(ended);
                rt.spawn(super::stdin::run(spec, g, rate, ended))
            }
        }
    };
    ReceiverInput::new(
        &source,
        generator,
        limiter,
        store,
        partitions,
        vec![timer, reader],
    )
}
