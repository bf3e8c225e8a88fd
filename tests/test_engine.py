"""The training engine against a plain autograd loop (tests/engine_reference.py): every
activation, init and BatchNorm layout, the steps that keep their gradients and those that
apply their update at once, mixed stacks, denormals."""

import math

import pytest

from mlp_core import stack, train
from mlp_core.fast import denormals
from mlp_core.fast.step import Step
from mlp_core.model import MLP
from tests.engine_reference import (
    STEPS,
    _assert_state_close,
    _base,
    _curve_from,
    reference_run,
)


@pytest.mark.parametrize("init", ["kaiming", "zeros", "normal", "torch-default"])
@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_engine_matches_autograd_reference(small_ds, activation, batchnorm, init):
    cfg = _base().replace(activation=activation, batchnorm=batchnorm, init=init)
    (run,) = train.train_stack([cfg], small_ds)
    ref = reference_run(cfg, small_ds)
    _assert_state_close(run.state, ref["state"], rtol=1e-9, atol=1e-11)
    curve = run.metrics["curve"]
    assert curve["step"][0] == 0  # the curve starts before the first update
    assert curve["train"][1:] == pytest.approx(_curve_from(ref["losses"]), abs=1e-10)
    if init == "zeros" and not batchnorm:  # every logit 0: the loss is ln(vocab) exactly
        assert curve["val"][0] == pytest.approx(math.log(small_ds.vocab_size), abs=1e-12)
    assert run.metrics["train_loss"] == pytest.approx(ref["split_loss"]["train"], abs=1e-10)
    assert run.metrics["val_loss"] == pytest.approx(ref["split_loss"]["val"], abs=1e-10)


@pytest.mark.parametrize("init", ["kaiming", "zeros"])
@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_steps_that_apply_their_update_match_the_reference(small_ds, activation, batchnorm, init):
    """Without diagnostics every step is Step.apply: -lr folded into the loss gradient,
    each weight gradient added straight to the weight; across the lr decay."""
    cfg = _base().replace(activation=activation, batchnorm=batchnorm, init=init)
    (run,) = train.train_stack([cfg], small_ds, diagnostics=False)
    ref = reference_run(cfg, small_ds)
    _assert_state_close(run.state, ref["state"], rtol=1e-9, atol=1e-11)
    assert run.metrics["curve"]["train"][1:] == pytest.approx(_curve_from(ref["losses"]), abs=1e-10)
    assert run.metrics["diagnostics"] is None
    assert all(p["grad_norm_max"] is None for p in run.metrics["params"])


@pytest.mark.parametrize("diagnostics", [True, False])
@pytest.mark.parametrize("momentum", [0.1, 0.001])
@pytest.mark.parametrize("output_bn", [True, False])
def test_batchnorm_layouts_and_momenta_match_the_reference(
    small_ds, output_bn, momentum, diagnostics
):
    """BN after every Linear (the lecture's deep net) or on the hidden layers only, the
    output Linear keeping its bias (its 2-layer BN net), with either running-stat momentum;
    the running statistics are compared too (they are in the state)."""
    cfg = _base().replace(batchnorm=True, output_bn=output_bn, bn_momentum=momentum)
    (run,) = train.train_stack([cfg], small_ds, diagnostics=diagnostics)
    ref = reference_run(cfg, small_ds)
    _assert_state_close(run.state, ref["state"], rtol=1e-9, atol=1e-11)
    assert ("layers.6.bias" in run.state) == (not output_bn)  # the output Linear's bias
    assert ("layers.7.gamma" in run.state) == output_bn  # the output BN
    want = _curve_from(ref["losses"])
    assert run.metrics["curve"]["train"][1:] == pytest.approx(want, abs=1e-10)
    assert run.metrics["val_loss"] == pytest.approx(ref["split_loss"]["val"], abs=1e-10)


