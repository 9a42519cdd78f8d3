"""Release hygiene: one version source, a changelog that names it, a citation
file, and an sdist manifest that carries what the tests need."""
import re
from pathlib import Path

import pyg_dss

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_is_written_once() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()  # no tomllib: Python 3.10 is supported
    project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    assert not re.search(r"^version\s*=", project, re.MULTILINE)
    assert re.search(r'^dynamic = \["version"\]', project, re.MULTILINE)
    assert 'version = {attr = "pyg_dss.__version__"}' in pyproject
    assert re.fullmatch(r"\d+\.\d+\.\d+", pyg_dss.__version__)
    assert not re.search(r"^version:", (ROOT / "CITATION.cff").read_text(), re.MULTILINE)


def test_changelog_and_citation() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    assert f"## [{pyg_dss.__version__}]" in changelog
    citation = (ROOT / "CITATION.cff").read_text()
    assert "On Learning Sets of Symmetric Elements" in citation
    assert "Equivariant Subgraph Aggregation Networks" in citation


def test_the_sdist_carries_what_the_tests_need() -> None:
    manifest = (ROOT / "MANIFEST.in").read_text().splitlines()
    for line in ("graft tests", "graft examples", "graft benchmarks", "graft docs",
                 "include datasets/README.md"):
        assert line in manifest
    # the README's links resolve in the unpacked sdist too (tests/test_readme.py)
    included = " ".join(line for line in manifest if line.startswith("include "))
    for name in ("CHANGELOG.md", "CITATION.cff", "CONTRIBUTING.md", "LICENSE", "README.md"):
        assert name in included.split(), name


def test_the_wheel_smoke_test_trains_and_predicts() -> None:
    """The wheel's smoke test makes its own model with `pyg-dss train` (no
    hand-written checkpoint) and predicts with that model."""
    script = (ROOT / ".ci" / "smoke_wheel.sh").read_text()
    runs = [cmd for cmd in re.findall(r"^pyg-dss train (.*?[^\\])$", script,
                                      re.MULTILINE | re.DOTALL) if "--help" not in cmd]
    assert len(runs) == 1 and '--out "$PWD/run"' in runs[0] and "--epochs 1" in runs[0]
    assert "MODEL=run/best_model.pt" in script
    assert "save_model" not in script
    assert 'PATH="$WORK/venv/bin:$PATH" bash "$REPO/.ci/smoke_wheel.sh"' in \
        (ROOT / ".ci" / "run").read_text()
