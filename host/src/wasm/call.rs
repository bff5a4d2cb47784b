//! One call's exchange with the guest: the input document written into a buffer from
//! `sluice_alloc`, the function called, the output buffer checked and read, both freed.

use sluice_abi::{doc, exports, msgpack, unpack_ptr_len, Ctx, RecordError, Shape};
use wasmtime::{Memory, Store, TypedFunc};

use super::error::{DisplayBytes, Failure};
use super::limits::Limits;
use super::trap::classify;
use crate::record::Partition;

/// The result of a successful call.
#[derive(Debug, Default)]
pub struct CallOutput {
    /// The produced items (records, values or update results, by shape).
    pub items: Partition,
    /// Per-item errors reported by the guest (never a whole-call error: that is a
    /// [`super::CallError`]).
    pub errors: Vec<RecordError>,
}

/// Writes the input, calls, reads and checks the output, frees both buffers.
#[allow(
    clippy::too_many_arguments,
    reason = "one call's whole context, used once"
)]
pub(crate) fn exchange<T>(
    store: &mut Store<T>,
    memory: Memory,
    alloc: &TypedFunc<i32, i32>,
    free: &TypedFunc<(i32, i32), ()>,
    func: &TypedFunc<(i32, i32), i64>,
    shape: Shape,
    count: u32,
    items: &[u8],
    ctx: &Ctx,
    limits: &Limits,
) -> Result<CallOutput, Failure> {
    let mut head = Vec::with_capacity(8);
    msgpack::write_array_len(&mut head, 2);
    msgpack::write_array_len(&mut head, count);
    let mut tail = Vec::with_capacity(40);
    ctx.write(&mut tail);
    let in_len = head.len() + items.len() + tail.len();
    let in_len32 = i32::try_from(in_len).map_err(|_| {
        Failure::Other(format!(
            "input document of {} does not fit a 32-bit guest",
            DisplayBytes(in_len as u64)
        ))
    })?;
    let in_ptr = alloc
        .call(&mut *store, in_len32)
        .map_err(|e| classify(e, limits))? as u32;
    let input = checked_range(in_ptr, in_len as u64, memory.data_size(&*store)).ok_or_else(|| {
        Failure::BadOutput(format!(
            "`{}({in_len})` returned {in_ptr}, not a buffer inside the instance's memory ({} bytes)",
            exports::ALLOC_FN,
            memory.data_size(&*store)
        ))
    })?;
    if in_ptr == 0 {
        return Err(Failure::BadOutput(format!(
            "`{}({in_len})` returned 0 (null)",
            exports::ALLOC_FN
        )));
    }
    {
        let data = &mut memory.data_mut(&mut *store)[input.clone()];
        let (h, rest) = data.split_at_mut(head.len());
        h.copy_from_slice(&head);
        let (i, t) = rest.split_at_mut(items.len());
        i.copy_from_slice(items);
        t.copy_from_slice(&tail);
    }
    let packed = func
        .call(&mut *store, (in_ptr as i32, in_len32))
        .map_err(|e| classify(e, limits))?;
    let (out_ptr, out_len) = unpack_ptr_len(packed);
    if u64::from(out_len) > limits.output_bytes {
        return Err(Failure::BadOutput(format!(
            "output of {} exceeds the cap of {}",
            DisplayBytes(out_len.into()),
            DisplayBytes(limits.output_bytes)
        )));
    }
    let size = memory.data_size(&*store);
    let output = checked_range(out_ptr, out_len.into(), size).ok_or_else(|| {
        Failure::BadOutput(format!(
            "output buffer at {out_ptr} of {out_len} bytes is outside the instance's memory \
             ({size} bytes)"
        ))
    })?;
    if output.start < input.end && input.start < output.end {
        return Err(Failure::BadOutput(format!(
            "output buffer {output:?} overlaps the input buffer {input:?}"
        )));
    }
    let result = read_output(&memory.data(&*store)[output.clone()], shape, count);
    free.call(&mut *store, (in_ptr as i32, in_len32))
        .and_then(|()| free.call(&mut *store, (out_ptr as i32, out_len as i32)))
        .map_err(|e| classify(e, limits))?;
    result
}

