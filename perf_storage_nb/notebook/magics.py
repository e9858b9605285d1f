"""``%storage`` / ``%%storage``: thin magics over the storage classes (settings are traitlets).

Example::

    %load_ext perf_storage_nb
    %storage use memory:// --session exp1 --target run1
    %storage save metrics.json {"p50_ms": 12.5}
    %storage show metrics.json
    %%storage diff
    run_the_benchmark()
"""

from __future__ import annotations

import copy
import dataclasses
import html
import json
import os
import shlex
import sys
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import (
    Magics,
    line_cell_magic,
    magics_class,
    needs_local_scope,
    no_var_expand,
)
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Int, TraitError, Unicode, default, observe, validate
from traitlets.config import Config, Configurable

from ..base import BaseStorage
from ..diff import (
    DiffResult,
    Snapshot,
    diff_keys,
    diff_now,
    diff_scopes,
    diff_snapshots,
    load_kind,
    scope_label,
    snapshot,
)
from ..errors import StorageError
from ..factory import available_backends, create_storage
from .grammar import (
    CELL_COMMANDS,
    COMMANDS,
    KeyRef,
    Scope,
    expand_vars,
    help_text,
    one_line,
    parse_key_ref,
    parse_scope,
    parser_for,
    subcommands_help,
    usage_error,
)
from .render import (
    KeyListing,
    RichText,
    StoredValue,
    human_size,
    tree_from_storage,
    value_size,
)
from .settings import project_settings

try:  # IPython >= 8.10; older versions simply show the value after a trailing ';'
    from IPython.core.magic import output_can_be_silenced
except ImportError:  # pragma: no cover

    def output_can_be_silenced(fn: Any) -> Any:  # type: ignore[no-redef]
        return fn


__all__ = ["StorageMagics"]

LONG_LISTING_MAX = 500  # `ls -l` asks info() per key: one request each on the cache service, so it stops here
_MISSING: Any = object()


