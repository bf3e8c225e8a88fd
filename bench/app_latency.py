"""What a user waits for, measured with AppTest in one fresh process: the first render
(imports, data load), a cached re-render, page switches, and a run's result once computed.

    python bench/app_latency.py          # from the repository root; prints seconds

AppTest runs the script without a browser, so these are server-side times: add the
websocket and the browser's drawing (tens of ms) for what a user sees.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")
os.environ["PRACTICE_BOARD_CACHE"] = tempfile.mkdtemp(prefix="pb-bench-")  # a cold store
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.runtime.pages_manager import PagesManager  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from ui.navigation import apptest_init  # noqa: E402

APP = str(ROOT / "app.py")
REPEAT = 5
TINY = {"cmp_n_layers": 2, "cmp_n_hidden": 16, "cmp_steps": 200}


def timed(fn) -> float:
    t0 = time.perf_counter()
    at = fn()
    seconds = time.perf_counter() - t0
    assert not at.exception, at.exception
    return seconds


def median(fn) -> float:
    return statistics.median(timed(fn) for _ in range(REPEAT))


def train_tiny(at: AppTest) -> AppTest:
    for key, value in TINY.items():
        at.number_input(key=key).set_value(value)
    at.multiselect(key="cmp_activations").set_value(["tanh", "relu"])
    return at.button(key="cmp_train").click().run()


def main() -> None:
    PagesManager.__init__ = apptest_init()  # as tests/conftest.py does: ui/navigation.py
    at = AppTest.from_file(APP, default_timeout=300)
    rows = [("cold first render: home (imports, default data)", timed(at.run))]
    rows.append(("first visit: dataset page", timed(at.switch_page("pages/dataset.py").run)))
    rows.append(("cached re-render: dataset page", median(at.run)))

    def round_trip():
        at.switch_page("pages/compare.py").run()
        return at.switch_page("pages/dataset.py").run()

    rows.append(("page switch: dataset -> compare -> dataset", median(round_trip) / 2))
    at.switch_page("pages/compare.py").run()
    rows.append(("train 2 runs (2x16, 200 steps, stacked)", timed(lambda: train_tiny(at))))
    rows.append(("cached re-render: compare, 2 runs", median(at.run)))
    link = dict(at.query_params)

    def open_link():
        other = AppTest.from_file(APP, default_timeout=300)
        other.query_params.update(link)
        other.run()
        return other.switch_page("pages/compare.py").run()

    rows.append(("new session opens the link (store hit, 2 runs)", median(open_link)))
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
