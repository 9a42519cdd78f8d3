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
