"""The one display base: a plain-text twin and an HTML body; Jupyter's display methods derive from them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

__all__ = ["DisplayObject"]


class DisplayObject(ABC):
    """Base of every object that displays itself (previews, listings, diffs, batch and comparison results).

    A subclass provides :meth:`_text_twin` (what terminals, text exports and nbval see) and
    :meth:`_html_body` (what notebooks render), and keeps its own short, deterministic ``__repr__``.
    Both forms must be deterministic: no ids, addresses or set order that change per call or per run.
    """

    __slots__ = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # IPython's pretty printer walks the MRO and takes the first class that defines _repr_pretty_ *or*
        # __repr__ itself: a subclass's own short __repr__ would hide the inherited _repr_pretty_ (and show
        # the repr, not the text twin, e.g. inside a list). Each subclass therefore gets it in its own dict.
        if "_repr_pretty_" not in cls.__dict__:
            cls._repr_pretty_ = DisplayObject._repr_pretty_  # type: ignore[method-assign]  # see above

    @abstractmethod
    def _text_twin(self) -> str:
        """The plain-text form (``text/plain``)."""

    @abstractmethod
    def _html_body(self) -> str:
        """The HTML form (``text/html``); user data escaped."""

    def _repr_html_(self) -> str:
        return self._html_body()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        # Both forms in one bundle: front ends pick the HTML, text exports and nbval the text twin.
        return {"text/plain": self._text_twin(), "text/html": self._html_body()}

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self._text_twin())
