//! Recovery: deciding whether a checkpoint may be resumed by this job (fingerprint, clock),
//! and giving operators and sources back their saved state and positions.

use super::fingerprint::{diff, Fingerprint};
use super::meta::{CheckpointMeta, ClockName, SourcePosition};
use super::store::Loaded;
use super::CheckpointError;
use crate::ops::Operator;
use crate::source::SourceHandle;

/// The state layout of an operator: its kind and the tag and version its snapshots start
/// with (`update_state_by_key/USTTv1`); `None` for stateless operators.
pub fn layout_of(op: &dyn Operator) -> Option<String> {
    let bytes = op.snapshot()?;
    let tag = match bytes.get(..5) {
        Some(h) if h[..4].iter().all(|b| b.is_ascii_alphanumeric()) => {
            format!("{}v{}", String::from_utf8_lossy(&h[..4]), h[4])
        }
        _ => "opaque".to_owned(),
    };
    Some(format!("{}/{tag}", op.kind()))
}

/// Checks that the job described by `fingerprint` (running under `clock`) may resume
/// `meta`. Returns the plugin changes accepted with `allow_plugin_change`, as warnings.
///
/// # Errors
/// [`CheckpointError::Incompatible`] saying what changed and how to proceed.
pub fn check_compatible(
    meta: &CheckpointMeta,
    dir: &std::path::Path,
    fingerprint: &Fingerprint,
    clock: ClockName,
    allow_plugin_change: bool,
) -> Result<Vec<String>, CheckpointError> {
    let dir = dir.display();
    let head = format!(
        "checkpoint {dir} (batch {} at {} ms) was written by a different job",
        meta.index, meta.batch_time
    );
    if meta.clock != clock {
        return Err(CheckpointError::Incompatible {
            message: format!(
                "{head}: it runs on the {} clock, this run on the {clock} clock. Run with \
                 `--clock {}`, or start over with another `--checkpoint-dir` or \
                 `sluice checkpoint reset {dir}`",
                meta.clock, meta.clock
            ),
        });
    }
    let changes = diff(&meta.fingerprint, fingerprint);
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let plugin_only = changes.iter().all(|c| c.plugin_only);
    if plugin_only && allow_plugin_change {
        return Ok(changes.into_iter().map(|c| c.message).collect());
    }
    let list: Vec<String> = changes.iter().map(|c| c.message.clone()).collect();
    let mut message = format!(
        "{head}: {}. To run the changed job from scratch, use another `--checkpoint-dir` \
         or delete the saved state with `sluice checkpoint reset {dir}`",
        list.join("; ")
    );
    if plugin_only {
        message.push_str(
            "; if the new plugin reads the state the old one wrote (same state layout), \
             pass `--allow-plugin-change` to keep the state",
        );
    }
    Err(CheckpointError::Incompatible { message })
}

/// Gives every stateful operator its saved state: the full snapshot, then the deltas.
///
/// # Errors
/// [`CheckpointError::Restore`] naming the stream, or [`CheckpointError::Incompatible`]
/// when the checkpoint holds state for a stream that keeps none now.
pub fn restore_operators<'a>(
    loaded: &Loaded,
    ops: impl Iterator<Item = (&'a str, &'a mut Box<dyn Operator>)>,
) -> Result<(), CheckpointError> {
    let mut ops: Vec<(&str, &mut Box<dyn Operator>)> = ops.collect();
    for state in &loaded.states {
        let Some((_, op)) = ops.iter_mut().find(|(name, _)| *name == state.stream) else {
            return Err(CheckpointError::Incompatible {
                message: format!(
                    "the checkpoint holds state of stream `{}` ({}), which this job does not \
                     have as a stateful stream",
                    state.stream, state.kind
                ),
            });
        };
        let fail = |message: String| CheckpointError::Restore {
            stream: state.stream.clone(),
            message,
        };
        op.restore(&state.full).map_err(fail)?;
        for d in &state.deltas {
            op.restore_delta(d).map_err(fail)?;
        }
    }
    Ok(())
}

/// Moves every replayable source to its checkpointed position. Receivers are positioned
/// by the write-ahead log, not here.
///
/// # Errors
/// [`CheckpointError::Invalid`] when a source refuses its position or has none.
pub fn seek_sources(
    meta: &CheckpointMeta,
    sources: &mut [(String, SourceHandle)],
) -> Result<(), CheckpointError> {
    for (name, handle) in sources.iter_mut() {
        let SourceHandle::Direct(source) = handle else {
            continue;
        };
        match meta.sources.get(name) {
            Some(SourcePosition::Direct { position }) => {
                source
                    .seek(position)
                    .map_err(|e| CheckpointError::Invalid {
                        message: format!("cannot resume from the checkpoint: {e}"),
                    })?;
            }
            other => {
                return Err(CheckpointError::Invalid {
                    message: format!(
                        "the checkpoint has no position for source `{name}` (found {other:?})"
                    ),
                })
            }
        }
    }
    Ok(())
}