def test_readable_batchnorm_without_eps_applies_its_updates_too(small_ds):
    """eps = 0 runs the readable BN (the lecture's NaN at zero init); with kaiming it
    trains, and on Step.apply its gamma and beta go through the shared update op."""
    cfg = _base().replace(batchnorm=True, bn_eps=0.0, activation="relu")
    (run,) = train.train_stack([cfg], small_ds, diagnostics=False)
    ref = reference_run(cfg, small_ds)
    _assert_state_close(run.state, ref["state"], rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("batchnorm", [False, True])
def test_a_mixed_stack_that_applies_its_updates_matches_each_reference(small_ds, batchnorm):
    """K > 1 on Step.apply: per-run lr (one run decays, one has its own lr), an unfused
    bias per layer, mixed activations."""
    base = _base().replace(batchnorm=batchnorm)
    cfgs = [
        base.replace(activation="sigmoid", seed=3),
        base.replace(activation="tanh", init="zeros"),
        base.replace(activation="relu", lr=0.05, lr_decay_step=0, init="torch-default"),
        base.replace(activation="tanh", init="normal", seed=9),
    ]
    for run, cfg in zip(train.train_stack(cfgs, small_ds, workers=1, diagnostics=False), cfgs):
        ref = reference_run(cfg, small_ds)
        _assert_state_close(run.state, ref["state"], rtol=1e-9, atol=1e-11)
        assert run.metrics["val_loss"] == pytest.approx(ref["split_loss"]["val"], abs=1e-10)


def test_steps_past_the_tracked_ones_apply_and_still_match(small_ds, monkeypatch):
    """With diagnostics, steps that keep gradients (the first GRAD_TRACK_FIRST, the
    recorder's) and steps that apply alternate."""
    monkeypatch.setattr(stack, "GRAD_TRACK_FIRST", 3)
    cfg = _base().replace(batchnorm=True)
    applied = []
    real = Step.apply
    monkeypatch.setattr(Step, "apply", lambda self, *a: applied.append(1) or real(self, *a))
    (run,) = train.train_stack([cfg], small_ds, diag_every=5)
    ref = reference_run(cfg, small_ds)
    _assert_state_close(run.state, ref["state"], rtol=1e-9, atol=1e-11)
    # kept: 0, 1, 2, the captures at 5, 10, 15, 20 and the run's last step (23)
    assert len(applied) == STEPS - 3 - 5
    assert run.metrics["diagnostics"]["steps"] == [0, 5, 10, 15, 20, STEPS - 1]
    assert all(p["grad_norm_max"] > 0 for p in run.metrics["params"])


def test_steps_flush_denormals_and_put_the_mode_back(small_ds, monkeypatch):
    """Round-off gradients below ~1e-38 (sigmoid + BN at zero init) are ~100x slower
    on x86 unless flushed; the thread's mode is restored after training."""
    seen = []
    real = Step.apply
    monkeypatch.setattr(
        Step, "apply", lambda s, *a: seen.append(denormals.flushing_denormals()) or real(s, *a)
    )
    assert not denormals.flushing_denormals()
    train.train_stack([_base()], small_ds, diagnostics=False)
    assert seen and all(seen)
    assert not denormals.flushing_denormals()


def test_round_off_gradients_keep_a_nonzero_norm_with_denormals_flushed():
    """Sigmoid at zero init gives the embedding float32 gradients of ~1e-22: their
    squares underflow, so the norms behind "trained" are summed in float64."""
    model = MLP([_base().model], 9, 3, seeds=[0], dtype="float32")
    step = Step(model, batch_size=16)
    step.grads.fill_(1e-22)
    with denormals.denormals_flushed():
        norms = step.grad_norms()
    assert bool((norms > 0).all())
    assert float(norms[0, 0]) == pytest.approx(1e-22 * model.C.numel() ** 0.5, rel=1e-5)


@pytest.mark.parametrize("batchnorm", [False, True])
def test_a_mixed_stack_matches_each_reference_in_float32(small_ds, batchnorm):
    """(Not sigmoid + zero init + BN here: BN blows its ~1e-7 rounding noise up to O(1), so
    float32 runs agree only in float64; the test above covers it.)"""
    base = _base("float32").replace(batchnorm=batchnorm)
    cfgs = [
        base.replace(activation="sigmoid", seed=3),
        base.replace(activation="tanh", init="zeros"),
        base.replace(activation="relu", lr=0.05, lr_decay_step=0, init="torch-default"),
        base.replace(activation="tanh", init="normal", seed=9),  # tanh runs not adjacent
    ]
    for run, cfg in zip(train.train_stack(cfgs, small_ds, workers=1), cfgs):
        ref = reference_run(cfg, small_ds)
        _assert_state_close(run.state, ref["state"], rtol=1e-4, atol=1e-5)
        want = _curve_from(ref["losses"])
        assert run.metrics["curve"]["train"][1:] == pytest.approx(want, abs=1e-5)
        assert run.metrics["val_loss"] == pytest.approx(ref["split_loss"]["val"], abs=1e-5)


@pytest.mark.parametrize("arithmetic", ["engine", "notebook"])
@pytest.mark.parametrize("steps", [81, 119])
def test_each_train_point_averages_the_steps_since_the_point_before(small_ds, arithmetic, steps):
    """The curve's train points against the reference's minibatch losses: every
    steps // 40 steps and the last step, each the mean of the losses since the point
    before (a last point closer than that averages its own steps only)."""
    cfg = _base().replace(steps=steps, lr_decay_step=0, arithmetic=arithmetic)
    (run,) = train.train_stack([cfg], small_ds)
    losses = reference_run(cfg, small_ds)["losses"]
    every = steps // 40
    points = [s for s in range(1, steps + 1) if s % every == 0 or s == steps]
    starts = [0] + points[:-1]
    want = [math.fsum(losses[a:b]) / (b - a) for a, b in zip(starts, points)]
    assert run.metrics["curve"]["step"][1:] == points
    assert run.metrics["curve"]["train"][1:] == pytest.approx(want, abs=1e-10)
