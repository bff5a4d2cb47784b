//! Word count: `split` (line -> words), `split_pairs` / `pair_with_one` (line -> `[word, 1]`
//! pairs, the fused fast path) and `sum` (reduce over `i64`).

use sluice_plugin::Output;

/// Splits a line on whitespace into words, kept as they are.
pub fn split(line: String) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}
sluice_plugin::flat_map!(split);

/// Splits a line into `[word, 1]` pairs, writing MessagePack directly: no serde, no
/// allocation per word. Words are split on whitespace like `str::split_whitespace`, with a
/// one-pass byte-wise path for ASCII lines (most lines).
pub fn split_pairs(_index: u32, record: &[u8], out: &mut Output) -> Result<(), String> {
    let bytes = string_bytes(record)?;
    let buf = out.items_mut();
    let n = if bytes.is_ascii() {
        split_ascii(bytes, buf)
    } else {
        let line = std::str::from_utf8(bytes).map_err(|e| format!("string is not UTF-8: {e}"))?;
        let mut n = 0;
        for word in line.split_whitespace() {
            write_pair(buf, word.as_bytes());
            n += 1;
        }
        n
    };
    out.add_count(n);
    Ok(())
}

/// The bytes of a MessagePack string record (not yet checked to be UTF-8).
fn string_bytes(record: &[u8]) -> Result<&[u8], String> {
    let (len, header) = match *record.first().ok_or("empty record")? {
        m @ 0xa0..=0xbf => (usize::from(m & 0x1f), 1),
        0xd9 if record.len() >= 2 => (usize::from(record[1]), 2),
        0xda if record.len() >= 3 => (usize::from(u16::from_be_bytes([record[1], record[2]])), 3),
        0xdb if record.len() >= 5 => {
            let n = u32::from_be_bytes([record[1], record[2], record[3], record[4]]);
            (n as usize, 5)
        }
        m => {
            return Err(format!(
                "expected a string, found {}",
                sluice_abi::msgpack::marker_name(m)
            ))
        }
    };
    record
        .get(header..header + len)
        .ok_or_else(|| "truncated string".to_string())
}

/// `char::is_whitespace` for ASCII: tab, line feed, vertical tab, form feed, carriage
/// return and space.
#[inline]
const fn is_ascii_space(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

/// Splits an ASCII line in one pass: each word's bytes are copied as they are scanned,
/// behind a header patched when the word ends (no memcpy call per word, which costs a
/// libcall in wasm).
fn split_ascii(bytes: &[u8], buf: &mut Vec<u8>) -> u32 {
    let base = buf.len();
    // A word of k bytes takes at most k + 7 output bytes and k >= 1 input bytes plus a
    // separator, so twice the line plus a little always fits.
    buf.resize(base + bytes.len() * 2 + 8, 0);
    let out = &mut buf[base..];
    let (mut w, mut n, mut i) = (0usize, 0u32, 0usize);
    loop {
        while i < bytes.len() && is_ascii_space(bytes[i]) {
            i += 1;
        }
        if i == bytes.len() {
            break;
        }
        let header = w;
        w += 2;
        let start = i;
        while i < bytes.len() && !is_ascii_space(bytes[i]) {
            out[w] = bytes[i];
            w += 1;
            i += 1;
        }
        let len = i - start;
        out[header] = 0x92;
        if len < 32 {
            out[header + 1] = 0xa0 | len as u8;
        } else {
            // Rare: a longer header; move the word right to make room.
            let mut h = Vec::with_capacity(5);
            write_str_header(&mut h, len);
            let extra = h.len() - 1;
            out.copy_within(header + 2..w, header + 2 + extra);
            out[header + 1..header + 1 + h.len()].copy_from_slice(&h);
            w += extra;
        }
        out[w] = 0x01;
        w += 1;
        n += 1;
    }
    buf.truncate(base + w);
    n
}

/// Appends the header of a string of `n` bytes.
fn write_str_header(buf: &mut Vec<u8>, n: usize) {
    if n < 32 {
        buf.push(0xa0 | n as u8);
    } else if n <= 0xff {
        buf.extend_from_slice(&[0xd9, n as u8]);
    } else if n <= 0xffff {
        buf.push(0xda);
        buf.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        buf.push(0xdb);
        buf.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// Appends `[word, 1]`.
fn write_pair(buf: &mut Vec<u8>, word: &[u8]) {
    buf.push(0x92);
    write_str_header(buf, word.len());
    buf.extend_from_slice(word);
    buf.push(0x01);
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
    use sluice_abi::{doc, msgpack, Ctx};

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
        let long = "x".repeat(40);
        let longer = "y".repeat(300);
        let longest = format!("{} z", "w".repeat(70_000));
        let lines = [
            "a bb",
            " ",
            "c\x0bd\r\ne ",
            "\tné\u{3000}z\x0bq",
            &long,
            &longer,
            &longest,
        ];
        let out = sluice_plugin::run::raw(&input(&lines), split_pairs);
        let view = doc::read_output(&out).unwrap();
        assert_eq!(view.items.count, 12);
        let mut expect = Vec::new();
        // The same words as split_whitespace, on ASCII and non-ASCII lines.
        let big = "w".repeat(70_000);
        for w in [
            "a", "bb", "c", "d", "e", "né", "z", "q", &long, &longer, &big, "z",
        ] {
            msgpack::write_array_len(&mut expect, 2);
            msgpack::write_str(&mut expect, w);
            msgpack::write_int(&mut expect, 1);
        }
        assert_eq!(view.items.bytes, &expect[..]);
        assert!(view.errors.is_empty());
    }

    #[test]
    fn split_pairs_rejects_non_strings() {
        let mut items = Vec::new();
        msgpack::write_int(&mut items, 5);
        let mut buf = Vec::new();
        doc::write_input(&mut buf, 1, &items, &Ctx::default());
        let out = sluice_plugin::run::raw(&buf, split_pairs);
        let view = doc::read_output(&out).unwrap();
        assert_eq!(view.items.count, 0);
        assert_eq!(view.errors[0].message, "expected a string, found integer");
    }
}
