"""The training engine against a plain autograd loop written here, the lecture's way.

The reference shares only the initial parameters (model.init_run) and the minibatch
indices (one torch.randint per step from the run's own generator) with the engine; its
forward, loss, gradients (autograd) and SGD update are independent.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from mlp_core import data, run_rules, stack, train, workers
from mlp_core.config import RunConfig
from mlp_core.diagnostics import neuron_spread, neuron_spreads, row_std
from mlp_core.fast import denormals
from mlp_core.fast.evaluate import evaluate
from mlp_core.fast.step import Step
from mlp_core.model import MLP, init_run

STEPS, DECAY = 24, 15  # the lr is divided by ten from step DECAY on


def reference_run(cfg: RunConfig, ds: data.Dataset) -> dict:
    """Train cfg with autograd; returns the final parameters and buffers (named like
    MLP.state_dict), the per-step minibatch losses and the full-split losses."""
    m, t = cfg.model, cfg.train
    dt = torch.float64 if t.dtype == "float64" else torch.float32
    sp = data.make_splits(ds, cfg.data.block_size)
    init = init_run(m, ds.vocab_size, cfg.data.block_size, t.seed)
    P = {k: v.to(dt).clone().requires_grad_(True) for k, v in init.items()}
    names, bufs = _names(cfg, P)
    g = torch.Generator().manual_seed(t.seed)
    losses = []
    for i in range(t.steps):
        ix = torch.randint(0, len(sp.Ytr), (t.batch_size,), generator=g)
        loss = F.cross_entropy(_forward(cfg, P, bufs, sp.Xtr[ix], True), sp.Ytr[ix])
        for p in P.values():
            p.grad = None
        loss.backward()
        lr = t.lr if not t.lr_decay_step or i < t.lr_decay_step else t.lr / 10
        with torch.no_grad():
            for p in P.values():
                p -= lr * p.grad
        losses.append(loss.item())
    with torch.no_grad():
        split_loss = {
            split: F.cross_entropy(_forward(cfg, P, bufs, X, False), Y).item()
            for split, X, Y in (("train", sp.Xtr, sp.Ytr), ("val", sp.Xdev, sp.Ydev))
        }
    state = {names[k]: v.detach() for k, v in P.items()} | bufs
    return {"state": state, "losses": losses, "split_loss": split_loss}


def _names(cfg: RunConfig, P: dict) -> tuple[dict, dict]:
    """MLP's parameter names for the reference's keys, and zeroed running buffers."""
    names, bufs, pos = {"C": "C"}, {}, 0
    for i in range(cfg.model.n_layers + 1):
        names[f"W{i}"] = f"layers.{pos}.weight"
        if _has_bn(cfg, i):
            names[f"gamma{i}"], names[f"beta{i}"] = (
                f"layers.{pos + 1}.gamma",
                f"layers.{pos + 1}.beta",
            )
            n = P[f"W{i}"].shape[1]
            bufs[f"layers.{pos + 1}.running_mean"] = torch.zeros(1, n, dtype=P["C"].dtype)
            bufs[f"layers.{pos + 1}.running_var"] = torch.ones(1, n, dtype=P["C"].dtype)
            P.pop(f"b{i}")
            pos += 1
        else:
            names[f"b{i}"] = f"layers.{pos}.bias"
        pos += 2
    return names, bufs


def _has_bn(cfg: RunConfig, i: int) -> bool:
    """A BatchNorm after Linear i: every one with batchnorm, but the output one only with
    output_bn (the lecture's 2-layer BN net has none there)."""
    m = cfg.model
    return m.batchnorm and (m.output_bn or i < m.n_layers)


def _forward(cfg: RunConfig, P: dict, bufs: dict, X: torch.Tensor, training: bool):
    m = cfg.model
    act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}[m.activation]
    x = P["C"][X].view(len(X), -1)
    pos = 0
    for i in range(m.n_layers + 1):
        x = x @ P[f"W{i}"] + (0 if _has_bn(cfg, i) else P[f"b{i}"])
        if _has_bn(cfg, i):
            x = _batchnorm(
                x, P[f"gamma{i}"], P[f"beta{i}"], bufs, f"layers.{pos + 1}.", m, training
            )
            pos += 1
        if i < m.n_layers:
            x = act(x)
        pos += 2
    return x


