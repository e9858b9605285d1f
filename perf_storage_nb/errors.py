"""The one error tree of perf_storage_nb.

Every error we raise derives from :class:`StorageError` and also from the builtin a caller would
naturally catch, so ``except KeyError`` / ``except ValueError`` / ``except TypeError`` keep working::

    StorageError (Exception)
     ├── StorageNameError        also ValueError   an invalid session id, target id or key
     │    └── StorageNameTypeError    also TypeError    ... that is not a str at all
     ├── StorageValueError       also ValueError   a value that cannot be stored (names the path)
     │    └── StorageValueTypeError   also TypeError    ... because of its type (a set, a dict for save_string)
     ├── StorageKindError        also TypeError    a key loaded with the wrong method (names the right one)
     ├── StorageKeyError         also KeyError     a key that must exist does not
     ├── StorageConfigError      also ValueError   a bad backend name, option, URL or env var
     │    └── StorageConfigTypeError  also TypeError    ... an option of the wrong type
     ├── StorageNotSupported     also NotImplementedError  the backend cannot do this at all
     ├── StorageRegressionError  also AssertionError   a comparison found regressions (lists them)
     └── StorageBackendError     also OSError      I/O or HTTP failure; ``__cause__`` holds the original
          ├── StorageConnectionError  also ConnectionError  server down / refused / timed out (names the URL)
          └── StorageAuthError        also PermissionError  API key missing or wrong

Python's convention holds: a wrong *type* is a TypeError, a wrong *value* of the right type a ValueError;
the ``...TypeError`` classes are both, so ``except StorageValueError`` and ``except TypeError`` both catch
``save_string("k", {})``.

Foreign exceptions (``OSError`` from the file system, ``httpx.HTTPError``) are translated at one seam per
backend with ``raise ... from exc``.
"""

from __future__ import annotations

from .kinds import LOAD_METHOD, Kind

__all__ = [
    "StorageAuthError",
    "StorageBackendError",
    "StorageConfigError",
    "StorageConfigTypeError",
    "StorageConnectionError",
    "StorageError",
    "StorageKeyError",
    "StorageKindError",
    "StorageNameError",
    "StorageNameTypeError",
    "StorageNotSupported",
    "StorageRegressionError",
    "StorageValueError",
    "StorageValueTypeError",
]


class StorageError(Exception):
    """Base class of every error perf_storage_nb raises."""

    def __str__(self) -> str:
        # KeyError's str() adds quotes around the message; our messages are sentences.
        return str(self.args[0]) if self.args else self.__class__.__name__


class StorageNameError(StorageError, ValueError):
    """A session id, target id or key is not valid (the message says what is allowed)."""


class StorageNameTypeError(StorageNameError, TypeError):
    """A session id, target id or key that is not a str."""


class StorageValueError(StorageError, ValueError):
    """A value cannot be stored; the message names the offending path inside the value."""


class StorageValueTypeError(StorageValueError, TypeError):
    """A value cannot be stored because of its type (the message names the path and the accepted types)."""


class StorageKindError(StorageError, TypeError):
    """A key holds a different kind (json/text/bytes) than the method used to load it."""

    def __init__(self, key: str, stored: Kind, wanted: Kind) -> None:
        method = LOAD_METHOD[stored]
        super().__init__(f"key {key!r} holds {stored}, not {wanted}: read it with {method}({key!r})")
        self.key, self.stored, self.wanted = key, stored, wanted

    def __reduce__(self) -> tuple[type, tuple[str, Kind, Kind]]:
        # args hold the message, not the constructor's arguments: rebuild from those (pickling, multiprocessing)
        return type(self), (self.key, self.stored, self.wanted)


class StorageKeyError(StorageError, KeyError):
    """A key that must exist is missing."""


class StorageConfigError(StorageError, ValueError):
    """A backend name, option, URL or environment variable is not valid."""


class StorageConfigTypeError(StorageConfigError, TypeError):
    """A config or option of the wrong type (e.g. ``timeout="fast"``, ``api_key=12345``)."""


class StorageNotSupported(StorageError, NotImplementedError):  # noqa: N818 - public name since 0.1
    """The backend (or the server behind it) cannot do this operation at all."""


class StorageRegressionError(StorageError, AssertionError):
    """A comparison found regressions (``Comparison.raise_for_regressions``, ``%%storage gate``); lists them.

    Also an AssertionError: a failed regression gate is a failed check, so test runners report it as one.
    ``regressions`` holds the rows that were worse than the baseline.
    """

    def __init__(self, message: str, regressions: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.regressions = regressions

    def __reduce__(self) -> tuple[type, tuple[str, tuple[object, ...]]]:
        return type(self), (str(self), self.regressions)


class StorageBackendError(StorageError, OSError):
    """The backend failed (I/O or HTTP); ``__cause__`` holds the original exception."""


class StorageConnectionError(StorageBackendError, ConnectionError):
    """The backend could not be reached (refused, reset, timed out); the message names the URL."""


class StorageAuthError(StorageBackendError, PermissionError):
    """The server refused the request: the API key is missing or wrong."""
