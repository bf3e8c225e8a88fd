"""The init landscape page in AppTest: the at-init heatmap at once, its settings in the URL,
the trained view's button counting the missing cells (the demo caps' depths; the stacks'
true sizes once diverged cells, which the store never keeps, are all that is missing),
the colour caption naming the data's own ladder, a junk link falling back with a note.
Training the grid is covered in a real browser (tests/test_browser_landscape.py)."""

import json
import re

import pytest
from app_helpers import open_app

from mlp_core import data
from mlp_core.regime import ladder

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


def test_diverged_cells_are_kept_in_the_session_and_counted_as_the_stacks_that_train():
    """ReLU at 20 steps: the deep nets at 10x diverge (their first loss is far above the
    bound). After a press, this session knows every cell, diverged ones too: no button. A
    new session finds only the stored (finished) cells, so the diverged ones are missing,
    and the button names the stacks a press trains: one per such depth, of their size."""
    at = open_app("pages/landscape.py", view="trained", steps=20, activation="relu")
    at.button(key="ls-train").click().run()
    assert not at.exception
    cells = list(at.session_state["ls_cells"].values())
    diverged: dict[int, int] = {}
    for c in cells:
        if c["status"] == "diverged":
            diverged[c["depth"]] = diverged.get(c["depth"], 0) + 1
    assert diverged and len(cells) == 72 and {c["status"] for c in cells} == {"ok", "diverged"}
    assert not any(b.key == "ls-train" for b in at.button)  # nothing missing in this session
    again = open_app("pages/landscape.py", view="trained", steps=20, activation="relu")
    label = again.button(key="ls-train").label
    sizes = [diverged[d] for d in sorted(diverged)]
    n = sum(sizes)
    head = f"Train the {n} missing cell{'s' * (n != 1)} ({len(sizes)} stack"
    assert label.startswith(head), label
    counted = [int(k) for k in re.findall(r"\d+", label.split("(")[1])]
    if len(set(sizes)) == 1:
        assert counted == [len(sizes), sizes[0]], label
    else:
        assert counted == [len(sizes), *sizes], label


def test_the_colour_caption_names_the_datas_own_ladder_in_its_order():
    at = open_app("pages/landscape.py", view="trained", steps=300)
    caption = next(c.value for c in at.caption if "ladder" in c.value)
    rungs = ladder(data.baselines(data.default_dataset(), 3))  # worst first
    said = [caption.index(f"{name} ({v:.4f})") for name, v in rungs]
    assert said == sorted(said)
    assert caption.index("red at and above") < said[0] and "blue at " + rungs[-1][0] in caption
