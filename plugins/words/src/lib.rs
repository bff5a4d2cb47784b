//! Word count: `split` (line -> words), `split_pairs` / `pair_with_one` (line -> `[word, 1]`
//! pairs, the fused fast path) and `sum` (reduce over `i64`).

use sluice_abi::msgpack::{self, Reader};
use sluice_plugin::Output;

/// Splits a line on whitespace into words, kept as they are.
pub fn split(line: String) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}
sluice_plugin::flat_map!(split);

/// Splits a line into `[word, 1]` pairs, writing MessagePack directly: no serde, no
/// allocation per word.
pub fn split_pairs(_index: u32, record: &[u8], out: &mut Output) -> Result<(), String> {
    let line = Reader::new(record)
        .str()
        .map_err(|e| format!("expected a string: {e}"))?;
    let buf = out.items_mut();
    let mut n = 0;
    for word in line.split_whitespace() {
        buf.reserve(word.len() + 4);
        buf.push(0x92);
        msgpack::write_str(buf, word);
        buf.push(0x01);
        n += 1;
    }
    out.add_count(n);
    Ok(())
}
sluice_plugin::raw_transform!(split_pairs);
sluice_plugin::raw_transform!(split_pairs as "pair_with_one");

/// Adds two counts.
pub fn sum(a: i64, b: i64) -> Result<i64, String> {
    a.checked_add(b)
        .ok_or_else(|| format!("sum overflows: {a} + {b}"))
}
sluice_plugin::reduce!(sum);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_abi::{doc, Ctx};

    fn input(records: &[&str]) -> Vec<u8> {
        let mut items = Vec::new();
        for r in records {
            msgpack::write_str(&mut items, r);
        }
        let mut buf = Vec::new();
        doc::write_input(&mut buf, records.len() as u32, &items, &Ctx::default());
        buf
    }

    #[test]
    fn split_pairs_writes_pairs() {
        let out = sluice_plugin::run::raw(&input(&["a bb", " ", "a"]), split_pairs);
        let view = doc::read_output(&out).unwrap();
        assert_eq!(view.items.count, 3);
        let mut expect = Vec::new();
        for w in ["a", "bb", "a"] {
            msgpack::write_array_len(&mut expect, 2);
            msgpack::write_str(&mut expect, w);
            msgpack::write_int(&mut expect, 1);
        }
        assert_eq!(view.items.bytes, &expect[..]);
        assert!(view.errors.is_empty());
    }
}
