"""The ``%storage`` subcommands: one :class:`Command` record each, grouped by job in the modules of this package.

- ``navigation``: use, ls, sessions, targets, browse
- ``values``: save, load, save_string, load_string, show, info, rm, exists, versions
- ``diffing``: snapshot, diff
- ``capture``: the ``%%storage capture`` cell magic
- ``help``: help (and the ``%storage?`` text)

``registry.load_commands()`` finds every record defined at module level in this package; ``base`` holds the
record and the :class:`Context` its handlers get; ``parsing`` the argument declarations, parsers and usage lines.
"""

from __future__ import annotations

from .base import Command, Context
from .parsing import Arg, CommandError, Complete

__all__ = ["Arg", "Command", "CommandError", "Complete", "Context"]
