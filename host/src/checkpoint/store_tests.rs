//! Tests of the checkpoint directory on real files.

use std::collections::BTreeMap;

use super::*;
use crate::checkpoint::{ClockName, Fingerprint, SourcePosition};

fn meta(index: u64, prev: Option<&CheckpointMeta>) -> CheckpointMeta {
    let mut sources = BTreeMap::new();
    sources.insert(
        "in".to_owned(),
        SourcePosition::Direct {
            position: serde_json::json!({ "next": index }),
        },
    );
    CheckpointMeta {
        job: "t".into(),
        index,
        batch_time: index as i64 * 100,
        zero_time: 0,
        clock: ClockName::Virtual,
        written_at_ms: 0,
        in_flight: Vec::new(),
        fingerprint: Fingerprint::default(),
        sources,
        operators: prev.map(|p| p.operators.clone()).unwrap_or_default(),
    }
}

fn blob(stream: &str, delta: bool, data: &[u8]) -> StateBlob {
    StateBlob {
        stream: stream.into(),
        kind: "update_state_by_key".into(),
        delta,
        data: data.to_vec(),
    }
}

#[test]
fn writes_chains_and_loads_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointStore::open(dir.path(), 3).unwrap();
    assert!(store.load_latest().unwrap().is_none());
    let m1 = store
        .write(meta(1, None), vec![blob("a/b", false, b"full1")])
        .unwrap();
    let m2 = store
        .write(meta(2, Some(&m1)), vec![blob("a/b", true, b"d2")])
        .unwrap();
    let m3 = store
        .write(meta(3, Some(&m2)), vec![blob("a/b", true, b"d3")])
        .unwrap();
    assert_eq!(m3.operators[0].chain.len(), 3);
    let loaded = store.load_latest().unwrap().unwrap();
    assert_eq!(loaded.meta, m3);
    assert_eq!(loaded.states[0].full, b"full1");
    assert_eq!(
        loaded.states[0].deltas,
        vec![b"d2".to_vec(), b"d3".to_vec()]
    );
    assert!(store.state_dir("a/b").ends_with("a%2Fb"));
}

#[test]
fn keeps_the_last_k_and_the_files_they_need() {
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointStore::open(dir.path(), 2).unwrap();
    let m1 = store
        .write(meta(1, None), vec![blob("s", false, b"f1")])
        .unwrap();
    let m2 = store
        .write(meta(2, Some(&m1)), vec![blob("s", true, b"d2")])
        .unwrap();
    let m3 = store
        .write(meta(3, Some(&m2)), vec![blob("s", false, b"f3")])
        .unwrap();
    // Checkpoint 2 still needs 1.full and 2.delta.
    assert_eq!(store.list().unwrap(), vec![2, 3]);
    assert!(store.state_path("s", 1, false).exists());
    let _m4 = store
        .write(meta(4, Some(&m3)), vec![blob("s", true, b"d4")])
        .unwrap();
    assert_eq!(store.list().unwrap(), vec![3, 4]);
    assert!(!store.state_path("s", 1, false).exists());
    assert!(!store.state_path("s", 2, true).exists());
    assert!(store.state_path("s", 3, false).exists());
}

