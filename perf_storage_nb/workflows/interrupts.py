"""Ctrl-C that never lands between "the executor took an item" and "the batch knows it took it".

Python raises ``KeyboardInterrupt`` between any two bytecodes of the main thread. If that happens right after
``executor.submit`` returned (the item may already be running on a worker) but before the batch recorded the
future, the run loses track of a running item: it would report it ``not_run`` and not wait for it, although it
runs to the end. :class:`InterruptGuard` defers a Ctrl-C that arrives inside such a short critical section to
the section's end; everywhere else Ctrl-C is raised at once, exactly as Python's default handler does.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["InterruptGuard"]


class InterruptGuard:
    """While installed (main thread, default SIGINT handler only), ``critical()`` sections are never split."""

    def __init__(self) -> None:
        self._depth = 0
        self._deferred = False

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self._depth:
            self._deferred = True  # raised when the critical section ends
            return
        raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator[InterruptGuard]:
        """Install the handler for the ``with`` block when Python's own SIGINT handler is active; else do nothing."""
        previous: Any = None
        mine = threading.current_thread() is threading.main_thread() and (
            signal.getsignal(signal.SIGINT) is signal.default_int_handler
        )  # a custom handler (or a non-main thread) is left alone: critical sections are then plain blocks
        if mine:
            previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield self
        finally:
            if mine:
                signal.signal(signal.SIGINT, previous)

    @contextmanager
    def critical(self) -> Iterator[None]:
        """A block a Ctrl-C does not interrupt; a Ctrl-C pressed inside is raised right after it."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._deferred and not self._depth:
                self._deferred = False
                raise KeyboardInterrupt
