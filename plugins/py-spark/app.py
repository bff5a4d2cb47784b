"""The conformance builtins of plugins/spark-builtins, in Python: with
`SLUICE_CONFORMANCE_PLUGIN=plugins/dist/py-spark.wasm` the Spark conformance suite runs on
this plugin instead of the Rust one (tests/conformance/README.md)."""

import functools

from sluice_plugin import (ctx, filter, flat_map, flat_map_values, fold, inverse_reduce, map,
                           map_partitions, map_values, map_with_state, reduce, transform_with,
                           update_state)


def num(x):
    if type(x) is bool or not isinstance(x, (int, float)):
        raise TypeError(f"expected a number, found {kind(x)}")
    return x


def kind(x):
    if x is None:
        return "nil"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            bytes: "binary", list: "an array", dict: "a map"}.get(type(x), type(x).__name__)


def add(a, b):
    return num(a) + num(b)


def text(x):
    if type(x) is not str:
        raise TypeError(f"expected a string, found {kind(x)}")
    return x


def to_string(v):
    """Spark's toString of a value, as plugins/spark-builtins writes it."""
    if type(v) is str:
        return v
    if v is None:
        return "null"
    if type(v) is bool:
        return "true" if v else "false"
    if type(v) is float:
        return repr(v)
    if type(v) is list:
        return "(" + ",".join(to_string(x) for x in v) + ")"
    return str(v)


def natural_key(v):
    """Orders like spark-builtins' natural_cmp: by kind, numbers by value."""
    if type(v) is bool:
        return (1, v)
    if isinstance(v, (int, float)):
        return (2, v)
    if type(v) is str:
        return (3, v.encode())
    if type(v) is bytes:
        return (4, v)
    if type(v) is list:
        return (5, [natural_key(x) for x in v])
    return (0 if v is None else 6, 0)


# --- element-wise ----------------------------------------------------------------------

map(to_string, name="to_string")


@map
def add_4(x):
    return add(x, 4)


@map
def add_8(x):
    return add(x, 8)


@map
def pair_with_one(x):
    return (x, 1)


@map
def pair_with_x(x):
    return (x, "x")


@map
def pair_with_length(s):
    return (s, len(text(s)))


@map
def str_length(s):
    return len(text(s))


@map
def swap(kv):
    k, v = kv
    return (v, k)


@map
def pair_value(kv):
    return kv[1]


@flat_map
def dup_and_double(x):
    return [x, num(x) * 2]


@flat_map
def split_chars(s):
    return list(text(s))


@flat_map
def length_char_pairs(s):
    n = len(text(s))
    return [(n, c) for c in s]


@flat_map
def key_chars_with_value(kv):
    k, v = kv
    return [(v, c) for c in text(k)]


@filter
def is_even(x):
    return num(x) % 2 == 0


@filter
def contains_a(s):
    return "a" in text(s)


@filter
def key_contains_a(kv):
    return "a" in text(kv[0])


@filter
def value_nonzero(kv):
    return num(kv[1]) != 0


@filter
def value_positive(kv):
    return num(kv[1]) > 0


@map_values
def add_10(v):
    return add(v, 10)


@map_values
def to_upper(v):
    return text(v).upper()


@map_values
def state_counter(state):
    return state[0]


@flat_map_values
def dup_plus_10(v):
    return [v, add(v, 10)]


@flat_map_values
def append_1_2(v):
    return [f"{text(v)}1", f"{v}2"]


@map_partitions
def sum_partition(xs):
    return [functools.reduce(add, xs, 0)]


@map_partitions
def upper_concat_partition(xs):
    return ["".join(text(s).upper() for s in xs)]


@map_partitions
def swap_each(xs):
    return [(v, k) for k, v in xs]


# --- aggregates ------------------------------------------------------------------------

reduce(add, name="sum")


@inverse_reduce
def sub(a, b):
    return num(a) - num(b)


map(lambda v: v, name="combine_sum_create")
fold(add, name="combine_sum_merge_value")
reduce(add, name="combine_sum_merge_combiners")
map(to_string, name="combine_str_concat_create")
fold(lambda c, v: text(c) + to_string(v), name="combine_str_concat_merge_value")
reduce(lambda a, b: text(a) + text(b), name="combine_str_concat_merge_combiners")


# --- whole RDDs ------------------------------------------------------------------------

@map_partitions
def rdd_map_to_string(xs):
    return [to_string(x) for x in xs]


@map_partitions
def rdd_add_2(xs):
    return [add(x, 2) for x in xs]


@map_partitions
def rdd_sort_by_key(xs):
    return sorted(xs, key=lambda kv: natural_key(kv[0]))


@map_partitions
def rdd_keys(xs):
    return [kv[0] for kv in xs]


@map_partitions
def rdd_cartesian_self(xs):
    return [(a, b) for a in xs for b in xs]


@map_partitions
def rdd_sort(xs):
    return sorted(xs, key=natural_key)


def join(left, right):
    return [(k1, (v1, v2)) for k1, v1 in left for k2, v2 in right
            if natural_key(k1) == natural_key(k2)]


@transform_with
def rdd_join(a, b):
    return join(a, b)


@transform_with
def rdd_union_all(*rdds):
    return [x for rdd in rdds for x in rdd]


@transform_with
def rdd_union_2_3_1(a, b, c):
    return b + c + a


@transform_with
def rdd_union12_selfpair_join3(a, b, c):
    return join([(i, i) for i in a + b], c)


# --- state -----------------------------------------------------------------------------

@update_state
def update_sum(values, state):
    return add(functools.reduce(add, values, 0), 0 if state is None else state)


@update_state
def update_append(values, state):
    return (state or []) + values


@update_state
def update_add_batch_time_if_values(values, state):
    state = 0 if state is None else state
    return add(ctx().batch_time_ms, state) if values else state


@update_state
def update_counter_expire_after_2_idle(values, state):
    counter, idle = state or (0, 0)
    n = functools.reduce(add, values, 0)
    if n == 0:
        idle += 1
    else:
        counter, idle = counter + n, 0
    return None if idle == 2 else (counter, idle)


@update_state
def update_sum_drop_above_12(values, state):
    s = functools.reduce(add, values, 0) + (state or 0)
    return s if s <= 12 else None


def running_sum(value, state):
    s = add(0 if value is None else value, state.get(0))
    if not state.is_timing_out():
        state.update(s)
    return s


@map_with_state
def mws_running_sum_emit_sum(key, value, state):
    return running_sum(value, state)


@map_with_state
def mws_running_sum_emit_key_twice(key, value, state):
    running_sum(value, state)
    return to_string(key) * 2


@map_with_state
def mws_running_sum_emit_key_sum(key, value, state):
    return (key, running_sum(value, state))


@map_with_state
def mws_running_sum_emit_nothing(key, value, state):
    running_sum(value, state)


@map_with_state
def mws_remove_if_exists_else_set(key, value, state):
    if state.is_timing_out():
        return None
    if state.exists():
        state.remove()
        return key
    if value is not None:
        state.update(value)
    return None


@map_with_state
def mws_set_one_emit_key_on_timeout(key, value, state):
    if value is not None:
        state.update(1)
    return key if state.is_timing_out() else None
