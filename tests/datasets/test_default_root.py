"""The datasets cache into a per-user folder, never the current directory."""
from pathlib import Path

import pytest

from pyg_dss.datasets import default_root


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("PYG_DSS_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_default_is_the_user_cache_not_the_working_directory(clean_env: Path) -> None:
    root = Path(default_root("synthetic"))
    assert root == (clean_env / "home" / ".cache" / "pyg-dss" / "synthetic").resolve()
    assert clean_env / "datasets" not in root.parents


def test_xdg_cache_home(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(clean_env / "xdg"))
    assert Path(default_root("dfaust")) == (clean_env / "xdg" / "pyg-dss" / "dfaust").resolve()


def test_pyg_dss_home_wins(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(clean_env / "xdg"))
    monkeypatch.setenv("PYG_DSS_HOME", "relative/home")
    root = Path(default_root("dfaust"))
    assert root.is_absolute()
    assert root == (clean_env / "relative" / "home" / "dfaust").resolve()


def test_datasets_use_it_and_root_overrides(clean_env: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from pyg_dss.datasets import DynamicFAUST

    monkeypatch.setenv("PYG_DSS_HOME", str(clean_env / "cache"))
    # without the raw files the error names the folder it looked in
    with pytest.raises(FileNotFoundError, match=str(clean_env / "cache" / "dfaust" / "raw")):
        DynamicFAUST()
    with pytest.raises(FileNotFoundError, match=str(clean_env / "mine" / "raw")):
        DynamicFAUST(root=str(clean_env / "mine"))
    assert not (clean_env / "datasets").exists()
