"""The shapes of docs/abi.md section 5: each runner turns an input document into an
output document, calling the user's function per item. Plain CPython: no component
machinery here, so the unit tests run it natively."""

import functools

from ._msgpack import DecodeError, array_header, dec, enc, read_array_header


class CallFailed(Exception):
    """A whole-call error (an error with index nil)."""


class Ctx:
    """The context of the current call: `batch_time_ms` and `partition`."""

    __slots__ = ("batch_time_ms", "partition")

    def __init__(self, batch_time_ms: int = 0, partition: int = 0):
        self.batch_time_ms = batch_time_ms
        self.partition = partition

    def __repr__(self) -> str:
        return f"Ctx(batch_time_ms={self.batch_time_ms}, partition={self.partition})"


CURRENT = Ctx()

# name -> (runner, user function)
FUNCTIONS = {}
INIT = []


def _error_text(e: BaseException) -> str:
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class _Out:
    """The output document being built: items and errors."""

    __slots__ = ("buf", "count", "errors")

    def __init__(self):
        self.buf = bytearray()
        self.count = 0
        self.errors = []

    def error(self, index: int, e: BaseException) -> None:
        self.errors.append((index, _error_text(e)))

    def document(self) -> bytes:
        doc = bytearray(b"\x92")
        array_header(self.count, doc)
        doc += self.buf
        array_header(len(self.errors), doc)
        for index, message in self.errors:
            doc.append(0x92)
            enc(index, doc)
            enc(message, doc)
        return bytes(doc)


def call(function: str, doc: bytes) -> bytes:
    """Runs `function` on the input document `doc`; returns the output document."""
    entry = FUNCTIONS.get(function)
    if entry is None:
        names = ", ".join(sorted(FUNCTIONS)) or "none"
        raise CallFailed(f"no function `{function}` (functions: {names})")
    runner, fn = entry
    try:
        n_doc, i = read_array_header(doc, 0)
        if n_doc < 2:
            raise DecodeError("the input document is not [items, ctx]")
        count, i = read_array_header(doc, i)
        spans = []
        for _ in range(count):
            j = skip(doc, i)
            spans.append((i, j))
            i = j
        ctx, _ = dec(doc, i)
    except (DecodeError, IndexError) as e:
        raise CallFailed(f"bad input document: {e}") from None
    global CURRENT
    CURRENT = Ctx(ctx.get("batch_time_ms", 0), ctx.get("partition", 0))
    out = _Out()
    runner(fn, doc, spans, out)
    return out.document()


def skip(b: bytes, i: int) -> int:
    """The offset after the value at `b[i:]`."""
    m = b[i]
    if m < 0x80 or m >= 0xE0:
        return i + 1
    if 0xA0 <= m < 0xC0:
        return i + 1 + (m & 0x1F)
    if m == 0xD9:
        return i + 2 + b[i + 1]
    return dec(b, i)[1]


def _items(doc, spans, out):
    """Yields (index, decoded item), recording a decode error per bad item."""
    for index, (i, j) in enumerate(spans):
        try:
            yield index, dec(doc, i)[0]
        except DecodeError as e:
            out.error(index, e)


def run_map(fn, doc, spans, out):
    buf = out.buf
    for index, x in _items(doc, spans, out):
        try:
            y = fn(x)
            mark = len(buf)
            try:
                enc(y, buf)
            except BaseException:
                del buf[mark:]
                raise
        except Exception as e:
            out.error(index, e)
            continue
        out.count += 1


def run_filter(fn, doc, spans, out):
    buf = out.buf
    for index, x in _items(doc, spans, out):
        try:
            keep = fn(x)
        except Exception as e:
            out.error(index, e)
            continue
        if keep:
            i, j = spans[index]
            buf += doc[i:j]
            out.count += 1


def _emit_all(ys, buf, out) -> None:
    """Encodes every record of `ys`; all or nothing. Pairs of a short string and a small
    non-negative int (word counts) take an inline path."""
    mark, n = len(buf), 0
    try:
        for y in ys:
            if type(y) is tuple and len(y) == 2:
                k, v = y
                if type(k) is str and type(v) is int and 0 <= v < 0x80:
                    b = k.encode()
                    if len(b) < 32:
                        buf.append(0x92)
                        buf.append(0xA0 | len(b))
                        buf += b
                        buf.append(v)
                        n += 1
                        continue
            enc(y, buf)
            n += 1
    except BaseException:
        del buf[mark:]
        raise
    out.count += n


