//! Tests of the MessagePack reader and writer.

use super::*;

fn ints() -> Vec<i64> {
    vec![
        0,
        1,
        127,
        128,
        255,
        256,
        65535,
        65536,
        1 << 32,
        i64::MAX,
        -1,
        -32,
        -33,
        -128,
        -129,
        -32768,
        -32769,
        i64::from(i32::MIN) - 1,
        i64::MIN,
    ]
}

#[test]
fn ints_round_trip_and_skip() {
    for v in ints() {
        let mut buf = Vec::new();
        write_int(&mut buf, v);
        let mut r = Reader::new(&buf);
        assert_eq!(r.int().unwrap(), v, "{v}");
        r.finish().unwrap();
        assert_eq!(value_len(&buf).unwrap(), buf.len());
    }
}

#[test]
fn strings_and_headers_round_trip() {
    for n in [0usize, 31, 32, 255, 256, 70_000] {
        let s = "x".repeat(n);
        let mut buf = Vec::new();
        write_str(&mut buf, &s);
        assert_eq!(Reader::new(&buf).str().unwrap(), s);
        assert_eq!(value_len(&buf).unwrap(), buf.len());
    }
    for n in [0u32, 15, 16, 65535, 65536] {
        let mut buf = Vec::new();
        write_array_len(&mut buf, n);
        assert_eq!(Reader::new(&buf).array_len().unwrap(), n);
        let mut buf = Vec::new();
        write_map_len(&mut buf, n);
        assert_eq!(Reader::new(&buf).map_len().unwrap(), n);
    }
}

#[test]
fn skips_nested_values() {
    // [1, {"a": [nil, true]}, 2.5, bin(3), ext8]
    let mut buf = Vec::new();
    write_array_len(&mut buf, 5);
    write_int(&mut buf, 1);
    write_map_len(&mut buf, 1);
    write_str(&mut buf, "a");
    write_array_len(&mut buf, 2);
    write_nil(&mut buf);
    write_bool(&mut buf, true);
    write_f64(&mut buf, 2.5);
    buf.extend_from_slice(&[0xc4, 3, 1, 2, 3]);
    buf.extend_from_slice(&[0xc7, 1, 5, 9]);
    let whole = buf.len();
    buf.push(0x01);
    assert_eq!(value_len(&buf).unwrap(), whole);
}

#[test]
fn rejects_hostile_input() {
    assert_eq!(
        value_len(&[0x92, 0x01]).unwrap_err().kind,
        DecodeErrorKind::Truncated
    );
    assert_eq!(
        value_len(&[0xdd, 0xff, 0xff, 0xff, 0xff]).unwrap_err().kind,
        DecodeErrorKind::Truncated
    );
    assert_eq!(
        value_len(&[0xc1]).unwrap_err().kind,
        DecodeErrorKind::ReservedMarker
    );
    assert_eq!(
        value_len(&[0xdb, 0xff, 0xff, 0xff, 0xff, 0x00])
            .unwrap_err()
            .kind,
        DecodeErrorKind::Truncated
    );
    let deep = vec![0x91u8; MAX_DEPTH + 2];
    assert_eq!(value_len(&deep).unwrap_err().kind, DecodeErrorKind::TooDeep);
    let e = Reader::new(&[0xa1, 0xff]).str().unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::InvalidUtf8);
    let e = Reader::new(&[0x01]).str().unwrap_err();
    assert!(e.to_string().contains("expected a string"), "{e}");
}

#[test]
fn skips_every_single_byte_marker_without_panicking() {
    for m in 0..=255u8 {
        let _ = value_len(&[m]);
        let _ = value_len(&[m, 0xff, 0xff, 0xff, 0xff, 0xff]);
    }
}

#[test]
fn skips_nesting_deeper_than_the_inline_levels() {
    // [[[...[1, 2]..., 2], 2]: siblings after every level, 40 levels deep.
    let mut v = vec![0x01];
    for _ in 0..40 {
        let mut outer = vec![0x92];
        outer.extend_from_slice(&v);
        outer.push(0x02);
        v = outer;
    }
    let mut doc = v.clone();
    doc.push(0x07);
    let mut r = Reader::new(&doc);
    assert_eq!(r.value().unwrap(), &v[..]);
    assert_eq!(r.int().unwrap(), 7);
    // A truncated deep value is still an error.
    assert!(value_len(&v[..v.len() - 1]).is_err());
}
