"""The three kinds of stored values and the one table of the methods that save and load each kind."""

from __future__ import annotations

from typing import Literal

__all__ = ["KINDS", "LOAD_METHOD", "SAVE_METHOD", "Kind"]

Kind = Literal["json", "text", "bytes"]
KINDS: tuple[Kind, ...] = ("json", "text", "bytes")

#: kind -> the BaseStorage method that loads it (error messages, diffs, the magics)
LOAD_METHOD: dict[Kind, str] = {"json": "load", "text": "load_string", "bytes": "load_bytes"}
#: kind -> the BaseStorage method that saves it (bulk saves, versions)
SAVE_METHOD: dict[Kind, str] = {"json": "save", "text": "save_string", "bytes": "save_bytes"}
