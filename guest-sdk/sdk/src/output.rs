//! The output document `[items, errors]` a function builds while it runs.

use serde::Serialize;
use sluice_abi::{doc, msgpack, RecordError};

use crate::codec;
use crate::combine::{Absorbed, Combiner};

/// The items and errors of one call, written into one output document at the end.
///
/// Items are appended already encoded, so a fast plugin can write records with the
/// [`sluice_abi::msgpack`] writers and never touch serde. When the host sent the combine
/// hint (docs/abi.md), the transform runtimes merge `[key, integer]` pairs per key as
/// they are appended; the plugin does not see it.
#[derive(Debug, Default)]
pub struct Output {
    items: Vec<u8>,
    /// Records in `items`.
    in_items: u32,
    /// Records appended in all (before any combining).
    count: u32,
    errors: Vec<RecordError>,
    failed: bool,
    combiner: Option<Combiner>,
}

impl Output {
    /// An empty output.
    pub fn new() -> Self {
        Output::default()
    }

    /// An empty output with room for `bytes` bytes of encoded items.
    pub fn with_capacity(bytes: usize) -> Self {
        Output {
            items: Vec::with_capacity(bytes),
            ..Output::default()
        }
    }

    /// Merges `[key, integer]` pairs per key from now on (the combine hint).
    pub(crate) fn combine(&mut self, how: sluice_abi::Combine) {
        self.combiner = Some(Combiner::new(how));
    }

    /// [`Output::absorb`] once the records appended since the last merge take
    /// `bytes` bytes or more (merging in runs of records rather than after every item).
    pub(crate) fn absorb_past(&mut self, bytes: usize) {
        if self.items.len() >= bytes {
            self.absorb();
        }
    }

    /// Merges the records appended since the last call into the combiner, if combining.
    /// At the first record that cannot be merged, combining stops for the rest of the
    /// call: the merged pairs are written first, then that record and the ones after it.
    pub(crate) fn absorb(&mut self) {
        let Some(c) = self.combiner.as_mut() else {
            return;
        };
        match c.absorb(&self.items) {
            Absorbed::All => {
                self.items.clear();
                self.in_items = 0;
            }
            Absorbed::StoppedAt { at, records } => {
                let mut items = Vec::with_capacity(self.items.len() + c.len() * 16);
                c.write_pairs(&mut items);
                items.extend_from_slice(&self.items[at..]);
                self.in_items = c.len() as u32 + (self.in_items - records);
                self.items = items;
                if let Some(c) = self.combiner.take() {
                    c.recycle();
                }
            }
        }
    }

    /// Appends one record that is already encoded (exactly one MessagePack value).
    pub fn push_encoded(&mut self, record: &[u8]) {
        self.items.extend_from_slice(record);
        self.add_count(1);
    }

    /// Appends one record written by `write`, which must append exactly one MessagePack
    /// value to the buffer it is given.
    pub fn push_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        write(&mut self.items);
        self.add_count(1);
    }

    /// Appends one record encoded with serde (structs as maps).
    ///
    /// # Errors
    /// The serializer's message if `record` cannot be encoded; nothing is appended then.
    pub fn push<T: Serialize + ?Sized>(&mut self, record: &T) -> Result<(), String> {
        codec::encode(&mut self.items, record)?;
        self.add_count(1);
        Ok(())
    }

    /// Appends nil: the placeholder output of an input item that failed, in shapes with
    /// one output per input.
    pub fn push_nil(&mut self) {
        self.push_with(msgpack::write_nil);
    }

    /// Reports that input item `index` failed, with the reason.
    pub fn error(&mut self, index: u32, message: impl Into<String>) {
        self.errors.push(RecordError {
            index: Some(index),
            message: message.into(),
        });
    }

    /// Fails the whole call: the host discards the items and fails the batch.
    pub fn fail(&mut self, message: impl Into<String>) {
        self.failed = true;
        self.errors.push(RecordError {
            index: None,
            message: message.into(),
        });
    }

    /// The number of items appended so far (before any combining).
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The per-item and whole-call errors reported so far.
    pub fn errors(&self) -> &[RecordError] {
        &self.errors
    }

    /// The raw item buffer, for writers that append records and then call
    /// [`Output::add_count`].
    pub fn items_mut(&mut self) -> &mut Vec<u8> {
        &mut self.items
    }

    /// Counts `n` records appended directly through [`Output::items_mut`].
    pub fn add_count(&mut self, n: u32) {
        self.in_items += n;
        self.count += n;
    }

    /// Writes the output document into a buffer of exactly its size.
    pub fn finish(mut self) -> Vec<u8> {
        self.absorb();
        if let Some(c) = self.combiner.take() {
            self.items.clear();
            c.write_pairs(&mut self.items);
            self.in_items = c.len() as u32;
            c.recycle();
        }
        let (count, items): (u32, &[u8]) = if self.failed {
            (0, &[])
        } else {
            (self.in_items, &self.items)
        };
        let errors_len: usize = self.errors.iter().map(|e| e.message.len() + 16).sum();
        let mut out = Vec::with_capacity(items.len() + errors_len + 16);
        doc::write_output(&mut out, count, items, &self.errors);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_items_and_errors() {
        let mut out = Output::new();
        out.push("a").unwrap();
        out.push_with(|b| msgpack::write_int(b, 7));
        out.error(2, "bad");
        let bytes = out.finish();
        let view = doc::read_output(&bytes).unwrap();
        assert_eq!(view.items.count, 2);
        assert_eq!(view.items.bytes, &[0xa1, b'a', 7]);
        assert_eq!(view.errors[0].index, Some(2));
    }

    #[test]
    fn the_combine_hint_merges_pairs_and_stops_at_other_records() {
        let mut out = Output::new();
        out.combine(sluice_abi::Combine::Sum);
        for (k, v) in [("a", 1), ("b", 2), ("a", 3)] {
            out.push(&(k, v)).unwrap();
        }
        out.absorb();
        out.push(&("b", 1)).unwrap();
        out.push(&("c", 1.5)).unwrap();
        out.push(&("a", 1)).unwrap();
        assert_eq!(out.count(), 6);
        let bytes = out.finish();
        let view = doc::read_output(&bytes).unwrap();
        // a=4 and b=3 merged, then the float and what follows it as they were.
        assert_eq!(view.items.count, 4);
        let mut want = Vec::new();
        for rec in [&("a", 4), &("b", 3)] {
            codec::encode(&mut want, rec).unwrap();
        }
        codec::encode(&mut want, &("c", 1.5)).unwrap();
        codec::encode(&mut want, &("a", 1)).unwrap();
        assert_eq!(view.items.bytes, &want[..]);
    }

    #[test]
    fn a_failed_call_drops_its_items() {
        let mut out = Output::new();
        out.push(&1).unwrap();
        out.fail("broken");
        let bytes = out.finish();
        let view = doc::read_output(&bytes).unwrap();
        assert_eq!(view.items.count, 0);
        assert_eq!(view.call_error(), Some("broken"));
    }
}
