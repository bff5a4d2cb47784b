//! Parts shared by the end-to-end benches: the word lines of the generator's vocabulary,
//! the native Rust word-count baseline, and peak-memory readings of a child process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sluice::source::vocabulary_word;

/// Words per line of the benches' input.
pub const WORDS_PER_LINE: usize = 10;
/// Distinct words of the input.
pub const VOCABULARY: usize = 10_000;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A numeric knob from the environment.
pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `n` lines like the generator's: 10 words drawn from the vocabulary (xorshift, `seed`).
pub fn make_lines(n: usize, seed: u64) -> Vec<String> {
    let words: Vec<String> = (0..VOCABULARY).map(vocabulary_word).collect();
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            let mut line = String::with_capacity(64);
            for w in 0..WORDS_PER_LINE {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                let r = (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as usize;
                if w > 0 {
                    line.push(' ');
                }
                line.push_str(&words[(r * VOCABULARY) >> 32]);
            }
            line
        })
        .collect()
}

/// The word count as a plain Rust program on 2 threads (split, count per thread, merge);
/// returns lines per second over `rounds` passes.
pub fn native_lines_per_s(lines: &[String], rounds: usize) -> f64 {
    let started = Instant::now();
    let mut total = 0u64;
    for _ in 0..rounds {
        let halves: Vec<&[String]> = lines.chunks(lines.len().div_ceil(2)).collect();
        let maps: Vec<HashMap<&str, u64>> = std::thread::scope(|s| {
            let handles: Vec<_> = halves
                .iter()
                .map(|part| {
                    s.spawn(move || {
                        let mut m: HashMap<&str, u64> = HashMap::new();
                        for l in part.iter() {
                            for w in l.split_whitespace() {
                                *m.entry(w).or_default() += 1;
                            }
                        }
                        m
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut merged: HashMap<&str, u64> = HashMap::new();
        for m in maps {
            for (k, v) in m {
                *merged.entry(k).or_default() += v;
            }
        }
        total += merged.values().sum::<u64>();
    }
    std::hint::black_box(total);
    (lines.len() * rounds) as f64 / started.elapsed().as_secs_f64()
}

/// A field of `/proc/PID/status` in KiB (`VmHWM`, `VmRSS`), 0 once the process is gone.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Resident KiB of a process split into (guest linear memories, everything else): the
/// guest memories live in wasmtime's pooling-allocator reservation, a range of address
/// space made of inaccessible guard regions of several GiB each with the memories'
/// accessible parts between them.
pub fn rss_split_kib(pid: u32) -> (u64, u64) {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut vmas: Vec<(u64, u64, u64)> = Vec::new();
    for line in smaps.lines() {
        let head = line.split(' ').next().unwrap_or("");
        if let Some((a, b)) = head.split_once('-') {
            if let (Ok(a), Ok(b)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) {
                vmas.push((a, b, 0));
                continue;
            }
        }
        if let (Some(v), Some(last)) = (line.strip_prefix("Rss:"), vmas.last_mut()) {
            last.2 = v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0);
        }
    }
    let huge = vmas.iter().filter(|(a, b, _)| b - a >= 1 << 30);
    let lo = huge.clone().map(|v| v.0).min().unwrap_or(0);
    let hi = huge.map(|v| v.1).max().unwrap_or(0);
    let guest = vmas
        .iter()
        .filter(|(a, b, _)| *a >= lo && *b <= hi)
        .map(|v| v.2)
        .sum();
    let all: u64 = vmas.iter().map(|v| v.2).sum();
    (guest, all - guest)
}
