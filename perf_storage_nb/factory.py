"""The factory: build a storage from a config dict or URL, with env-var defaults and a backend registry.

Example::

    from perf_storage_nb import create_storage
    storage = create_storage({"backend": "local", "session_id": "experiment_alpha", "target_id": "item_001"})
    storage = create_storage("memory://", session_id="s", target_id="t")
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .base import BaseStorage
from .errors import StorageConfigError, StorageConfigTypeError
from .redact import is_secret_name, redact_url

__all__ = [
    "ENV_VARS",
    "StorageFactory",
    "available_backends",
    "backend_class",
    "create_storage",
    "register_backend",
    "registry",
]

ENTRY_POINT_GROUP = "perf_storage_nb.backends"

_registry: dict[str, str | type[BaseStorage]] = {
    "cache_service": "perf_storage_nb.backends.cache_service:CacheServiceStorage",
    "local": "perf_storage_nb.backends.local:LocalStorage",
    "memory": "perf_storage_nb.backends.memory:MemoryStorage",
}
registry = MappingProxyType(_registry)
_entry_points_loaded = False

#: env var -> config key it provides when the config does not say
ENV_VARS: dict[str, str] = {
    "PERF_STORAGE_BACKEND": "backend",
    "PERF_STORAGE_SESSION": "session_id",
    "PERF_STORAGE_TARGET": "target_id",
    "PERF_STORAGE_ROOT": "root",
    "PERF_STORAGE_URL": "url",
    "PERF_STORAGE_API_KEY": "api_key",
    "PERF_STORAGE_NAMESPACE": "namespace",
}
_REQUIRED = ("backend", "session_id", "target_id")


def register_backend(name: str, cls: str | type[BaseStorage], *, replace: bool = False) -> None:
    """Add a backend under ``name`` (a class or a ``"module:Class"`` path)."""
    if name in _registry and not replace:
        raise StorageConfigError(f"backend {name!r} is already registered; pass replace=True to override it")
    _registry[name] = cls


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points  # ~20-80 ms: only when an unknown name is asked for

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _registry.setdefault(ep.name, ep.value)


def available_backends() -> list[str]:
    """Names of every known backend, built-in and from the ``perf_storage_nb.backends`` entry points."""
    _load_entry_points()
    return sorted(_registry)


def backend_class(name: str) -> type[BaseStorage]:
    """The class registered under ``name``; StorageConfigError lists the valid names."""
    if name not in _registry:
        _load_entry_points()
    target = _registry.get(name) if isinstance(name, str) else None
    if target is None:
        raise StorageConfigError(f"unknown backend {name!r}; valid backends: {', '.join(available_backends())}")
    if isinstance(target, str):
        module, _, attr = target.partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise StorageConfigError(f"backend {name!r} ({target}) cannot be loaded: {exc}") from exc
        _registry[name] = cls
        target = cls
    if not (isinstance(target, type) and issubclass(target, BaseStorage)):
        raise StorageConfigError(f"backend {name!r} is {target!r}, not a BaseStorage subclass")
    return target


def _parse_url(url: str) -> dict[str, Any]:
    """``memory://[name]``, ``file:///abs`` or a plain path, ``http(s)://host:port[?namespace=..]``."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. "Invalid IPv6 URL" for http://[::1
        raise StorageConfigError(
            f"invalid storage URL {redact_url(url)!r} ({exc}); use memory://[name], file:///abs/path or "
            "./rel/path, http(s)://host:port[?namespace=NAME]"
        ) from None
    query = dict(parse_qsl(parts.query))
    if "backend" in query:
        raise StorageConfigError(
            f"URL {redact_url(url)!r} sets 'backend' in its query; the scheme (memory://, file://, http://) chooses it"
        )
    scheme = parts.scheme.lower()
    if scheme == "memory":
        name = (parts.netloc + parts.path).strip("/")
        return {"backend": "memory", **({"name": name} if name else {}), **query}
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise StorageConfigError(
                f"file URL {redact_url(url)!r} names host {parts.netloc!r}; use file:///absolute/path"
            )
        return {"backend": "local", "root": unquote(parts.path), **query}
    if scheme in ("http", "https"):
        base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        return {"backend": "cache_service", "url": base, **query}
    if scheme == "" or (len(scheme) == 1 and os.name == "nt"):
        if not url.strip():
            raise StorageConfigError("empty storage URL; use memory://, file:///path, ./path or http(s)://host:port")
        if redact_url(url) != url:  # e.g. "host:8000?api_key=..." without its http://: not a folder name
            raise StorageConfigError(
                f"{redact_url(url)!r} is not a folder path (it carries a secret like a URL); a cache service URL "
                "starts with http(s)://, and the key goes in api_key=... or env PERF_STORAGE_API_KEY"
            )
        return {"backend": "local", "root": url}
    raise StorageConfigError(
        f"unsupported URL scheme {parts.scheme!r} in {redact_url(url)!r}; use memory://[name], "
        "file:///abs/path or ./rel/path, http(s)://host:port"
    )


