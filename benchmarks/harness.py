"""Tiny timing harness shared by every bench_*.py module: best-of-N ops/s and a ratio table."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Report", "Row", "interleaved", "ops_per_second"]


def ops_per_second(
    fn: Callable[[], Any], *, min_time: float = 0.2, repeat: int = 5, setup: Callable[[], Any] | None = None
) -> float:
    """Best-of-``repeat`` throughput of ``fn`` (calls/s); each round runs at least ``min_time`` seconds."""
    best = 0.0
    for _ in range(repeat):
        if setup is not None:
            setup()
        n, start = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        best = max(best, n / elapsed)
    return best


def interleaved(fns: dict[str, Callable[[], Any]], *, min_time: float = 0.2, repeat: int = 5) -> dict[str, float]:
    """Best ops/s of each function, measured in alternating rounds (ours, anchor, ours, ...).

    Disk and CPU speed drift on a shared host; alternating rounds expose every contender to the same drift,
    so the ratio stays meaningful even when the absolute figures move.
    """
    best = dict.fromkeys(fns, 0.0)
    for _ in range(repeat):
        for name, fn in fns.items():
            best[name] = max(best[name], ops_per_second(fn, min_time=min_time, repeat=1))
    return best


@dataclass
class Row:
    """One measured figure, optionally against an anchor measured in the same run."""

    section: str
    name: str
    value: float
    unit: str
    anchor_name: str = ""
    anchor_value: float | None = None
    aim: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """value / anchor (for ops/s: > 1 means faster than the anchor)."""
        if self.anchor_value in (None, 0):
            return None
        return self.value / self.anchor_value  # type: ignore[operator]


@dataclass
class Report:
    """Collects rows from every benchmark module and prints/writes them."""

    rows: list[Row] = field(default_factory=list)
    quick: bool = False

    def add(
        self,
        section: str,
        name: str,
        value: float,
        unit: str,
        *,
        anchor_name: str = "",
        anchor_value: float | None = None,
        aim: str = "",
        note: str = "",
    ) -> Row:
        """Record one figure and print it at once (long runs show progress)."""
        row = Row(section, name, value, unit, anchor_name, anchor_value, aim, note)
        self.rows.append(row)
        print(self._line(row), flush=True)
        return row

    @staticmethod
    def _line(row: Row) -> str:
        ratio = f"{row.ratio:6.2f}x vs {row.anchor_name}" if row.ratio is not None else ""
        aim = f"  (aim {row.aim})" if row.aim else ""
        note = f"  [{row.note}]" if row.note else ""
        return f"{row.section:<14} {row.name:<44} {row.value:>12,.1f} {row.unit:<8} {ratio}{aim}{note}"

    def table(self) -> str:
        """The whole report as aligned text."""
        return "\n".join(self._line(r) for r in self.rows)

    def write_json(self, path: Path) -> None:
        """Write the rows (with ratios) and the machine description as JSON."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "machine": {"python": platform.python_version(), "platform": platform.platform()},
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "rows": [{**asdict(r), "ratio": r.ratio} for r in self.rows],
        }
        path.write_text(json.dumps(data, indent=2) + "\n")
