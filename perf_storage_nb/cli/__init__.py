"""The ``perf-storage`` command line: ls, sessions, targets, cat, info, rm, diff, compare, cp, sync, export, serve.

One module per command (group) in :mod:`.commands`, each command one :class:`~.record.Command` record found by
:mod:`.registry`; :mod:`.main` runs one and maps every failure to one line and an exit code (:mod:`.outcome`).
Start-up imports no notebook layer, IPython, pandas or matplotlib (a test checks it in a subprocess).
"""

from __future__ import annotations

from argparse import ArgumentParser

from .main import full_parser, main
from .secrets import api_key_from

__all__ = ["api_key_from", "full_parser", "main"]


def _parser() -> ArgumentParser:
    """The full parser (kept for code written against the single-module CLI)."""
    return full_parser()
