//! What Sluice owns in a checkpoint directory: the marker file that says the directory is
//! one (written when a job first uses it), recognising a checkpoint directory, and the
//! files `sluice checkpoint reset` deletes — only names Sluice writes, never a directory
//! wholesale, so that a user's own file in `state/` (or anywhere else) survives.
//!
//! ```text
//! DIR/SLUICE-CHECKPOINT                     the marker (kept by a reset)
//! DIR/LOCK                                  the lock (kept by a reset)
//! DIR/checkpoint-N.meta[.corrupt]           deleted, with `.checkpoint-N.meta.tmp`
//! DIR/state/<stream>/N.full, N.delta        deleted, with their `.N.full.tmp` leftovers
//! DIR/wal/<source>/N.wal, DIR/wal-direct/N.wal   deleted
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

use super::file::{self, META_MAGIC, STATE_MAGIC};
use super::CheckpointError;
use crate::wal::SEGMENT_HEADER;

/// The marker file's name inside a checkpoint directory.
pub const MARKER_FILE: &str = "SLUICE-CHECKPOINT";

/// The marker's first line, by which it is recognised.
const MARKER_HEAD: &str = "sluice checkpoint directory";

const MARKER_TEXT: &str = "sluice checkpoint directory\n\
    This directory holds the checkpoints, operator state and write-ahead logs of a Sluice \
    job.\n`sluice checkpoint reset DIR` deletes only the files Sluice wrote here.\n";

/// Writes the marker into `dir` unless it is there.
///
/// # Errors
/// [`CheckpointError::Io`] when it cannot be written.
pub fn write_marker(dir: &Path) -> Result<(), CheckpointError> {
    let path = dir.join(MARKER_FILE);
    if path.is_file() {
        return Ok(());
    }
    file::write_atomically(&path, MARKER_TEXT.as_bytes())
}

