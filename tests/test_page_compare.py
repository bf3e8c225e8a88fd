"""The compare page: empty state, runs trained with its form (several at once), curves
and their range of steps, metrics, the config diff, exports, the lecture's diagnostics,
links, and runs kept per session. Its form: tests/test_page_compare_form.py; the
ui.tables behind it: tests/test_page_compare_tables.py."""

import json

import pytest
from app_helpers import APP
from compare_helpers import open_page, train_two
from streamlit.testing.v1 import AppTest

import ui
from mlp_core.runs import get_or_train
from mlp_core.store import RunStore, run_key
from ui.text import shown_frame

pytestmark = pytest.mark.usefixtures("fresh_app")


def test_with_no_runs_it_explains_and_offers_the_form():
    at = open_page()
    assert not at.exception
    assert "No runs yet in this session" in at.info[0].value
    assert at.button(key="cmp_train").label == "Train"
    assert not at.get("vega_lite_chart")
    # the only table is the lecture presets' (ui/presets.py), no run list yet
    assert all("lecture val" in t.value.columns for t in at.table)


def test_two_runs_trained_here_are_compared(small_ds):
    at = train_two(open_page(small_ds))
    assert not at.exception and not at.error
    assert not at.info and not [b for b in at.button if b.label == "Stop"]  # drawn again
    names = [f"#{i} {a} kaiming 1×8 s42 · test: 3000 names" for i, a in ((1, "tanh"), (2, "relu"))]
    assert at.multiselect(key="cmp_pick").value == [k for k in at.session_state["cmp_chosen"]]
    listed = shown_frame(at.table[0].value)
    assert list(listed["run"]) == names
    assert len(at.get("vega_lite_chart")) >= 1
    metrics = shown_frame(at.table[1].value)
    assert list(metrics["steps"]) == [60, 60] and list(metrics["status"]) == ["ok", "ok"]
    assert (metrics["val loss"] < 3.3).all()
    diff = shown_frame(at.table[2].value)
    assert list(diff.columns) == ["setting", "#1", "#2"]  # the setting, then each run by number
    assert list(diff["setting"]) == ["Activation"]  # only what differs, in the widget's word
    assert len(at.get("download_button")) == 3
    assert at.query_params["activations"] == "tanh,relu"


def test_the_lectures_diagnostics_of_two_runs_side_by_side(small_ds):
    at = train_two(open_page(small_ds))
    assert len(at.multiselect(key="cmp_diag").value) == 2
    sliders = at.get("select_slider")
    assert len(sliders) == 2 and all(s.value == 59 for s in sliders)  # the last step
    # per run: activations, activation gradients, weight gradients, update ratio, spread
    assert len(at.get("vega_lite_chart")) == 1 + 2 * 5
    saturation = [t.value for t in at.table if list(t.value.columns)[:2] == ["layer", "mean"]]
    assert len(saturation) == 2 and list(saturation[0]["layer"]) == ["layers.1 (tanh)"]
    at.multiselect(key="cmp_diag").set_value([at.multiselect(key="cmp_diag").value[0]]).run()
    assert len(at.get("select_slider")) == 1 and not at.exception


def test_every_chart_of_runs_and_layers_says_a_legend_click_picks_a_line_out(small_ds):
    at = train_two(open_page(small_ds))
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    picks = [p["name"] for s in specs for p in s.get("params", []) if p.get("bind") == "legend"]
    assert picks.count("pick_run") == 1  # the loss curves of the runs
    assert picks.count("pick_layer") == 2 * 3 and picks.count("pick_name") == 2 * 2
    captions = [c.value for c in at.caption]
    assert ui.charts.PICK_NOTE in captions  # once, above both runs' diagnostics
    assert any("click a run in the legend below the chart" in c for c in captions)


def test_the_selection_survives_a_visit_to_another_page(small_ds):
    at = train_two(open_page(small_ds))
    first = at.multiselect(key="cmp_pick").value[0]
    at.multiselect(key="cmp_pick").set_value([first]).run()
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    assert at.multiselect(key="cmp_pick").value == [first]


def test_picking_one_run_asks_for_a_second(small_ds):
    at = train_two(open_page(small_ds))
    first = at.multiselect(key="cmp_pick").value[0]
    at.multiselect(key="cmp_pick").set_value([first]).run()
    assert not at.exception
    assert any("two or more" in c.value for c in at.caption)
    assert len(at.table[1].value) == 1


def test_a_copied_link_shows_the_cached_runs_at_once(small_ds):
    at = train_two(open_page(small_ds))
    again = open_page(small_ds, **at.query_params)  # a new session opening the link
    assert not again.exception
    assert not any(e.type == "progress" for e in again.main)
    assert len(again.table[0].value) == 2 and len(again.get("vega_lite_chart")) >= 1


def test_runs_are_listed_per_session(small_ds):
    train_two(open_page(small_ds))
    other = open_page(small_ds)
    assert "No runs yet in this session" in other.info[0].value


def test_runs_from_other_pages_are_listed(small_ds, tiny_cfg):
    (outcome,) = get_or_train([tiny_cfg], small_ds, RunStore())
    key = run_key(tiny_cfg, small_ds.sha256)
    record = {
        "key": key,
        "label": "zero init",
        "page": "zero_init",
        "config": tiny_cfg,
        "data": "upload: my words.txt",
        "data_sha256": small_ds.sha256,
        "metrics": outcome.metrics,
        "baselines": {"uniform": 3.29, "unigram_entropy": 2.82, "bigram": 2.45},
    }
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["runs"] = {key: record}
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    listed = shown_frame(at.table[0].value)
    assert list(listed["page"]) == ["zero_init"]
    assert list(listed["run"]) == ["#1 tanh kaiming 2×16 s42 · my words.txt"]


def test_the_loss_chart_zooms_to_a_range_of_steps(small_ds):
    at = train_two(open_page(small_ds))
    (slider,) = [s for s in at.slider if s.key.startswith("cmp_step_range_")]
    last = int(slider.max)
    assert slider.label == "Steps shown" and slider.value == (0, last) and last >= 59
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert "domain" not in spec["layer"][0]["encoding"]["x"].get("scale", {})  # all steps
    slider.set_value((20, 40)).run()
    assert not at.exception
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert spec["layer"][0]["encoding"]["x"]["scale"]["domain"] == [20, 40]
    assert at.slider(key=slider.key).value == (20, 40)  # kept across reruns
