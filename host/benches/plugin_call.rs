//! Plugin-call benchmark: the per-call overhead (an empty partition) and the per-record
//! cost of `words.split_pairs` on partitions of 10 to 10,000 lines of 10 words, against
//! the same function compiled natively here (same algorithm, same MessagePack bytes).
//!
//! Run: `cargo bench -p sluice --bench plugin_call` (builds `plugins/dist/words.wasm` first).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use sluice::record::Partition;
use sluice::wasm::{Limits, Plugin, RuntimeConfig, WasmRuntime};
use sluice_abi::msgpack::{self, Reader};
use sluice_abi::{Ctx, Shape};

/// Words in the vocabulary.
const VOCABULARY: usize = 10_000;
/// Words per line.
const WORDS_PER_LINE: usize = 10;
/// Each sample runs for about this long.
const SAMPLE: Duration = Duration::from_millis(100);
/// Samples per measurement.
const SAMPLES: usize = 9;

/// A small deterministic generator (xorshift64*), so every run measures the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn vocabulary(rng: &mut Rng) -> Vec<String> {
    (0..VOCABULARY)
        .map(|_| {
            let len = 3 + (rng.next() % 8) as usize;
            (0..len)
                .map(|_| char::from(b'a' + (rng.next() % 26) as u8))
                .collect()
        })
        .collect()
}

/// `lines` lines of [`WORDS_PER_LINE`] words, encoded as string records end to end.
fn partition(rng: &mut Rng, vocab: &[String], lines: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..lines {
        let line: Vec<&str> = (0..WORDS_PER_LINE)
            .map(|_| vocab[(rng.next() % vocab.len() as u64) as usize].as_str())
            .collect();
        msgpack::write_str(&mut out, &line.join(" "));
    }
    out
}

/// The native twin of `words.split_pairs`: each line to `[word, 1]` pairs, written as
/// MessagePack directly, collected into a host `Partition` (as a call's output is).
fn native_split_pairs(count: u32, records: &[u8]) -> Partition {
    let mut r = Reader::new(records);
    let mut buf = Vec::with_capacity(records.len() * 2);
    let mut n = 0u32;
    for _ in 0..count {
        let line = r.str().expect("a string record");
        for word in line.split_whitespace() {
            buf.push(0x92);
            msgpack::write_str(&mut buf, word);
            buf.push(0x01);
            n += 1;
        }
    }
    Partition::from_encoded(n, &buf).expect("well-formed pairs")
}

/// Time per run of `f`: the fastest of [`SAMPLES`] samples of about [`SAMPLE`] each (the
/// minimum is the figure least disturbed by other work on a shared machine).
fn measure(mut f: impl FnMut()) -> Duration {
    f(); // warm up
    let mut runs = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..runs {
            f();
        }
        if start.elapsed() >= SAMPLE || runs >= 1 << 24 {
            break;
        }
        runs = runs.saturating_mul(2);
    }
    (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..runs {
                f();
            }
            start.elapsed() / runs
        })
        .min()
        .expect("samples")
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = std::process::Command::new("bash")
        .arg(root.join("plugins/build.sh"))
        .arg("--quiet")
        .status()
        .expect("run plugins/build.sh");
    assert!(status.success(), "plugins/build.sh failed");
    let runtime = WasmRuntime::new(RuntimeConfig::default()).expect("runtime");
    let words = Plugin::load(
        &runtime,
        "words",
        &root.join("plugins/dist/words.wasm"),
        &serde_json::json!({}),
        Limits::default(),
    )
    .expect("load words.wasm");
    let ctx = Ctx::new(1_700_000_000_000, 0);
    println!(
        "plugin_call: words.split_pairs, lines of {WORDS_PER_LINE} words from a \
         {VOCABULARY}-word vocabulary (pooling allocator: {})",
        runtime.pooling()
    );

    let empty = measure(|| {
        black_box(
            words
                .call("split_pairs", Shape::Transform, 0, &[], &ctx)
                .unwrap(),
        );
    });
    let empty_native = measure(|| {
        black_box(native_split_pairs(0, black_box(&[])));
    });
    println!(
        "per-call overhead (empty partition): wasm {:.2} us, native {:.3} us",
        empty.as_secs_f64() * 1e6,
        empty_native.as_secs_f64() * 1e6
    );

    println!(
        "{:>7} {:>13} {:>13} {:>12} {:>12} {:>7}",
        "lines", "wasm/call", "native/call", "wasm/line", "native/line", "ratio"
    );
    let mut rng = Rng(0x5151_c0de_2026_1126);
    let vocab = vocabulary(&mut rng);
    for lines in [10usize, 100, 1_000, 10_000] {
        let records = partition(&mut rng, &vocab, lines);
        let count = lines as u32;
        let wasm_out = words
            .call("split_pairs", Shape::Transform, count, &records, &ctx)
            .unwrap();
        let native_out = native_split_pairs(count, &records);
        assert_eq!(wasm_out.items, native_out, "wasm and native outputs differ");
        assert_eq!(native_out.len(), lines * WORDS_PER_LINE);
        let wasm = measure(|| {
            black_box(
                words
                    .call(
                        "split_pairs",
                        Shape::Transform,
                        count,
                        black_box(&records),
                        &ctx,
                    )
                    .unwrap(),
            );
        });
        let native = measure(|| {
            black_box(native_split_pairs(count, black_box(&records)));
        });
        let per = |d: Duration| d.as_secs_f64() * 1e9 / lines as f64;
        println!(
            "{lines:>7} {:>10.1} us {:>10.1} us {:>9.0} ns {:>9.0} ns {:>6.2}x",
            wasm.as_secs_f64() * 1e6,
            native.as_secs_f64() * 1e6,
            per(wasm),
            per(native),
            wasm.as_secs_f64() / native.as_secs_f64()
        );
    }
}
