"""``python -m perf_storage_nb.cli``: the same as the ``perf-storage`` console script."""

from __future__ import annotations

import sys

from .main import main

sys.exit(main())