/// Whether `dir` is a Sluice checkpoint directory: it has the marker, or (a directory
/// from before the marker existed) a checkpoint, state file or log segment that Sluice
/// wrote, recognised by its magic bytes.
///
/// # Errors
/// [`CheckpointError::Io`] when the directory cannot be listed.
pub fn is_checkpoint_dir(dir: &Path) -> Result<bool, CheckpointError> {
    let marker = std::fs::read_to_string(dir.join(MARKER_FILE)).unwrap_or_default();
    if marker.lines().next() == Some(MARKER_HEAD) {
        return Ok(true);
    }
    let magic_of = |path: &PathBuf| {
        let name = file_name(path);
        if name.starts_with('.') {
            None // a temporary file may be incomplete
        } else if name.ends_with(".wal") {
            Some(&SEGMENT_HEADER[..8])
        } else if name.ends_with(".meta") || name.ends_with(".meta.corrupt") {
            Some(&META_MAGIC[..])
        } else {
            Some(&STATE_MAGIC[..])
        }
    };
    for path in written_files(dir)? {
        if magic_of(&path).is_some_and(|magic| starts_with(&path, magic)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The files Sluice wrote in checkpoint directory `dir` and a reset deletes: checkpoint
/// metadata, state files, write-ahead log and direct batch log segments, and leftover
/// temporary files of them, in path order.
///
/// # Errors
/// [`CheckpointError::Io`] when a directory cannot be listed.
pub fn written_files(dir: &Path) -> Result<Vec<PathBuf>, CheckpointError> {
    let mut out = Vec::new();
    let meta = |n: &str| {
        let n = n.strip_suffix(".corrupt").unwrap_or(n);
        let n = n
            .strip_prefix('.')
            .and_then(|t| t.strip_suffix(".tmp"))
            .unwrap_or(n);
        n.strip_prefix("checkpoint-")
            .is_some_and(|n| numbered(n, ".meta"))
    };
    let state = |n: &str| {
        let n = n
            .strip_prefix('.')
            .and_then(|t| t.strip_suffix(".tmp"))
            .unwrap_or(n);
        numbered(n, ".full") || numbered(n, ".delta")
    };
    let segment = |n: &str| numbered(n, ".wal");
    out.extend(files_in(dir, &meta)?);
    for sub in subdirs(&dir.join("state"))? {
        out.extend(files_in(&sub, &state)?);
    }
    for sub in subdirs(&dir.join("wal"))? {
        out.extend(files_in(&sub, &segment)?);
    }
    out.extend(files_in(&dir.join("wal-direct"), &segment)?);
    out.sort();
    Ok(out)
}

/// Deletes `files` (from [`written_files`]), then the folders under `dir` they were in
/// when nothing else is left in them. Returns how many files were deleted.
///
/// # Errors
/// [`CheckpointError::Io`] naming the file that could not be deleted.
pub fn delete(dir: &Path, files: &[PathBuf]) -> Result<usize, CheckpointError> {
    for f in files {
        match std::fs::remove_file(f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(CheckpointError::io(f, e)),
        }
    }
    let mut folders = Vec::new();
    for top in ["state", "wal"] {
        folders.extend(subdirs(&dir.join(top))?);
        folders.push(dir.join(top));
    }
    folders.push(dir.join("wal-direct"));
    for folder in folders {
        // Fails, and is kept, when a file Sluice did not write is in it.
        let _ = std::fs::remove_dir(&folder);
    }
    file::sync_dir(dir)?;
    Ok(files.len())
}

/// `<digits><suffix>`.
fn numbered(name: &str, suffix: &str) -> bool {
    name.strip_suffix(suffix)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn starts_with(path: &Path, magic: &[u8]) -> bool {
    let mut head = vec![0; magic.len()];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == magic)
}

/// The entries of `dir` (none when it does not exist) with their file types, not
/// following symbolic links.
fn entries(dir: &Path) -> Result<Vec<(PathBuf, std::fs::FileType)>, CheckpointError> {
    let list = match std::fs::read_dir(dir) {
        Ok(list) => list,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CheckpointError::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in list {
        let entry = entry.map_err(|e| CheckpointError::io(dir, e))?;
        let kind = entry
            .file_type()
            .map_err(|e| CheckpointError::io(&entry.path(), e))?;
        out.push((entry.path(), kind));
    }
    Ok(out)
}

/// The regular files of `dir` whose names `ours` accepts.
fn files_in(dir: &Path, ours: &dyn Fn(&str) -> bool) -> Result<Vec<PathBuf>, CheckpointError> {
    Ok(entries(dir)?
        .into_iter()
        .filter(|(p, kind)| kind.is_file() && ours(&file_name(p)))
        .map(|(p, _)| p)
        .collect())
}

/// The directories in `dir` (not symbolic links to one).
fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, CheckpointError> {
    Ok(entries(dir)?
        .into_iter()
        .filter(|(_, kind)| kind.is_dir())
        .map(|(p, _)| p)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_sluice_writes_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for p in [
            "checkpoint-000000000001.meta",
            "checkpoint-000000000002.meta.corrupt",
            ".checkpoint-000000000003.meta.tmp",
            "state/s/000000000001.full",
            "state/s/.000000000002.delta.tmp",
            "wal/src/000000000001.wal",
            "wal/other/000000000002.wal",
            "wal-direct/000000000001.wal",
            // Not ours:
            "checkpoint-notes.meta",
            "state/mine",
            "state/s/notes.txt",
            "wal/src/000000000001.wal.bak",
            "wal-direct/x.wal",
            "notes.txt",
        ] {
            std::fs::create_dir_all(d.join(p).parent().unwrap()).unwrap();
            std::fs::write(d.join(p), b"x").unwrap();
        }
        let rel: Vec<String> = written_files(d)
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(d).unwrap().display().to_string())
            .collect();
        assert_eq!(
            rel,
            [
                ".checkpoint-000000000003.meta.tmp",
                "checkpoint-000000000001.meta",
                "checkpoint-000000000002.meta.corrupt",
                "state/s/.000000000002.delta.tmp",
                "state/s/000000000001.full",
                "wal/other/000000000002.wal",
                "wal/src/000000000001.wal",
                "wal-direct/000000000001.wal",
            ]
        );
        // Not a checkpoint directory: no marker, and those files lack Sluice's magic.
        assert!(!is_checkpoint_dir(d).unwrap());
        assert_eq!(delete(d, &written_files(d).unwrap()).unwrap(), 8);
        for kept in [
            "checkpoint-notes.meta",
            "state/mine",
            "state/s/notes.txt",
            "wal/src/000000000001.wal.bak",
            "wal-direct/x.wal",
            "notes.txt",
        ] {
            assert!(d.join(kept).is_file(), "{kept}");
        }
        // A folder left empty goes; one with a file of the user's stays.
        assert!(!d.join("wal/other").exists() && d.join("wal/src").is_dir());
        write_marker(d).unwrap();
        assert!(is_checkpoint_dir(d).unwrap());
    }

    #[test]
    fn a_directory_from_before_the_marker_is_recognised_by_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let segment = dir.path().join("wal/src/000000000001.wal");
        std::fs::create_dir_all(segment.parent().unwrap()).unwrap();
        std::fs::write(&segment, b"SLUICEWL\x01\x00").unwrap();
        assert!(is_checkpoint_dir(dir.path()).unwrap());
        std::fs::remove_file(&segment).unwrap();
        let meta = dir.path().join("checkpoint-000000000004.meta");
        file::write_atomically(&meta, &file::encode(META_MAGIC, 0, b"{}")).unwrap();
        assert!(is_checkpoint_dir(dir.path()).unwrap());
    }
}
