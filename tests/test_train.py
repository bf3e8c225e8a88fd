import math

import pytest
import torch

from mlp_core import data
from mlp_core.train import train_stack


def test_same_config_and_seed_give_identical_numbers(small_ds, tiny_cfg):
    (a,) = train_stack([tiny_cfg], small_ds)
    (b,) = train_stack([tiny_cfg], small_ds)
    assert a.metrics["train_loss"] == b.metrics["train_loss"]
    assert a.metrics["curve"] == b.metrics["curve"]
    for name in a.state:
        assert torch.equal(a.state[name], b.state[name]), name
    (c,) = train_stack([tiny_cfg.replace(seed=tiny_cfg.train.seed + 1)], small_ds)
    assert c.metrics["train_loss"] != a.metrics["train_loss"]


def test_a_run_does_not_depend_on_its_stack(small_ds, tiny_cfg):
    (alone,) = train_stack([tiny_cfg], small_ds)
    stacked = train_stack(
        [
            tiny_cfg.replace(init="zeros", seed=3),
            tiny_cfg,
            tiny_cfg.replace(activation="relu", lr=0.05),
        ],
        small_ds,
    )
    assert stacked[1].metrics["stacked_with"] == 3
    for name in alone.state:
        torch.testing.assert_close(stacked[1].state[name], alone.state[name], rtol=1e-5, atol=1e-6)
    assert stacked[1].metrics["val_loss"] == pytest.approx(alone.metrics["val_loss"], abs=1e-5)


def test_training_lowers_the_loss_below_the_unigram_baseline(small_ds, tiny_cfg):
    (run,) = train_stack([tiny_cfg.replace(steps=600)], small_ds)
    base = data.baselines(small_ds, 3)
    assert run.status == "ok"
    assert run.metrics["val_loss"] < base["unigram_entropy"] < base["uniform"]
    curve = run.metrics["curve"]
    assert curve["step"][-1] == 600 and curve["train"][-1] < curve["train"][0]


def test_lr_decay_divides_the_lr_by_ten(small_ds, tiny_cfg):
    (run,) = train_stack([tiny_cfg.replace(steps=20, lr_decay_step=10)], small_ds, diag_every=1)
    ratios = run.metrics["diagnostics"]["update_ratio"]["layers.0.weight"]
    # update:data is log10(lr*std(grad)/std(data)): the decay shifts it by about -1
    assert sum(ratios[10:14]) / 4 - sum(ratios[6:10]) / 4 < -0.6


def test_divergence_is_reported_not_returned_as_a_result(small_ds, tiny_cfg):
    bad, good = train_stack([tiny_cfg.replace(lr=1e6), tiny_cfg], small_ds)
    assert bad.status == "diverged" and bad.metrics["diverged_at"] is not None
    assert good.status == "ok" and math.isfinite(good.metrics["val_loss"])


def test_zero_init_bn_without_eps_diverges_at_step_zero(small_ds, tiny_cfg):
    (run,) = train_stack([tiny_cfg.replace(init="zeros", batchnorm=True, bn_eps=0.0)], small_ds)
    assert run.status == "diverged" and run.metrics["diverged_at"] == 0


def test_progress_callback_sees_every_curve_point_and_can_stop(small_ds, tiny_cfg):
    seen = []

    def on_progress(p):
        seen.append(p.step)
        return p.step >= 30

    (run,) = train_stack([tiny_cfg], small_ds, on_progress=on_progress)
    assert run.status == "stopped" and run.metrics["steps"] == seen[-1] >= 30
    assert seen == sorted(seen) and len(seen) >= 2


def test_diagnostics_cover_every_layer_and_parameter(small_ds, tiny_cfg):
    (run,) = train_stack([tiny_cfg.replace(batchnorm=True)], small_ds, diag_every=10)
    d = run.metrics["diagnostics"]
    assert d["steps"] == [*range(0, 60, 10), 59]  # and the last step
    assert len(d["activations"]) == 2  # two hidden activation layers
    for row in d["activations"].values():
        assert len(row["saturation"]) == 7 and all(0 <= s <= 1 for s in row["saturation"])
    names = [p["name"] for p in run.metrics["params"]]
    assert set(d["update_ratio"]) == set(names)
    assert d["act_hist"] and sum(next(iter(d["act_hist"][0].values()))["counts"]) == 32 * 16


def test_zero_init_tanh_trains_only_the_last_bias(small_ds, tiny_cfg):
    (run,) = train_stack([tiny_cfg.replace(init="zeros", steps=200)], small_ds)
    trained = [p["name"] for p in run.metrics["params"] if p["trained"]]
    assert trained == ["layers.4.bias"]
    hidden = [
        p for p in run.metrics["params"] if p["name"] in ("layers.0.weight", "layers.2.weight")
    ]
    assert all(p["distinct_neurons"] == 1 and p["rank"] == 0 for p in hidden)
