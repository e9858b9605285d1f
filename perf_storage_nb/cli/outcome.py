"""Exit codes, the one-line error every failure prints, and JSON output.

Exit codes (documented in ``perf-storage --help`` and the README):

====  =====================================================================================================
0     ok (and, for diff/compare, no difference/regression)
1     a difference (``diff``) or a regression (``compare``: any ``worse`` verdict)
2     usage error: a bad option, location, address or name, or something named that does not exist; nothing
      was written
3     backend error: the server is down, the API key was refused, an I/O error, or a key failed to copy
====  =====================================================================================================
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from ..errors import (
    StorageBackendError,
    StorageConfigError,
    StorageError,
    StorageKeyError,
    StorageKindError,
    StorageNameError,
    StorageNotSupported,
    StorageValueError,
)
from ..redact import redact_secrets

__all__ = ["BACKEND", "DIFFERENT", "OK", "USAGE", "CliError", "exit_code", "one_line", "print_json", "report"]

OK, DIFFERENT, USAGE, BACKEND = 0, 1, 2, 3

EXIT_CODES_HELP = (
    "exit codes: 0 ok; 1 difference (diff) or regression (compare); 2 usage error (bad option, location, "
    "address, or nothing by that name; nothing written); 3 backend error (server down, API key refused, I/O, "
    "a key failed to copy)"
)


class CliError(Exception):
    """A failure to report in one line with its exit code (``usage``: the accepted form, appended)."""

    def __init__(self, message: str, code: int = USAGE, *, usage: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.usage = usage


def exit_code(exc: BaseException) -> int:
    """The exit code of an exception: usage errors 2, backend failures 3."""
    if isinstance(exc, CliError):
        return exc.code
    if isinstance(exc, (StorageBackendError, StorageNotSupported)):
        return BACKEND
    if isinstance(
        exc, (StorageNameError, StorageConfigError, StorageValueError, StorageKeyError, StorageKindError, StorageError)
    ):
        return USAGE
    return BACKEND


def one_line(text: str) -> str:
    """Collapse whitespace (argparse usages wrap, messages may carry newlines) into one line."""
    return " ".join(text.split())


def report(prog: str, exc: BaseException, secrets: Iterable[str | None] = ()) -> int:
    """Print ``prog: error: ...`` (one line, secrets redacted) to stderr; return the exit code."""
    if isinstance(exc, (CliError, StorageError)):
        text = str(exc)
    else:  # a bug, not a user mistake: still one line, with the type
        text = f"internal error: {type(exc).__name__}: {exc} (set PERF_STORAGE_DEBUG=1 for the traceback)"
    usage = getattr(exc, "usage", "")
    line = one_line(f"{prog}: error: {text}" + (f"; usage: {usage}" if usage else ""))
    print(redact_secrets(line, secrets), file=sys.stderr, flush=True)
    return exit_code(exc)


def print_json(value: Any) -> None:
    """Machine-readable output: indented JSON on stdout, non-ASCII kept, one trailing newline."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