def _batchnorm(x, gamma, beta, bufs, prefix, m, training):
    """The lecture's BatchNorm1d; biased variance to normalise, unbiased for running_var."""
    rm, rv = bufs[prefix + "running_mean"], bufs[prefix + "running_var"]
    if training:
        mean, var = x.mean(0, keepdim=True), x.var(0, keepdim=True, unbiased=False)
        with torch.no_grad():
            rm.mul_(1 - m.bn_momentum).add_(m.bn_momentum * mean)
            rv.mul_(1 - m.bn_momentum).add_(m.bn_momentum * var * len(x) / (len(x) - 1))
    else:
        mean, var = rm, rv
    return gamma * (x - mean) / torch.sqrt(var + m.bn_eps) + beta


def _base(dtype: str = "float64") -> RunConfig:
    return RunConfig().replace(
        n_embd=3, n_hidden=8, n_layers=2, steps=STEPS, batch_size=16, lr_decay_step=DECAY,
        lr=0.2, dtype=dtype,
    )  # fmt: skip


def _assert_state_close(ours: dict, ref: dict, rtol: float, atol: float) -> None:
    assert set(ours) == set(ref)
    for name, t in ref.items():
        torch.testing.assert_close(ours[name], t, rtol=rtol, atol=atol, msg=name)


def _curve_from(losses: list[float]) -> list[float]:
    """The engine's curve points for STEPS < CURVE_POINTS: a point after every step, the
    mean of the minibatch losses since the last point (here: that step's own)."""
    return list(losses)


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


def test_zero_init_bn_without_eps_gives_nan_at_step_zero_like_the_lecture(small_ds):
    cfg = _base().replace(init="zeros", batchnorm=True, bn_eps=0.0)
    (run,) = train.train_stack([cfg], small_ds)
    assert math.isnan(reference_run(cfg, small_ds)["losses"][0])
    assert run.status == "diverged" and run.metrics["diverged_at"] == 0


def test_divergence_is_found_at_its_exact_step_across_chunks(small_ds, monkeypatch):
    cfg = _base().replace(lr=40.0, lr_decay_step=0, steps=60)
    ref_losses = reference_run(cfg, small_ds)["losses"]
    limit = run_rules.DIVERGED_FACTOR * math.log(small_ds.vocab_size)
    first_bad = next(i for i, x in enumerate(ref_losses) if not x < limit)
    assert first_bad > 0
    monkeypatch.setattr(stack, "CHUNK_STEPS", 7)
    bad, good = train.train_stack([cfg, cfg.replace(lr=0.1)], small_ds)
    assert bad.status == "diverged" and bad.metrics["diverged_at"] == first_bad
    assert good.status == "ok"


def test_chunking_and_workers_do_not_change_the_numbers(small_ds, monkeypatch):
    cfgs = [
        _base("float32").replace(seed=s, activation=a) for s, a in enumerate(["tanh", "relu"] * 2)
    ]
    ref = train.train_stack(cfgs, small_ds, workers=1)
    monkeypatch.setattr(stack, "CHUNK_STEPS", 5)
    chunked = train.train_stack(cfgs, small_ds, workers=1)
    split = train.train_stack(cfgs, small_ds, workers=2)
    monkeypatch.setattr(workers, "acquire", lambda *args: [])  # no worker processes
    split_here = train.train_stack(cfgs, small_ds, workers=2)
    for a, b, c, d in zip(ref, chunked, split, split_here):
        assert a.metrics["curve"] == b.metrics["curve"]
        _assert_state_close(b.state, a.state, rtol=0, atol=0)
        _assert_state_close(c.state, a.state, rtol=1e-5, atol=1e-6)
        _assert_state_close(d.state, c.state, rtol=0, atol=0)  # the same groups, here
        assert c.metrics["curve"] == d.metrics["curve"]
        assert c.metrics["stacked_with"] == 4
        assert c.metrics["diagnostics"]["steps"] == a.metrics["diagnostics"]["steps"]


