"""The component side: the `sluice:plugin/guest` export for componentize-py. Imported
only by the module `sluice plugin build` generates, where `wit_world` exists."""

import sys

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host

import sluice_plugin
from sluice_plugin import _run

_LEVELS = [None, host.Level.ERROR, host.Level.WARN, host.Level.INFO, host.Level.DEBUG, host.Level.TRACE]


def _log(level: int, message: str) -> None:
    host.log(_LEVELS[level] if 1 <= level <= 5 else host.Level.INFO, message)


sluice_plugin._attach_to_host(_log)


class Guest(exports.Guest):
    """ABI v1's documents, one call per partition (docs/components.md)."""

    def functions(self):
        return sorted(_run.FUNCTIONS)

    def init(self, params: bytes) -> None:
        try:
            _run.init(params)
        except Exception as e:
            raise Err(_run._error_text(e)) from None

    def call(self, function: str, input: bytes) -> bytes:
        try:
            return _run.call(function, input)
        except _run.CallFailed as e:
            raise Err(str(e)) from None
        except Exception as e:
            raise Err(_run._error_text(e)) from None
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
