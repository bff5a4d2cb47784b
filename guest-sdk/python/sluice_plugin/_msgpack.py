"""A small pure-Python MessagePack codec for Sluice documents.

componentize-py bundles CPython without native extensions built for WASI, so the SDK
carries its own codec: the shortest encodings (non-negative integers with the unsigned
markers, as docs/abi.md asks), every valid encoding accepted on input. Arrays decode to
lists, maps to dicts, bin to bytes; ext types are refused.
"""

import struct

_F32 = struct.Struct(">f")
_F64 = struct.Struct(">d")


class DecodeError(ValueError):
    """A document or record that is not valid MessagePack."""


def encode(value) -> bytes:
    """Encodes one value."""
    buf = bytearray()
    enc(value, buf)
    return bytes(buf)


def enc(v, buf: bytearray) -> None:
    """Appends the encoding of `v` to `buf`."""
    t = type(v)
    if t is str:
        b = v.encode()
        n = len(b)
        if n < 32:
            buf.append(0xA0 | n)
        elif n < 0x100:
            buf.append(0xD9)
            buf.append(n)
        elif n < 0x10000:
            buf.append(0xDA)
            buf += n.to_bytes(2, "big")
        else:
            buf.append(0xDB)
            buf += n.to_bytes(4, "big")
        buf += b
    elif t is int:
        _int(v, buf)
    elif t is tuple or t is list:
        n = len(v)
        if n < 16:
            buf.append(0x90 | n)
        elif n < 0x10000:
            buf.append(0xDC)
            buf += n.to_bytes(2, "big")
        else:
            buf.append(0xDD)
            buf += n.to_bytes(4, "big")
        for x in v:
            enc(x, buf)
    elif v is None:
        buf.append(0xC0)
    elif t is bool:
        buf.append(0xC3 if v else 0xC2)
    elif t is float:
        buf.append(0xCB)
        buf += _F64.pack(v)
    elif t is dict:
        n = len(v)
        if n < 16:
            buf.append(0x80 | n)
        elif n < 0x10000:
            buf.append(0xDE)
            buf += n.to_bytes(2, "big")
        else:
            buf.append(0xDF)
            buf += n.to_bytes(4, "big")
        for k, x in v.items():
            enc(k, buf)
            enc(x, buf)
    elif t is bytes or t is bytearray or t is memoryview:
        n = len(v)
        if n < 0x100:
            buf.append(0xC4)
            buf.append(n)
        elif n < 0x10000:
            buf.append(0xC5)
            buf += n.to_bytes(2, "big")
        else:
            buf.append(0xC6)
            buf += n.to_bytes(4, "big")
        buf += v
    else:
        _other(v, buf)


def _int(v: int, buf: bytearray) -> None:
    if 0 <= v < 0x80:
        buf.append(v)
    elif v >= 0:
        if v < 0x100:
            buf.append(0xCC)
            buf.append(v)
        elif v < 0x10000:
            buf.append(0xCD)
            buf += v.to_bytes(2, "big")
        elif v < 0x100000000:
            buf.append(0xCE)
            buf += v.to_bytes(4, "big")
        elif v < 0x10000000000000000:
            buf.append(0xCF)
            buf += v.to_bytes(8, "big")
        else:
            raise OverflowError(f"integer {v} does not fit 64 bits")
    elif v >= -32:
        buf.append(v & 0xFF)
    elif v >= -0x80:
        buf.append(0xD0)
        buf += v.to_bytes(1, "big", signed=True)
    elif v >= -0x8000:
        buf.append(0xD1)
        buf += v.to_bytes(2, "big", signed=True)
    elif v >= -0x80000000:
        buf.append(0xD2)
        buf += v.to_bytes(4, "big", signed=True)
    elif v >= -0x8000000000000000:
        buf.append(0xD3)
        buf += v.to_bytes(8, "big", signed=True)
    else:
        raise OverflowError(f"integer {v} does not fit 64 bits")


def _other(v, buf: bytearray) -> None:
    """Subclasses (IntEnum, namedtuple, OrderedDict, ...) and other iterables."""
    if isinstance(v, bool):
        buf.append(0xC3 if v else 0xC2)
    elif isinstance(v, int):
        _int(int(v), buf)
    elif isinstance(v, float):
        enc(float(v), buf)
    elif isinstance(v, str):
        enc(str(v), buf)
    elif isinstance(v, (tuple, list)):
        enc(list(v), buf)
    elif isinstance(v, dict):
        enc(dict(v), buf)
    elif isinstance(v, (set, frozenset)):
        enc(sorted(v), buf)
    else:
        raise TypeError(f"cannot encode a {type(v).__name__} as MessagePack")


def decode(b: bytes):
    """Decodes one value that must fill `b` exactly."""
    v, i = dec(b, 0)
    if i != len(b):
        raise DecodeError(f"{len(b) - i} trailing bytes after the value")
    return v


def _take(b: bytes, i: int, n: int) -> int:
    j = i + n
    if j > len(b):
        raise DecodeError(f"truncated at offset {i}: {n} bytes needed")
    return j


