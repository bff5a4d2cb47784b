//! `sluice serve` through the real binary: a server started from a config on a free port,
//! driven with a real HTTP client and the `sluice` CLI client.

mod harness;

mod isolation;
mod load;
mod logs;
mod quotas;
mod refusals;
mod restart;
