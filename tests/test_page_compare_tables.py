"""The ui.tables behind the compare page, directly: run names, the config diff in the
widgets' words, and the exports of metrics and curves."""

import io
import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlp_core import data
from mlp_core.runs import get_or_train
from mlp_core.store import RunStore, run_key
from ui import tables
from ui.compare import reference_lines

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


def test_a_gain_left_to_the_activation_differs_from_a_set_one(two_runs):
    own = two_runs[0] | {"config": two_runs[0]["config"].replace(init_gain=None)}
    set_ = two_runs[0] | {"config": two_runs[0]["config"].replace(init_gain=1 / 6)}
    rows = tables.config_diff([own, set_], tables.names([own, set_])).to_dict("records")
    assert rows == [
        {"setting": "Kaiming gain", "#1": "1.667 (tanh's own)", "#2": "0.16666666666666666"}
    ]


def test_two_word_lists_of_one_name_are_two_data_sets(two_runs):
    other = two_runs[0] | {"data_sha256": "f" * 64, "baselines": {"uniform": 2.0}}
    runs = [two_runs[0], other]
    rows = tables.config_diff(runs, tables.names(runs)).to_dict("records")
    assert [r["setting"] for r in rows] == ["Data set"]
    assert rows[0]["#2"].endswith("sha256 ffffffff")
    lines = reference_lines(runs)  # each data set's yardsticks, told apart by sha256
    assert sorted(lines.values()) == [2.0, 3.0] and len(lines) == 2


def test_an_embedding_no_init_zeroes_is_no_difference(two_runs):
    zeros = two_runs[0] | {"config": two_runs[0]["config"].replace(init="zeros")}
    runs = [two_runs[0], zeros]
    rows = [r["setting"] for r in tables.config_diff(runs, tables.names(runs)).to_dict("records")]
    assert rows == ["Init", "Kaiming gain"]  # a gain where it applies, "—" where not
    zeroed = zeros | {"config": zeros["config"].replace(zero_embedding=True)}
    rows = tables.config_diff([two_runs[0], zeroed], tables.names(runs)).to_dict("records")
    assert {r["setting"]: (r["#1"], r["#2"]) for r in rows}["Embedding zeroed"] == ("—", "True")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_setting_that_changes_a_run_always_shows_in_the_diff(two_runs, data):
    """Change one setting of a run where it applies (it changes what trains): the diff
    names it; the run beside itself: no row at all."""
    base = two_runs[0]["config"].replace(
        batchnorm=data.draw(st.booleans()),
        init=data.draw(st.sampled_from(["kaiming", "normal", "zeros"])),
        steps=data.draw(st.sampled_from([10, 200])),
        lr_decay_step=data.draw(st.sampled_from([0, 5, 100])),
    )
    changes = {
        "n_hidden": 7, "n_layers": 3, "activation": "relu", "lr": 0.3, "seed": 1,
        "batch_size": 8, "block_size": 2, "n_embd": 4, "arithmetic": "notebook",
        "dtype": "float64", "rng": "lecture", "init_gain": 0.5, "init_scale": 0.2,
        "bn_eps": 0.1, "bn_momentum": 0.5, "output_bn": False, "zero_embedding": True,
        "lr_decay_step": 3,
    }  # fmt: skip
    applies = {
        "init_gain": base.model.init == "kaiming",
        "init_scale": base.model.init == "normal",
        "zero_embedding": base.model.init == "zeros",
        "bn_eps": base.model.batchnorm,
        "bn_momentum": base.model.batchnorm,
        "output_bn": base.model.batchnorm,
        "lr_decay_step": base.train.lr_decay_step != 3 and base.train.steps > 3,
    }
    name = data.draw(st.sampled_from(sorted(k for k in changes if applies.get(k, True))))
    changed = base.replace(**{name: changes[name]})
    assert changed != base
    runs = [two_runs[0] | {"config": base}, two_runs[0] | {"config": changed}]
    rows = tables.config_diff(runs, tables.names(runs))
    assert tables.SETTING_WORDS[name] in list(rows["setting"])
    assert tables.config_diff(runs[:1] * 2, tables.names(runs)).empty
