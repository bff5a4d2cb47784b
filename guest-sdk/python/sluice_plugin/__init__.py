"""Sluice plugins in Python.

Decorate plain functions with their shape; `sluice plugin build app.py -o app.wasm`
makes a WebAssembly component of the module (componentize-py, pre-initialised)::

    from sluice_plugin import flat_map, reduce

    @flat_map
    def split(line):
        return line.split()

    @reduce
    def add(a, b):
        return a + b

Records are plain Python values (str, int, float, bool, None, bytes, list, dict; tuples
are written as arrays, so `(word, 1)` is a pair). An exception raised for one record
rejects that record (the job's error policy decides what happens to it) and the others
go on. `print`, `logging` and `sluice_plugin.log` write to the job's log.
"""

import logging as _logging
import sys as _sys

from . import _run
from ._msgpack import DecodeError, decode, encode
from ._run import Ctx, State

__all__ = [
    "Ctx",
    "DecodeError",
    "State",
    "ctx",
    "decode",
    "encode",
    "filter",
    "flat_map",
    "flat_map_values",
    "fold",
    "init",
    "inverse_reduce",
    "log",
    "map",
    "map_partitions",
    "map_values",
    "map_with_state",
    "reduce",
    "transform_with",
    "update_state",
    "update_state_with_key",
]

_LEVELS = {"error": 1, "warn": 2, "warning": 2, "info": 3, "debug": 4, "trace": 5}


def _host_log(level: int, message: str) -> None:
    """Outside a component (unit tests), messages go to stderr."""
    _sys.__stderr__.write(f"[{level}] {message}\n")


def log(level: str, message: str) -> None:
    """Writes `message` to the job's log at `level` (error, warn, info, debug, trace)."""
    _host_log(_LEVELS.get(level, 3), str(message))


def ctx() -> Ctx:
    """The context of the current call (`batch_time_ms`, `partition`)."""
    return _run.CURRENT


def _register(runner, fn=None, *, name=None):
    def register(f):
        key = name or f.__name__
        if key in _run.FUNCTIONS:
            raise ValueError(f"two plugin functions are named `{key}`")
        _run.FUNCTIONS[key] = (runner, f)
        return f

    return register(fn) if fn is not None else register


def map(fn=None, *, name=None):
    """`f(record) -> record`: one output per record (map)."""
    return _register(_run.run_map, fn, name=name)


def filter(fn=None, *, name=None):
    """`f(record) -> bool`: keeps the records for which it is true (filter)."""
    return _register(_run.run_filter, fn, name=name)


def flat_map(fn=None, *, name=None):
    """`f(record) -> iterable of records` (flat_map)."""
    return _register(_run.run_flat_map, fn, name=name)


def map_values(fn=None, *, name=None):
    """`f(value) -> value` over pairs `[key, value]`, keeping the keys (map_values)."""
    return _register(_run.run_map_values, fn, name=name)


def flat_map_values(fn=None, *, name=None):
    """`f(value) -> iterable of values` over pairs, keeping the keys (flat_map_values)."""
    return _register(_run.run_flat_map_values, fn, name=name)


def map_partitions(fn=None, *, name=None):
    """`f(list of records) -> iterable of records`: the whole partition at once (map_partitions,
    transform). An exception fails the whole call."""
    return _register(_run.run_map_partitions, fn, name=name)


def transform_with(fn=None, *, name=None):
    """`f(records_1, records_2, ...) -> iterable of records`: one list per input stream
    (transform_with)."""
    return _register(_run.run_transform_with, fn, name=name)


def reduce(fn=None, *, name=None):
    """`f(a, b) -> value`: reduces each group's values (reduce, reduce_by_key, windows)."""
    return _register(_run.run_reduce, fn, name=name)


def fold(fn=None, *, name=None):
    """`f(acc, value) -> acc`: like `reduce`, the first value being the accumulator
    (combine_by_key's merge_value)."""
    return _register(_run.run_reduce, fn, name=name)


def inverse_reduce(fn=None, *, name=None):
    """`f(acc, removed) -> value`: takes leaving batches out of a window's value."""
    return _register(_run.run_inverse_reduce, fn, name=name)


def update_state(fn=None, *, name=None):
    """`f(values, state) -> new state`: Spark's updateStateByKey; `state` is None for a
    new key, returning None removes the key."""
    return _register(_run.run_update_state, fn, name=name)


def update_state_with_key(fn=None, *, name=None):
    """`f(key, values, state) -> new state`: `update_state` with the key."""
    return _register(_run.run_update_state_with_key, fn, name=name)


def map_with_state(fn=None, *, name=None):
    """`f(key, value, state: State) -> record or None`: Spark's mapWithState, called once
    per value in order, and once with value None when the key times out
    (`state.is_timing_out()`)."""
    return _register(_run.run_map_with_state, fn, name=name)


def init(fn):
    """`f(params)`: receives the plugin's params from the job file (a dict, `{}` when
    none), once per instance before any call; an exception refuses the plugin."""
    _run.INIT.append(fn)
    return fn


class _LogStream:
    """`sys.stdout` / `sys.stderr` inside a component: lines go to the job's log."""

    def __init__(self, level: int):
        self._level = level
        self._partial = ""

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            _host_log(self._level, line)
        return len(text)

    def flush(self) -> None:
        if self._partial:
            _host_log(self._level, self._partial)
            self._partial = ""

    def isatty(self) -> bool:
        return False


class _LogHandler(_logging.Handler):
    """Sends `logging` records to the job's log at their level."""

    def emit(self, record: _logging.LogRecord) -> None:
        if record.levelno >= _logging.ERROR:
            level = 1
        elif record.levelno >= _logging.WARNING:
            level = 2
        elif record.levelno >= _logging.INFO:
            level = 3
        else:
            level = 4
        try:
            _host_log(level, self.format(record))
        except Exception:  # a logging failure must not fail the call
            pass


def _batch_seconds() -> float:
    return _run.CURRENT.batch_time_ms / 1000


def _batch_ns() -> int:
    return _run.CURRENT.batch_time_ms * 1_000_000


def _attach_to_host(host_log) -> None:
    """Inside a component: route `log`, `print` and `logging` to the host's log, and the
    `time` module's clocks to the batch time (a component has no clock; core modules'
    WASI clocks read the batch time too, docs/abi.md section 8)."""
    global _host_log
    _host_log = host_log
    import time

    for name in ("time", "monotonic", "perf_counter", "process_time", "thread_time"):
        setattr(time, name, _batch_seconds)
    for name in ("time_ns", "monotonic_ns", "perf_counter_ns", "process_time_ns", "thread_time_ns"):
        setattr(time, name, _batch_ns)
    _sys.stdout = _LogStream(3)
    _sys.stderr = _LogStream(2)
    root = _logging.getLogger()
    root.handlers[:] = [_LogHandler()]
    root.setLevel(_logging.INFO)
