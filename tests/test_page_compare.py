"""The compare page: empty state, runs trained with its form (several at once), curves,
metrics, the config diff, exports, links, and runs kept per session; and the ui.tables
behind it."""

import io
import json

import pandas as pd
import pytest
from app_helpers import APP, open_app
from streamlit.testing.v1 import AppTest

import ui
from mlp_core import data
from mlp_core.runs import get_or_train
from mlp_core.store import RunStore, run_key
from ui import tables
from ui.text import shown_frame

TINY = {"cmp_n_layers": 1, "cmp_n_hidden": 8, "cmp_steps": 60}


pytestmark = pytest.mark.usefixtures("fresh_app")


def open_page(ds=None, **query) -> AppTest:
    return open_app("pages/compare.py", session={"dataset": ds} if ds else None, **query)


def train_two(at: AppTest) -> AppTest:
    """tanh and relu, one stacked training, through the form."""
    for key, value in TINY.items():
        at.number_input(key=key).set_value(value)
    at.multiselect(key="cmp_activations").set_value(["tanh", "relu"]).run()
    return at.button(key="cmp_train").click().run()


def shown(at: AppTest) -> dict[str, pd.DataFrame]:
    """The page's tables by their first column: run list, metrics, diff, saturation."""
    return {t.value.columns[0] if len(t.value.columns) else "": t.value for t in at.table}


def test_with_no_runs_it_explains_and_offers_the_form():
    at = open_page()
    assert not at.exception
    assert "No runs yet in this session" in at.info[0].value
    assert at.button(key="cmp_train").label == "Train"
    assert not at.get("vega_lite_chart")
    # the only table is the lecture presets' (ui/presets.py), no run list yet
    assert all("lecture val" in t.value.columns for t in at.table)


def test_the_forms_count_follows_every_tick():
    at = open_page()
    assert "1 activation(s) × 1 init(s) × 1 seed(s) = 1 run(s)" in at.caption[0].value
    at.multiselect(key="cmp_activations").set_value(["tanh", "relu"])
    at.multiselect(key="cmp_inits").set_value(["kaiming", "normal", "zeros"]).run()
    assert "2 activation(s) × 3 init(s) × 1 seed(s) = 6 run(s)" in at.caption[0].value
    at.number_input(key="cmp_seeds").set_value(2).run()
    assert "= 12 run(s): at most 8 a press" in at.caption[0].value
    assert at.button(key="cmp_train").disabled


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


def test_more_runs_than_one_press_allows_cannot_be_trained(small_ds):
    at = open_page(small_ds)
    at.multiselect(key="cmp_activations").set_value(["tanh", "relu", "sigmoid"])
    at.multiselect(key="cmp_inits").set_value(["kaiming", "normal"])
    at.number_input(key="cmp_seeds").set_value(2).run()
    assert not at.exception
    assert at.button(key="cmp_train").disabled
    assert "at most 8 a press" in at.caption[0].value


def test_junk_in_a_link_falls_back_to_the_form_defaults_and_says_so():
    at = open_page(n_layers="12", lr="100", steps="0", activations="softmax,relu", seeds="x")
    assert not at.exception
    assert at.number_input(key="cmp_n_layers").value == 2
    assert at.number_input(key="cmp_lr").value == 0.1
    assert at.number_input(key="cmp_steps").value == 1000
    assert at.multiselect(key="cmp_activations").value == ["relu"]
    assert at.number_input(key="cmp_seeds").value == 1
    notes = " ".join(w.value for w in at.warning)
    assert "n_layers = 12 is more than allowed (at most 8); using 2." in notes
    assert "steps = 0 is less than allowed (at least 1)" in notes
    assert "seeds = x is not a valid value here" in notes
    at.number_input(key="cmp_n_layers").set_value(3).run()  # changed: its note goes
    assert "n_layers" not in " ".join(w.value for w in at.warning)


def test_demo_caps_hold_for_links_too_and_say_so(monkeypatch):
    monkeypatch.setenv(ui.DEMO_ENV, "1")
    at = open_page(steps="100000", n_hidden="4096")
    assert not at.exception
    assert at.number_input(key="cmp_steps").value == 1000
    assert at.number_input(key="cmp_n_hidden").value == 64
    assert "Demo mode" in at.sidebar.info[0].value
    notes = " ".join(w.value for w in at.warning)
    assert "steps = 100000 is more than this demo server allows (at most 5,000)" in notes
    assert "n_hidden = 4096 is more than allowed (at most 200)" in notes


# ---------------------------------------------------------------- ui.tables, directly


