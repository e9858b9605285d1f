"""``%storage use``: pick the backend and/or the session/target; a new backend is checked before it is used.

Each word is read by what it is, never guessed (a bare word is not silently a session name)::

    %storage use memory:// exp1/run1                  # URL + SESSION/TARGET
    %storage use http://127.0.0.1:8000?namespace=perf  # URL options as the factory takes them
    %storage use local root=./results -s exp1         # backend name + config fields
    %storage use {url}                                # {var}: a variable's value, like in keys
    %storage use store                                # a variable holding a storage or a config dict
    %storage use exp2/run1                            # another session/target, same backend
"""

from __future__ import annotations

import re
from argparse import Namespace
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...addressing import expand_vars
from ...base import BaseStorage
from ...errors import StorageError, StorageNameError
from ...factory import available_backends
from ...redact import redact_url
from .base import Command, Context
from .parsing import Arg, CommandError, Complete, did_you_mean, shell_words

ORDER = 5  # first in %storage help

_ONE_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_URL_FORMS = "memory://[name], ./path, file:///path, http(s)://host:port[?namespace=NAME]"


def use_words(text: str) -> list[str]:
    """A line starting with a ``{config-dict}`` is one Python expression; anything else is split like a shell."""
    first = text.split(None, 1)[0] if text.strip() else ""
    if first.startswith("{") and not _ONE_VAR.fullmatch(first):
        return ["--", text.strip()]
    return shell_words(text)


@dataclass
class _Plan:
    """What the words of one ``use`` line ask for."""

    where: str | dict[str, Any] | BaseStorage | None = None  # URL/backend name, config dict or a storage object
    fields: dict[str, Any] = field(default_factory=dict)
    scope: str | None = None  # SESSION/TARGET


def _value_of(ctx: Context, word: str) -> Any:
    """A word that is exactly ``{name}``: the variable's value (a storage or dict is used as it is)."""
    name = word[1:-1]
    for ns in ctx.namespaces:
        if name in ns:
            return ns[name]
    raise ctx.fail(f"{word} names no variable")


def _variable(ctx: Context, word: str) -> Any:
    """The value of a bare identifier that names a storage or config-dict variable (else None)."""
    if not word.isidentifier():
        return None
    for ns in ctx.namespaces:
        if word in ns:
            value = ns[word]
            if isinstance(value, (BaseStorage, Mapping)):
                return value
            if isinstance(value, str):
                raise ctx.fail(f"{word!r} is a str variable; write use {{{word}}} to use its value")
            return None
    return None


def _unknown(word: str) -> str:
    backends = available_backends()
    shown = redact_url(word)
    return (
        f"{shown!r} is not a backend, a URL, a storage variable or SESSION/TARGET; backends: {', '.join(backends)}; "
        f"URLs: {_URL_FORMS}; another session: use {shown}/TARGET or use -s {shown}{did_you_mean(word, backends)}"
    )


def _set_where(ctx: Context, plan: _Plan, where: str | dict[str, Any] | BaseStorage, word: str) -> None:
    if plan.where is not None:
        raise ctx.fail(f"two backends given ({_shown(plan.where)} and {redact_url(word)!r})")
    plan.where = where


def _shown(where: str | dict[str, Any] | BaseStorage) -> str:
    if isinstance(where, BaseStorage):
        return repr(where.describe())
    return "a config dict" if isinstance(where, dict) else repr(redact_url(where))


def _read(ctx: Context, plan: _Plan, word: str) -> None:
    """Classify one word of the line into the plan."""
    if _ONE_VAR.fullmatch(word):
        value = _value_of(ctx, word)
        if isinstance(value, (BaseStorage, Mapping)):
            _set_where(ctx, plan, value if isinstance(value, BaseStorage) else dict(value), word)
            return
        if not isinstance(value, str):
            raise ctx.fail(f"{word} is a {type(value).__name__}; use takes a URL, a backend name, a storage or a dict")
        word = value
    else:
        try:
            word = expand_vars(word, ctx.namespaces)
        except StorageNameError as exc:
            raise ctx.fail(str(exc)) from None
    if "://" in word or word.startswith(("/", ".", "~")):
        _set_where(ctx, plan, word, word)  # URL options (?namespace=...) go to the factory with the URL
    elif "=" in word:
        name, _, value = word.partition("=")
        plan.fields[name.strip()] = value
    elif (value := _variable(ctx, word)) is not None:
        _set_where(ctx, plan, value if isinstance(value, BaseStorage) else dict(value), word)
    elif word in available_backends():
        _set_where(ctx, plan, word, word)
    elif "/" in word:
        if plan.scope is not None:
            raise ctx.fail(f"two SESSION/TARGET given ({plan.scope!r} and {word!r})")
        plan.scope = word
    else:
        raise CommandError(_unknown(word), usage=False)  # it already lists what is accepted


