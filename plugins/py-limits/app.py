"""Functions that misbehave on purpose, for the tests of the host's limits and errors with
a Python component (tests/wasm/components.rs)."""

import logging

from sluice_plugin import ctx, flat_map, init, log, map, map_partitions

PARAMS = {}


@init
def setup(params):
    """Refuses to start when the params say so; keeps them for `param`."""
    if params.get("refuse"):
        raise ValueError("refused by params")
    PARAMS.update(params)


@map
def param(record):
    """The record tagged with the `tag` param."""
    return [record, PARAMS.get("tag")]


@map
def spin(record):
    """Never returns."""
    while True:
        pass


@map
def hog(record):
    """Asks for `record` MiB of memory."""
    return len(bytearray(record << 20))


@flat_map
def big(record):
    """`record` strings of 1 KiB."""
    return ["x" * 1024] * record


@map_partitions
def fail(records):
    """A whole-call error."""
    raise RuntimeError(f"cannot handle {len(records)} records")


@map
def chatty(record):
    """Logs the record three ways and returns the call's context."""
    print(f"print {record}")
    logging.getLogger("chatty").warning("logging %s", record)
    log("error", f"log {record}")
    c = ctx()
    return [c.batch_time_ms, c.partition]


@map
def clock(record):
    """`time.time()`: the batch time, in seconds."""
    import time

    return time.time()


@map
def now(record):
    """`datetime.now()` reads the system clock, which a component does not have: the
    call traps."""
    import datetime

    return datetime.datetime.now().year
