"""plot() (headless PNG, deterministic) and matrix() (hashes first, only changed values loaded) on every backend."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

pytest.importorskip("matplotlib", reason="the analysis extra is not installed (pip install -e '.[analysis]')")

from perf_storage_nb import BaseStorage, MemoryStorage, StorageKeyError, StorageValueError  # noqa: E402
from perf_storage_nb.analysis import Matrix, matrix, plot  # noqa: E402
from perf_storage_nb.analysis.figures import AnalysisFigure  # noqa: E402
from perf_storage_nb.errors import StorageValueTypeError  # noqa: E402

KEY = "results/timings.json"
PNG = b"\x89PNG\r\n\x1a\n"


def _two_sessions(storage: BaseStorage, targets: int = 5) -> tuple[str, str]:
    a, b = f"{storage.session_id}a", f"{storage.session_id}b"
    for s, f in ((a, 1.0), (b, 1.1)):
        for i in range(targets):
            doc = {"latency_ms": [round(f * (10 + i) + j * 0.1, 3) for j in range(4)], "name": f"n{i}", "t": {"x": 1}}
            storage.for_session(s, f"t{i:02d}").save(KEY, doc)
    return a, b


# ---- plot ----------------------------------------------------------------------------------------------------------
def test_plot_on_every_backend_gives_a_png(make_storage: Callable[..., BaseStorage]) -> None:
    storage = make_storage()
    a, b = _two_sessions(storage)
    fig = plot(storage, KEY, "latency_ms", sessions=[b, a])
    assert isinstance(fig, AnalysisFigure) and repr(fig) == "<AnalysisFigure size 600x440 with 1 Axes>"
    png = fig._repr_png_()
    assert png.startswith(PNG) and len(png) > 5000
    assert fig.png() == png  # deterministic bytes
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == [b, a]  # sessions in the order given
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [f"t{i:02d}" for i in range(5)]


def test_plot_is_deterministic_across_processes(tmp_path: Any) -> None:
    """Two fresh interpreters draw byte-identical PNGs (what keeps committed notebook outputs stable)."""
    code = (
        "import sys, hashlib\n"
        "from perf_storage_nb import MemoryStorage\n"
        "from perf_storage_nb.analysis import plot\n"
        "s = MemoryStorage('a', 't')\n"
        "for x, f in (('a', 1.0), ('b', 1.2)):\n"
        "    for i in range(60):\n"
        "        s.for_session(x, f't{i:02d}').save('k.json', {'ms': [f * i + j for j in range(3)]})\n"
        "fig = plot(s, 'k.json', 'ms')\n"
        "print(hashlib.sha256(fig.png()).hexdigest(), type(fig.canvas).__name__, fig in getattr(sys.modules.get("
        "'matplotlib._pylab_helpers'), 'Gcf', type('', (), {'figs': {}})).figs.values())"
    )
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}  # as in a Jupyter kernel
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120, env=env)
        for _ in range(2)
    ]
    # the same bytes; drawn on Agg whatever backend is set; never a pyplot-managed figure (no auto-display, no leak)
    assert runs[0].stdout == runs[1].stdout and runs[0].stdout.split()[1:] == ["FigureCanvasAgg", "False"]


def test_many_targets_get_the_compact_strip_view() -> None:
    storage = MemoryStorage("a", "t")
    for s, f in (("a", 1.0), ("b", 1.05), ("c", 0.97)):
        for i in range(1000):
            storage.for_session(s, f"t{i:04d}").save(KEY, {"latency_ms": [f * (10 + i % 50) + j for j in range(3)]})
    fig = plot(storage, KEY, "latency_ms", sessions=["a", "b", "c"])
    assert repr(fig) == "<AnalysisFigure size 1100x660 with 4 Axes>"
    main, box, delta, _delta_box = fig.axes
    assert main.get_xticklabels() == [] or all(not t.get_text() for t in main.get_xticklabels())  # no 1,000 labels
    assert "1,000 targets" in delta.get_xlabel() and [t.get_text() for t in box.get_xticklabels()] == ["a", "b", "c"]
    assert fig.png().startswith(PNG)
    points = plot(storage, KEY, "latency_ms", sessions=["a", "b"], targets=[f"t{i:04d}" for i in range(10)])
    assert len(points.axes) == 1
    assert len(plot(storage, KEY, "latency_ms", sessions=["a", "b"], kind="strip").axes) == 4


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"field": "latency_ms", "sessions": ["A"]}, StorageValueError, ["at least 2", "sessions=["]),
        ({"field": "name"}, StorageValueTypeError, ["plot needs numbers", "'name' holds str"]),
        ({"field": "nope"}, StorageKeyError, ["'nope' found in no value", "dotted path"]),
        ({"field": "t"}, StorageValueError, ["one numeric field", "t.x"]),
        ({"field": "latency_ms", "kind": "pie"}, StorageValueError, ["unknown plot kind 'pie'", "points"]),
        ({"field": "latency_ms", "sessions": ["A", "ghost"]}, StorageKeyError, ["unknown session 'ghost'"]),
    ],
)
def test_plot_bad_input(kwargs: dict[str, Any], error: type[Exception], words: list[str]) -> None:
    storage = MemoryStorage("A", "t")
    _two_sessions(storage)
    storage.for_session("A", "t0").save(KEY, {"latency_ms": [1.0], "name": "x", "t": {"x": 1, "y": 2}})
    kwargs.setdefault("sessions", ["Aa", "Ab"])
    with pytest.raises(error) as info:
        plot(storage, KEY, **kwargs)
    for word in words:
        assert word in str(info.value)


def test_plot_needs_two_sessions_when_the_storage_has_one() -> None:
    storage = MemoryStorage("only", "t")
    storage.save(KEY, {"ms": [1, 2]})
    with pytest.raises(StorageValueError, match="needs at least 2, got 1 \\(only\\)"):
        plot(storage, KEY, "ms")


# ---- matrix --------------------------------------------------------------------------------------------------------
class CountingMemory(MemoryStorage):
    """A memory storage that counts value reads (info() reads none: it uses the stored hash)."""

    reads: ClassVar[list[tuple[str, str, str]]] = []

    def _read(self, key: str, hint: Any) -> Any:
        CountingMemory.reads.append((self.session_id, self.target_id, key))
        return super()._read(key, hint)


def test_matrix_over_1000_targets_loads_only_the_changed_values() -> None:
    storage = CountingMemory("base", "t0000")
    for s in ("base", "cand"):
        for i in range(1000):
            t = storage.for_session(s, f"t{i:04d}")
            t.save("graphs/parsed.json", {"nodes": i})
            changed = s == "cand" and i % 100 == 7  # 10 targets change
            t.save("output/page.json", {"size": i + (1 if changed else 0), "nested": {"a": [1, 2]}})
    CountingMemory.reads.clear()
    result = matrix(storage, "base", "cand", stages=("graphs/", "output/"))
    assert result.counts() == {"changed": 10, "same": 1990}
    assert result.loads == 20
    assert len(CountingMemory.reads) == 20  # the 10 changed values, both sides; never an unchanged one
    assert {k for _s, _t, k in CountingMemory.reads} == {"output/page.json"}
    assert result.differing_targets() == [f"t{i:04d}" for i in range(7, 1000, 100)]
    assert result.first_divergent("t0007") == "output/" and result.first_divergent("t0008") is None
    assert result.cell("t0007", "output/page.json").summary == "1 change"  # type: ignore[union-attr]
    CountingMemory.reads.clear()
    assert matrix(storage, "base", "cand", details=False).loads == 0 and CountingMemory.reads == []


def test_matrix_statuses_and_stages_on_every_backend(make_storage: Callable[..., BaseStorage]) -> None:
    storage = make_storage()
    a, b = f"{storage.session_id}a", f"{storage.session_id}b"
    for s in (a, b):
        for t in ("t1", "t2"):
            x = storage.for_session(s, t)
            x.save_string("source/page.html", "<p>same</p>")
            x.save("graphs/parsed.json", {"n": 1 if (s == a or t == "t1") else 2})
            x.save_string("output/page.html", "<p>a</p>\n<p>b</p>" if s == a else "<p>a</p>\n<p>c</p>")
    storage.for_session(a, "t1").save("graphs/extra.json", [1])  # removed in b
    storage.for_session(b, "t2").save_bytes("output/shot.png", b"\x89PNG")  # added in b
    storage.for_session(b, "t3").save("graphs/parsed.json", {"n": 3})  # a new target
    result = matrix(storage, a, b, stages=["source/", "graphs/", "output/"])
    status = {(c.target, c.key): c.status for c in result.cells}
    assert status == {
        ("t1", "graphs/extra.json"): "removed",
        ("t1", "graphs/parsed.json"): "same",
        ("t1", "output/page.html"): "changed",
        ("t1", "source/page.html"): "same",
        ("t2", "graphs/parsed.json"): "changed",
        ("t2", "output/page.html"): "changed",
        ("t2", "output/shot.png"): "added",
        ("t2", "source/page.html"): "same",
        ("t3", "graphs/parsed.json"): "added",
    }
    assert [result.first_divergent(t) for t in ("t1", "t2", "t3")] == ["graphs/", "graphs/", "graphs/"]
    assert result.cell("t1", "output/page.html").summary == "1 line changed"  # type: ignore[union-attr]
    assert result.cell("t2", "graphs/parsed.json").summary == "1 change"  # type: ignore[union-attr]
    only = matrix(storage, a, b, prefix="output/")
    assert {c.key for c in only.cells} == {"output/page.html", "output/shot.png"}
    assert only.first_divergent("t1") is None  # no stages given
    text = result._text_twin()
    assert text.splitlines()[0] == f"{b} against {a}: 3 targets x 5 keys: 3 changed, 2 added, 1 removed, 3 same"
    assert "first divergent" in text and "~ t1 output/page.html: 1 line changed" in text
    html = result._repr_html_()
    assert "psnb-matrix" in html and "3 changed" in html and result._repr_html_() == html
    frame = result.to_frame()
    assert len(frame) == 9 and set(frame["status"]) == {"same", "changed", "added", "removed"}


def test_matrix_bad_input() -> None:
    storage = MemoryStorage("a", "t")
    storage.save("k.json", 1)
    storage.for_session("b", "t").save("k.json", 1)
    with pytest.raises(StorageKeyError, match="unknown session 'ghost'; sessions with data: a, b"):
        matrix(storage, "a", "ghost")
    with pytest.raises(StorageValueError, match="both 'a'"):
        matrix(storage, "a", "a")
    with pytest.raises(StorageValueTypeError, match="stages are key prefixes"):
        matrix(storage, "a", "b", stages=[1])  # type: ignore[list-item]
    assert isinstance(matrix(storage, "a", "b"), Matrix) and matrix(storage, "a", "b").counts() == {"same": 1}
    assert "1 target unchanged" in matrix(storage, "a", "b")._text_twin()
