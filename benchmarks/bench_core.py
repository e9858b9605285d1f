"""Core backends against their anchors: MemoryStorage vs dict + json, LocalStorage vs plain files and diskcache.

Every figure is measured in this run next to its anchor, so the ratios hold even on a noisy machine.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perf_storage_nb import LocalStorage, MemoryStorage

from .harness import Report, interleaved, ops_per_second

SECTION = "core"
N_KEYS = 1000  # keys cycled through by the save/load loops (so stores stay small and warm)


def document(size: int = 1024) -> dict[str, Any]:
    """A JSON document of about ``size`` bytes: nested, mixed types, like an experiment's metrics."""
    doc: dict[str, Any] = {"run": "alpha", "ok": True, "params": {"lr": 0.001, "layers": [64, 64, 32]}, "metrics": []}
    i = 0
    while len(json.dumps(doc)) < size - 40:
        doc["metrics"].append({"step": i, "loss": round(1 / (i + 1), 6), "tag": f"m{i:03d}"})
        i += 1
    return doc


def timing(report: Report) -> dict[str, Any]:
    """ops_per_second settings: shorter rounds for --quick."""
    return {"min_time": 0.05, "repeat": 2} if report.quick else {"min_time": 0.2, "repeat": 5}


def cycling(keys: list[str]) -> Callable[[], str]:
    """A cheap 'next key' function (itertools.cycle.__next__)."""
    return itertools.cycle(keys).__next__


def atomic_write(folder: str, name: str, blob: bytes, fsync: bool = False) -> None:
    """The anchor for a safe file write: temp file in the same folder, then os.replace."""
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(blob)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, os.path.join(folder, name))


def bench_memory(report: Report, doc: dict[str, Any]) -> None:
    """MemoryStorage save/load/exists vs a dict holding json.dumps strings."""
    kw = timing(report)
    keys = [f"results/doc_{i:04d}.json" for i in range(N_KEYS)]
    storage = MemoryStorage("bench", "memory")
    plain: dict[str, str] = {}
    for key in keys:
        plain[key] = json.dumps(doc)
        storage.save(key, doc)
    nk_s, nk_p = cycling(keys), cycling(keys)
    got = interleaved(
        {"anchor": lambda: plain.__setitem__(nk_p(), json.dumps(doc)), "ours": lambda: storage.save(nk_s(), doc)}, **kw
    )
    anchor, ours = got["anchor"], got["ours"]
    report.add(
        SECTION, "memory save 1KB json", ours, "ops/s", anchor_name="dict+json.dumps", anchor_value=anchor, aim=">=0.5x"
    )
    got = interleaved({"anchor": lambda: json.loads(plain[nk_p()]), "ours": lambda: storage.load(nk_s())}, **kw)
    anchor, ours = got["anchor"], got["ours"]
    report.add(
        SECTION, "memory load 1KB json", ours, "ops/s", anchor_name="dict+json.loads", anchor_value=anchor, aim=">=0.5x"
    )
    anchor = ops_per_second(lambda: nk_p() in plain, **kw)
    ours = ops_per_second(lambda: storage.exists(nk_s()), **kw)
    report.add(SECTION, "memory exists", ours, "ops/s", anchor_name="key in dict", anchor_value=anchor)


