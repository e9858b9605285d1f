"""Old home of the ``%storage`` grammar: the records live in ``notebook.commands``, references in ``addressing``."""

from __future__ import annotations

from ..addressing import KeyRef, Scope, expand_vars, parse_key_ref, parse_scope
from .commands.help import REFERENCE, help_text
from .commands.parsing import one_line
from .commands.registry import CELL_COMMANDS, CELL_ONLY, COMMANDS, KEY_COMMANDS

__all__ = [
    "CELL_COMMANDS",
    "CELL_ONLY",
    "COMMANDS",
    "KEY_COMMANDS",
    "REFERENCE",
    "KeyRef",
    "Scope",
    "expand_vars",
    "help_text",
    "one_line",
    "parse_key_ref",
    "parse_scope",
]
