"""The notebook download on the pages (ui/take_home.py), in AppTest: a page whose
notebook-arithmetic runs are not computed offers "Prepare the notebook", which trains them
and leaves only the download; a page already in the notebook arithmetic offers it at once.
The download itself is tested in a real browser (tests/test_browser_export.py)."""

import pytest
from app_helpers import open_app

pytestmark = pytest.mark.usefixtures("fresh_app")
SMALL = {"layers": 1, "n_hidden": 16, "steps": 100}


def downloads(at) -> list[str]:
    return [d.proto.label for d in at.get("download_button")]


def prepare_buttons(at) -> list:
    return [b for b in at.button if (b.key or "").startswith("nb-prepare")]


def test_fold_prepares_the_notebook_then_offers_it():
    at = open_app("pages/batchnorm_fold.py", **SMALL)  # the first visit trains the engine run
    assert not at.exception
    assert "Download as a notebook (.zip)" not in downloads(at)
    (prepare,) = prepare_buttons(at)
    prepare.click().run()
    assert not at.exception, at.exception
    assert "Download as a notebook (.zip)" in downloads(at)
    assert not prepare_buttons(at)  # the button and its note are gone
    at.run()  # a rerun finds the prepared run: the download stays
    assert "Download as a notebook (.zip)" in downloads(at) and not prepare_buttons(at)


def test_zero_init_in_the_notebook_arithmetic_offers_it_at_once():
    at = open_app("pages/zero_init.py", arithmetic="notebook", **SMALL)
    assert not at.exception
    assert "Download as a notebook (.zip)" in downloads(at)
    assert not prepare_buttons(at)
    assert any("gradient table" in c.value for c in at.caption)
