import os
from pathlib import Path

import pytest
import torch

from mlp_core import data
from mlp_core.config import RunConfig

os.environ.setdefault("OMP_NUM_THREADS", "1")
# no background warm-up (hosting/warm.py) in the tests' apps and servers: it would write
# into their run stores and take turns beside them; tests/test_warm.py switches it on
os.environ["PRACTICE_BOARD_WARM"] = "0"
torch.set_num_threads(1)

NAMES_TXT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "names.txt"


@pytest.fixture(scope="session")
def small_ds() -> data.Dataset:
    """3,000 real names from the built-in data set: small enough for fast tests."""
    return data.dataset_from_words(list(data.default_words()[:3000]), "test: 3000 names")


@pytest.fixture(scope="session")
def names_txt() -> Path:
    if not NAMES_TXT.is_file():
        pytest.skip(f"the user's names.txt is not at {NAMES_TXT} (tests and benchmarks only)")
    return NAMES_TXT


@pytest.fixture
def tiny_cfg() -> RunConfig:
    """A small, fast net: 2 hidden layers of 16."""
    return RunConfig().replace(n_layers=2, n_hidden=16, steps=60, batch_size=32)


@pytest.fixture
def store_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("PRACTICE_BOARD_CACHE", str(d))
    return d


@pytest.fixture(autouse=True)
def navigation_not_pages_dir(monkeypatch):
    """AppTest runs without the legacy-pages detour, which would drop button clicks
    (ui/navigation.py says why); tests/test_browser.py covers the detour itself."""
    from streamlit.runtime.pages_manager import PagesManager

    from ui.navigation import apptest_init

    monkeypatch.setattr(PagesManager, "__init__", apptest_init())


@pytest.fixture
def fresh_app(store_dir, monkeypatch):
    """A clean slate for AppTest: a temp run store, no demo mode, empty Streamlit caches."""
    import streamlit as st

    monkeypatch.delenv("PRACTICE_BOARD_DEMO", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
