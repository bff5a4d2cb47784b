"""Word count in Python: the functions of plugins/words, plus a running sum.

Built by plugins/build.sh with `sluice plugin build app.py -o ../dist/py-words.wasm`.
"""

from sluice_plugin import flat_map, reduce, update_state


@flat_map
def split(line):
    """A line to its words."""
    return line.split()


@flat_map
def split_pairs(line):
    """A line to `(word, 1)` pairs."""
    return [(w, 1) for w in line.split()]


@reduce(name="sum")
def add(a, b):
    """Adds two counts."""
    return a + b


@update_state
def running_sum(counts, total):
    """A key's running total across batches (update_state_by_key)."""
    return (total or 0) + sum(counts)