@magics_class
class StorageMagics(Magics, Configurable):
    """Save, load, list, show and diff stored values from a notebook (``%storage help`` lists subcommands)."""

    default_backend = Unicode(
        help="Backend used until `%storage use`: a URL (memory://, file:///path, ./path, http(s)://host:port) or a "
        "backend name configured by env vars. Default: $PERF_STORAGE_URL, else $PERF_STORAGE_BACKEND, else memory://.",
    ).tag(config=True)
    default_session = Unicode(
        help="Session used until `%storage use` (default: $PERF_STORAGE_SESSION or 'notebook')."
    ).tag(config=True)
    default_target = Unicode(help="Target used until `%storage use` (default: $PERF_STORAGE_TARGET or 'main').").tag(
        config=True
    )
    feedback = Int(1, help="0: silent, 1: one line per save/rm/use, 2: also print what load/snapshot did.").tag(
        config=True
    )
    preview_max_bytes = Int(1_000_000, help="Largest part of a value `%storage show` renders as HTML (bytes).").tag(
        config=True
    )
    preview_max_chars = Int(2000, help="Characters of the plain-text preview (terminals, nbval).").tag(config=True)
    deterministic = Bool(False, help="Stable output for nbval: no modification times, no absolute paths.").tag(
        config=True
    )

    @default("default_backend")
    def _default_backend(self) -> str:
        return (
            os.environ.get("PERF_STORAGE_URL")
            or os.environ.get("PERF_STORAGE_BACKEND")
            or str(self._project.get("default_backend") or "memory://")
        )

    @default("default_session")
    def _default_session(self) -> str:
        return os.environ.get("PERF_STORAGE_SESSION") or str(self._project.get("default_session") or "notebook")

    @default("default_target")
    def _default_target(self) -> str:
        return os.environ.get("PERF_STORAGE_TARGET") or str(self._project.get("default_target") or "main")

    @validate("feedback")
    def _check_feedback(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value not in (0, 1, 2):
            # TraitError (not UsageError): only that makes traitlets roll the value back under %config.
            raise TraitError(f"StorageMagics.feedback must be 0, 1 or 2, not {value}")
        return value

    @validate("preview_max_bytes", "preview_max_chars")
    def _check_positive(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise TraitError(f"StorageMagics.{proposal['trait'].name} must be >= 1, not {value}")
        return value

    @observe("default_backend", "default_session", "default_target")
    def _on_defaults_change(self, change: Any) -> None:
        if not self._adopted:
            self._drop_storage()  # rebuilt lazily from the new defaults

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        # jupysql's order: Configurable first (reads shell.config), then Magics.
        self._storage: BaseStorage | None = None  # what the magics work on (may be a sibling of _root)
        self._root: BaseStorage | None = None  # the storage we created: closing it closes its siblings' pool too
        self._adopted = False  # True after `use` picked a backend explicitly
        self._browser: Any = None  # the live StorageBrowser we opened, and the root it browses
        self._browser_root: BaseStorage | None = None
        self._pinned: list[BaseStorage] = []  # replaced roots the live browser still uses; closed with it
        self.snapshots: dict[str, tuple[Scope, Snapshot]] = {}
        self._project = project_settings()  # [tool.perf_storage_nb]: below %config and env vars
        self._init_config(shell.config if shell is not None else None)
        # Magics would load shell.config again (as parent); hand it the checked config instead.
        Magics.__init__(self, shell=shell, **{"config": self.config, **kwargs})
        configured = self.config.get("StorageMagics", {})
        for name in ("feedback", "preview_max_bytes", "preview_max_chars", "deterministic"):
            if name in self._project and name not in configured:
                try:
                    setattr(self, name, self._project[name])
                except TraitError as exc:
                    print(
                        f"perf_storage_nb: [tool.perf_storage_nb] {name}: {exc}; keeping {getattr(self, name)!r}",
                        file=sys.stderr,
                    )

    def _init_config(self, config: Config | None) -> None:
        """Apply the shell config, skipping (with a warning) values our traits reject."""
        name = type(self).__name__
        if config is None or name not in config:
            Configurable.__init__(self, config=config)
            return
        # A rejected `%config StorageMagics.x = ...` stays in shell.config (the shell merges every %config line);
        # applied in one go it would stop the extension from ever loading again, so apply ours one by one.
        section = dict(config[name])
        rest = copy.deepcopy(config)
        del rest[name]
        Configurable.__init__(self, config=rest)
        for trait, value in section.items():
            try:
                self.update_config(Config({name: {trait: value}}))
            except TraitError as exc:
                print(
                    f"perf_storage_nb: ignoring {name}.{trait} = {value!r} from the config ({exc}); "
                    f"keeping {getattr(self, trait, None)!r}",
                    file=sys.stderr,
                )

    # ---- the current storage ------------------------------------------------------------------------
    @property
    def current_storage(self) -> BaseStorage:
        """The storage the magics work on (created from the defaults on first use)."""
        if self._storage is None:
            self._storage = self._root = self._build(
                self.default_backend, {}, self.default_session, self.default_target
            )
        return self._storage

    def _build(self, where: str | dict[str, Any], fields: dict[str, Any], session: str, target: str) -> BaseStorage:
        if isinstance(where, dict):
            config: dict[str, Any] = {**where, **fields}
            config.setdefault("session_id", session)
            config.setdefault("target_id", target)
            return create_storage(config)
        if "://" in where or where.startswith(("/", ".", "~")):
            return create_storage(where, **{"session_id": session, "target_id": target, **fields})
        return create_storage({"backend": where, "session_id": session, "target_id": target, **fields})

    def _drop_storage(self) -> None:
        root = self._root
        self._storage = self._root = None
        if root is None:
            return
        if self._browser is not None and root is self._browser_root:
            self._pinned.append(root)  # the live browser still reads through it; closed when the browser closes
        else:
            root.close()

    def _browser_closed(self) -> None:
        """The live browser closed: close the roots only it still used."""
        self._browser = self._browser_root = None
        pinned, self._pinned = self._pinned, []
        for storage in pinned:
            storage.close()

    def close(self) -> None:
        """Close the live browser we opened and every storage we created (on unload)."""
        if self._browser is not None:
            self._browser.close()  # calls _browser_closed
        self._browser_closed()
        self._drop_storage()
        self.snapshots.clear()

    def _where(self, storage: BaseStorage) -> str:
        """Location for messages; relative to the working folder in deterministic mode."""
        text = storage.describe()
        if self.deterministic and text.startswith("file://"):
            root = str(storage.to_config().get("root", ""))
            rel = os.path.relpath(root) if root else "<root>"
            shown = rel if not rel.startswith("..") else "<root>"
            return f"file://{shown}/{storage.session_id}/{storage.target_id}"
        return text

    def _say(self, level: int, text: str) -> None:
        if self.feedback >= level:
            print(text)

    # ---- the magic ----------------------------------------------------------------------------------
    @no_var_expand
    @needs_local_scope
    @output_can_be_silenced
    @magic_arguments()
    @argument("subcommand", nargs="?", default="ls", help=subcommands_help())
    @argument("args", nargs="*", help="arguments of the subcommand; `%%storage help SUBCOMMAND` shows them")
    @line_cell_magic
    def storage(self, line: str = "", cell: str | None = None, local_ns: dict[str, Any] | None = None) -> Any:
        """Save, load, list, show and diff stored values: `%storage SUBCOMMAND ...` (`%storage help` lists them).

        Examples::

            %storage use memory:// --session exp1 --target run1
            %storage save metrics.json {"p50_ms": 12.5}
            x = %storage load metrics.json
            %storage show report.html
            %storage diff metrics.json --against baseline
            %%storage save_string notes.md
            # Results ...
        """
        line = line.strip()
        if line.endswith(";"):
            # IPython hides the result of a line ending in ';' (output_can_be_silenced) but passes the ';' on.
            line = line[:-1].rstrip()
        command, _, rest = line.partition(" ")
        command = command or "ls"
        if command in ("-h", "--help", "?"):
            command, rest = "help", ""
        if command not in COMMANDS:
            raise UsageError(
                one_line(f"unknown subcommand {command!r}; subcommands: {', '.join(COMMANDS)} (%storage help)")
            )
        if rest.strip() in ("-h", "--help"):
            command, rest = "help", command
        namespaces = [ns for ns in (local_ns, self.shell.user_ns if self.shell else None) if ns is not None]
        try:
            if cell is not None:
                handler = getattr(self, f"_cell_{command}", None)
                if handler is None:
                    raise UsageError(f"%%storage {command} has no cell form; cell forms: {', '.join(CELL_COMMANDS)}")
                return handler(rest, cell, namespaces)
            if command == "capture":
                raise usage_error("capture", "capture is a cell magic (%%storage capture KEY)")
            return getattr(self, f"_{command}")(rest, namespaces)
        except StorageError as exc:
            # The one place library errors become UsageError: one red line, no traceback (a subclass would print one).
            raise UsageError(one_line(f"{command}: {exc}")) from None

    # ---- helpers ------------------------------------------------------------------------------------
    def _args(self, command: str, rest: str) -> Any:
        try:
            tokens = shlex.split(rest)
        except ValueError as exc:
            raise usage_error(command, f"cannot split the arguments ({exc})") from None
        return parser_for(command).parse_args(tokens)

    def _ref(
        self, text: str, command: str, namespaces: list[dict[str, Any]], *, prefix: bool = False
    ) -> tuple[BaseStorage, str]:
        ref: KeyRef = parse_key_ref(expand_vars(text, namespaces, command), command, prefix=prefix)
        storage = self.current_storage
        if ref.session is not None:
            storage = storage.for_session(ref.session, ref.target)
        return storage, ref.key

    def _eval(self, expr: str, command: str, namespaces: list[dict[str, Any]]) -> Any:
        if not expr.strip():
            raise usage_error(command, "missing the value expression")
        local = namespaces[0] if namespaces else {}
        global_ = namespaces[-1] if namespaces else {}
        try:
            return eval(expr, global_, local)  # noqa: S307 - the user's own expression, like %store
        except Exception as exc:  # noqa: BLE001 - a broken expression is a user mistake, shown in one line
            raise usage_error(command, f"cannot evaluate {expr.strip()!r}: {type(exc).__name__}: {exc}") from None

    def _split_key_expr(self, command: str, rest: str) -> tuple[str, str, bool]:
        quiet = False
        parts = rest.strip().split(None, 1)
        while parts and parts[0] in ("-q", "--quiet"):
            quiet = True
            parts = parts[1].split(None, 1) if len(parts) > 1 else []
        if len(parts) < 2:
            raise usage_error(command, "needs KEY and a value expression")
        return parts[0], parts[1], quiet

    def _bind(self, var: str, value: Any, command: str) -> None:
        if not var.isidentifier():
            raise usage_error(command, f"-o needs a Python variable name, not {var!r}")
        self.shell.user_ns[var] = value

    def _saved(self, storage: BaseStorage, key: str, kind: str, size: int, quiet: bool) -> None:
        if not quiet:
            self._say(1, f"Saved {key!r} ({kind}, {human_size(size)}) -> {self._where(storage)}")

    def _missing(self, storage: BaseStorage, key: str, command: str) -> UsageError:
        return usage_error(command, f"no key {key!r} in {self._where(storage)} (%storage ls lists the keys)")

    # ---- subcommands --------------------------------------------------------------------------------
    def _use(self, rest: str, namespaces: list[dict[str, Any]]) -> None:
        if rest.lstrip().startswith("{"):
            config = self._eval(rest, "use", namespaces)
            if not isinstance(config, dict):
                raise usage_error("use", f"{{...}} must be a config dict, not {type(config).__name__}")
            self._switch(
                create_storage(
                    {
                        "session_id": self.current_storage.session_id,
                        "target_id": self.current_storage.target_id,
                        **config,
                    }
                ),
                created=True,
            )
            return
        args = self._args("use", rest)
        if not args.things and args.session is None and args.target is None:
            print(f"{self._where(self.current_storage)}  ({type(self.current_storage).__name__})")
            return
        fields: dict[str, Any] = {}
        where: str | None = None
        switch: str | None = None
        for thing in args.things:
            if "=" in thing:
                name, _, value = thing.partition("=")
                fields[name.strip()] = value
            elif thing.isidentifier() and any(isinstance(ns.get(thing), BaseStorage) for ns in namespaces):
                adopted = next(ns[thing] for ns in namespaces if isinstance(ns.get(thing), BaseStorage))
                if args.session or args.target:
                    adopted = adopted.for_session(args.session or adopted.session_id, args.target or adopted.target_id)
                self._switch(adopted, created=False)
                return
            elif "://" in thing or thing.startswith(("/", ".", "~")) or thing in available_backends():
                if where is not None:
                    raise usage_error("use", f"two backends given ({where!r} and {thing!r})")
                where = thing
            elif switch is None:
                switch = thing
            else:
                raise usage_error("use", f"unexpected {thing!r}")
        session, target = self.current_storage.session_id, self.current_storage.target_id
        if switch is not None:
            scope = parse_scope(switch, "use")
            if scope.session is None:
                raise usage_error("use", "use needs one session, not *")
            session, target = scope.session, scope.target or target
        session = fields.pop("session_id", None) or args.session or session
        target = fields.pop("target_id", None) or args.target or target
        if where is None and not fields:
            # A sibling shares the root's connection: the root stays ours and is closed when it is replaced.
            self._switch(self.current_storage.for_session(session, target), created=False, keep_root=True)
        else:
            if where is None:
                where = fields.pop("backend", None) or self.default_backend
            self._switch(self._build(where, fields, session, target), created=True)

    def _switch(self, storage: BaseStorage, *, created: bool, keep_root: bool = False) -> None:
        if not keep_root:
            self._drop_storage()
            self._root = storage if created else None  # a storage the user passed in stays the user's to close
        self._storage, self._adopted = storage, True
        self._say(1, f"Using {self._where(storage)}")

    def _ls(self, rest: str, namespaces: list[dict[str, Any]]) -> KeyListing:
        args = self._args("ls", rest)
        where = args.where
        storage, prefix = self._ref(where, "ls", namespaces, prefix=True) if where else (self.current_storage, "")
        keys = storage.list_keys(prefix)
        if not args.long:
            return KeyListing(self._where(storage), keys, prefix)
        # Kind, size and hash cost one info() per key (an HTTP request on the cache service): only with -l, capped.
        rows = [info for info in map(storage.info, keys[:LONG_LISTING_MAX]) if info is not None]
        return KeyListing(self._where(storage), rows, prefix, long=True, more=max(0, len(keys) - LONG_LISTING_MAX))

    def _sessions(self, rest: str, namespaces: list[dict[str, Any]]) -> list[str]:
        self._args("sessions", rest)
        return self.current_storage.sessions()

    def _targets(self, rest: str, namespaces: list[dict[str, Any]]) -> list[str]:
        args = self._args("targets", rest)
        return self.current_storage.targets(args.session)

    def _save(self, rest: str, namespaces: list[dict[str, Any]]) -> None:
        key_text, expr, quiet = self._split_key_expr("save", rest)
        storage, key = self._ref(key_text, "save", namespaces)
        value = self._eval(expr, "save", namespaces)
        storage.save(key, value)
        self._saved(storage, key, "json", value_size("json", value), quiet)

    def _save_string(self, rest: str, namespaces: list[dict[str, Any]]) -> None:
        key_text, expr, quiet = self._split_key_expr("save_string", rest)
        storage, key = self._ref(key_text, "save_string", namespaces)
        value = self._eval(expr, "save_string", namespaces)
        if not isinstance(value, str):
            raise usage_error(
                "save_string", f"{expr.strip()!r} is a {type(value).__name__}, not a str (use save for JSON)"
            )
        storage.save_string(key, value)
        self._saved(storage, key, "text", value_size("text", value), quiet)

    def _load_common(
        self, command: str, rest: str, namespaces: list[dict[str, Any]], loader: Callable[[BaseStorage], Any]
    ) -> Any:
        args = self._args(command, rest)
        storage, key = self._ref(args.key, command, namespaces)
        missing = object()
        value = loader(storage)(key, missing)
        if value is missing:
            raise self._missing(storage, key, command)
        if args.out:
            self._bind(args.out, value, command)
            self._say(2, f"Loaded {key!r} into {args.out}")
            return None
        return value

    def _load(self, rest: str, namespaces: list[dict[str, Any]]) -> Any:
        return self._load_common("load", rest, namespaces, lambda s: s.load)

    def _load_string(self, rest: str, namespaces: list[dict[str, Any]]) -> Any:
        return self._load_common("load_string", rest, namespaces, lambda s: s.load_string)

    def _show(self, rest: str, namespaces: list[dict[str, Any]]) -> StoredValue:
        args = self._args("show", rest)
        storage, key = self._ref(args.key, "show", namespaces)
        max_bytes = args.max_bytes if args.max_bytes is not None else self.preview_max_bytes
        if max_bytes < 1:
            raise usage_error("show", f"--max-bytes must be >= 1, not {max_bytes}")
        info = storage.info(key)
        # The kind's own loader reads once; the kind decides the rendering (a JSON string is not text).
        value = _MISSING if info is None else load_kind(storage, key, info.kind, _MISSING)
        if info is None or value is _MISSING:
            raise self._missing(storage, key, "show")
        return StoredValue(key, info.kind, value, max_bytes, self.preview_max_chars)

    def _info(self, rest: str, namespaces: list[dict[str, Any]]) -> Any:
        args = self._args("info", rest)
        if args.key is None:
            storage = self.current_storage
            text = (
                f"{self._where(storage)}  ({type(storage).__name__}; session {storage.session_id!r}, "
                f"target {storage.target_id!r}, {len(storage.list_keys())} keys)"
            )
            return RichText(text, f"<code>{html.escape(text)}</code>", "StorageInfo")
        storage, key = self._ref(args.key, "info", namespaces)
        info = storage.info(key)
        if info is None:
            raise self._missing(storage, key, "info")
        return dataclasses.replace(info, modified=None) if self.deterministic else info

    def _rm(self, rest: str, namespaces: list[dict[str, Any]]) -> None:
        args = self._args("rm", rest)
        refs: dict[tuple[str, str, str], tuple[BaseStorage, str]] = {}
        for text in args.keys:
            storage, key = self._ref(text, "rm", namespaces)
            refs.setdefault((storage.session_id, storage.target_id, key), (storage, key))  # `rm k k` deletes k once
        missing: dict[str, list[str]] = {}
        for storage, key in refs.values():
            if not storage.exists(key):
                missing.setdefault(self._where(storage), []).append(repr(key))
        if missing:
            # Check everything first: a typo in the third key must not leave the first two deleted.
            where = "; ".join(f"no key {', '.join(keys)} in {place}" for place, keys in missing.items())
            raise usage_error("rm", f"{where}; nothing deleted")
        for storage, key in refs.values():
            storage.delete(key)
            if not args.quiet:
                self._say(1, f"Deleted {key!r} from {self._where(storage)}")

    def _exists(self, rest: str, namespaces: list[dict[str, Any]]) -> bool:
        args = self._args("exists", rest)
        storage, key = self._ref(args.key, "exists", namespaces)
        return storage.exists(key)

    def _versions(self, rest: str, namespaces: list[dict[str, Any]]) -> list[str]:
        args = self._args("versions", rest)
        storage, key = self._ref(args.key, "versions", namespaces)
        return storage.versions(key)

    def _scope_storages(self, scope: Scope | None) -> list[BaseStorage]:
        """The targets a scope covers now (default: every target of the current session, plus the current one)."""
        base = self.current_storage
        if scope is None:
            scope = Scope(base.session_id)
        sessions = base.sessions() if scope.session is None else [scope.session]
        out: dict[tuple[str, str], BaseStorage] = {}
        for session in sessions:
            targets = [scope.target] if scope.target else base.targets(session)
            for target in targets:
                out[(session, target)] = base.for_session(session, target)
        if scope.session in (None, base.session_id) and scope.target in (None, base.target_id):
            out.setdefault((base.session_id, base.target_id), base)
        return [out[k] for k in sorted(out)]

    def _snapshot(self, rest: str, namespaces: list[dict[str, Any]]) -> None:
        args = self._args("snapshot", rest)
        if not args.name.isidentifier() and not args.name.replace("-", "_").replace(".", "_").isidentifier():
            raise usage_error("snapshot", f"snapshot name {args.name!r} must be a simple name like base or run1")
        scope = parse_scope(args.scope, "snapshot") if args.scope else Scope(self.current_storage.session_id)
        snap = snapshot(self._scope_storages(scope))
        self.snapshots[args.name] = (scope, snap)
        if args.out:
            self._bind(args.out, snap, "snapshot")
        keys = sum(len(k) for t in snap.values() for k in t.values())
        targets = sum(len(t) for t in snap.values())
        self._say(
            1,
            f"Snapshot {args.name!r}: {keys} keys in {targets} target{'' if targets == 1 else 's'} of {scope.label()}",
        )

    def _diff_opts(self, args: Any) -> dict[str, Any]:
        return {"rel_tol": args.tol, "abs_tol": args.abs_tol, "exclude_paths": tuple(args.exclude)}

    def _snap_ref(self, text: str) -> tuple[Scope, Snapshot]:
        name = text[1:]
        if name not in self.snapshots:
            known = (
                ", ".join("@" + n for n in sorted(self.snapshots)) or "none yet; take one with %storage snapshot NAME"
            )
            raise usage_error("diff", f"no snapshot {text!r} (snapshots: {known})")
        return self.snapshots[name]

    def _diff(self, rest: str, namespaces: list[dict[str, Any]]) -> DiffResult:
        args = self._args("diff", rest)
        opts = self._diff_opts(args)
        ops = args.operands
        if not ops or len(ops) > 2:
            raise usage_error("diff", "needs one or two operands")
        if args.against:
            if len(ops) != 1 or ops[0].startswith("@"):
                raise usage_error("diff", "--against takes exactly one KEY")
            scope = parse_scope(args.against, "diff")
            if scope.session is None:
                raise usage_error("diff", "--against needs SESSION or SESSION/TARGET, not *")
            storage, key = self._ref(ops[0], "diff", namespaces)
            baseline = storage.for_session(scope.session, scope.target or storage.target_id)
            return diff_keys(baseline, key, storage, key, labels=self._key_labels(baseline, key, storage, key), **opts)
        if all(op.startswith("@") for op in ops):
            scope_a, snap_a = self._snap_ref(ops[0])
            if len(ops) == 2:
                _, snap_b = self._snap_ref(ops[1])
                return diff_snapshots(snap_a, snap_b, labels=(ops[0], ops[1]), **opts)
            # Hashes first: only the keys that changed since the snapshot are loaded now.
            return diff_now(snap_a, self._scope_storages(scope_a), labels=(ops[0], f"now ({scope_a.label()})"), **opts)
        if len(ops) == 1:
            raise usage_error("diff", "one operand must be @SNAPSHOT, or add B or --against SESSION[/TARGET]")
        if any(op.startswith("@") for op in ops):
            raise usage_error("diff", "diff @SNAPSHOT against @SNAPSHOT or against now, not against a key")
        scopes = [op for op in ops if op.endswith(":")]
        if scopes:
            if len(scopes) != 2:
                raise usage_error("diff", "diff two scopes (SCOPE: SCOPE:) or two keys, not one of each")
            sides = [self._scope_storages(parse_scope(op[:-1], "diff")) for op in ops]
            labels = (scope_label(sides[0], self._where), scope_label(sides[1], self._where))
            return diff_scopes(sides[0], sides[1], labels=labels, **opts)
        (sa, ka), (sb, kb) = (self._ref(op, "diff", namespaces) for op in ops)
        return diff_keys(sa, ka, sb, kb, labels=self._key_labels(sa, ka, sb, kb), **opts)

    def _key_labels(self, sa: BaseStorage, ka: str, sb: BaseStorage, kb: str) -> tuple[str, str]:
        # _where, not describe(): no absolute paths in deterministic mode.
        return f"{self._where(sa)}:{ka}", f"{self._where(sb)}:{kb}"

    def _browse(self, rest: str, namespaces: list[dict[str, Any]]) -> Any:
        args = self._args("browse", rest)
        scope = parse_scope(args.scope, "browse") if args.scope else Scope(None)
        storage = self.current_storage
        if getattr(self.shell, "kernel", None) is not None:
            try:
                from .browser import StorageBrowser
            except ImportError:
                pass
            else:
                start = storage if scope.session is None else storage.for_session(scope.session, scope.target)
                widget = StorageBrowser(start)  # opens at start's session/target; closes the previous browser
                self._browser, self._browser_root = widget, self._root
                widget.on_close(self._browser_closed)
                return widget
        sessions = None if scope.session is None else [scope.session]
        return tree_from_storage(
            storage, sessions=sessions, target=scope.target, location=self._where(storage).rsplit("/", 2)[0]
        )

    def _help(self, rest: str, namespaces: list[dict[str, Any]]) -> RichText:
        args = self._args("help", rest)
        return RichText(help_text(args.topic), name="StorageHelp")

    # ---- cell forms ---------------------------------------------------------------------------------
    def _cell_save_string(self, rest: str, cell: str, namespaces: list[dict[str, Any]]) -> None:
        args = self._args("save_string", rest)
        storage, key = self._ref(args.key, "save_string", namespaces)
        storage.save_string(key, cell)
        self._saved(storage, key, "text", value_size("text", cell), args.quiet)

    def _cell_save(self, rest: str, cell: str, namespaces: list[dict[str, Any]]) -> None:
        args = self._args("save", rest)
        storage, key = self._ref(args.key, "save", namespaces)
        try:
            value = json.loads(cell)
        except ValueError as exc:
            raise usage_error(
                "save", f"the cell body is not JSON ({exc}); %%storage save_string KEY stores text"
            ) from None
        storage.save(key, value)
        self._saved(storage, key, "json", value_size("json", value), args.quiet)

    def _cell_capture(self, rest: str, cell: str, namespaces: list[dict[str, Any]]) -> None:
        import sys

        from IPython.utils.capture import capture_output

        args = self._args("capture", rest)
        storage, key = self._ref(args.key, "capture", namespaces)
        trap = self.shell.display_trap
        saved_hook = trap.hook
        with capture_output() as captured:
            # capture_output swaps sys.displayhook, but the nested run_cell's display trap would put the shell's
            # hook back; point the trap at the capturing hook so the cell's result is captured too.
            trap.hook = sys.displayhook
            try:
                result = self.shell.run_cell(cell, store_history=False)
            finally:
                trap.hook = saved_hook
        captured.show()  # the user still sees what the cell printed and displayed
        if not result.success:
            raise usage_error(
                "capture",
                f"the cell raised {type(result.error_in_exec or result.error_before_exec).__name__}; nothing stored "
                f"under {key!r}",
            )
        page = _capture_page(key, captured.stdout, captured.stderr, [o.data for o in captured.outputs])
        storage.save_string(key, page)
        self._saved(storage, key, "html", len(page.encode("utf-8")), args.quiet)

    def _cell_diff(self, rest: str, cell: str, namespaces: list[dict[str, Any]]) -> DiffResult:
        args = self._args("diff", rest)
        if len(args.operands) > 1 or args.against:
            raise usage_error("diff", "the cell form takes one optional SCOPE")
        scope = parse_scope(args.operands[0], "diff") if args.operands else Scope(self.current_storage.session_id)
        opts = self._diff_opts(args)
        before = snapshot(self._scope_storages(scope))
        result = self.shell.run_cell(cell, store_history=False)
        diff = diff_now(before, self._scope_storages(scope), labels=(f"before ({scope.label()})", "after"), **opts)
        if not result.success:
            from IPython.display import display

            display(diff)  # what the cell changed before it failed is exactly what the user needs now
            error = result.error_in_exec or result.error_before_exec
            raise UsageError(
                one_line(
                    f"diff: the cell raised {type(error).__name__}; the diff above shows what it changed before that"
                )
            )
        return diff


def _capture_page(key: str, stdout: str, stderr: str, outputs: list[dict[str, Any]]) -> str:
    """An HTML document of a cell's output: stdout, each display (HTML preferred), stderr."""
    parts: list[str] = []
    if stdout:
        parts.append(f"<pre class='stdout'>{html.escape(stdout)}</pre>")
    for data in outputs:
        if "text/html" in data:
            parts.append(f"<div class='output'>{data['text/html']}</div>")
        elif "image/png" in data:
            parts.append(f"<img src='data:image/png;base64,{html.escape(str(data['image/png']).strip())}'>")
        elif "image/svg+xml" in data:
            parts.append(f"<div class='output'>{data['image/svg+xml']}</div>")
        elif "text/plain" in data:
            parts.append(f"<pre class='output'>{html.escape(str(data['text/plain']))}</pre>")
    if stderr:
        parts.append(f"<pre class='stderr' style='color:#b00'>{html.escape(stderr)}</pre>")
    body = "\n".join(parts)
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(key)}</title></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )
