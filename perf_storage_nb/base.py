"""BaseStorage: the one contract every backend keeps (session -> target -> key)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import IO, Any, ClassVar, Self

from . import codec
from .display.html import code, esc
from .errors import (
    StorageBackendError,
    StorageKeyError,
    StorageKindError,
    StorageNotSupported,
    StorageValueError,
)
from .kinds import KINDS, SAVE_METHOD, Kind
from .names import check_id, check_key, check_prefix, is_valid_key
from .records import BulkResult, KeyInfo
from .versions import new_version_key, parse_version_key, version_pattern

__all__ = ["BaseStorage", "BulkResult", "KeyInfo", "unreadable_error"]  # the two value types live in records.py

_MISSING: Any = object()
CHUNK = 1 << 20


class BaseStorage(ABC):
    """Store JSON, text and bytes under keys of one session/target; every backend keeps this contract.

    Backends implement the ``_``-prefixed primitives; policy (validation, kinds, copies, defaults,
    bulk, versions) lives here so it cannot drift between backends.
    """

    backend_name: ClassVar[str] = ""
    #: run save_many/load_many/delete_many on a thread pool (remote backends)
    concurrent_bulk: ClassVar[bool] = False
    #: pretty-print stored JSON (human-readable backends)
    pretty_json: ClassVar[bool] = False

    def __init__(self, session_id: str, target_id: str) -> None:
        self._session_id = check_id(session_id, "session_id")
        self._target_id = check_id(target_id, "target_id")

    # ---- identity -------------------------------------------------------------------------------
    @property
    def session_id(self) -> str:
        """The session (experiment run) this storage writes to; fixed per instance."""
        return self._session_id

    @property
    def target_id(self) -> str:
        """The target (unit of work) inside the session; fixed per instance."""
        return self._target_id

    @abstractmethod
    def to_config(self) -> dict[str, Any]:
        """A plain dict from which the factory rebuilds an equivalent storage (no secrets)."""

    def describe(self) -> str:
        """Short location string, e.g. ``memory://sess/target``."""
        return f"{self.backend_name}://{self._session_id}/{self._target_id}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(session_id={self._session_id!r}, target_id={self._target_id!r})"

    def _repr_html_(self) -> str:
        name, session, target = esc(type(self).__name__), code(self._session_id), code(self._target_id)
        return f"<span class='psnb-storage'><b>{name}</b> {session} / {target}</span>"

    # ---- primitives (backends) --------------------------------------------------------------------
    # Required: to_config, _write, _read, _remove, _iter_keys. Optional, with defaults below: _stat and _exists
    # (from _read), _sibling (rebuilt from to_config), _list_sessions/_list_targets (StorageNotSupported).
    @abstractmethod
    def _write(self, key: str, kind: Kind, payload: bytes) -> None:
        """Store ``payload`` of ``kind`` under ``key``, replacing any value of any kind."""

    @abstractmethod
    def _read(self, key: str, hint: Kind) -> tuple[Kind, bytes] | None:
        """Return ``(kind, payload)`` or None; ``hint`` is the kind the caller expects."""

    @abstractmethod
    def _remove(self, key: str) -> bool:
        """Delete the key; True if something was deleted."""

    @abstractmethod
    def _iter_keys(self, prefix: str) -> Iterable[str]:
        """All keys of this target (may include keys not starting with ``prefix``)."""

    def _stat(self, key: str) -> KeyInfo | None:
        """Metadata of the key or None (default: one read; backends that know sizes without reading override)."""
        got = self._read(key, self._kind_hint(key))
        if got is None:
            return None
        return self._key_info(key, *got)

    def _list_sessions(self) -> Iterable[str]:
        """Sessions that hold data on this backend (default: not supported)."""
        raise StorageNotSupported(f"{type(self).__name__} cannot list sessions")

    def _list_targets(self, session: str) -> Iterable[str]:
        """Targets of ``session`` that hold data (default: not supported)."""
        raise StorageNotSupported(f"{type(self).__name__} cannot list the targets of a session")

    def _sibling(self, session_id: str, target_id: str) -> Self:
        """A storage for another session/target (default: a new one from ``to_config()``; backends share resources)."""
        options = {k: v for k, v in self.to_config().items() if k != "backend"}
        return type(self)(**{**options, "session_id": session_id, "target_id": target_id})

    def _exists(self, key: str) -> bool:
        return self._stat(key) is not None

    def _decode_json(self, payload: bytes) -> Any:
        return codec.decode_json(payload)

    # ---- JSON / text / bytes ----------------------------------------------------------------------
    def save(self, key: str, value: Any) -> None:
        """Store a JSON value (dict, list, str, number, bool, None); nothing is written if it is rejected."""
        key = check_key(key)
        self._write(key, "json", codec.encode_json(value, key, pretty=self.pretty_json))

    def _load_payload(self, key: str, want: Kind) -> bytes | Any:
        """The stored payload of ``key`` if it holds ``want``; _MISSING when absent; kind error otherwise."""
        got = self._read(check_key(key), want)
        if got is None:
            return _MISSING
        kind, payload = got
        if kind != want:
            raise StorageKindError(key, kind, want)
        return payload

    def _decode(self, key: str, kind: Kind, payload: bytes) -> Any:
        """Turn a stored payload back into its value; a corrupt payload is a backend error, not a crash."""
        try:
            if kind == "json":
                return self._decode_json(payload)
            return codec.decode_text(payload) if kind == "text" else payload
        except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
            raise self._unreadable(key, kind, exc) from exc

    def _unreadable(self, key: str, kind: Kind, exc: Exception) -> StorageBackendError:
        """The error for a stored payload that cannot be read back (edited, corrupted or planted)."""
        return unreadable_error(key, self.describe(), kind, exc)

    def _key_info(self, key: str, kind: Kind, payload: bytes, modified: datetime | None = None) -> KeyInfo:
        """KeyInfo of a stored payload: canonical size and hash (an unreadable payload is a backend error)."""
        try:
            size, digest = codec.canonical(kind, payload)
        except ValueError as exc:
            raise self._unreadable(key, kind, exc) from exc
        return KeyInfo(key, kind, size, digest, modified, stored_size=len(payload))

    def load(self, key: str, default: Any = None) -> Any:
        """Return an independent copy of the JSON value under ``key``, or ``default`` when missing."""
        payload = self._load_payload(key, "json")
        return default if payload is _MISSING else self._decode(key, "json", payload)

    def save_string(self, key: str, text: str) -> None:
        """Store text verbatim (HTML, Markdown, logs): every character and newline round-trips."""
        key = check_key(key)
        self._write(key, "text", codec.encode_text(text, key))

    def load_string(self, key: str, default: str | None = None) -> str | None:
        """Return the text under ``key`` exactly as saved, or ``default`` when missing."""
        payload = self._load_payload(key, "text")
        return default if payload is _MISSING else self._decode(key, "text", payload)

    def save_bytes(self, key: str, data: bytes | bytearray | memoryview) -> None:
        """Store raw bytes (screenshots, archives)."""
        key = check_key(key)
        self._write(key, "bytes", codec.to_bytes(data, key))

    def load_bytes(self, key: str, default: bytes | None = None) -> bytes | None:
        """Return the bytes under ``key``, or ``default`` when missing."""
        payload = self._load_payload(key, "bytes")
        return default if payload is _MISSING else payload

    def __getitem__(self, key: str) -> Any:
        """Load a key of any kind; KeyError when missing."""
        value = self.load_any(key, _MISSING)
        if value is _MISSING:
            raise StorageKeyError(f"no key {key!r} in {self.describe()}")
        return value

    def load_any(self, key: str, default: Any = None) -> Any:
        """Load a key whatever its kind (JSON value, str or bytes), with one read."""
        got = self._read(check_key(key), self._kind_hint(key))
        return default if got is None else self._decode(key, *got)

    def _kind_hint(self, key: str) -> Kind:
        """The kind ``key`` most likely holds (backends that remember kinds override this)."""
        return "json"

    # ---- streaming --------------------------------------------------------------------------------
    def save_stream(self, key: str, source: IO[bytes] | Iterable[bytes]) -> int:
        """Store bytes from a binary file or an iterable of chunks; returns the byte count."""
        key = check_key(key)
        chunks = _chunks_of(source, key)
        return self._write_stream(key, chunks)

    def iter_bytes(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        """Yield the bytes under ``key`` in chunks; StorageKeyError when missing."""
        key = check_key(key)
        return self._read_stream(key, chunk_size)

    def _write_stream(self, key: str, chunks: Iterable[bytes]) -> int:
        data = b"".join(chunks)  # backends that can stream override this
        self._write(key, "bytes", data)
        return len(data)

    def _read_stream(self, key: str, chunk_size: int) -> Iterator[bytes]:
        data = self.load_bytes(key)
        if data is None:
            raise StorageKeyError(f"no key {key!r} in {self.describe()}")
        return (data[i : i + chunk_size] for i in range(0, len(data), chunk_size))

    # ---- keys ---------------------------------------------------------------------------------------
    def exists(self, key: str) -> bool:
        """True when ``key`` holds a value of any kind."""
        return self._exists(check_key(key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and is_valid_key(key) and self.exists(key)

    def delete(self, key: str) -> bool:
        """Delete ``key``; True if it existed."""
        return self._remove(check_key(key))

    def list_keys(self, prefix: str = "") -> list[str]:
        """Sorted keys of this target that start with ``prefix``."""
        prefix = check_prefix(prefix)
        keys = self._iter_keys(prefix)
        return sorted([k for k in keys if k.startswith(prefix)] if prefix else keys)

    def info(self, key: str) -> KeyInfo | None:
        """Kind, size, content hash and modified time (where known) of ``key``; None when missing."""
        return self._stat(check_key(key))

    def delete_target(self) -> int:
        """Delete every key of this target; returns how many were deleted.

        When any key cannot be deleted this raises StorageBackendError naming the keys left (the others are
        gone): a partial delete is never reported as done.
        """
        result = self.delete_many(self.list_keys())
        if result.errors:
            failed = sorted(result.errors)
            shown = "; ".join(f"{k}: {result.errors[k]}" for k in failed[:5])
            more = f"; and {len(failed) - 5} more" if len(failed) > 5 else ""
            deleted = sum(1 for ok in result.ok.values() if ok)
            raise StorageBackendError(
                f"delete_target of {self.describe()}: {len(failed)} key(s) could not be deleted and remain "
                f"({deleted} deleted): {shown}{more}"
            ) from result.errors[failed[0]]
        return sum(1 for ok in result.ok.values() if ok)

    # ---- navigation ---------------------------------------------------------------------------------
    def sessions(self) -> list[str]:
        """Sorted sessions that hold data on this backend."""
        return sorted(set(self._list_sessions()))

    def targets(self, session: str | None = None) -> list[str]:
        """Sorted targets of ``session`` (default: this storage's session)."""
        session = self._session_id if session is None else check_id(session, "session_id")
        return sorted(set(self._list_targets(session)))

    def for_target(self, target_id: str) -> Self:
        """A sibling storage for another target of this session, sharing resources."""
        return self._sibling(self._session_id, check_id(target_id, "target_id"))

    def for_session(self, session_id: str, target_id: str | None = None) -> Self:
        """A sibling storage for another session (and target, default: this one), sharing resources."""
        target = self._target_id if target_id is None else target_id
        return self._sibling(check_id(session_id, "session_id"), check_id(target, "target_id"))

    # ---- bulk ---------------------------------------------------------------------------------------
    def _saver(self, kind: object) -> Any:
        """The save method for ``kind``; StorageValueError for anything but json/text/bytes."""
        if kind not in SAVE_METHOD:
            raise StorageValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        return getattr(self, SAVE_METHOD[kind])

    def save_many(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]], kind: Kind = "json") -> BulkResult:
        """Save many values of one kind; per-key results, failures reported, never silently lost.

        A key given twice is saved once, with its last value (as ``dict(pairs)`` would), so concurrent
        backends cannot race two values of one key.
        """
        saver = self._saver(kind)
        pairs = list(dict(items.items() if isinstance(items, Mapping) else items).items())
        return self._bulk([k for k, _ in pairs], lambda i, k: saver(k, pairs[i][1]) or True)

    def load_many(self, keys: Iterable[str], default: Any = None) -> BulkResult:
        """Load many keys of any kind; ``ok`` maps each key to its value (``default`` when missing)."""
        return self._bulk(list(keys), lambda _i, k: self.load_any(k, default))

    def delete_many(self, keys: Iterable[str]) -> BulkResult:
        """Delete many keys; ``ok`` maps each key to whether it existed."""
        return self._bulk(list(keys), lambda _i, k: self.delete(k))

    def _bulk(self, keys: list[str], op: Any) -> BulkResult:
        result = BulkResult()

        def run(i: int) -> None:
            key = keys[i]
            try:
                result.ok[key] = op(i, key)
            except Exception as exc:  # noqa: BLE001 - per-key outcome, reported, never swallowed
                result.errors[key] = exc

        if self.concurrent_bulk and len(keys) > 1:
            from concurrent.futures import ThreadPoolExecutor  # not at import: it costs ~10 ms

            with ThreadPoolExecutor(max_workers=min(8, len(keys))) as pool:
                list(pool.map(run, range(len(keys))))
        else:
            for i in range(len(keys)):
                run(i)
        result.ok = {k: result.ok[k] for k in keys if k in result.ok}
        return result

    # ---- versions -----------------------------------------------------------------------------------
    def version_key(self, name: str) -> str:
        """A new timestamped key for ``name`` (``name__YYYYMMDDTHHMMSSffffffZ.ext``), unique in this process."""
        return new_version_key(check_key(name))

    def save_version(self, name: str, value: Any, kind: Kind = "json") -> str:
        """Save ``value`` under a new version key of ``name``; returns the key."""
        saver = self._saver(kind)
        key = self.version_key(name)
        saver(key, value)
        return key

    def versions(self, name: str) -> list[str]:
        """Keys of ``name``'s versions, newest first."""
        check_key(name)
        pattern = version_pattern(name)
        folder = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
        found = [k for k in self.list_keys(folder) if pattern.fullmatch(k)]
        return sorted(found, key=lambda k: parse_version_key(k) or "", reverse=True)

    def latest_version(self, name: str) -> str | None:
        """The newest version key of ``name``, or None."""
        found = self.versions(name)
        return found[0] if found else None

    # ---- lifecycle ----------------------------------------------------------------------------------
    def check(self) -> None:  # noqa: B027 - an optional hook: local and memory have nothing to check
        """Verify the backend is reachable and usable now (remote: connection and API key); raises a StorageError.

        The default has nothing to check; the notebook's ``%storage use`` and the command line call it so that a
        wrong URL or key fails where it was given, not at the next command.
        """

    def close(self) -> None:  # noqa: B027 - an optional hook: backends without resources need nothing
        """Release resources (connections); the base holds none."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def unreadable_error(key: str, where: str, kind: Kind, exc: Exception) -> StorageBackendError:
    """The one wording, on every backend and client, of a stored payload that cannot be read (``where``: its place)."""
    if isinstance(exc, codec.JSONTooDeepError):
        return StorageBackendError(f"the stored value of {key!r} in {where} is {exc}")
    what = "valid JSON" if kind == "json" else "valid UTF-8 text"
    return StorageBackendError(f"the stored value of {key!r} in {where} is not {what} (edited or corrupted?): {exc}")


def _chunks_of(source: IO[bytes] | Iterable[bytes], key: str) -> Iterator[bytes]:
    read = getattr(source, "read", None)
    if read is not None:
        while chunk := read(CHUNK):
            yield codec.to_bytes(chunk, key)  # a text-mode file gives str: refuse it clearly
        return
    for chunk in source:
        yield codec.to_bytes(chunk, key)
