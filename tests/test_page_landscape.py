"""The init landscape page in AppTest: the at-init heatmap at once, its settings in the URL,
the trained view's button counting the missing cells (the demo caps' depths), a junk link
falling back with a note. Training the grid is covered in a real browser
(tests/test_browser_landscape.py)."""

import json

import pytest
from app_helpers import open_app

pytestmark = pytest.mark.usefixtures("fresh_app")


def spec(at) -> dict:
    return json.loads(at.get("vega_lite_chart")[0].proto.spec)


def test_the_at_init_heatmap_draws_at_once_and_its_settings_go_in_the_url():
    at = open_app("pages/landscape.py")
    assert not at.exception
    assert spec(at)["title"] == "At init: activation std, last layer"
    at.radio(key="ls_activation").set_value("relu").run()
    at.radio(key="ls_color").set_value("saturated").run()
    assert spec(at)["title"] == "At init: saturated or dead units, worst layer"
    assert at.query_params["activation"] == "relu" and at.query_params["color"] == "saturated"


def test_the_trained_view_counts_its_missing_cells(monkeypatch):
    at = open_app("pages/landscape.py", view="trained", steps=300, batchnorm=1)
    assert not at.exception
    assert at.button(key="ls-train").label == "Train the 72 missing cells (8 stacks of 9 runs)"
    assert spec(at)["title"] == "After 300 steps: dev loss"
    monkeypatch.setenv("PRACTICE_BOARD_DEMO", "1")  # the demo's deepest net: 6 hidden layers
    at = open_app("pages/landscape.py", view="trained")
    assert at.button(key="ls-train").label == "Train the 54 missing cells (6 stacks of 9 runs)"


def test_a_junk_link_falls_back_and_says_so():
    at = open_app("pages/landscape.py", view="sideways", activation="tanh")
    assert not at.exception
    assert at.radio(key="ls_view").value == "init"
    assert any("sideways" in w.value for w in at.warning)