def bench_local(report: Report, doc: dict[str, Any], tmp: Path) -> None:
    """LocalStorage save/load/exists vs a plain atomic file write/read and vs diskcache set/get."""
    kw = timing(report)
    keys = [f"doc_{i:04d}.json" for i in range(N_KEYS)]
    storage = LocalStorage("bench", "local", root=tmp / "ours")
    plain_dir = tmp / "plain"
    plain_dir.mkdir()
    folder = str(plain_dir)
    # Anchors write what a careful hand-written script would: the same indent=2 JSON (what LocalStorage
    # stores, for humans) and, as a second reference, compact json.dumps.
    pretty = lambda: (json.dumps(doc, indent=2) + "\n").encode()  # noqa: E731
    compact = lambda: json.dumps(doc).encode()  # noqa: E731
    for key in keys:  # every key exists before timing, whatever the round length
        atomic_write(folder, key, pretty())
        storage.save(key, doc)
    nk_s, nk_p = cycling(keys), cycling(keys)

    saves = interleaved(
        {
            "anchor": lambda: atomic_write(folder, nk_p(), pretty()),
            "ours": lambda: storage.save(nk_s(), doc),
            "compact": lambda: atomic_write(folder, nk_p(), compact()),
        },
        **kw,
    )
    write, ours_save, write_compact = saves["anchor"], saves["ours"], saves["compact"]
    report.add(
        SECTION,
        "local save 1KB json",
        ours_save,
        "ops/s",
        anchor_name="tmp+os.replace, same indent=2 JSON",
        anchor_value=write,
        aim=">=0.8x",
    )
    report.add(
        SECTION,
        "local save 1KB json",
        ours_save,
        "ops/s",
        anchor_name="tmp+os.replace, compact json.dumps",
        anchor_value=write_compact,
        note="ours pretty-prints for humans (pure-Python indent encoder)",
    )

    def plain_read() -> Any:
        with open(os.path.join(folder, nk_p()), "rb") as fh:
            return json.loads(fh.read())

    loads = interleaved({"anchor": plain_read, "ours": lambda: storage.load(nk_s())}, **kw)
    read, ours_load = loads["anchor"], loads["ours"]
    report.add(
        SECTION,
        "local load 1KB json",
        ours_load,
        "ops/s",
        anchor_name="open+read+json.loads",
        anchor_value=read,
        aim=">=0.8x",
    )

    anchor = ops_per_second(lambda: os.path.isfile(os.path.join(folder, nk_p())), **kw)
    ours = ops_per_second(lambda: storage.exists(nk_s()), **kw)
    report.add(SECTION, "local exists", ours, "ops/s", anchor_name="os.path.isfile", anchor_value=anchor)

    try:
        import diskcache
    except ImportError:
        report.add(SECTION, "local vs diskcache", 0.0, "-", note="diskcache not installed (pip install diskcache)")
    else:
        with diskcache.Cache(str(tmp / "diskcache")) as cache:
            dset = ops_per_second(lambda: cache.set(nk_p(), doc), **kw)
            report.add(
                SECTION,
                "local save 1KB json",
                ours_save,
                "ops/s",
                anchor_name="diskcache.set",
                anchor_value=dset,
                aim=">=1.0x",
            )
            dget = ops_per_second(lambda: cache.get(nk_p()), **kw)
            report.add(
                SECTION, "local load 1KB json", ours_load, "ops/s", anchor_name="diskcache.get", anchor_value=dget
            )

    if not report.quick:
        # Durable writes: the cost of fsync (file + folder) against the same anchor with fsync.
        durable = LocalStorage("bench", "durable", root=tmp / "ours", fsync=True)
        few = {"min_time": 0.2, "repeat": 3}
        durables = interleaved(
            {
                "anchor": lambda: atomic_write(folder, nk_p(), pretty(), fsync=True),
                "ours": lambda: durable.save(nk_s(), doc),
            },
            **few,
        )
        anchor, ours = durables["anchor"], durables["ours"]
        report.add(
            SECTION,
            "local save fsync=True",
            ours,
            "ops/s",
            anchor_name="tmp+fsync+os.replace",
            anchor_value=anchor,
            note="ours also fsyncs the folder",
        )


def fill_files(target_dir: Path, n: int, per_folder: int = 1000) -> list[str]:
    """Create ``n`` small key files quickly (plain writes; list_keys does not read them); return the keys."""
    keys = []
    for i in range(n):
        folder = f"batch_{i // per_folder:03d}"
        if i % per_folder == 0:
            (target_dir / folder).mkdir(parents=True, exist_ok=True)
        name = f"item_{i:06d}.json"
        with open(target_dir / folder / name, "wb") as fh:
            fh.write(b"{}\n")
        keys.append(f"{folder}/{name}")
    return keys