def _coerce(cls: type[BaseStorage], options: dict[str, Any]) -> dict[str, Any]:
    """URL query strings and env vars give str; convert to the parameter's annotated bool/int/float."""
    sig = inspect.signature(cls)
    out = dict(options)
    for name, value in options.items():
        param = sig.parameters.get(name)
        if param is None or not isinstance(value, str):
            continue
        ann = str(param.annotation)
        shown = "***" if is_secret_name(name) else repr(value)  # never echo a secret, even a malformed one
        if ann.startswith("bool"):
            low = value.lower()
            if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise StorageConfigError(f"option {name}={shown} must be a boolean (true/false)")
            out[name] = low in ("1", "true", "yes", "on")
        elif ann.startswith(("float", "int")):
            try:
                out[name] = float(value) if ann.startswith("float") else int(value)
            except ValueError:
                raise StorageConfigError(f"option {name}={shown} must be a number") from None
    return out


def create_storage(config: Mapping[str, Any] | str | None = None, **overrides: Any) -> BaseStorage:
    """Build a storage from a config dict or URL; missing keys come from env vars.

    Keys: ``backend`` (memory | local | cache_service | a registered name), ``session_id``, ``target_id``,
    plus the backend's own options (memory: name; local: root, fsync; cache_service: url, api_key, namespace, ...).
    """
    if config is None:
        options: dict[str, Any] = {}
    elif isinstance(config, str):
        options = _parse_url(config)
    elif isinstance(config, Mapping):
        options = dict(config)
        if isinstance(options.get("url"), str) and "backend" not in options:
            options = {**_parse_url(options.pop("url")), **options}
    else:
        raise StorageConfigTypeError(f"config must be a dict or a URL string, not {type(config).__name__}")
    options.update(overrides)
    bad = [k for k in options if not isinstance(k, str) or k.startswith("_")]
    if bad:
        raise StorageConfigError(f"config keys must be public str names, not {bad!r}")
    backend = options.pop("backend", None) or os.environ.get("PERF_STORAGE_BACKEND")
    if backend is None:
        raise StorageConfigError(
            "config has no 'backend' (and PERF_STORAGE_BACKEND is not set); valid backends: "
            f"{', '.join(available_backends())}"
        )
    if not isinstance(backend, str):
        raise StorageConfigTypeError(
            f"'backend' must be a name (str), not {type(backend).__name__}; valid backends: "
            f"{', '.join(available_backends())}"
        )
    cls = backend_class(backend)
    params = {n: p for n, p in inspect.signature(cls).parameters.items() if not n.startswith("_")}
    for env, key in ENV_VARS.items():
        if key in params and key not in options and os.environ.get(env):
            options[key] = os.environ[env]
    unknown = sorted(set(options) - set(params))
    if unknown:
        raise StorageConfigError(
            f"unknown config key(s) {', '.join(map(repr, unknown))} for backend {backend!r}; valid keys: backend, "
            f"{', '.join(params)}"
        )
    missing = [n for n, p in params.items() if p.default is inspect.Parameter.empty and n not in options]
    if missing:
        envs = {v: k for k, v in ENV_VARS.items()}
        hints = ", ".join(f"{m!r}" + (f" (or env {envs[m]})" if m in envs else "") for m in missing)
        raise StorageConfigError(f"config for backend {backend!r} is missing {hints}")
    return cls(**_coerce(cls, options))


class _CreateMethod:
    """``StorageFactory.create(config)`` on the class (the seed's form) and ``StorageFactory(config).create()``."""

    def __get__(self, obj: StorageFactory | None, owner: type) -> Any:
        if obj is None:
            return create_storage

        def create(config: Mapping[str, Any] | str | None = None, **overrides: Any) -> BaseStorage:
            """Build a storage from this factory's config (or the one given)."""
            return create_storage(obj.config if config is None else config, **overrides)

        return create


class StorageFactory:
    """The seed's factory: ``StorageFactory.create(config)`` (alias ``Perf__Storage__Factory``)."""

    create = _CreateMethod()

    def __init__(self, config: Mapping[str, Any] | str | None = None) -> None:
        self.config = config

    def __repr__(self) -> str:
        return "StorageFactory()"

    @staticmethod
    def from_config(config: Mapping[str, Any]) -> BaseStorage:
        """Rebuild a storage from ``storage.to_config()``."""
        return create_storage(config)
