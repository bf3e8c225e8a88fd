import math

import pytest
import torch

from mlp_core import data, run_rules, stack
from mlp_core.config import ConfigError
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


def _without_timing(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in ("seconds", "steps_per_second")}


def test_divergence_above_the_bound_is_not_called_not_finite(small_ds, tiny_cfg):
    (run,) = train_stack([tiny_cfg.replace(lr=30.0)], small_ds)
    m, bound = run.metrics, run_rules.DIVERGED_FACTOR * math.log(small_ds.vocab_size)
    assert run.status == "diverged" and m["diverged_reason"] == "above bound"
    assert m["diverged_bound"] == bound
    assert math.isfinite(m["diverged_loss"]) and m["diverged_loss"] >= bound


def test_a_loss_that_is_not_finite_is_called_not_finite(small_ds, tiny_cfg):
    cfg = tiny_cfg.replace(init="zeros", batchnorm=True, bn_eps=0.0)
    for arithmetic in ("engine", "notebook"):
        (run,) = train_stack([cfg.replace(arithmetic=arithmetic)], small_ds)
        m = run.metrics
        assert (m["diverged_at"], m["diverged_reason"], m["diverged_loss"]) == (
            0,
            "not finite",
            None,
        )


def test_a_run_that_did_not_diverge_has_no_divergence_reason(small_ds, tiny_cfg):
    (run,) = train_stack([tiny_cfg], small_ds)
    m = run.metrics
    assert m["diverged_reason"] is None and m["diverged_loss"] is None
    assert m["diverged_bound"] == run_rules.DIVERGED_FACTOR * math.log(small_ds.vocab_size)


def test_a_diverged_run_gives_the_same_bits_wherever_the_steps_are_cut(
    small_ds, tiny_cfg, monkeypatch
):
    """Runs that diverge at different steps next to one that trains on: every number, the
    diverged runs' weights and diagnostics included, is the same whatever the slices
    (turns between visitors) and chunks, as if checked at every step."""
    base = tiny_cfg.replace(steps=120)
    cfgs = [base.replace(lr=30.0), base, base.replace(lr=15.0, seed=5), base.replace(lr=60.0)]
    ref = train_stack(cfgs, small_ds, diag_every=1)
    assert [r.status for r in ref] == ["diverged", "ok", "diverged", "diverged"]
    for chunk, cut in ((200, 1), (200, 13), (7, 3), (1, None)):
        monkeypatch.setattr(stack, "CHUNK_STEPS", chunk)
        on_slice = None if cut is None else (lambda ran, cut=cut: cut)
        runs = train_stack(cfgs, small_ds, diag_every=1, on_slice=on_slice)
        for run, want in zip(runs, ref):
            assert _without_timing(run.metrics) == _without_timing(want.metrics)
            assert all(torch.equal(run.state[n], want.state[n]) for n in want.state)


def test_every_run_diverged_gives_the_same_bits_wherever_the_steps_are_cut(
    small_ds, tiny_cfg, monkeypatch
):
    base = tiny_cfg.replace(steps=400)  # a curve point every 10 steps
    cfgs = [base.replace(lr=30.0), base.replace(lr=60.0, seed=2)]
    ref = train_stack(cfgs, small_ds, diag_every=1)
    assert ref[0].metrics["steps"] == max(r.metrics["diverged_at"] for r in ref) + 1
    monkeypatch.setattr(stack, "CHUNK_STEPS", 1)
    for run, want in zip(train_stack(cfgs, small_ds, diag_every=1), ref):
        assert _without_timing(run.metrics) == _without_timing(want.metrics)


def test_a_diverged_run_reports_the_weights_that_measured_its_bad_loss(small_ds, tiny_cfg):
    """The notebook arithmetic stops at the bad step before its update; the engine's
    diverged run reports that same state (float64: the two agree to round-off)."""
    for cfg in (tiny_cfg.replace(lr=30.0), tiny_cfg.replace(lr=200.0, batchnorm=True)):
        cfg = cfg.replace(dtype="float64")
        (engine,) = train_stack([cfg], small_ds)
        (notebook,) = train_stack([cfg.replace(arithmetic="notebook")], small_ds)
        e, n = engine.metrics, notebook.metrics
        assert e["diverged_at"] == n["diverged_at"] and e["diverged_reason"] == "above bound"
        assert e["diverged_loss"] == pytest.approx(n["diverged_loss"], rel=1e-12)
        assert e["val_loss"] == pytest.approx(n["val_loss"], rel=1e-10)


def test_a_non_finite_setting_is_refused_before_training(small_ds, tiny_cfg):
    for change in ("lr", "bn_eps", "bn_momentum", "init_gain", "init_scale"):
        for value in (math.inf, math.nan):
            with pytest.raises(ConfigError, match=f"{change} must be a finite number"):
                train_stack([tiny_cfg.replace(**{change: value})], small_ds)
