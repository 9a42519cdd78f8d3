"""The README is runnable as written: its Python blocks, in order, run as
one script (a later block may use names of an earlier one), and it states
the two commands a new user needs, the test command exactly as CI runs it."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(text: str):
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_python_blocks_run(tmp_path):
    blocks = python_blocks((ROOT / "README.md").read_text())
    assert len(blocks) >= 2
    script = tmp_path / "readme_blocks.py"
    script.write_text("\n".join(f"# --- README block {k}\n{b}" for k, b in enumerate(blocks)))
    # this checkout's package, not an installed copy
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    res = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]


def test_readme_states_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "pip install -e . && python examples/faust_first_frame.py" in text
    test_command = 'pip install -e ".[test]" && python -m pytest -q'
    assert test_command in text
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci, "the last step of .ci/run is the README's test command"


def test_readme_is_a_front_page_whose_links_exist():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200, "the README is a front page: the manual is in docs/"
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if "://" not in link]
    assert local, "the README links into the documentation"
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"