def dec(b: bytes, i: int):
    """Decodes the value at `b[i:]`; returns it and the offset after it."""
    try:
        m = b[i]
    except IndexError:
        raise DecodeError(f"truncated at offset {i}") from None
    i += 1
    if m < 0x80:
        return m, i
    if 0xA0 <= m < 0xC0:
        j = _take(b, i, m & 0x1F)
        return b[i:j].decode(), j
    if m < 0x90:
        return _map(b, i, m & 0x0F)
    if m < 0xA0:
        return _array(b, i, m & 0x0F)
    if m >= 0xE0:
        return m - 0x100, i
    if m == 0xD9 and i < len(b):
        j = i + 1 + b[i]
        if j <= len(b):
            try:
                return b[i + 1 : j].decode(), j
            except UnicodeDecodeError:
                pass  # the general path names the offset
    return _DECODERS[m](b, i, m)


def _array(b: bytes, i: int, n: int):
    out = [None] * n
    for k in range(n):
        out[k], i = dec(b, i)
    return out, i


def _map(b: bytes, i: int, n: int):
    out = {}
    for _ in range(n):
        k, i = dec(b, i)
        v, i = dec(b, i)
        try:
            out[k] = v
        except TypeError:
            out[tuple(k) if isinstance(k, list) else repr(k)] = v
    return out, i


def _uint(b: bytes, i: int, n: int):
    j = _take(b, i, n)
    return int.from_bytes(b[i:j], "big"), j


def _sint(b: bytes, i: int, n: int):
    j = _take(b, i, n)
    return int.from_bytes(b[i:j], "big", signed=True), j


def _str(b: bytes, i: int, size: int):
    n, i = _uint(b, i, size)
    j = _take(b, i, n)
    try:
        return b[i:j].decode(), j
    except UnicodeDecodeError as e:
        raise DecodeError(f"string at offset {i} is not UTF-8: {e}") from None


def _bin(b: bytes, i: int, size: int):
    n, i = _uint(b, i, size)
    j = _take(b, i, n)
    return bytes(b[i:j]), j


def _float(b: bytes, i: int, m: int):
    if m == 0xCA:
        j = _take(b, i, 4)
        return _F32.unpack_from(b, i)[0], j
    j = _take(b, i, 8)
    return _F64.unpack_from(b, i)[0], j


def _container(b: bytes, i: int, m: int):
    size = 2 if m in (0xDC, 0xDE) else 4
    n, i = _uint(b, i, size)
    return (_array if m in (0xDC, 0xDD) else _map)(b, i, n)


def _bad(b: bytes, i: int, m: int):
    if m in (0xC7, 0xC8, 0xC9) or 0xD4 <= m <= 0xD8:
        raise DecodeError(f"ext type at offset {i - 1} is not supported")
    raise DecodeError(f"invalid marker 0x{m:02x} at offset {i - 1}")


_DECODERS = [_bad] * 0x100
_DECODERS[0xC0] = lambda b, i, m: (None, i)
_DECODERS[0xC2] = lambda b, i, m: (False, i)
_DECODERS[0xC3] = lambda b, i, m: (True, i)
for _m, _n in ((0xC4, 1), (0xC5, 2), (0xC6, 4)):
    _DECODERS[_m] = lambda b, i, m, n=_n: _bin(b, i, n)
for _m, _n in ((0xD9, 1), (0xDA, 2), (0xDB, 4)):
    _DECODERS[_m] = lambda b, i, m, n=_n: _str(b, i, n)
for _m, _n in ((0xCC, 1), (0xCD, 2), (0xCE, 4), (0xCF, 8)):
    _DECODERS[_m] = lambda b, i, m, n=_n: _uint(b, i, n)
for _m, _n in ((0xD0, 1), (0xD1, 2), (0xD2, 4), (0xD3, 8)):
    _DECODERS[_m] = lambda b, i, m, n=_n: _sint(b, i, n)
_DECODERS[0xCA] = _float
_DECODERS[0xCB] = _float
for _m in (0xDC, 0xDD, 0xDE, 0xDF):
    _DECODERS[_m] = _container


def array_header(n: int, buf: bytearray) -> None:
    """Appends an array header of `n` elements."""
    if n < 16:
        buf.append(0x90 | n)
    elif n < 0x10000:
        buf.append(0xDC)
        buf += n.to_bytes(2, "big")
    else:
        buf.append(0xDD)
        buf += n.to_bytes(4, "big")


def read_array_header(b: bytes, i: int):
    """Reads an array header at `b[i:]`; returns its length and the offset after it."""
    try:
        m = b[i]
    except IndexError:
        raise DecodeError(f"truncated at offset {i}") from None
    if 0x90 <= m < 0xA0:
        return m & 0x0F, i + 1
    if m == 0xDC:
        return _uint(b, i + 1, 2)
    if m == 0xDD:
        return _uint(b, i + 1, 4)
    raise DecodeError(f"expected an array at offset {i}, found marker 0x{m:02x}")