@pytest.fixture
def two_runs(small_ds, tiny_cfg) -> list[dict]:
    cfgs = [tiny_cfg, tiny_cfg.replace(lr=0.05)]
    outcomes = get_or_train(cfgs, small_ds, RunStore())
    return [
        {
            "key": run_key(c, small_ds.sha256),
            "label": "run",
            "page": "compare",
            "config": c,
            "data": small_ds.source,
            "data_sha256": small_ds.sha256,
            "metrics": o.metrics,
            "baselines": {"uniform": 3.0},
        }
        for c, o in zip(cfgs, outcomes)
    ]


def test_names_say_what_the_run_is_and_its_data(two_runs):
    assert tables.names(two_runs) == [
        "#1 tanh kaiming 2×16 s42 · test: 3000 names",
        "#2 tanh kaiming 2×16 s42 · test: 3000 names",
    ]
    assert tables.data_label(data.DEFAULT_SOURCE) == "built-in"
    assert tables.data_label("upload: " + "w" * 40 + ".txt") == "w" * 23 + "…"


def test_the_diff_has_only_the_settings_that_differ(two_runs):
    names = tables.names(two_runs)
    diff = tables.config_diff(two_runs, names)
    assert diff.to_dict("records") == [{"setting": "Learning rate", "#1": "0.1", "#2": "0.05"}]
    assert tables.config_diff(two_runs[:1], names[:1]).empty


def test_the_diff_shows_only_settings_that_apply_in_the_widgets_words(two_runs):
    bn = two_runs[1] | {"config": two_runs[1]["config"].replace(batchnorm=True, bn_momentum=0.01)}
    nb = two_runs[0] | {"config": two_runs[0]["config"].replace(arithmetic="notebook")}
    runs = [nb, bn]
    names = tables.names(runs)
    assert names[0].startswith("#1 tanh kaiming 2×16 s42 notebook ·")  # engine runs: no word
    rows = {
        r["setting"]: (r["#1"], r["#2"]) for r in tables.config_diff(runs, names).to_dict("records")
    }
    assert rows["BatchNorm momentum"] == ("—", "0.01")  # no momentum without BatchNorm
    assert rows["Arithmetic"] == ("notebook", "engine")
    assert "lr / 10 from step" not in rows  # 150,000: past both runs' last step
    assert not any("_" in name for name in rows)


def test_exports_hold_metrics_and_curves(two_runs):
    names = tables.names(two_runs)
    curves = pd.read_csv(io.StringIO(tables.curves_csv(two_runs, names)))
    points = len(two_runs[0]["metrics"]["curve"]["step"])
    assert list(curves.columns) == ["run", "split", "step", "loss"]
    assert len(curves) == 2 * 2 * points  # runs x (train, val) x points
    metrics = pd.read_csv(io.StringIO(tables.metrics_csv(two_runs, names)))
    assert list(metrics["run"]) == names and "val_loss" in metrics
    exported = json.loads(tables.export_json(two_runs, names))
    assert [e["config"]["train"]["lr"] for e in exported] == [0.1, 0.05]
    assert exported[0]["curve"]["val"] == two_runs[0]["metrics"]["curve"]["val"]
    assert "params" not in exported[0]["metrics"]  # no weights or diagnostics


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


def _form(at: AppTest):
    return next(e for e in at.expander if e.label == "Train new runs here")


def test_the_form_stays_as_the_visitor_left_it_through_a_training_and_a_stop(small_ds):
    at = open_page(small_ds)
    assert _form(at).proto.expanded  # no runs yet: open
    at = train_two(at)
    assert _form(at).proto.expanded and at.button(key="cmp_train").label == "Train"
    at.session_state["stopped"] = {"page": at.session_state["page"], "step": 7, "steps": 60}
    at.run()  # the run a Stop causes: its note above the page
    assert any("Stopped at step 7 of 60" in w.value for w in at.warning)
    assert _form(at).proto.expanded and not at.button(key="cmp_train").disabled
    assert at.number_input(key="cmp_steps").value == 60  # the settings as they were
    fresh = open_page(small_ds, **at.query_params)  # a new session with runs: shut
    fresh.session_state["runs"] = at.session_state["runs"]
    fresh.run()
    assert not _form(fresh).proto.expanded


def test_a_stop_note_takes_a_slot_drawn_at_every_run(small_ds):
    at = open_page(small_ds)
    before = [type(e).__name__ for e in at.main]
    at.session_state["stopped"] = {"page": at.session_state["page"], "step": 7, "steps": 60}
    at.run()
    after = [type(e).__name__ for e in at.main]
    note = after.index("Warning")
    assert before[note] == "UnknownElement"  # st.empty, as AppTest reads it
    assert after[:note] + after[note + 1 :] == before[:note] + before[note + 1 :]
