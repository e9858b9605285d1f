"""[tool.perf_storage_nb] in pyproject.toml: project defaults for the magics, below %config and env vars."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config, Configurable

from perf_storage_nb import LocalStorage
from perf_storage_nb.notebook.magics import StorageMagics
from perf_storage_nb.notebook.settings import find_pyproject, project_settings

ENV = ("PERF_STORAGE_URL", "PERF_STORAGE_BACKEND", "PERF_STORAGE_SESSION", "PERF_STORAGE_TARGET")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n\n[tool.perf_storage_nb]\ndefault_backend = "./results"\n'
        'default_session = "exp_from_pyproject"\nfeedback = 0\ndeterministic = true\n'
    )
    nested = tmp_path / "notebooks" / "deeper"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)  # the nearest pyproject.toml is found from the working folder upwards
    return tmp_path


def test_table_sets_the_defaults(project: Path) -> None:
    assert find_pyproject() == project / "pyproject.toml"
    magics = StorageMagics(None)
    assert (magics.default_backend, magics.default_session, magics.default_target) == (
        "./results",
        "exp_from_pyproject",
        "main",
    )
    assert magics.feedback == 0 and magics.deterministic is True
    storage = magics.current_storage
    assert isinstance(storage, LocalStorage) and storage.session_id == "exp_from_pyproject"
    magics.close()


def test_env_vars_and_config_win_over_the_table(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERF_STORAGE_SESSION", "from_env")

    class Shell(Configurable):  # stands in for an InteractiveShell: the magics read its config
        pass

    magics = StorageMagics(Shell(config=Config({"StorageMagics": {"feedback": 2}})))
    assert magics.default_session == "from_env"  # env beats the table
    assert magics.feedback == 2  # %config / ipython config beats the table (which says 0)
    assert magics.deterministic is True  # the table still fills what nothing else set


def test_bad_entries_warn_and_fall_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.perf_storage_nb]\nfeedback = 9\nbogus = 1\n")
    monkeypatch.chdir(tmp_path)
    assert project_settings() == {"feedback": 9}
    assert "unknown [tool.perf_storage_nb] key(s) bogus" in capsys.readouterr().err
    magics = StorageMagics(None)
    assert magics.feedback == 1
    assert "feedback" in capsys.readouterr().err
    (tmp_path / "pyproject.toml").write_text("not = [valid toml")
    assert project_settings() == {}
    assert "cannot read" in capsys.readouterr().err


def test_no_pyproject_means_builtin_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    if find_pyproject() is not None:
        pytest.skip(f"a pyproject.toml above the temp folder ({find_pyproject()}) would be found")
    magics = StorageMagics(None)
    assert (magics.default_backend, magics.default_session, magics.feedback) == ("memory://", "notebook", 1)
