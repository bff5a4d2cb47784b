//! Tests of the write-ahead log on real files: replay after a crash, torn tails, truncation.

use std::io::Write;

use super::*;

fn part(values: &[u8]) -> Partition {
    let mut p = Partition::new();
    for v in values {
        p.push(&[*v]); // positive fixints are one-byte MessagePack records
    }
    p
}

fn seqs(blocks: &[LoggedBlock]) -> Vec<u64> {
    blocks.iter().map(|b| b.seq).collect()
}

fn open(dir: &Path, resume: u64, after: Option<i64>, config: WalConfig) -> WriteAheadLog {
    let mut r = BTreeMap::new();
    r.insert("tcp".to_owned(), resume);
    WriteAheadLog::open(dir, config, &["tcp".to_owned()], &r, after).unwrap()
}

#[test]
fn after_a_crash_batches_get_the_same_blocks_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let wal = open(dir.path(), 0, None, WalConfig::default());
    wal.persist("tcp", &part(&[1, 2]), &[]).unwrap();
    wal.persist("tcp", &part(&[3]), &[]).unwrap();
    assert_eq!(seqs(&wal.take_batch("tcp", 100).unwrap()), vec![0, 1]);
    // The checkpoint after batch 100 records position 2.
    assert_eq!(wal.positions()["tcp"], 2);
    let dead = DeadLetter {
        stream: "tcp".into(),
        record: b"\xff".to_vec(),
        reason: "bad utf-8".into(),
    };
    wal.persist("tcp", &part(&[4]), std::slice::from_ref(&dead))
        .unwrap();
    assert_eq!(seqs(&wal.take_batch("tcp", 200).unwrap()), vec![2]);
    assert!(wal.take_batch("tcp", 300).unwrap().is_empty());
    wal.persist("tcp", &part(&[5]), &[]).unwrap();
    wal.persist("tcp", &part(&[6, 7]), &[]).unwrap();
    drop(wal); // crash: blocks 3 and 4 were received but no batch consumed them

    let wal = open(dir.path(), 2, Some(100), WalConfig::default());
    let new = wal.persist("tcp", &part(&[8]), &[]).unwrap();
    assert_eq!(new, 5, "sequence numbers continue after the logged ones");
    let b200 = wal.take_batch("tcp", 200).unwrap();
    assert_eq!(
        seqs(&b200),
        vec![2],
        "batch 200 is replayed with exactly its block"
    );
    assert_eq!(b200[0].dead_letters[0].reason, "bad utf-8");
    assert_eq!(b200[0].records.get(0), Some(&[4u8][..]));
    assert!(
        wal.take_batch("tcp", 300).unwrap().is_empty(),
        "300 was empty and stays so"
    );
    assert_eq!(seqs(&wal.take_batch("tcp", 400).unwrap()), vec![3, 4, 5]);
    assert_eq!(wal.positions()["tcp"], 6);
}

#[test]
fn a_torn_tail_is_ignored_and_the_intact_blocks_replay() {
    let dir = tempfile::tempdir().unwrap();
    let wal = open(dir.path(), 0, None, WalConfig::default());
    wal.persist("tcp", &part(&[1]), &[]).unwrap();
    wal.persist("tcp", &part(&[2]), &[]).unwrap();
    drop(wal);
    let (_, seg) = list_segments(&dir.path().join("wal/tcp"))
        .unwrap()
        .remove(0);
    // A crash in the middle of an append: a frame header promising more than was written.
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 9, 9]).unwrap();
    drop(f);
    let wal = open(dir.path(), 0, None, WalConfig::default());
    let blocks = wal.take_batch("tcp", 100).unwrap();
    assert_eq!(seqs(&blocks), vec![0, 1]);
    assert_eq!(wal.persist("tcp", &part(&[3]), &[]).unwrap(), 2);
}

#[test]
fn checkpointed_segments_are_deleted_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let config = WalConfig {
        fsync: FsyncPolicy::Never,
        segment_bytes: 64,
    };
    let wal = open(dir.path(), 0, None, config);
    for t in 1..=10 {
        wal.persist("tcp", &part(&[t as u8; 20]), &[]).unwrap();
        wal.take_batch("tcp", t * 100).unwrap();
    }
    let seg_dir = dir.path().join("wal/tcp");
    let before = list_segments(&seg_dir).unwrap().len();
    assert!(before >= 5, "{before} segments");
    let mut covered = BTreeMap::new();
    covered.insert("tcp".to_owned(), 6u64);
    let removed = wal.truncate(&covered, 600).unwrap();
    assert!(removed >= 2, "removed {removed}");
    drop(wal);
    // Everything after the checkpoint (batch 600, block 6) still replays.
    let wal = open(dir.path(), 6, Some(600), config);
    for t in 7..=10 {
        assert_eq!(
            seqs(&wal.take_batch("tcp", t * 100).unwrap()),
            vec![t as u64 - 1]
        );
    }
}

#[test]
fn interval_policy_and_unknown_sources() {
    let dir = tempfile::tempdir().unwrap();
    let config = WalConfig {
        fsync: FsyncPolicy::Interval(Duration::from_secs(60)),
        ..WalConfig::default()
    };
    let wal = open(dir.path(), 0, None, config);
    wal.persist("tcp", &part(&[1]), &[]).unwrap();
    assert!(matches!(
        wal.persist("nope", &part(&[1]), &[]),
        Err(WalError::UnknownSource(_))
    ));
    // A process crash loses nothing even without fsync: the data is in the page cache.
    drop(wal);
    let wal = open(dir.path(), 0, None, config);
    assert_eq!(seqs(&wal.take_batch("tcp", 1).unwrap()), vec![0]);
}
