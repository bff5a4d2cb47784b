//! Recovery tests through the real `sluice` binary: crashes at random instants, corrupt
//! checkpoints, changed jobs, a full disk, and the write-ahead log of a TCP source.

mod common;
mod crash;
mod direct;
mod disk;
mod lock;
mod wal;
