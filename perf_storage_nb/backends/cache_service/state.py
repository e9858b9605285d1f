"""What one client knows about each session/target entry: its memoised cache_id and a kind map (a hint)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ...kinds import Kind

__all__ = ["TargetState", "TargetStates"]


@dataclass
class TargetState:
    """What a client knows about one session/target entry; shared by every storage of that target on the client.

    ``kinds`` is a hint map (key -> kind) fed by our writes and by what reads and listings observed. Every
    change goes through :meth:`wrote` or :meth:`observed` under ``lock``: an observation that started before
    one of our writes completed never overwrites what that write recorded (a generation stamp per key).
    """

    cache_key: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    cache_id: str | None = None
    #: key -> kind of every key whose kind we know (our own writes, reads and listings)
    kinds: dict[str, Kind] = field(default_factory=dict)
    #: True once ``kinds`` was filled from a full listing (or the entry is one this client created)
    listed: bool = False
    #: True when this client created the entry: a key missing from ``kinds`` is taken to be absent on saves
    created: bool = False
    #: bumped by every write or delete we record; ``stamps[key]`` is the generation of the key's last one
    generation: int = 0
    stamps: dict[str, int] = field(default_factory=dict)
    #: the generation of the last :meth:`reset`: observations started before it saw another cache_id
    epoch: int = 0

    def begin(self) -> int:
        """The generation an observation (read, probe, listing) starts at; pass it to :meth:`observed`."""
        with self.lock:
            return self.generation

    def wrote(self, key: str, kind: Kind | None) -> None:
        """Record our own completed write (``kind``) or delete (None) of ``key``."""
        with self.lock:
            self.generation += 1
            self.stamps[key] = self.generation
            if kind is None:
                self.kinds.pop(key, None)
            else:
                self.kinds[key] = kind

    def observed(self, key: str, kind: Kind | None, since: int) -> None:
        """Record what an observation started at ``since`` saw, unless we wrote ``key`` after it started."""
        with self.lock:
            if since < self.epoch or self.stamps.get(key, 0) > since:
                return
            if kind is None:
                self.kinds.pop(key, None)
            else:
                self.kinds[key] = kind

    def observed_all(self, found: dict[str, Kind], since: int, cache_id: str) -> None:
        """Replace the map by a full listing started at ``since`` (keys we wrote meanwhile keep their record)."""
        with self.lock:
            if since < self.epoch or self.cache_id != cache_id:
                return  # the entry was forgotten or replaced while we listed: the listing is of a stale id
            kept = {k: v for k, v in self.kinds.items() if self.stamps.get(k, 0) > since}
            fresh = {k: v for k, v in found.items() if self.stamps.get(k, 0) <= since}
            self.kinds = {**fresh, **kept}
            self.listed = True

    def reset(self, cache_id: str | None, *, created: bool) -> None:
        """Start over for a (new) cache_id: nothing known; a fresh entry holds no keys."""
        with self.lock:
            self.cache_id = cache_id
            self.kinds.clear()
            self.stamps.clear()
            self.generation += 1
            self.epoch = self.generation
            self.created = self.listed = created


class TargetStates:
    """One :class:`TargetState` per (namespace, entry key), created on first use; thread-safe.

    A client holds one registry, so every storage and direct-access call on that client (siblings included)
    shares one state per target: one memoised cache_id, one kind map.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[tuple[str, str], TargetState] = {}

    def get(self, namespace: str, cache_key: str) -> TargetState:
        """The state of entry ``cache_key`` in ``namespace`` (the same object on every call)."""
        with self._lock:
            state = self._states.get((namespace, cache_key))
            if state is None:
                state = self._states[(namespace, cache_key)] = TargetState(cache_key)
            return state
