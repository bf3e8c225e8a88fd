"""A process that ran every page in AppTest, the warm-up training beside it, exits cleanly:
the warm-up stops and is joined at exit (hosting/warm.py), so the interpreter never
finalizes while its daemon thread is inside torch."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SWEEP = """
import os, sys
sys.path[:0] = [{root!r}, {tests!r}]
from streamlit.runtime.pages_manager import PagesManager
from app_helpers import open_app
from ui.navigation import apptest_init
PagesManager.__init__ = apptest_init()
for page in (None, "pages/dataset.py", "pages/zero_init.py", "pages/compare.py"):
    assert not open_app(page, steps=300, layers=2, n_hidden=16).exception, page
print("swept")
"""


@pytest.mark.slow
def test_every_page_then_exit_five_times_with_the_warm_up_on(tmp_path):
    code = SWEEP.format(root=str(ROOT), tests=str(ROOT / "tests"))
    for i in range(5):
        env = {
            **os.environ,
            "PRACTICE_BOARD_WARM": "1",
            "PRACTICE_BOARD_CACHE": str(tmp_path / f"store{i}"),
        }
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
        )
        assert out.returncode == 0 and "swept" in out.stdout, (i, out.returncode, out.stderr[-800:])
