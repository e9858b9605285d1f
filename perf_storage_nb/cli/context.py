"""What a command handler gets: its parsed arguments, locations opened on demand, addresses, and output helpers."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..addressing import Address, is_glob, parse_address, parse_key_pattern
from ..errors import StorageNameError
from ..redact import redact_url
from .outcome import USAGE, CliError, print_json
from .secrets import ENV_KEY, client_api_key, warn_visible

if TYPE_CHECKING:
    from ..base import BaseStorage, KeyInfo

__all__ = ["Context", "info_rows"]


class Context:
    """One run of one command: arguments, the locations it opened (closed at the end) and the secrets it knows."""

    def __init__(self, name: str, args: argparse.Namespace) -> None:
        self.name = name
        self.args = args
        self.prog = f"perf-storage {name}"
        self._opened: dict[str, BaseStorage] = {}
        #: every secret this run knows, redacted from any message
        self.secrets: list[str] = [os.environ.get(ENV_KEY, "")]

    @property
    def json(self) -> bool:
        """True with ``--json``."""
        return bool(getattr(self.args, "json", False))

    # ---- locations and addresses ---------------------------------------------------------------------------
    def location(self, url: str | None = None) -> BaseStorage:
        """A storage on ``url`` (default: ``-L``, env, ``./perf_results``), opened once per run."""
        from ..sync.endpoints import default_location, open_location

        url = url or getattr(self.args, "location", None) or default_location()
        if url in self._opened:
            return self._opened[url]
        remote = url.lower().startswith(("http://", "https://"))
        if remote and redact_url(url) != url:
            warn_visible(self.prog, "a secret in the location URL")
        key = client_api_key(self.args, url, self.prog) if remote else None
        if key:
            self.secrets.append(key)
        storage = open_location(url, api_key=key, namespace=getattr(self.args, "namespace", None))
        self._opened[url] = storage
        return storage

    def address(self, text: str, *, whole_key: bool = False) -> Address:
        """``SESSION[/TARGET][:KEY-OR-PREFIX]`` (the magics' grammar); a one-line usage error when malformed."""
        try:
            return parse_address(text, prefix=not whole_key)
        except StorageNameError as exc:
            raise CliError(str(exc), USAGE) from None

    def listing(self, text: str) -> tuple[Address, str, str | None]:
        """``SESSION[/TARGET][:PREFIX|GLOB]`` as ``ls`` takes it (the magics' rule): address, prefix, glob or None."""
        where, sep, part = text.partition(":")
        if not sep or not is_glob(part):
            address = self.address(text)
            return address, address.key or "", None
        try:
            ref, pattern = parse_key_pattern(part)  # checks the glob as the magics do
        except StorageNameError as exc:
            raise CliError(str(exc), USAGE) from None
        # The glob ignores case and list_keys' prefix does not: narrow by the literal part only without letters.
        literal = ref.key if ref.key.lower() == ref.key.upper() else ""
        return self.address(where), literal, pattern

    def session(self, text: str) -> str:
        """A bare ``SESSION`` argument; a one-line usage error for anything else."""
        address = self.address(text)
        if address.target is not None or address.key is not None:
            raise CliError(f"{text!r} is not a session name; write SESSION", USAGE)
        return address.session

    def endpoint(self, text: str, *, whole_key: bool = False) -> tuple[BaseStorage, Address]:
        """``[LOCATION#]SESSION[/TARGET][:KEY]``: the storage of that location (default ``-L``) and the address."""
        location, sep, rest = text.rpartition("#")
        return self.location(location if sep and location else None), self.address(rest, whole_key=whole_key)

    def close(self) -> None:
        """Close every location opened by this run."""
        for storage in self._opened.values():
            storage.close()
        self._opened.clear()

    # ---- output ----------------------------------------------------------------------------------------------
    def out(self, lines: Iterable[str]) -> None:
        """Write lines to stdout (one write: 10,000 keys print fast)."""
        text = "\n".join(lines)
        if text:
            sys.stdout.write(text + "\n")

    def emit(self, value: Any) -> None:
        """``--json`` output."""
        print_json(value)

    def warn(self, text: str) -> None:
        """A one-line notice on stderr (never on stdout, which may be parsed)."""
        print(f"{self.prog}: {text}", file=sys.stderr, flush=True)


def info_rows(storage: BaseStorage, keys: list[str]) -> list[KeyInfo]:
    """``info()`` of each key (concurrently on remote backends); keys deleted meanwhile are left out."""
    if storage.concurrent_bulk and len(keys) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(8, len(keys))) as pool:
            infos = list(pool.map(storage.info, keys))
    else:
        infos = [storage.info(k) for k in keys]
    return [i for i in infos if i is not None]


def info_dict(info: KeyInfo) -> dict[str, Any]:
    """KeyInfo as JSON: the fields of the Python object (``modified`` as ISO 8601 or null)."""
    return {
        "key": info.key,
        "kind": info.kind,
        "size": info.size,
        "hash": info.hash,
        "modified": info.modified.isoformat() if info.modified is not None else None,
    }
