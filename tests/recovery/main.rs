//! Recovery tests through the real `sluice` binary: crashes at random instants (also of
//! `examples/stateful`), corrupt checkpoints, changed jobs, a full disk, and the
//! write-ahead log of a TCP source, `sluice checkpoint reset`.

mod common;
mod crash;
mod direct;
mod disk;
mod example;
mod lock;
mod reset;
mod wal;
