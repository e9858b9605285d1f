"""Validation of session ids, target ids and keys: names are checked, never silently rewritten."""

from __future__ import annotations

import re
import unicodedata

from .errors import StorageNameError, StorageNameTypeError

__all__ = [
    "ID_MAX",
    "KEY_MAX",
    "SEGMENT_MAX",
    "check_id",
    "check_key",
    "check_prefix",
    "is_valid_key",
    "target_id_from_text",
]

ID_MAX = 100
SEGMENT_MAX = 100
KEY_MAX = 400

_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_ALLOWED = "letters, digits, '.', '_' and '-' (not starting with '.')"


def _segment_problem(segment: str) -> str | None:
    """Why one name segment is invalid, or None when it is fine."""
    if not segment:
        return "an empty segment"
    if segment in (".", ".."):
        return f"a {segment!r} segment"
    if len(segment) > SEGMENT_MAX:
        return f"a segment of {len(segment)} characters (at most {SEGMENT_MAX})"
    if not _SEGMENT.fullmatch(segment):
        if segment.startswith("."):
            return f"segment {segment!r} starts with '.' (reserved for hidden and temporary files)"
        bad = sorted({c for c in segment if not (c.isascii() and (c.isalnum() or c in "._-"))})
        return f"segment {segment!r} contains {''.join(bad)!r}"
    return None


def check_id(value: object, what: str = "id") -> str:
    """Return ``value`` if it is a valid session/target id, else raise StorageNameError."""
    if not isinstance(value, str):
        raise StorageNameTypeError(f"{what} must be a str, not {type(value).__name__}; allowed: {_ALLOWED}")
    if len(value) > ID_MAX:
        raise StorageNameError(f"{what} is {len(value)} characters long; at most {ID_MAX} allowed")
    problem = "it contains '/'" if "/" in value else _segment_problem(value)
    if problem:
        hint = " (use target_id_from_text() for URLs and free text)" if what == "target_id" else ""
        raise StorageNameError(f"invalid {what} {value!r}: {problem}; allowed: {_ALLOWED}{hint}")
    return value


def check_key(key: object) -> str:
    """Return ``key`` if it is a valid key ('/'-separated relative path), else raise StorageNameError."""
    if not isinstance(key, str):
        raise StorageNameTypeError(f"key must be a str, not {type(key).__name__}")
    if len(key) > KEY_MAX:
        raise StorageNameError(f"key is {len(key)} characters long; at most {KEY_MAX} allowed")
    if key.startswith("/"):
        raise StorageNameError(
            f"invalid key {key!r}: absolute paths are not allowed; use a relative path like 'results/metrics.json'"
        )
    for segment in key.split("/"):
        problem = _segment_problem(segment)
        if problem:
            raise StorageNameError(
                f"invalid key {key!r}: {problem}; allowed: '/'-separated segments of {_ALLOWED}, e.g. "
                "'results/metrics.json'"
            )
    return key


def is_valid_key(key: object) -> bool:
    """True when ``key`` passes :func:`check_key`."""
    try:
        check_key(key)
    except StorageNameError:
        return False
    return True


def check_prefix(prefix: object) -> str:
    """Validate a list_keys prefix: '' or a key, optionally ending in '/' (a folder)."""
    if not isinstance(prefix, str):
        raise StorageNameTypeError(f"prefix must be a str, not {type(prefix).__name__}")
    if prefix == "":
        return prefix
    body = prefix[:-1] if prefix.endswith("/") else prefix
    # A partial last segment (e.g. 'res') is fine: it only has to be a prefix of valid keys.
    check_key(body)
    return prefix


def target_id_from_text(text: str, max_len: int = 64) -> str:
    """Turn arbitrary text (a URL, a title) into a valid, readable, collision-resistant target id.

    The readable part keeps letters and digits; a 10-hex-digit hash of the exact text keeps two inputs
    that read alike (``example.com/a?x=1`` vs ``example.com/a?x=2``) apart.
    """
    if not isinstance(text, str) or not text:
        error = StorageNameError if isinstance(text, str) else StorageNameTypeError
        raise error(f"target_id_from_text needs a non-empty str, not {text!r}"[:200])
    max_len = min(max(max_len, 12), ID_MAX)  # room for '-' + the 10-digit hash; never longer than an id may be
    import hashlib  # here, not at the top: it loads OpenSSL (~3 ms), which a CLI listing never needs

    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    readable = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    readable = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", readable)
    readable = re.sub(r"[^A-Za-z0-9]+", "_", readable).strip("_")[: max(1, max_len - 11)].strip("_")
    return f"{readable}-{digest}" if readable else digest
