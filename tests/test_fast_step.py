"""fast.Step on its own: one step against autograd, and the model it was built from left
as it was (Step trains a copy of its own, step.model)."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from mlp_core import data, train
from mlp_core.config import ModelConfig, RunConfig
from mlp_core.fast.evaluate import evaluate
from mlp_core.fast.kernels import plan_tanh
from mlp_core.fast.step import Step, target_grads
from mlp_core.fast.tape import Tape
from mlp_core.layers import BatchNorm1d
from mlp_core.model import MLP, from_state
from mlp_core.stack import StackTrainer

BASE = ModelConfig(n_embd=3, n_hidden=8, n_layers=2)

STEP_CASES = {  # activations of the K runs, model changes
    "K=1, fused bias": (["tanh"], {}),
    "K=3, kinds apart (readable activation)": (["tanh", "relu", "tanh"], {}),
    "K=2, BN": (["sigmoid", "sigmoid"], {"batchnorm": True}),
    "K=2, BN without eps (readable BN)": (["tanh", "relu"], {"batchnorm": True, "bn_eps": 0.0}),
    # 2 x 16 x 400 elements: a wider tanh buffer (kernels.plan_tanh: numpy's tanh)
    "K=2, wide tanh (kernels.plan_tanh)": (["tanh", "tanh"], {"n_hidden": 400}),
    "K=2, wide tanh after BN": (["tanh", "tanh"], {"n_hidden": 400, "batchnorm": True}),
}


def _batch(K: int, B: int = 16):
    X, Y = torch.randint(0, 9, (K, B, 3)), torch.randint(0, 9, (K, B))
    flat_X = (X + 9 * torch.arange(K).view(K, 1, 1)).reshape(-1)
    return X, Y, flat_X


@pytest.mark.parametrize("case", STEP_CASES)
def test_one_step_matches_autograd(case):
    acts, changes = STEP_CASES[case]
    K = len(acts)
    mcs = [dataclasses.replace(BASE, activation=a, **changes) for a in acts]
    ours = MLP(mcs, 9, 3, seeds=list(range(K)), dtype="float64")
    ref = MLP(mcs, 9, 3, seeds=list(range(K)), dtype="float64")
    step = Step(ours, batch_size=16)
    X, Y, flat_X = _batch(K)
    G, logp_Y = target_grads(Y, 9, torch.float64), torch.empty(K, 1, 16, dtype=torch.float64)
    step(flat_X, Y.unsqueeze(1), G, logp_Y)
    for p in ref.parameters():
        p.requires_grad_(True)
    ref_loss = F.cross_entropy(ref(X).flatten(0, 1), Y.flatten(), reduction="none")
    ref_loss.view(K, 16).mean(1).sum().backward()
    torch.testing.assert_close(-logp_Y.mean((1, 2)), ref_loss.view(K, 16).mean(1).detach())
    trained = step.model
    for (name, p), q in zip(trained.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)
    for (name, b), (_, c) in zip(trained.named_buffers(), ref.named_buffers()):
        torch.testing.assert_close(b, c.detach(), msg=name)
    expected = torch.stack([q.grad.flatten(1).norm(dim=1) for q in ref.parameters()])
    torch.testing.assert_close(step.grad_norms(), expected)
    for i, (out, dout) in step.activations().items():  # what the diagnostics read
        assert out.shape == dout.shape == (K, 16, mcs[0].n_hidden) and trained.layers[i].name


def _snapshot(model: MLP) -> dict:
    """Every tensor the model holds, cloned, and the identity of each object."""
    tensors = {n: t.clone() for n, t in model.named_parameters() + model.named_buffers()}
    attrs = [(layer, dict(vars(layer))) for layer in model.layers]
    return {"tensors": tensors, "C": model.C, "layers": list(model.layers), "attrs": attrs}


def _assert_unchanged(model: MLP, snap: dict) -> None:
    assert model.C is snap["C"] and model.layers == snap["layers"]
    for layer, attrs in snap["attrs"]:
        assert vars(layer).keys() == attrs.keys(), type(layer).__name__
        assert all(vars(layer)[k] is v for k, v in attrs.items()), type(layer).__name__
    for name, t in model.named_parameters() + model.named_buffers():
        assert torch.equal(t, snap["tensors"][name]), name
        assert t.grad is None, name


@pytest.mark.parametrize("case", STEP_CASES)
def test_the_fast_path_leaves_the_readable_model_it_was_built_from_unchanged(case):
    acts, changes = STEP_CASES[case]
    K = len(acts)
    mcs = [dataclasses.replace(BASE, activation=a, **changes) for a in acts]
    model = MLP(mcs, 9, 3, seeds=list(range(K)), dtype="float64")
    snap = _snapshot(model)
    step = Step(model, batch_size=16)
    lr = torch.full((2, K), 0.1, dtype=torch.float64)
    for j in range(2):  # one step keeping its gradients, one applying them
        X, Y, flat_X = _batch(K)
        G = step.targets(Y[None], lr[j : j + 1], keep=[0] if j == 0 else [])[0]
        logp_Y = torch.empty(K, 1, 16, dtype=torch.float64)
        if j == 0:
            step(flat_X, Y.unsqueeze(1), G, logp_Y)
            step.update(lr[j])
        else:
            step.apply(flat_X, Y.unsqueeze(1), G, logp_Y)
    X, Y, _ = _batch(1, 40)
    step.evaluate(X[0], Y[0])
    _assert_unchanged(model, snap)
    moved = [n for n, p in step.model.named_parameters() if not torch.equal(p, snap["tensors"][n])]
    assert moved  # the step's own model trained
    if changes.get("batchnorm") and changes.get("bn_eps", 1e-5) > 0:
        bn = next(layer for layer in step.model.layers if isinstance(layer, BatchNorm1d))
        assert not torch.equal(bn.running_mean, torch.zeros_like(bn.running_mean))


def test_training_leaves_no_trace_on_a_model_evaluated_after(small_ds):
    """train_stack's weights are those of the step's own model: evaluating a model rebuilt
    from them gives the run's val loss."""
    cfg = RunConfig().replace(n_embd=3, n_hidden=8, n_layers=2, steps=30, batchnorm=True)
    (run,) = train.train_stack([cfg], small_ds)
    model = from_state(cfg.model, run.state, small_ds.vocab_size, 3)
    sp = data.make_splits(small_ds, 3)
    assert evaluate(model, sp.Xdev, sp.Ydev)[0] == pytest.approx(run.metrics["val_loss"], abs=1e-6)