def run_flat_map(fn, doc, spans, out):
    buf = out.buf
    for index, x in _items(doc, spans, out):
        try:
            _emit_all(fn(x), buf, out)
        except Exception as e:
            out.error(index, e)


def _pair(x):
    if type(x) is not list or len(x) != 2:
        raise TypeError(f"expected a pair [key, value], found {x!r:.60}")
    return x


def run_map_values(fn, doc, spans, out):
    buf = out.buf
    for index, x in _items(doc, spans, out):
        try:
            k, v = _pair(x)
            _emit_all(((k, fn(v)),), buf, out)
        except Exception as e:
            out.error(index, e)


def run_flat_map_values(fn, doc, spans, out):
    buf = out.buf
    for index, x in _items(doc, spans, out):
        try:
            k, v = _pair(x)
            _emit_all([(k, y) for y in fn(v)], buf, out)
        except Exception as e:
            out.error(index, e)


def run_map_partitions(fn, doc, spans, out):
    records = [x for _, x in _items(doc, spans, out)]
    try:
        _emit_all(fn(records), out.buf, out)
    except Exception as e:
        raise CallFailed(_error_text(e)) from None


def run_transform_with(fn, doc, spans, out):
    inputs = [x for _, x in _items(doc, spans, out)]
    try:
        _emit_all(fn(*inputs), out.buf, out)
    except Exception as e:
        raise CallFailed(_error_text(e)) from None


def _one_per_input(compute):
    """A runner for the one-output-per-input shapes: nil and an error for a failed item."""

    def runner(fn, doc, spans, out):
        buf = out.buf
        for index, (i, _) in enumerate(spans):
            mark = len(buf)
            try:
                x = dec(doc, i)[0]
                enc(compute(fn, x), buf)
            except Exception as e:
                del buf[mark:]
                buf.append(0xC0)
                out.error(index, e)
            out.count += 1

    return runner


def _entry(x, n, what):
    if type(x) is not list or len(x) < n:
        raise TypeError(f"expected {what}, found {x!r:.60}")
    return x


def _reduce(fn, x):
    _, values = _entry(x, 2, "a group [key, [values]]")
    if not values:
        raise ValueError("a group with no values")
    return functools.reduce(fn, values)


def _inverse(fn, x):
    _, acc, removed = _entry(x, 3, "[key, acc, removed]")
    return fn(acc, removed)


def _state_entry(x):
    key, values, state_opt = _entry(x, 3, "[key, [values], state_opt, timing_out]")[:3]
    timing_out = len(x) > 3 and bool(x[3])
    return key, values, (state_opt[0] if state_opt else None), bool(state_opt), timing_out


def _update_state(with_key):
    def compute(fn, x):
        key, values, state, _, _ = _state_entry(x)
        new = fn(key, values, state) if with_key else fn(values, state)
        return [[] if new is None else [new], []]

    return compute


class State:
    """The state of one key in a `@map_with_state` function (Spark's `State`)."""

    __slots__ = ("_value", "_exists", "_timing_out")

    def __init__(self, value, exists: bool, timing_out: bool):
        self._value, self._exists, self._timing_out = value, exists, timing_out

    def exists(self) -> bool:
        return self._exists

    def get(self, default=None):
        return self._value if self._exists else default

    def update(self, value) -> None:
        if self._timing_out:
            raise RuntimeError("cannot update the state of a key that is timing out")
        self._value, self._exists = value, True

    def remove(self) -> None:
        self._value, self._exists = None, False

    def is_timing_out(self) -> bool:
        return self._timing_out


def _map_with_state(fn, x):
    key, values, state, exists, timing_out = _state_entry(x)
    st = State(state, exists, timing_out)
    emitted = []
    if timing_out:
        r = fn(key, None, st)
        if r is not None:
            emitted.append(r)
        return [[], emitted]
    for v in values:
        r = fn(key, v, st)
        if r is not None:
            emitted.append(r)
    return [[st._value] if st._exists else [], emitted]


run_reduce = _one_per_input(_reduce)
run_inverse_reduce = _one_per_input(_inverse)
run_update_state = _one_per_input(_update_state(False))
run_update_state_with_key = _one_per_input(_update_state(True))
run_map_with_state = _one_per_input(_map_with_state)


def init(params: bytes) -> None:
    """Runs the `@init` functions with the decoded params (`{}` for none)."""
    if not INIT:
        return
    try:
        p, _ = dec(params, 0) if params else ({}, 0)
    except DecodeError as e:
        raise CallFailed(f"params: {e}") from None
    for fn in INIT:
        fn({} if p is None else p)
