//! Checks before a job starts that need the filesystem, so that `sluice validate` reports
//! what `sluice run` would fail on at start: a `files` sink's or the dead-letter directory
//! that cannot be created or written, and a checkpoint directory that is a file (or under
//! one). Nothing is created: a directory that does not exist yet is checked through the
//! nearest existing directory above it, where `run` would create it.

use std::fs::OpenOptions;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::job::{JobDocument, JobError, SinkKind};

/// Checks the directories of the `files` sinks and of `[job] dead_letter`.
///
/// # Errors
/// A [`JobError`] at the sink's `path`, or at `dead_letter`, saying what is wrong.
pub fn output_dirs(doc: &JobDocument) -> Result<(), JobError> {
    for (name, sink) in &doc.file.sinks {
        if let SinkKind::Files(c) = &sink.get_ref().kind {
            usable_dir(&doc.resolve(&c.path)).map_err(|why| {
                let span = doc.field_span(sink.span(), "path");
                doc.error(Some(span), format!("sink `{name}`: {why}"))
            })?;
        }
    }
    if let Some(d) = &doc.file.job.dead_letter {
        usable_dir(&doc.resolve(&d.path)).map_err(|why| {
            let span = doc
                .table_span("job")
                .map(|t| doc.field_span(t, "dead_letter"));
            doc.error(span, format!("[job] dead_letter: {why}"))
        })?;
    }
    Ok(())
}

/// Checks `[checkpoint] dir`, when the job sets it.
///
/// # Errors
/// A [`JobError`] at `dir` saying what is wrong.
pub fn checkpoint_dir(doc: &JobDocument) -> Result<(), JobError> {
    let Some(dir) = doc.file.checkpoint.as_ref().and_then(|c| c.dir.as_ref()) else {
        return Ok(());
    };
    usable_dir(&doc.resolve(dir)).map_err(|why| {
        let span = doc
            .table_span("checkpoint")
            .map(|t| doc.field_span(t, "dir"));
        doc.error(span, format!("[checkpoint] dir: {why}"))
    })
}

/// Whether `dir` can be a directory Sluice writes in: an existing directory where a file
/// can be created, or a path that can be created under the nearest existing directory.
///
/// # Errors
/// A sentence naming the path and the problem.
pub fn usable_dir(dir: &Path) -> Result<(), String> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {
            return writable(dir)
                .map_err(|e| format!("cannot write in directory {}: {e}", dir.display()))
        }
        Ok(_) => return Err(format!("{} is a file, not a directory", dir.display())),
        Err(_) => {}
    }
    let cannot = |why: String| format!("cannot create directory {}: {why}", dir.display());
    for above in dir.ancestors().skip(1) {
        let above = if above.as_os_str().is_empty() {
            Path::new(".")
        } else {
            above
        };
        match std::fs::metadata(above) {
            Ok(m) if m.is_dir() => {
                return writable(above)
                    .map_err(|e| cannot(format!("cannot write in {}: {e}", above.display())));
            }
            Ok(_) => {
                return Err(cannot(format!(
                    "{} is a file, not a directory",
                    above.display()
                )))
            }
            Err(_) => {}
        }
    }
    Err(cannot("no directory above it exists".into()))
}

/// Creates and removes a file in `dir`: the one test of writing that also holds for root
/// and for read-only mounts.
fn writable(dir: &Path) -> std::io::Result<()> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let probe = dir.join(format!(".sluice-check-{}-{nanos}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_paths_under_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("blocker");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(
            usable_dir(&file).unwrap_err(),
            format!("{} is a file, not a directory", file.display())
        );
        let under = file.join("out/deeper");
        assert_eq!(
            usable_dir(&under).unwrap_err(),
            format!(
                "cannot create directory {}: {} is a file, not a directory",
                under.display(),
                file.display()
            )
        );
        usable_dir(dir.path()).unwrap();
        usable_dir(&dir.path().join("new/out")).unwrap();
        assert!(!dir.path().join("new").exists(), "a check creates nothing");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "the probe file is removed");
    }
}