#[test]
fn a_corrupt_or_truncated_checkpoint_falls_back_to_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointStore::open(dir.path(), 5).unwrap();
    let m1 = store
        .write(meta(1, None), vec![blob("s", false, b"f1")])
        .unwrap();
    let m2 = store
        .write(meta(2, Some(&m1)), vec![blob("s", true, b"d2")])
        .unwrap();
    let _m3 = store
        .write(meta(3, Some(&m2)), vec![blob("s", true, b"d3")])
        .unwrap();
    // Truncate the newest metadata, flip a byte in checkpoint 2's delta.
    let p3 = store.meta_path(3);
    let len = std::fs::metadata(&p3).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p3)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let d2 = store.state_path("s", 2, true);
    let mut bytes = std::fs::read(&d2).unwrap();
    *bytes.last_mut().unwrap() ^= 0xff;
    std::fs::write(&d2, bytes).unwrap();
    let loaded = store.load_latest().unwrap().unwrap();
    assert_eq!(loaded.meta.index, 1);
    assert_eq!(loaded.skipped.len(), 2, "{:?}", loaded.skipped);
    assert!(
        loaded.skipped[0].contains("truncated"),
        "{}",
        loaded.skipped[0]
    );
    assert!(
        loaded.skipped[1].contains("checksum"),
        "{}",
        loaded.skipped[1]
    );
    assert!(p3.with_extension("meta.corrupt").exists());
    // Nothing valid at all: an error that says how to start over.
    std::fs::write(store.meta_path(1), b"junk").unwrap();
    let err = store.load_latest().unwrap_err().to_string();
    assert!(
        err.contains("no valid checkpoint") && err.contains("checkpoint reset"),
        "{err}"
    );
}

#[test]
fn a_failed_write_keeps_the_previous_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointStore::open(dir.path(), 2).unwrap();
    let m1 = store
        .write(meta(1, None), vec![blob("s", false, b"f1")])
        .unwrap();
    // A directory where the state file's temporary file goes makes the write fail.
    std::fs::create_dir_all(store.state_dir("s").join(".000000000002.full.tmp")).unwrap();
    assert!(store
        .write(meta(2, Some(&m1)), vec![blob("s", false, b"f2")])
        .is_err());
    assert_eq!(store.list().unwrap(), vec![1]);
    assert_eq!(store.load_latest().unwrap().unwrap().meta, m1);
}

#[test]
fn reset_removes_only_checkpoint_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), b"mine").unwrap();
    let store = CheckpointStore::open(dir.path(), 2).unwrap();
    std::fs::write(dir.path().join("state/mine"), b"mine").unwrap();
    store
        .write(meta(1, None), vec![blob("s", false, b"f1")])
        .unwrap();
    std::fs::write(store.state_dir("s").join("notes.txt"), b"mine").unwrap();
    // Writing and retaining checkpoints leaves the user's files alone too.
    let m2 = store
        .write(meta(2, None), vec![blob("s", false, b"f2")])
        .unwrap();
    store
        .write(meta(3, Some(&m2)), vec![blob("s", false, b"f3")])
        .unwrap();
    assert!(store.state_dir("s").join("notes.txt").is_file());
    assert!(!store.state_path("s", 1, false).exists());
    for log in ["wal/src", "wal-direct"] {
        std::fs::create_dir_all(dir.path().join(log)).unwrap();
        std::fs::write(dir.path().join(log).join("000000000001.wal"), b"x").unwrap();
    }
    // Two checkpoints, their two state files and two log segments.
    assert_eq!(store.reset().unwrap(), 6);
    assert!(store.list().unwrap().is_empty());
    assert!(!dir.path().join("wal").exists() && !dir.path().join("wal-direct").exists());
    for kept in [
        "keep.txt",
        "state/mine",
        "state/s/notes.txt",
        super::super::owned::MARKER_FILE,
    ] {
        assert!(dir.path().join(kept).is_file(), "{kept}");
    }
}

#[test]
fn a_file_where_the_directory_should_be_is_named_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ck");
    std::fs::write(&file, b"mine").unwrap();
    let f = file.display();
    let said = |d: &Path| CheckpointStore::open(d, 1).unwrap_err().to_string();
    assert_eq!(
        said(&file),
        format!(
            "checkpoint directory (--checkpoint-dir or [checkpoint] dir): {f} is a file, not a \
             directory"
        )
    );
    let under = file.join("sub");
    assert_eq!(
        said(&under),
        format!(
            "checkpoint directory (--checkpoint-dir or [checkpoint] dir): cannot create \
             directory {}: {f} is a file, not a directory",
            under.display()
        )
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"mine");
}
