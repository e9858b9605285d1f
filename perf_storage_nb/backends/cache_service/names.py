"""How our names map to the Cache Service's: keys (reversible, 1:1 for plain segments), kinds, name rules."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

from ...errors import StorageNameError
from ...kinds import Kind
from ...names import check_id, check_key

__all__ = [
    "DATA_KEY_MAX",
    "DATA_TYPE",
    "KIND_OF",
    "DataFile",
    "DataType",
    "EXTENSION",
    "FILE_ID_MAX",
    "check_hash",
    "check_namespace",
    "decode_segment",
    "encode_segment",
    "join_key",
    "key_hash",
    "split_key",
    "target_cache_key",
]

FILE_ID_MAX = 128
DATA_KEY_MAX = 1024
DataType = Literal["json", "string", "binary"]
#: our kinds -> the server's child data types (and back)
DATA_TYPE: dict[Kind, DataType] = {"json": "json", "text": "string", "bytes": "binary"}
KIND_OF: dict[str, Kind] = {"json": "json", "string": "text", "binary": "bytes"}
#: the file extension the server gives each kind's child files (its storage path: ``.../{file_id}.{ext}``)
EXTENSION: dict[Kind, str] = {"json": "json", "text": "txt", "bytes": "bin"}

_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]+")
_NAMESPACE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_HASH = re.compile(r"[a-f0-9]{10,96}")


def encode_segment(segment: str) -> str:
    """Map one key segment to a server-safe name; ``[A-Za-z0-9_-]`` segments stay as they are.

    The server silently rewrites '.' (to '_' in file ids, '..' to '-' in folders), so a segment with a '.'
    (or one starting with the marker '__') becomes ``'__' + seg.replace('_', '__').replace('.', '_d')``.
    The server also refuses a folder named only '_'s, so such a segment gets an ``'_e'`` (end) suffix too.
    """
    only_underscores = not segment.strip("_")
    if "." not in segment and not segment.startswith("__") and not only_underscores:
        return segment
    return "__" + segment.replace("_", "__").replace(".", "_d") + ("_e" if only_underscores else "")


def decode_segment(name: str) -> str | None:
    """Inverse of :func:`encode_segment`; None when ``name`` is not something we could have written."""
    if not name.startswith("__"):
        return name if _SAFE_NAME.fullmatch(name) else None
    out: list[str] = []
    body, i = name[2:], 0
    while i < len(body):
        ch = body[i]
        if ch == "_":
            nxt = body[i + 1 : i + 2]
            if nxt == "_":
                out.append("_")
            elif nxt == "d":
                out.append(".")
            elif nxt == "e" and i + 2 == len(body):
                pass
            else:
                return None
            i += 2
        else:
            out.append(ch)
            i += 1
    segment = "".join(out)
    return segment if encode_segment(segment) == name else None


def split_key(key: str) -> tuple[str, str]:
    """``key`` -> ``(data_key, data_file_id)`` as sent to the server; StorageNameError past the server's limits."""
    parts = [encode_segment(s) for s in key.split("/")]
    file_id, data_key = parts[-1], "/".join(parts[:-1])
    if len(file_id) > FILE_ID_MAX:
        raise StorageNameError(
            f"invalid key {key!r}: its last segment is {len(file_id)} characters once encoded for the cache service "
            f"(at most {FILE_ID_MAX} allowed; '.' and '_' cost extra) - use a shorter name"
        )
    if len(data_key) > DATA_KEY_MAX:
        raise StorageNameError(
            f"invalid key {key!r}: its folder part is {len(data_key)} characters once encoded (at most "
            f"{DATA_KEY_MAX} allowed)"
        )
    return data_key, file_id


def join_key(data_key: str, file_id: str) -> str | None:
    """Inverse of :func:`split_key` for names listed by the server; None for names we would not write."""
    names = [*(data_key.split("/") if data_key else []), file_id]
    segments = [s for s in map(decode_segment, names) if s is not None]
    if len(segments) != len(names):
        return None
    key = "/".join(segments)
    try:
        check_key(key)
    except StorageNameError:
        return None
    return key


def target_cache_key(session_id: str, target_id: str) -> str:
    """The entry key of one session/target: ``sessions/{session}/targets/{target}``."""
    return f"sessions/{check_id(session_id, 'session_id')}/targets/{check_id(target_id, 'target_id')}"


def key_hash(text: str) -> str:
    """The server's ``cache_hash`` of an entry stored with ``json_field_path`` naming a str field."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def check_namespace(namespace: object) -> str:
    """Return ``namespace`` if the server keeps it as-is (``[A-Za-z0-9_-]``, 1-128 chars), else raise."""
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise StorageNameError(
            f"invalid cache service namespace {namespace!r}: allowed: 1-128 letters, digits, '_' and '-' "
            "(the server silently rewrites anything else)"
        )
    return namespace


def check_hash(cache_hash: object) -> str:
    """Return ``cache_hash`` if it is 10-96 lowercase hex digits, else raise StorageNameError."""
    if not isinstance(cache_hash, str) or not _HASH.fullmatch(cache_hash):
        raise StorageNameError(f"invalid cache_hash {cache_hash!r}: allowed: 10-96 lowercase hex digits")
    return cache_hash


@dataclass(frozen=True)
class DataFile:
    """One child data file as listed by the server."""

    data_key: str
    file_id: str
    data_type: str
    size: int
    path: str

    @property
    def key(self) -> str | None:
        """Our key for this file (None when its name is not one we could have written)."""
        return join_key(self.data_key, self.file_id)

    @property
    def kind(self) -> Kind | None:
        """Our kind (json/text/bytes) for this file's data type."""
        return KIND_OF.get(self.data_type)
