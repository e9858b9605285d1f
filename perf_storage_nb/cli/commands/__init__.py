"""The ``perf-storage`` subcommands, one module per command or small group; each command is one Command record.

- ``navigation``: ls, sessions, targets
- ``values``: cat, info, rm
- ``diffing``: diff, compare
- ``copying``: cp, sync
- ``report``: export
- ``serve``: serve

``..registry.load_commands()`` finds every record defined at module level here. Modules import only light
things at module level (start-up is part of every call); the library work is imported inside the handlers.
"""
