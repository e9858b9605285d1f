"""``%storage cp`` and ``%storage sync`` through a real InteractiveShell: the library's copy and sync, displayed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from perf_storage_nb import LocalStorage
from perf_storage_nb.sync import SyncResult


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    monkeypatch.chdir(tmp_path)
    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "perf_storage_nb")
    sh.run_line_magic("storage", f"use {tmp_path / 'store'} exp1/item_001")
    yield sh
    sh.run_line_magic("unload_ext", "perf_storage_nb")
    InteractiveShell.clear_instance()


def test_cp_within_the_current_backend_and_across(shell: InteractiveShell, tmp_path: Path) -> None:
    s = LocalStorage("exp1", "item_001", root=tmp_path / "store")
    s.save("m.json", {"p50": 1.5})
    s.save_string("page.html", "<p>x</p>")
    result = shell.run_line_magic("storage", "cp exp1/item_001:m.json baseline/item_001")
    assert isinstance(result, SyncResult) and result.added == 1
    assert s.for_session("baseline", "item_001").load("m.json") == {"p50": 1.5}
    bundle = result._repr_mimebundle_()
    assert (
        "+ baseline/item_001:m.json (json" in bundle["text/plain"] and "baseline/item_001:m.json" in bundle["text/html"]
    )
    other = tmp_path / "other"
    across = shell.run_line_magic("storage", f"cp exp1 {other}#copied")
    assert across.added == 2 and LocalStorage("copied", "item_001", root=other).load_string("page.html") == "<p>x</p>"
    again = shell.run_line_magic("storage", f"cp exp1 {other}#copied")
    assert again.added == 0 and again.unchanged == 2


def test_sync_from_the_current_backend_or_between_two(shell: InteractiveShell, tmp_path: Path) -> None:
    s = LocalStorage("exp1", "item_001", root=tmp_path / "store")
    s.save("m.json", {"p50": 1.5})
    mirror = tmp_path / "mirror"
    dry = shell.run_line_magic("storage", f"sync {mirror} --dry-run")
    assert dry.dry_run and dry.added == 1 and not mirror.exists()
    done = shell.run_line_magic("storage", f"sync {mirror} -s exp1")
    assert done.added == 1 and LocalStorage("exp1", "item_001", root=mirror).load("m.json") == {"p50": 1.5}
    back = shell.run_line_magic("storage", f"sync {mirror} {tmp_path / 'back'}")
    assert back.added == 1 and back.source == f"file://{mirror}"


@pytest.mark.parametrize(
    ("line", "expect"),
    [
        ("cp 'bad addr' x", "cp: bad address 'bad addr'"),
        ("cp exp1 dst/t", "needs a session as destination"),
        ("sync", "the following arguments are required: DST"),
        ("sync ./a ./b -s 'x y'", "sync: "),
    ],
)
def test_mistakes_are_one_line_usage_errors(shell: InteractiveShell, tmp_path: Path, line: str, expect: str) -> None:
    LocalStorage("exp1", "item_001", root=tmp_path / "store").save("m.json", 1)
    with pytest.raises(UsageError) as info:
        shell.run_line_magic("storage", line)
    assert expect in str(info.value) and "\n" not in str(info.value)


def test_sync_progress_bars_reach_the_total_and_close(
    shell: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tqdm.auto

    made: list[object] = []

    class Recording(tqdm.auto.tqdm):  # type: ignore[misc, name-defined]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)
            self.was_closed = False

        def close(self) -> None:
            self.was_closed = True
            super().close()

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    s = LocalStorage("exp1", "item_001", root=tmp_path / "store")
    for i in range(5):
        s.save(f"k{i}.json", {"i": i})
    result = shell.run_line_magic("storage", f"sync --progress {tmp_path / 'mirror'}")
    assert result.added == 5
    by_phase = {bar.desc: bar for bar in made}  # type: ignore[attr-defined]
    assert set(by_phase) == {"scan", "sync"}
    assert by_phase["sync"].n == by_phase["sync"].total == 5 and by_phase["scan"].n == by_phase["scan"].total == 1
    assert all(bar.was_closed for bar in made)  # type: ignore[attr-defined]


def test_library_phase_bars_draw_one_bar_per_phase() -> None:
    from perf_storage_nb.sync.api import phase_bars

    made: list[dict[str, object]] = []

    class Bar:
        def __init__(self, **options: object) -> None:
            self.options, self.n, self.closed = options, 0, False
            made.append(options)
            self.bar = self

        def update(self, step: int) -> None:
            self.n += step

        def close(self) -> None:
            self.closed = True

    with phase_bars(Bar, file="sink") as report:
        report("scan", 1, 2)
        report("scan", 2, 2)
        report("copy", 3, 7)
    assert [(o["desc"], o["unit"], o["total"], o["file"]) for o in made] == [
        ("scan", "target", 2, "sink"),
        ("copy", "key", 7, "sink"),
    ]