def _session_target(ctx: Context, plan: _Plan, args: Namespace, base: BaseStorage) -> tuple[str, str, bool]:
    """The session and target asked for (default: ``base``'s), and whether the line named any."""
    session, target = base.session_id, base.target_id
    if plan.scope is not None:
        scope = ctx.scope(plan.scope)
        if scope.session is None or scope.target is None:
            raise ctx.fail(f"{plan.scope!r}: write SESSION/TARGET (or -s SESSION / -t TARGET)")
        session, target = scope.session, scope.target
    asked_session = plan.fields.pop("session_id", None) or _expanded(ctx, args.session)
    asked_target = plan.fields.pop("target_id", None) or _expanded(ctx, args.target)
    explicit = plan.scope is not None or asked_session is not None or asked_target is not None
    return asked_session or session, asked_target or target, explicit


def _expanded(ctx: Context, text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return expand_vars(text, ctx.namespaces)
    except StorageNameError as exc:
        raise ctx.fail(str(exc)) from None


def _switch(ctx: Context, storage: BaseStorage, *, created: bool, keep_root: bool = False) -> None:
    ctx.host.switch_storage(storage, created=created, keep_root=keep_root)
    ctx.say(1, f"Using {ctx.where(storage)}")


def _checked(storage: BaseStorage, *, created: bool) -> BaseStorage:
    """``storage`` once its backend answered (``check()``); a storage we created is closed when it did not."""
    try:
        storage.check()
    except StorageError:
        if created:
            storage.close()
        raise  # the current storage stays: nothing was switched yet
    return storage


def _use(ctx: Context, args: Namespace) -> None:
    words = [w for w in (args.where, args.scope) if w is not None] + list(args.fields)
    if not words and args.session is None and args.target is None:
        current = ctx.storage
        print(f"{ctx.where(current)}  ({type(current).__name__})")
        return
    plan = _Plan()
    if words and words[0].lstrip().startswith("{") and not _ONE_VAR.fullmatch(words[0]):
        config = ctx.evaluate(words[0])
        if not isinstance(config, Mapping):
            raise ctx.fail(f"{{...}} must be a config dict, not {type(config).__name__}")
        plan.where, words = dict(config), words[1:]
    for word in words:
        _read(ctx, plan, word)
    if isinstance(plan.where, BaseStorage):
        if plan.fields:
            raise ctx.fail(f"config fields ({', '.join(plan.fields)}) cannot change an existing storage")
        adopted = plan.where
        session, target, _ = _session_target(ctx, plan, args, adopted)
        if (session, target) != (adopted.session_id, adopted.target_id):
            adopted = adopted.for_session(session, target)
        _switch(ctx, _checked(adopted, created=False), created=False)
        return
    current = ctx.storage
    session, target, explicit = _session_target(ctx, plan, args, current)
    if plan.where is None and not plan.fields:
        # A sibling shares the root's connection: the root stays ours and is closed when it is replaced.
        _switch(ctx, current.for_session(session, target), created=False, keep_root=True)
        return
    where = plan.where if plan.where is not None else plan.fields.pop("backend", None) or ctx.settings.default_backend
    if isinstance(where, dict) and explicit:  # a config dict's own session/target give way to the line's
        plan.fields.update(session_id=session, target_id=target)
    storage = ctx.host.build_storage(where, plan.fields, session, target)
    _switch(ctx, _checked(storage, created=True), created=True)


USE = Command(
    "use",
    "Switch backend (WHERE: URL, backend, storage or config variable, {var}, {dict}; checked first) and/or "
    "session/target; bare: show the current one.",
    args=(
        Arg("where", metavar="WHERE", nargs="?", complete=(Complete.BACKEND, Complete.SESSION_TARGET)),
        Arg("scope", metavar="SESSION/TARGET", nargs="?", complete=Complete.SESSION_TARGET),
        Arg("fields", metavar="field=value", nargs="*"),
        Arg("-s", "--session", metavar="SESSION", complete=Complete.SESSION),
        Arg("-t", "--target", metavar="TARGET", complete=Complete.TARGET),
    ),
    line=_use,
    split=use_words,
)
