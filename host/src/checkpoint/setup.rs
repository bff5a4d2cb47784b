//! Turning a job file's `[checkpoint]` section and the `sluice run` flags into a
//! [`Checkpointer`] (or none when the job does not checkpoint).

use std::path::PathBuf;

use super::fingerprint::{file_sha256, Fingerprint};
use super::meta::ClockName;
use super::recovery::layout_of;
use super::runtime::Checkpointer;
use super::{CheckpointConfig, CheckpointError};
use crate::exec::Node;
use crate::job::JobDocument;

/// The `sluice run` flags about checkpoints.
#[derive(Debug, Clone, Default)]
pub struct CheckpointFlags {
    /// `--checkpoint-dir`: overrides `[checkpoint] dir` (and turns checkpoints on).
    pub dir: Option<PathBuf>,
    /// `--allow-plugin-change`: resume a checkpoint although a plugin changed.
    pub allow_plugin_change: bool,
}

/// The fingerprint of a job whose operators are `nodes`.
///
/// # Errors
/// [`CheckpointError`] when a plugin cannot be read.
pub fn job_fingerprint(doc: &JobDocument, nodes: &[Node]) -> Result<Fingerprint, CheckpointError> {
    let dir = doc.path.parent().unwrap_or(std::path::Path::new("."));
    let mut fp = Fingerprint::from_job(&doc.text, dir, doc.batch_ms())?;
    for (name, plugin) in fp.plugins.iter_mut().filter(|(_, p)| p.sha256.is_empty()) {
        let resolved = doc.file.plugins.get(name);
        if let Some(path) = resolved.and_then(|c| c.get_ref().path.as_ref()) {
            plugin.sha256 = file_sha256(&doc.resolve(path))?;
        }
    }
    for n in nodes {
        if let Some(layout) = layout_of(n.op.as_ref()) {
            fp.layouts.insert(n.name.clone(), layout);
        }
    }
    Ok(fp)
}

/// The job's checkpointer: `None` when neither `[checkpoint]` nor `--checkpoint-dir` is
/// given.
///
/// # Errors
/// [`CheckpointError`] when the directory is missing or unusable, or the checkpoint in it
/// belongs to a different job.
pub fn checkpointer_for(
    doc: &JobDocument,
    nodes: &[Node],
    clock: ClockName,
    flags: &CheckpointFlags,
) -> Result<Option<Checkpointer>, CheckpointError> {
    let config = match (&doc.file.checkpoint, &flags.dir) {
        (None, None) => return Ok(None),
        (Some(c), _) => c.clone(),
        (None, Some(_)) => CheckpointConfig::default(),
    };
    let dir = match (&flags.dir, &config.dir) {
        (Some(d), _) => d.clone(),
        (None, Some(d)) => doc.resolve(d),
        (None, None) => {
            return Err(CheckpointError::Invalid {
                message: format!(
                    "{}: [checkpoint] needs `dir`, or pass `--checkpoint-dir`",
                    doc.path.display()
                ),
            })
        }
    };
    // A file where the directory should be, found before anything is opened.
    let usable = match &flags.dir {
        Some(d) => crate::exec::preflight::usable_dir(d)
            .map_err(|why| format!("checkpoint directory (--checkpoint-dir): {why}")),
        None => crate::exec::preflight::checkpoint_dir(doc).map_err(|e| e.to_string()),
    };
    usable.map_err(|message| CheckpointError::Invalid { message })?;
    let settings = config.settings(dir);
    let fingerprint = job_fingerprint(doc, nodes)?;
    let job = doc.file.job.name.clone();
    Checkpointer::open(
        settings,
        &job,
        fingerprint,
        clock,
        flags.allow_plugin_change,
    )
    .map(Some)
}
