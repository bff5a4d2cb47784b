"""Unit tests of the Python SDK, run natively: `python3 -m unittest discover -s guest-sdk/python/tests`.

The runners are checked against ABI v1's golden fixtures (docs/abi/fixtures): the same
input document must give the same output document, byte for byte, except for the
wording of error messages."""

import pathlib
import sys
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "guest-sdk" / "python"))

import sluice_plugin as sp  # noqa: E402
from sluice_plugin import _run  # noqa: E402
from sluice_plugin._msgpack import DecodeError, dec, decode, encode  # noqa: E402

FIXTURES = ROOT / "docs" / "abi" / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.msgpack").read_bytes()


def register(decorator, fn, name):
    _run.FUNCTIONS.pop(name, None)
    decorator(fn, name=name)


def without_messages(doc: bytes):
    items, errors = decode(doc)[:2]
    return items, [i for i, _ in errors]


class Codec(unittest.TestCase):
    def test_round_trips_and_shortest_encodings(self):
        for v in [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32, 2**64 - 1, -1, -32, -33,
                  -128, -129, -2**63, 1.5, "", "a" * 31, "a" * 32, "é" * 300, b"\x00" * 3,
                  None, True, False, [], [1, [2, "x"]], {"k": [1]}, "x" * 70000,
                  list(range(20))]:
            self.assertEqual(decode(encode(v)), v)
        self.assertEqual(encode(1), b"\x01")
        self.assertEqual(encode(200), b"\xcc\xc8")
        self.assertEqual(encode(-1), b"\xff")
        self.assertEqual(encode(("the", 1)), b"\x92\xa3the\x01")

    def test_every_encoding_is_accepted(self):
        self.assertEqual(decode(b"\xd0\x01"), 1)
        self.assertEqual(decode(b"\xcd\x00\x01"), 1)
        self.assertEqual(decode(b"\xd9\x01a"), "a")
        self.assertEqual(decode(b"\xdc\x00\x01\x01"), [1])

    def test_bad_input_is_a_decode_error(self):
        for bad in [b"", b"\xa3ab", b"\xc1", b"\xd4\x00\x00", b"\x92\x01", b"\xd9\x02\xff\xfe"]:
            with self.assertRaises(DecodeError):
                decode(bad)
        with self.assertRaises(DecodeError):
            decode(b"\x01\x02")

    def test_unencodable_values_are_refused(self):
        with self.assertRaises(TypeError):
            encode(object())
        with self.assertRaises(OverflowError):
            encode(2**64)


class Fixtures(unittest.TestCase):
    def test_transform(self):
        register(sp.flat_map, lambda line: [(w, 1) for w in line.split()], "split_pairs")
        out = _run.call("split_pairs", fixture("transform_input"))
        self.assertEqual(out, fixture("transform_output"))

    def test_transform_errors(self):
        register(sp.map, lambda s: s.upper(), "upper")
        out = _run.call("upper", fixture("transform_errors_input"))
        self.assertEqual(without_messages(out), without_messages(fixture("transform_errors_output")))
        self.assertIn("AttributeError", decode(out)[1][0][1])

    def test_reduce(self):
        register(sp.reduce, lambda a, b: a + b, "sum")
        out = _run.call("sum", fixture("reduce_input"))
        self.assertEqual(without_messages(out), without_messages(fixture("reduce_output")))

    def test_fold(self):
        register(sp.fold, lambda acc, v: acc + str(v), "concat")
        out = _run.call("concat", fixture("fold_input"))
        self.assertEqual(out, fixture("fold_output"))

    def test_inverse_reduce(self):
        register(sp.inverse_reduce, lambda acc, removed: acc - removed, "sub")
        out = _run.call("sub", fixture("inverse_reduce_input"))
        self.assertEqual(out, fixture("inverse_reduce_output"))

    def test_update_state(self):
        def update(values, state):
            total = (state or 0) + sum(values)
            return None if total > 12 else total

        register(sp.update_state, update, "update_sum_drop_above_12")
        out = _run.call("update_sum_drop_above_12", fixture("update_state_input"))
        self.assertEqual(out, fixture("update_state_output"))

    def test_map_with_state(self):
        def running(key, value, state):
            if state.is_timing_out():
                return (key, state.get())
            total = state.get(0) + value
            state.update(total)
            return (key, total)

        register(sp.map_with_state, running, "running")
        out = _run.call("running", fixture("map_with_state_input"))
        self.assertEqual(out, fixture("map_with_state_output"))

    def test_transform_with(self):
        def join(left, right):
            rights = {}
            for k, v in right:
                rights.setdefault(k, []).append(v)
            return [(k, (v, w)) for k, v in left for w in rights.get(k, [])]

        register(sp.transform_with, join, "rdd_join")
        out = _run.call("rdd_join", fixture("transform_with_input"))
        self.assertEqual(out, fixture("transform_with_output"))

    def test_extended_documents_are_read_like_v1(self):
        register(sp.map, lambda s: [s, sp.ctx().partition], "tag")
        out = _run.call("tag", fixture("extended_input"))
        self.assertEqual(decode(out), [[["x", 2]], []])

    def test_filter_keeps_records_as_they_were(self):
        register(sp.filter, lambda x: x != 2, "not_two")
        doc = b"\x92\x93\xd0\x01\x02\xcd\x00\x03\x80"
        self.assertEqual(_run.call("not_two", doc), b"\x92\x92\xd0\x01\xcd\x00\x03\x90")

    def test_init_receives_params(self):
        seen = []
        _run.INIT[:] = [seen.append]
        try:
            _run.init(encode({"k": 1}))
            _run.init(encode(None))
        finally:
            _run.INIT.clear()
        self.assertEqual(seen, [{"k": 1}, {}])

    def test_unknown_function_and_bad_document_are_whole_call_errors(self):
        with self.assertRaisesRegex(_run.CallFailed, "no function `nope`"):
            _run.call("nope", fixture("transform_input"))
        register(sp.map, lambda x: x, "id")
        with self.assertRaisesRegex(_run.CallFailed, "bad input document"):
            _run.call("id", b"\x92\x92\x01")

    def test_an_unencodable_result_rejects_only_its_record(self):
        register(sp.map, lambda x: object() if x == 1 else x, "odd")
        out = _run.call("odd", encode([[1, 2], {"batch_time_ms": 0, "partition": 0}]))
        items, errors = decode(out)
        self.assertEqual(items, [2])
        self.assertEqual(errors[0][0], 0)
        self.assertIn("TypeError", errors[0][1])


if __name__ == "__main__":
    unittest.main()
