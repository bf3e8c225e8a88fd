"""A plain autograd loop written for the tests, the lecture's way: the reference the
engine's tests hold it to (tests/test_engine.py, tests/test_stack.py).

It shares only the initial parameters (model.init_run) and the minibatch indices (one
torch.randint per step from the run's own generator) with the engine; its forward, loss,
gradients (autograd) and SGD update are independent.
"""

import torch
import torch.nn.functional as F

from mlp_core import data
from mlp_core.config import RunConfig
from mlp_core.model import init_run

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
