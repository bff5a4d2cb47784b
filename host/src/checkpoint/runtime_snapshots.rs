//! The snapshots of a checkpoint: per stateful operator, a delta of the keys changed since
//! the previous checkpoint when its chain is short and small enough, else a full snapshot.

use super::{CheckpointStats, Checkpointer};
use crate::checkpoint::store::StateBlob;
use crate::ops::Operator;

impl Checkpointer {
    /// The state blobs of `ops` for the checkpoint being written, counted in `stats`.
    pub(super) fn snapshots<'a>(
        &mut self,
        ops: impl Iterator<Item = (&'a str, &'a mut Box<dyn Operator>)>,
        stats: &mut CheckpointStats,
    ) -> Vec<StateBlob> {
        let mut blobs = Vec::new();
        for (name, op) in ops {
            if !self.fingerprint.layouts.contains_key(name) {
                continue;
            }
            let chain = self
                .last
                .as_ref()
                .and_then(|m| m.operators.iter().find(|o| o.stream == name));
            let use_delta = !self.force_full
                && !self.full_only.contains(name)
                && chain.is_some_and(|c| {
                    let base = c.chain.first().map_or(0, |r| r.bytes);
                    let deltas: u64 = c.chain.iter().skip(1).map(|r| r.bytes).sum();
                    c.chain.len() <= self.settings.max_deltas && deltas < base
                });
            let (delta, data) = if use_delta {
                (true, op.snapshot_delta())
            } else if self.full_only.contains(name) {
                (false, op.snapshot())
            } else {
                // Clear the operator's changed-keys set so that the next delta starts here.
                let cleared = op.snapshot_delta();
                let full = op.snapshot();
                if let (Some(d), Some(f)) = (&cleared, &full) {
                    if d.get(..4) == f.get(..4) {
                        // No delta form: its "delta" is a full snapshot.
                        self.full_only.insert(name.to_owned());
                    }
                }
                (false, full)
            };
            let Some(data) = data else { continue };
            stats.bytes += data.len() as u64;
            if delta {
                stats.deltas += 1;
            } else {
                stats.full += 1;
            }
            blobs.push(StateBlob {
                stream: name.to_owned(),
                kind: op.kind().to_owned(),
                delta,
                data,
            });
        }
        blobs
    }
}
