"""A stack of runs: divergence at its exact step, chunks and worker processes that change
no number, the callers' order, progress and stop across processes, evaluation."""

import math

import pytest
import torch

from mlp_core import data, run_rules, stack, train, workers
from mlp_core.diagnostics import neuron_spread, neuron_spreads, row_std
from mlp_core.fast.evaluate import evaluate
from mlp_core.model import MLP
from tests.engine_reference import (
    _assert_state_close,
    _base,
    reference_run,
)


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
