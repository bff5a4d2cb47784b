//! A deliberately slow stage for backpressure tests and demos: `spin` passes each record
//! through unchanged after burning `rounds` rounds of integer mixing over it (CPU, since
//! the sandbox's clock is frozen and there is nothing to sleep on).
//!
//! `announce` passes records through too, logging one line per partition (the serve
//! tests read it back from the job's log).
//!
//! Params, once per instance through `sluice_init`: `{ "rounds": 20000 }` (default 1000).

use std::cell::Cell;

use serde::Deserialize;
use sluice_plugin::Output;

/// The plugin's params.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Mixing rounds per record.
    #[serde(default = "default_rounds")]
    pub rounds: u32,
}

fn default_rounds() -> u32 {
    DEFAULT_ROUNDS
}

const DEFAULT_ROUNDS: u32 = 1000;

thread_local! {
    static ROUNDS: Cell<u32> = const { Cell::new(DEFAULT_ROUNDS) };
}

/// Stores the number of rounds per record.
pub fn init(params: Option<Params>) -> Result<(), String> {
    let rounds = params.map_or(DEFAULT_ROUNDS, |p| p.rounds);
    ROUNDS.with(|r| r.set(rounds));
    Ok(())
}
sluice_plugin::init!(init);

/// `rounds` rounds of a 64-bit mix seeded by the record's bytes; the result depends on
/// every round, so the work cannot be optimised away.
pub fn burn(record: &[u8], rounds: u32) -> u64 {
    let mut h = record.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    for i in 0..rounds {
        h ^= h >> 33;
        h = h
            .wrapping_mul(0xff51_afd7_ed55_8ccd)
            .wrapping_add(u64::from(i));
        h ^= h >> 29;
    }
    h
}

/// Each record unchanged, after [`burn`]ing the configured rounds over it.
pub fn spin(_index: u32, record: &[u8], out: &mut Output) -> Result<(), String> {
    let rounds = ROUNDS.with(Cell::get);
    // The check keeps the result alive; it never fails (a mix of nonzero input is
    // never exactly this value in practice, and a match only reports it).
    if burn(record, rounds) == u64::MAX {
        sluice_plugin::debug!("busy: a record mixed to u64::MAX");
    }
    out.items_mut().extend_from_slice(record);
    out.add_count(1);
    Ok(())
}
sluice_plugin::raw_transform!(spin);

/// Each record unchanged; the first of each partition is announced in the job's log.
pub fn announce(index: u32, record: &[u8], out: &mut Output) -> Result<(), String> {
    if index == 0 {
        sluice_plugin::info!("announce: a partition starts with a {}-byte record", record.len());
    }
    out.items_mut().extend_from_slice(record);
    out.add_count(1);
    Ok(())
}
sluice_plugin::raw_transform!(announce);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burn_depends_on_rounds_and_input() {
        assert_ne!(burn(b"a", 10), burn(b"a", 11));
        assert_ne!(burn(b"a", 10), burn(b"b", 10));
    }
}
