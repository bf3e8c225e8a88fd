"""The ui.tables behind the compare page, directly: run names, the config diff in the
widgets' words, and the exports of metrics and curves."""

import io
import json

import pandas as pd
import pytest

from mlp_core import data
from mlp_core.runs import get_or_train
from mlp_core.store import RunStore, run_key
from ui import tables

pytestmark = pytest.mark.usefixtures("fresh_app")


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