/// Parses and checks an output document against the shape and the input count.
///
/// The items are checked and framed into the [`Partition`] in one scan; the rest of the
/// document (the errors and any elements a later minor version appends) is read by the
/// ABI crate's parser, so both agree on what a valid document is.
pub(crate) fn read_output(buf: &[u8], shape: Shape, count: u32) -> Result<CallOutput, Failure> {
    let bad = |e: msgpack::DecodeError| {
        Failure::BadOutput(format!(
            "output is not a valid [items, errors] document: {e}"
        ))
    };
    let mut r = msgpack::Reader::new(buf);
    let elements = r.array_len().map_err(bad)?;
    let n_items = if elements >= 2 {
        r.array_len().map_err(bad)?
    } else {
        0
    };
    let start = r.position();
    let (items, used) = if elements >= 2 {
        Partition::from_encoded_prefix(n_items, &buf[start..]).map_err(|e| {
            bad(msgpack::DecodeError {
                offset: e.offset + start,
                ..e
            })
        })?
    } else {
        (Partition::new(), 0)
    };
    // The document without its items: `[[], errors, ...]`, re-read by the ABI parser (a
    // few bytes: usually just the empty errors array).
    let mut rest = Vec::with_capacity(8 + buf.len() - start - used);
    msgpack::write_array_len(&mut rest, elements);
    let header = rest.len() + 1;
    rest.push(0x90);
    rest.extend_from_slice(&buf[start + used..]);
    let view = doc::read_output(if elements >= 2 { &rest } else { buf }).map_err(|e| {
        bad(msgpack::DecodeError {
            offset: if elements >= 2 {
                (e.offset + start + used).saturating_sub(header)
            } else {
                e.offset
            },
            ..e
        })
    })?;
    if let Some(message) = view.call_error() {
        return Err(Failure::Guest(message.to_owned()));
    }
    if let Some(e) = view.errors.iter().find(|e| e.index >= Some(count)) {
        return Err(Failure::BadOutput(format!(
            "output has an error for input item {} but there are {count} items",
            e.index.unwrap_or_default()
        )));
    }
    if shape.one_output_per_input() && n_items != count {
        return Err(Failure::BadOutput(format!(
            "returned {n_items} items for {count} inputs; a {} function returns exactly one per input",
            shape.name()
        )));
    }
    Ok(CallOutput {
        items,
        errors: view.errors,
    })
}

/// `ptr..ptr+len` as a range, if it lies inside a memory of `size` bytes.
fn checked_range(ptr: u32, len: u64, size: usize) -> Option<std::ops::Range<usize>> {
    let end = u64::from(ptr).checked_add(len)?;
    (end <= size as u64).then_some(ptr as usize..end as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked() {
        assert_eq!(checked_range(10, 5, 15), Some(10..15));
        assert_eq!(checked_range(10, 6, 15), None);
        assert_eq!(
            checked_range(u32::MAX, u64::from(u32::MAX), usize::MAX),
            Some(u32::MAX as usize..(2 * u64::from(u32::MAX)) as usize)
        );
        assert_eq!(checked_range(0, 0, 0), Some(0..0));
    }

    #[test]
    fn output_checks_follow_the_shape() {
        let mut one = Vec::new();
        doc::write_output(&mut one, 1, &[0x07], &[]);
        assert!(read_output(&one, Shape::Reduce, 1).is_ok());
        assert!(matches!(
            read_output(&one, Shape::Reduce, 2),
            Err(Failure::BadOutput(_))
        ));
        assert!(read_output(&one, Shape::Transform, 2).is_ok());
        assert!(matches!(
            read_output(b"\x92\x90", Shape::Transform, 0),
            Err(Failure::BadOutput(_))
        ));
    }

    #[test]
    fn one_scan_agrees_with_the_abi_parser() {
        let mut items = Vec::new();
        for w in ["a", "bc", ""] {
            items.extend_from_slice(&[0x92]);
            msgpack::write_str(&mut items, w);
            msgpack::write_int(&mut items, 300);
        }
        let errors = [sluice_abi::RecordError {
            index: Some(1),
            message: "x".into(),
        }];
        let mut out = Vec::new();
        doc::write_output(&mut out, 3, &items, &errors);
        let got = read_output(&out, Shape::Transform, 3).unwrap();
        assert_eq!(got.items.len(), 3);
        assert_eq!(got.items.bytes(), &items[..]);
        assert_eq!(got.errors, errors);
        // An appended element is ignored; a truncated item, a lying count, trailing bytes
        // and a whole-call error are refused.
        let mut longer = out.clone();
        longer[0] = 0x93;
        longer.push(0xc0);
        assert!(read_output(&longer, Shape::Transform, 3).is_ok());
        assert!(read_output(&out[..out.len() - 3], Shape::Transform, 3).is_err());
        let mut lying = out.clone();
        lying[1] = 0x94;
        assert!(read_output(&lying, Shape::Transform, 3).is_err());
        let mut trailing = out.clone();
        trailing.push(0x01);
        assert!(read_output(&trailing, Shape::Transform, 3).is_err());
        let mut whole = Vec::new();
        let call_error = [sluice_abi::RecordError {
            index: None,
            message: "boom".into(),
        }];
        doc::write_output(&mut whole, 0, &[], &call_error);
        assert!(matches!(
            read_output(&whole, Shape::Transform, 3),
            Err(Failure::Guest(m)) if m == "boom"
        ));
    }
}
