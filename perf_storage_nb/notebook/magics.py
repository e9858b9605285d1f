"""``%storage`` / ``%%storage``: the settings (traitlets), the storage the magics own, and dispatch to the records.

The subcommands themselves are records in :mod:`perf_storage_nb.notebook.commands`. Example::

    %load_ext perf_storage_nb
    %storage use memory:// --session exp1 --target run1
    %storage save metrics.json {"p50_ms": 12.5}
    %storage show metrics.json
    %%storage diff
    run_the_benchmark()
"""

from __future__ import annotations

import copy
import os
import sys
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import (
    Magics,
    line_cell_magic,
    magics_class,
    needs_local_scope,
    no_var_expand,
)
from traitlets import Bool, Int, TraitError, Unicode, default, observe, validate
from traitlets.config import Config, Configurable

from ..addressing import Scope
from ..base import BaseStorage
from ..diff import Snapshot
from ..errors import StorageError
from ..factory import create_storage
from .commands.base import Context
from .commands.help import magic_doc
from .commands.registry import explain, find, load_commands
from .settings import project_settings

__all__ = ["StorageMagics"]


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
        self.commands = load_commands()  # every subcommand record, by name
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

    # ---- the current storage (the commands' Host interface) ------------------------------------------------------
    @property
    def current_storage(self) -> BaseStorage:
        """The storage the magics work on (created from the defaults on first use)."""
        if self._storage is None:
            self._storage = self._root = self.build_storage(
                self.default_backend, {}, self.default_session, self.default_target
            )
        return self._storage

    def build_storage(
        self, where: str | dict[str, Any], fields: dict[str, Any], session: str, target: str
    ) -> BaseStorage:
        """A new storage from a URL, a backend name or a config dict, plus config fields."""
        if isinstance(where, dict):
            config: dict[str, Any] = {**where, **fields}
            config.setdefault("session_id", session)
            config.setdefault("target_id", target)
            return create_storage(config)
        if "://" in where or where.startswith(("/", ".", "~")):
            return create_storage(where, **{"session_id": session, "target_id": target, **fields})
        return create_storage({"backend": where, "session_id": session, "target_id": target, **fields})

    def switch_storage(self, storage: BaseStorage, *, created: bool, keep_root: bool = False) -> None:
        """Work on ``storage`` from now on; ``created``: it is ours to close; ``keep_root``: it is a sibling of ours."""
        if not keep_root:
            self._drop_storage()
            self._root = storage if created else None  # a storage the user passed in stays the user's to close
        self._storage, self._adopted = storage, True

    def browser_opened(self, widget: Any) -> None:
        """A live browser now reads through our root: keep that open until the browser closes."""
        self._browser, self._browser_root = widget, self._root
        widget.on_close(self._browser_closed)

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

    # ---- the magic -----------------------------------------------------------------------------------------------
    # Not @output_can_be_silenced: for a cell magic IPython then tokenizes the cell BODY as Python to look for a
    # trailing ';' (DisplayHook.semicolon_at_end_of_expression in run_cell_magic, ipython/ipython#14195), which
    # raises tokenize.TokenError on text such as "It's 20% faster (see report." after the value was stored. A
    # body is data (save, save_string) or code the cell runs (diff, capture): only our own line decides.
    @no_var_expand
    @needs_local_scope
    @line_cell_magic
    def storage(self, line: str = "", cell: str | None = None, local_ns: dict[str, Any] | None = None) -> Any:
        """Save, load, list, show and diff stored values: `%storage SUBCOMMAND ...` (`%storage help` lists them).

        A `;` at the end of the `%storage` / `%%storage` line hides the result (the cell body is never read for
        it). Examples::

            %storage use memory:// --session exp1 --target run1
            %storage save metrics.json {"p50_ms": 12.5}
            x = %storage load metrics.json
            %storage show report.html
            %storage diff metrics.json --against baseline
            %%storage save_string notes.md
            # Results ...
        """
        line = line.strip()
        silenced = line.endswith(";")
        if silenced:
            line = line[:-1].rstrip()
        name, _, rest = line.partition(" ")
        name = name or "ls"
        if name in ("-h", "--help", "?"):
            name, rest = "help", ""
        if name in self.commands and rest.strip() in ("-h", "--help"):
            name, rest = "help", name
        namespaces = [ns for ns in (local_ns, self.shell.user_ns if self.shell else None) if ns is not None]
        try:
            command = find(self.commands, name)
            result = command.run(Context(self, command, self.commands, namespaces), rest, cell)
        except StorageError as exc:
            # The one place library errors become UsageError: one red line, no traceback (a subclass would print one).
            raise UsageError(explain(self.commands, name, exc)) from None
        return None if silenced else result

    storage.__doc__ = magic_doc(storage.__doc__ or "", load_commands())
