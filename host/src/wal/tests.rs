//! Tests of the write-ahead log on real files, through the batcher as a job uses it
//! (blocks sealed by a [`BlockGenerator`], batches taken by a [`ReceiverInput`]): replay
//! after a crash, torn tails, truncation.

use std::io::Write;
use std::sync::Arc;

use super::*;
use crate::batch::{BlockGenerator, RateLimiter, ReceiverInput};
use crate::record::{DeadLetter, Partition};

fn part(values: &[u8]) -> Partition {
    let mut p = Partition::new();
    for v in values {
        p.push(&[*v]); // positive fixints are one-byte MessagePack records
    }
    p
}

fn open(dir: &Path, resume: u64, after: Option<i64>, config: WalConfig) -> Arc<WriteAheadLog> {
    let mut r = BTreeMap::new();
    r.insert("tcp".to_owned(), resume);
    Arc::new(WriteAheadLog::open(dir, config, &["tcp".to_owned()], &r, after).unwrap())
}

/// The receiver `tcp` of a job over `wal`: its block generator and its batcher.
struct Receiver {
    generator: Arc<BlockGenerator>,
    input: ReceiverInput,
}

fn receiver(wal: &Arc<WriteAheadLog>) -> Receiver {
    let store: Arc<dyn BlockStore> = wal.clone();
    let generator = BlockGenerator::new("tcp", store.clone(), 1 << 20, None);
    let limiter = Arc::new(RateLimiter::new(None));
    let input = ReceiverInput::new("tcp", generator.clone(), limiter, store, None, Vec::new());
    Receiver { generator, input }
}

impl Receiver {
    /// Receives one block of one-byte records.
    fn block(&self, values: &[u8], dead: Vec<DeadLetter>) {
        self.generator.push(&part(values), dead);
        self.generator.seal();
    }

    /// The batch at `time`: each partition's records (one partition per block).
    fn batch(&mut self, time: i64) -> Vec<Vec<u8>> {
        self.batch_with_dead(time).0
    }

    fn batch_with_dead(&mut self, time: i64) -> (Vec<Vec<u8>>, Vec<DeadLetter>) {
        let b = self.input.take_batch(time).unwrap();
        let parts = b
            .batch
            .unwrap()
            .partitions
            .iter()
            .map(|p| p.iter().map(|r| r[0]).collect())
            .collect();
        (parts, b.dead_letters)
    }
}

#[test]
fn after_a_crash_batches_get_the_same_blocks_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let wal = open(dir.path(), 0, None, WalConfig::default());
    let mut rx = receiver(&wal);
    rx.block(&[1, 2], Vec::new());
    rx.block(&[3], Vec::new());
    assert_eq!(rx.batch(100), vec![vec![1, 2], vec![3]]);
    // The checkpoint after batch 100 records position 2.
    assert_eq!(wal.positions()["tcp"], 2);
    let dead = DeadLetter {
        stream: "tcp".into(),
        record: b"\xff".to_vec(),
        reason: "bad utf-8".into(),
    };
    rx.block(&[4], vec![dead]);
    assert_eq!(rx.batch(200), vec![vec![4]]);
    assert!(rx.batch(300).is_empty());
    rx.block(&[5], Vec::new());
    rx.block(&[6, 7], Vec::new());
    drop((rx, wal)); // crash: blocks 3 and 4 were received but no batch consumed them

    let wal = open(dir.path(), 2, Some(100), WalConfig::default());
    assert_eq!(wal.next_seq("tcp"), 5, "sequence numbers continue");
    let mut rx = receiver(&wal);
    rx.block(&[8], Vec::new());
    let (b200, dead) = rx.batch_with_dead(200);
    assert_eq!(
        b200,
        vec![vec![4]],
        "batch 200 is replayed with exactly its block"
    );
    assert_eq!(dead[0].reason, "bad utf-8");
    assert!(rx.batch(300).is_empty(), "300 was empty and stays so");
    assert_eq!(rx.batch(400), vec![vec![5], vec![6, 7], vec![8]]);
    assert_eq!(wal.positions()["tcp"], 6);
}

#[test]
fn a_torn_tail_is_ignored_and_the_intact_blocks_replay() {
    let dir = tempfile::tempdir().unwrap();
    let wal = open(dir.path(), 0, None, WalConfig::default());
    let rx = receiver(&wal);
    rx.block(&[1], Vec::new());
    rx.block(&[2], Vec::new());
    drop((rx, wal));
    let (_, seg) = list_segments(&dir.path().join("wal/tcp"))
        .unwrap()
        .remove(0);
    // A crash in the middle of an append: a frame header promising more than was written.
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 9, 9]).unwrap();
    drop(f);
    let wal = open(dir.path(), 0, None, WalConfig::default());
    let mut rx = receiver(&wal);
    assert_eq!(rx.batch(100), vec![vec![1], vec![2]]);
    assert_eq!(wal.next_seq("tcp"), 2);
}

#[test]
fn checkpointed_segments_are_deleted_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let config = WalConfig {
        fsync: FsyncPolicy::Never,
        segment_bytes: 64,
    };
    let wal = open(dir.path(), 0, None, config);
    let mut rx = receiver(&wal);
    for t in 1..=10 {
        rx.block(&[t as u8; 20], Vec::new());
        rx.batch(t * 100);
    }
    let seg_dir = dir.path().join("wal/tcp");
    let before = list_segments(&seg_dir).unwrap().len();
    assert!(before >= 5, "{before} segments");
    let mut covered = BTreeMap::new();
    covered.insert("tcp".to_owned(), 6u64);
    let removed = wal.truncate(&covered, 600).unwrap();
    assert!(removed >= 2, "removed {removed}");
    drop((rx, wal));
    // Everything after the checkpoint (batch 600, block 6) still replays.
    let wal = open(dir.path(), 6, Some(600), config);
    let mut rx = receiver(&wal);
    for t in 7..=10 {
        assert_eq!(rx.batch(t * 100), vec![vec![t as u8; 20]]);
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
    receiver(&wal).block(&[1], Vec::new());
    let block = Block {
        id: 0,
        records: part(&[1]),
        dead_letters: Vec::new(),
    };
    let err = wal.persist("nope", &block).unwrap_err();
    assert!(err.contains("no log for source `nope`"), "{err}");
    // A process crash loses nothing even without fsync: the data is in the page cache.
    drop(wal);
    let wal = open(dir.path(), 0, None, config);
    assert_eq!(receiver(&wal).batch(1), vec![vec![1]]);
}
