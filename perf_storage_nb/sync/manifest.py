"""The cache service's sync index: a manifest of content hashes per target, verified against the server's listing.

The service lists each child file's data type and size but no content hash, and reading every value to hash
it costs one request per key. So a sync keeps, per target, a manifest ``{key: [kind, hash, size, listed]}``
(``hash``/``size``: the canonical ones of :class:`~perf_storage_nb.records.KeyInfo`; ``listed``: the size the
server's listing shows for that file). It lives in the body of the target's *entry* (the JSON document the
child files hang under), not in a child file, so it is never a key, never listed, never copied, and it goes
away with the target (``delete_target`` removes the entry).

Never trusted blindly: a manifest hash is used only when the listing still shows that key with the same kind
and the same stored size; anything else (a key written by another client, a changed size, two kinds at once,
no manifest) is ``hash=None`` and the engine reads that value once. What sizes cannot show: another client
rewriting a key with a same-size value of the same kind; ``sync --checksum`` (``trust=False``) reads and hashes
every value and rewrites the manifest.

The ``listed`` size of a key the sync *wrote* is predicted, not listed: from the body the backend sends, text
and bytes as sent (an empty value as an empty file), JSON as the server pretty-prints it
(``json.dumps(body, indent=4)``) - checked against the real service by the tests (any drift of the backend's
body rules shows there as reads on an up-to-date sync).
A listing while files change costs the server a walk of its whole store (and the memory mode answers 500 to
it), so checkpoints list nothing. A wrong prediction only makes the next sync read that key once, and what it
reads is recorded with the size its listing showed.

Cost per target, up to date: ``GET /{ns}/retrieve/hash/{h}`` (the entry: cache_id and manifest in one answer)
and ``GET .../data/list`` - two requests, no write. A target that changed: one ``POST /{ns}/update/{cache_id}/json``
per checkpoint - at its end, and on the way every :data:`CHECKPOINT_KEYS` keys or :data:`CHECKPOINT_SECONDS`
seconds, so a run killed midway has recorded most of what arrived (Ctrl-C records everything that arrived).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..backends.cache_service.body import EMPTY_BODY, encode_body
from ..backends.cache_service.entry_base import kinds_of
from ..backends.cache_service.names import DataFile, encode_segment, key_hash
from ..codec import encode_json, encode_text
from ..kinds import KINDS, Kind
from .index import NO_VALUE, Known, TargetIndex

if TYPE_CHECKING:
    from ..base import BaseStorage

__all__ = ["CHECKPOINT_KEYS", "CHECKPOINT_SECONDS", "MANIFEST_FIELD", "CacheServiceIndex", "stored_size"]

#: the entry-body field that holds the manifest
MANIFEST_FIELD = "perf_storage_nb_sync"
FORMAT = 1
CHECKPOINT_KEYS = 1000
CHECKPOINT_SECONDS = 10.0

Entry = tuple[Kind, str, int, int]  # kind, hash, canonical size, listed size


class CacheServiceIndex(TargetIndex):
    """Keys of one cache-service target with hashes from its manifest where the listing confirms them."""

    def __init__(self, storage: BaseStorage, *, writable: bool, trust: bool = True) -> None:
        super().__init__(storage, writable=writable)
        client = getattr(storage, "client", None)
        namespace = getattr(storage, "namespace", None)
        if client is None or namespace is None:
            raise TypeError(f"{storage!r} is not a cache service storage")
        self._client = client
        self._ns: str = namespace
        # The same per-target state (memoised cache_id, kind map) as the storage: what we learn, it reuses.
        self._entry = client.target_entry(storage.session_id, storage.target_id, namespace)
        self._trust = trust
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._folder = ""
        self._body: dict[str, Any] | None = None
        self._kept: dict[str, Any] = {}  # manifest entries outside the scanned folder: left as they were
        self._verified: dict[str, Entry] = {}  # what the manifest will say (verified at the scan, then updated)
        self._listed: dict[str, tuple[Kind, int]] = {}  # the scan listing's size of each single-kind key
        self._learned: dict[str, Entry | None] = {}  # recorded since the last checkpoint (None: deleted)
        self._last = time.monotonic()

    # ---- scan ---------------------------------------------------------------------------------------------------
    def scan(self, prefix: str) -> dict[str, Known]:
        """Keys under ``prefix``: two requests (the entry with its manifest, one listing of the prefix's folder)."""
        state = self._entry.state
        got = self._client.entry_by_hash(key_hash(state.cache_key), namespace=self._ns)
        self._folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        if got is None:
            return {}  # no entry: nothing stored in this target yet
        cache_id = str(got["metadata"]["cache_id"])
        data = got.get("data")
        body = dict(data) if isinstance(data, dict) else {}
        manifest = _entries(body.pop(MANIFEST_FIELD, None))
        self._body = body
        with state.lock:
            if state.cache_id != cache_id:
                state.reset(cache_id, created=False)
            since = state.begin()
        files = self._list(cache_id)
        if files is None:
            return {}  # the entry was deleted between the two requests
        if not self._folder:
            state.observed_all(kinds_of(files), since, cache_id)  # the storage's writes then skip their own listing
        inside = self._folder + "/" if self._folder else ""
        self._kept = {k: v for k, v in manifest.items() if not k.startswith(inside)}
        out: dict[str, Known] = {}
        for key, found in _by_key(files).items():
            if not key.startswith(prefix):
                continue
            kinds = sorted(found, key=KINDS.index)
            kind = kinds[0]
            if len(found) == 1:
                self._listed[key] = (kind, found[kind])
            entry = manifest.get(key)
            if len(found) == 1 and entry is not None and entry[0] == kind and entry[3] == found[kind]:
                self._verified[key] = entry
                out[key] = Known(kind, entry[1], entry[2]) if self._trust else Known(kind, None, entry[2])
            else:  # two kinds at once, a changed size, or no record: the engine reads it (bytes size: to stream)
                out[key] = Known(kind, None, found[kind] if kind == "bytes" else None)
        return out

    def _list(self, cache_id: str) -> list[DataFile] | None:
        data_key = "/".join(encode_segment(s) for s in self._folder.split("/")) if self._folder else ""
        files: list[DataFile] | None = self._client.list_data(cache_id, data_key, namespace=self._ns)
        return files

    # ---- learn and persist ----------------------------------------------------------------------------------
    def learned(self, key: str, known: Known | None, *, value: Any = NO_VALUE, wrote: bool = True) -> None:
        """Record a hash the engine established - of a value it wrote or (``wrote=False``) read - or a deletion."""
        entry: Entry | None = None
        if known is not None and known.hash is not None and known.size is not None:
            if wrote:
                entry = (known.kind, known.hash, known.size, stored_size(known.kind, value, known.size))
            elif self._listed.get(key, (None, 0))[0] == known.kind:
                entry = (known.kind, known.hash, known.size, self._listed[key][1])
        if entry is None and known is not None:
            return  # nothing reliable to record: the next sync reads this key again
        with self._lock:
            self._learned[key] = entry

    def due(self) -> bool:
        """True when enough was learned since the last checkpoint to write one now."""
        with self._lock:
            pending = len(self._learned)
        return (
            self.writable
            and pending > 0
            and (pending >= CHECKPOINT_KEYS or time.monotonic() - self._last >= CHECKPOINT_SECONDS)
        )

    def checkpoint(self, *, final: bool) -> int:
        """Write the manifest if anything was learned: one entry update (no listing); returns 1 or 0 writes.

        One checkpoint at a time: two overlapping ones could land in the wrong order and lose the newer record.
        A checkpoint on the way skips when another is running; the final one waits for it.
        """
        if not self._writing.acquire(blocking=final):
            return 0
        try:
            return self._checkpoint()
        except Exception:
            with self._lock:
                self._last = time.monotonic()  # back off: the next try on the way waits a whole interval
            raise
        finally:
            self._writing.release()

    def _checkpoint(self) -> int:
        with self._lock:
            snapshot = dict(self._learned)
        if not self.writable or not snapshot:
            return 0
        cache_id = self._entry.cache_id(create=False)  # memoised by the storage's own writes
        if cache_id is None:
            return 0  # no entry: only deletes of keys that were not there
        verified = dict(self._verified)
        for key, entry in snapshot.items():
            if entry is None:
                verified.pop(key, None)
            else:
                verified[key] = entry
        entries = {**self._kept, **{k: list(v) for k, v in verified.items()}}
        body = {**(self._body or self._default_body()), MANIFEST_FIELD: {"v": FORMAT, "keys": entries}}
        self._client.send(
            "POST",
            f"/{self._ns}/update/{cache_id}/json",
            content=json.dumps(body, separators=(",", ":")).encode(),
            content_type="application/json",
        )
        with self._lock:
            for key, value in snapshot.items():
                if self._learned.get(key, _NOT_LEARNED) is value:
                    del self._learned[key]
            self._verified = verified
            self._last = time.monotonic()
        return 1

    def _default_body(self) -> dict[str, Any]:
        """The body the backend gives the entries it creates (see ``EntryBase.cache_id``)."""
        s = self.storage
        return {
            "session_id": s.session_id,
            "target_id": s.target_id,
            "created_by": "perf_storage_nb",
            "cache_key": self._entry.state.cache_key,
        }


_NOT_LEARNED: Any = object()


def stored_size(kind: Kind, value: Any, size: int) -> int:
    """The size the server's listing will show for a value this backend wrote (``value``: NO_VALUE if streamed).

    From the body the backend sends (:func:`encode_body`): text and bytes are stored as sent (an empty value goes
    as the JSON literal ``""`` and is stored as an empty file), JSON as the server pretty-prints the body.
    """
    if value is NO_VALUE:  # streamed bytes, stored as sent
        return size
    if kind == "json":
        body = encode_body("json", encode_json(value))[0]
        return len(json.dumps(json.loads(body), indent=4))  # ASCII: str length == byte length
    payload = encode_text(value) if kind == "text" else bytes(value)
    sent = encode_body(kind, payload)
    return 0 if sent == EMPTY_BODY else len(sent[0])


def _by_key(files: Iterable[DataFile]) -> dict[str, dict[Kind, int]]:
    """Our keys in a listing with the size of each kind they are stored in (names we never write are skipped)."""
    out: dict[str, dict[Kind, int]] = {}
    for f in files:
        key, kind = f.key, f.kind
        if key is not None and kind is not None:
            out.setdefault(key, {})[kind] = f.size
    return out


def _entries(raw: object) -> dict[str, Entry]:
    """The valid entries of a stored manifest (anything malformed is ignored: those keys are read instead)."""
    if not isinstance(raw, dict) or raw.get("v") != FORMAT or not isinstance(raw.get("keys"), dict):
        return {}
    out: dict[str, Entry] = {}
    for key, value in raw["keys"].items():
        if (
            isinstance(key, str)
            and isinstance(value, list)
            and len(value) == 4
            and value[0] in KINDS
            and isinstance(value[1], str)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value[2:])
        ):
            out[key] = (value[0], value[1], value[2], value[3])
    return out