def best_time(fn: Callable[[], Any], repeat: int) -> float:
    """Best wall time of ``repeat`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def walk_sorted(top: str) -> list[str]:
    """Anchor for list_keys: os.walk + relpath + sort, the obvious hand-written listing."""
    out = []
    for folder, _dirs, files in os.walk(top):
        rel = os.path.relpath(folder, top)
        out.extend(name if rel == "." else f"{rel}/{name}" for name in files)
    out.sort()
    return out


def bench_listing(report: Report, tmp: Path) -> None:
    """list_keys time vs key count (1k -> 100k) on local and memory, local against os.walk + sort."""
    sizes = [1_000, 10_000] if report.quick else [1_000, 10_000, 100_000]
    repeat = 2 if report.quick else 3
    for n in sizes:
        root = tmp / f"list_{n}"
        storage = LocalStorage("bench", "list", root=root)
        keys = fill_files(root / "bench" / "list", n)
        got = storage.list_keys()
        if got != sorted(keys):  # a benchmark that lists the wrong thing is worse than none
            raise AssertionError(f"list_keys returned {len(got)} keys, expected {n}")
        ours = best_time(storage.list_keys, repeat)
        anchor = best_time(lambda root=root: walk_sorted(str(root / "bench" / "list")), repeat)
        aim = "well under 1 s" if n == 100_000 else ""
        report.add(
            SECTION,
            f"local list_keys {n:,} keys",
            ours * 1000,
            "ms",
            anchor_name="os.walk+sort",
            anchor_value=anchor * 1000,
            aim=aim,
            note="ratio = time: lower is better",
        )
        prefix = best_time(lambda storage=storage: storage.list_keys("batch_000/"), repeat)
        report.add(
            SECTION, f"local list_keys prefix of {n:,} keys", prefix * 1000, "ms", note="1,000 keys under the prefix"
        )

        mem = MemoryStorage("bench", "list")
        for key in keys:
            mem.save_bytes(key, b"")
        plain = dict.fromkeys(keys, b"")
        report.add(
            SECTION,
            f"memory list_keys {n:,} keys",
            best_time(mem.list_keys, repeat) * 1000,
            "ms",
            anchor_name="sorted(dict)",
            anchor_value=best_time(lambda: sorted(plain), repeat) * 1000,  # noqa: B023
            note="ratio = time: lower is better",
        )


_STREAM_SCRIPT = textwrap.dedent(
    """
    import resource, sys, time, tracemalloc
    from perf_storage_nb import LocalStorage
    size, root = int(sys.argv[1]), sys.argv[2]
    storage = LocalStorage("bench", "stream", root=root)
    chunk = bytes(range(256)) * 4096  # 1 MiB, reused: the source never holds the whole value
    def source():
        for _ in range(size // len(chunk)):
            yield chunk
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    t0 = time.perf_counter()
    written = storage.save_stream("big.bin", source())
    t1 = time.perf_counter()
    read = sum(len(c) for c in storage.iter_bytes("big.bin"))
    t2 = time.perf_counter()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert written == read == size, (written, read, size)
    print(peak, (rss - base_rss) * 1024, t1 - t0, t2 - t1)
    """
)


def bench_streaming(report: Report, tmp: Path) -> None:
    """Peak client memory while streaming a large value through save_stream / iter_bytes (fresh subprocess)."""
    size = (50 if report.quick else 200) * (1 << 20)
    out = subprocess.run(
        [sys.executable, "-c", _STREAM_SCRIPT, str(size), str(tmp / "stream")],
        capture_output=True,
        text=True,
        check=True,
    )
    peak, rss_growth, t_write, t_read = (float(x) for x in out.stdout.split())
    mb = size / (1 << 20)
    report.add(
        SECTION,
        f"local stream {mb:.0f} MB: peak traced memory",
        peak / (1 << 20),
        "MB",
        anchor_name="value size",
        anchor_value=mb,
        note="tracemalloc peak; lower is better",
    )
    report.add(
        SECTION,
        f"local stream {mb:.0f} MB: RSS growth",
        rss_growth / (1 << 20),
        "MB",
        anchor_name="value size",
        anchor_value=mb,
        note="ru_maxrss growth",
    )
    report.add(SECTION, f"local save_stream {mb:.0f} MB", mb / t_write, "MB/s")
    report.add(SECTION, f"local iter_bytes {mb:.0f} MB", mb / t_read, "MB/s")


def run(report: Report) -> None:
    """Run every core benchmark and add its rows to ``report``."""
    doc = document()
    with tempfile.TemporaryDirectory(prefix="psnb-bench-") as tmp:
        bench_memory(report, doc)
        bench_local(report, doc, Path(tmp))
        bench_listing(report, Path(tmp))
        bench_streaming(report, Path(tmp))