def test_progress_and_outcomes_keep_the_callers_order(small_ds):
    cfgs = [_base("float32").replace(activation=a) for a in ("tanh", "relu", "sigmoid", "relu")]
    seen = []
    runs = train.train_stack(cfgs, small_ds, on_progress=seen.append, workers=1)
    assert [r.config.model.activation for r in runs] == ["tanh", "relu", "sigmoid", "relu"]
    curve = seen[-1].curve
    for k, run in enumerate(runs):
        assert run.metrics["curve"]["train"] == [row[k] for row in curve["train"]]
        assert run.metrics["curve"]["val"] == [row[k] for row in curve["val"]]
    assert seen[-1].train_loss[1] != seen[-1].train_loss[0]


def test_batched_neuron_spread_matches_the_one_matrix_definition():
    w = torch.randn(3, 7, 5)
    w[1] = w[1, :, :1]  # every neuron the same: spread 0
    w[2] = 0
    assert neuron_spreads(w) == pytest.approx([neuron_spread(m) for m in w])
    assert neuron_spreads(w)[1:] == [0.0, 0.0]


def test_evaluate_accepts_a_model_without_planned_layers():
    class Plain:
        """Called like MLP, but its layers are torch.nn modules."""

        def __init__(self, model):
            self.model, self.K, self.C = model, model.K, model.C
            self.layers = [torch.nn.Identity()]

        def __call__(self, X):
            return self.model(X)

        def set_training(self, training):
            self.model.set_training(training)

    model = MLP([_base().model], 9, 3, seeds=[0], dtype="float64")
    X, Y = torch.randint(0, 9, (3000, 3)), torch.randint(0, 9, (3000,))
    assert evaluate(Plain(model), X, Y) == pytest.approx(evaluate(model, X, Y), abs=1e-12)


def test_a_worker_process_reports_errors_and_stays_usable():
    (remote,) = workers.acquire(1, dict, [({"x": 1},)], 1)
    try:
        remote.receive()
        remote.send("no_such_method")
        with pytest.raises(RuntimeError, match="AttributeError"):
            remote.receive()
        remote.send("get", "x")
        assert remote.receive() == 1
    finally:
        workers.release([remote])
    assert workers.acquire(1, dict, [()], 1)  # free again
    workers.release(workers._POOL[:1])


def test_a_stack_split_over_processes_reports_progress_and_stops(small_ds):
    cfgs = [_base("float32").replace(seed=s, steps=80) for s in range(3)]
    seen = []

    def on_progress(p):
        seen.append((p.step, len(p.train_loss), len(p.curve["train"][-1])))
        return p.step >= 20

    runs = train.train_stack(cfgs, small_ds, on_progress=on_progress, workers=2)
    assert [r.status for r in runs] == ["stopped"] * 3
    assert seen[-1] == (20, 3, 3) and runs[2].metrics["steps"] == 20
    assert runs[2].metrics["curve"]["step"] == [0] + [s for s, _, _ in seen]


@pytest.mark.parametrize("K", [1, 3])
def test_row_std_is_torch_std(K):
    t = torch.randn(K, 500) * 3 + 1
    torch.testing.assert_close(row_std(t), t.double().std(1))


def test_a_worker_that_cannot_start_leaves_the_stack_to_this_process(small_ds, monkeypatch):
    cfgs = [_base("float32").replace(seed=s) for s in range(2)]
    expected = train.train_stack(cfgs, small_ds, workers=2)
    for remote in workers._POOL:
        remote.close()
    workers._POOL.clear()
    monkeypatch.setattr(workers.sys, "executable", "/bin/false")  # starts, then exits
    runs = train.train_stack(cfgs, small_ds, workers=2)
    assert not workers._POOL  # the dead worker was dropped
    for run, ref in zip(runs, expected):
        _assert_state_close(run.state, ref.state, rtol=0, atol=0)


def test_evaluate_puts_each_batchnorm_back_in_its_mode(small_ds):
    from mlp_core import data
    from mlp_core.config import ModelConfig
    from mlp_core.fast.evaluate import evaluate
    from mlp_core.model import MLP

    sp = data.make_splits(small_ds, 3)
    model = MLP([ModelConfig(n_layers=1, n_hidden=8, batchnorm=True)], small_ds.vocab_size, 3, [0])
    for training in (False, True):
        model.set_training(training)
        evaluate(model, sp.Xdev, sp.Ydev)
        assert all(
            layer.training == training for layer in model.layers if hasattr(layer, "training")
        )