def test_evaluation_in_two_threads_gives_the_same_numbers(small_ds, monkeypatch):
    from mlp_core.fast import evaluate as ev

    cfgs = [RunConfig().replace(n_layers=2, n_hidden=16, steps=30, seed=s) for s in (1, 2)]
    model = MLP([c.model for c in cfgs], small_ds.vocab_size, 3, seeds=[1, 2])
    sp = data.make_splits(small_ds, 3)
    monkeypatch.setattr(ev, "EVAL_ROWS", 512)  # several chunks even on the small data set
    monkeypatch.setattr(ev, "EVAL_THREADS", 1)
    alone = evaluate(model, sp.Xtr, sp.Ytr)
    monkeypatch.setattr(ev, "EVAL_THREADS", 2)
    assert evaluate(model, sp.Xtr, sp.Ytr) == alone


def test_tanh_is_accurate_for_tiny_and_large_values():
    """plan_tanh against float64 tanh over 60 decades: within one float32 unit in the last
    place of the result, so tiny activations (a small-std init) keep their size; the
    2·sigmoid(2x) - 1 form it replaced rounded every |tanh| below ~6e-8 to 0 or 6e-8."""
    x = torch.logspace(-30, 1.5, 6000)  # 12,001 elements: the old sigmoid form's size
    x = torch.cat([x, -x, torch.zeros(1)])
    out = torch.empty_like(x)
    tape = Tape()
    plan_tanh(tape, x, out)
    tape()
    exact = torch.tanh(x.double())
    ulp = torch.finfo(torch.float32).eps * exact.abs().clamp_min(torch.finfo(torch.float32).tiny)
    assert ((out.double() - exact).abs() <= ulp).all()
    assert out[-1] == 0.0  # zero init: tanh(0) stays exactly 0


def test_a_run_has_the_same_numbers_alone_and_in_a_stack_of_four(small_ds):
    """One run of tiny activations (normal init, std 0.001: deep layers' tanh inputs near
    1e-10; 4 x 100 x 32 elements a layer) trains to the same bits alone and stacked with
    three copies: the tanh op does not change with the stack's size (it did: the sigmoid
    form from 4 runs on gave step-0 gradient norms up to 100% off)."""
    cfg = RunConfig().replace(n_layers=4, n_hidden=100, init="normal", init_scale=1e-3, steps=40)
    sp = data.make_splits(small_ds, 3)
    runs = {}
    for K in (1, 4):
        stack = StackTrainer([cfg] * K, small_ds.vocab_size, sp, 1 << 30, 1 << 30, True)
        with torch.no_grad():
            stack.run(0, 40)
        runs[K] = (stack.grad_first[:, :, 0], stack.losses[:, 0])
    assert runs[1][0].min() > 0  # every tensor got a gradient at every step
    assert torch.equal(runs[1][0], runs[4][0]) and torch.equal(runs[1][1], runs[4][1])
