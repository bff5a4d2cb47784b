//! Times `split_pairs` natively on a 1000-line partition (10 words a line), the baseline
//! for the same function in wasm: `cargo run --release --target <host triple> -p words
//! --example bench_native` from `plugins/`. Writes the input document to the path given
//! as the first argument, if any, so a wasm runner can time the same bytes.

use sluice_abi::{doc, msgpack, Ctx};

fn main() {
    let words = [
        "alpha", "be", "gamma", "delta", "epsilon", "z", "lorem", "ipsum", "dolor",
    ];
    let mut items = Vec::new();
    let mut seed = 1u64;
    for _ in 0..1000 {
        let line: Vec<&str> = (0..10)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                words[(seed >> 33) as usize % words.len()]
            })
            .collect();
        msgpack::write_str(&mut items, &line.join(" "));
    }
    let mut input = Vec::new();
    doc::write_input(&mut input, 1000, &items, &Ctx::default());
    if let Some(path) = std::env::args().nth(1) {
        std::fs::write(path, &input).unwrap();
    }
    let run = || sluice_plugin::run::raw(&input, words::split_pairs).len();
    for _ in 0..50 {
        std::hint::black_box(run());
    }
    let n = 1000;
    let t = std::time::Instant::now();
    let mut len = 0;
    for _ in 0..n {
        len = std::hint::black_box(run());
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!("native split_pairs: {us:.1} us per 1000-line partition ({len} output bytes)");
}
