"""Where the API key comes from: ``--api-key-file``, ``--api-key`` (with a warning), env, or a prompt on a terminal.

The key is never printed: not in output, ``--json``, errors (``outcome.report`` redacts it) or exported reports.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import StorageConfigError
from ..redact import redact_url

__all__ = ["ENV_KEY", "api_key_from", "client_api_key", "warn_visible"]

ENV_KEY = "PERF_STORAGE_API_KEY"


def warn_visible(prog: str, what: str) -> None:
    """Warn that a secret was given on the command line, where other users can read it."""
    print(
        f"{prog}: warning: {what} puts the key on the command line, where other users of this machine can read it "
        f"(ps, /proc, shell history); use env {ENV_KEY} or --api-key-file instead",
        file=sys.stderr,
        flush=True,
    )


def _from_file(path: str) -> str:
    try:
        key = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise StorageConfigError(f"cannot read --api-key-file {path!r}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise StorageConfigError(f"--api-key-file {path!r} is not UTF-8 text") from None
    if not key:
        raise StorageConfigError(f"--api-key-file {path!r} is empty")
    return key


def api_key_from(args: argparse.Namespace, prog: str = "perf-storage serve") -> str | None:
    """The key given explicitly or by env: ``--api-key-file``, else ``--api-key`` (warns), else env; else None."""
    key_file = getattr(args, "api_key_file", None)
    flag = getattr(args, "api_key", None)
    if key_file and flag:
        raise StorageConfigError("give --api-key-file or --api-key, not both")
    if key_file:
        return _from_file(key_file)
    if flag:
        warn_visible(prog, "--api-key")
        return str(flag)
    return os.environ.get(ENV_KEY) or None


def client_api_key(args: argparse.Namespace, url: str, prog: str) -> str | None:
    """The key for a cache service at ``url``: as :func:`api_key_from`, else a prompt when stdin is a terminal."""
    key = api_key_from(args, prog)
    if key is None and sys.stdin.isatty():
        import getpass

        key = getpass.getpass(f"API key for {redact_url(url)} (input hidden; set {ENV_KEY} to skip this): ") or None
    return key
