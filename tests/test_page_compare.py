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
from mlp_core.store import RunStore, get_or_train, run_key
from ui import tables

TINY = {"cmp_n_layers": 1, "cmp_n_hidden": 8, "cmp_steps": 60}


pytestmark = pytest.mark.usefixtures("fresh_app")


def open_page(ds=None, **query) -> AppTest:
    return open_app("pages/compare.py", session={"dataset": ds} if ds else None, **query)


def train_two(at: AppTest) -> AppTest:
    """tanh and relu, one stacked training, through the form."""
    for key, value in TINY.items():
        at.number_input(key=key).set_value(value)
    at.multiselect(key="cmp_activations").set_value(["tanh", "relu"])
    return at.get("form_submit_button")[0].click().run()


def test_with_no_runs_it_explains_and_offers_the_form():
    at = open_page()
    assert not at.exception
    assert "No runs yet in this session" in at.info[0].value
    assert at.get("form_submit_button")[0].label == "Train"
    assert not at.get("vega_lite_chart") and not at.dataframe


def test_two_runs_trained_here_are_compared(small_ds):
    at = train_two(open_page(small_ds))
    assert not at.exception and not at.error
    assert not at.info and not [b for b in at.button if b.label == "Stop"]  # drawn again
    listed = at.dataframe[0].value
    assert list(listed["run"]) == ["#1 tanh kaiming 1×8 s42", "#2 relu kaiming 1×8 s42"]
    assert len(at.multiselect(key="cmp_selected").value) == 2
    assert len(at.get("vega_lite_chart")) == 1
    table = at.dataframe[1].value
    assert list(table["steps"]) == [60, 60] and list(table["status"]) == ["ok", "ok"]
    assert (table["val_loss"] < 3.3).all()
    diff = at.dataframe[2].value
    assert list(diff.index) == ["activation"]  # only what differs
    assert len(at.get("download_button")) == 3
    assert at.query_params["activations"] == "tanh,relu"


def test_picking_one_run_asks_for_a_second(small_ds):
    at = train_two(open_page(small_ds))
    first = at.multiselect(key="cmp_selected").value[0]
    at.multiselect(key="cmp_selected").set_value([first]).run()
    assert not at.exception
    assert any("two or more" in c.value for c in at.caption)
    assert len(at.dataframe[1].value) == 1


def test_a_copied_link_shows_the_cached_runs_at_once(small_ds):
    at = train_two(open_page(small_ds))
    again = open_page(small_ds, **at.query_params)  # a new session opening the link
    assert not again.exception
    assert not any(e.type == "progress" for e in again.main)
    assert len(again.dataframe[0].value) == 2 and len(again.get("vega_lite_chart")) == 1


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
        "data": small_ds.source,
        "data_sha256": small_ds.sha256,
        "metrics": outcome.metrics,
        "baselines": {"uniform": 3.29, "unigram_entropy": 2.82, "bigram": 2.45},
    }
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["runs"] = {key: record}
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    assert list(at.dataframe[0].value["page"]) == ["zero_init"]
    assert len(at.get("vega_lite_chart")) == 1


def test_more_runs_than_one_submit_allows_are_refused(small_ds):
    at = open_page(small_ds)
    at.multiselect(key="cmp_activations").set_value(["tanh", "relu", "sigmoid"])
    at.multiselect(key="cmp_inits").set_value(["kaiming", "normal"])
    at.number_input(key="cmp_seeds").set_value(2)
    at.get("form_submit_button")[0].click().run()
    assert not at.exception
    assert "at most 8 runs" in at.error[0].value


def test_junk_in_a_link_falls_back_to_the_form_defaults():
    at = open_page(n_layers="12", lr="100", steps="0", activations="softmax,relu", seeds="x")
    assert not at.exception
    assert at.number_input(key="cmp_n_layers").value == 2
    assert at.number_input(key="cmp_lr").value == 0.1
    assert at.number_input(key="cmp_steps").value == 1000
    assert at.multiselect(key="cmp_activations").value == ["relu"]
    assert at.number_input(key="cmp_seeds").value == 1


def test_demo_caps_hold_for_links_too(monkeypatch):
    monkeypatch.setenv(ui.DEMO_ENV, "1")
    at = open_page(steps="100000", n_hidden="4096")
    assert not at.exception
    assert at.number_input(key="cmp_steps").value == 1000
    assert at.number_input(key="cmp_n_hidden").value == 64
    assert "Demo mode" in at.sidebar.info[0].value


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


def test_names_are_unique_even_when_labels_repeat(two_runs):
    assert tables.names(two_runs) == ["#1 run", "#2 run"]


def test_the_diff_has_only_the_settings_that_differ(two_runs):
    names = tables.names(two_runs)
    diff = tables.config_diff(two_runs, names)
    assert list(diff.index) == ["lr"] and list(diff.loc["lr"]) == ["0.1", "0.05"]
    assert tables.config_diff(two_runs[:1], names[:1]).empty


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
