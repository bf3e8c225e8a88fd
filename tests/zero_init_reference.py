"""Independent references for the zero-init facts, written for the tests alone.

Nothing here is shared with the engine, the notebook arithmetic or zero_init_exact.py but
model.init_run (the init both start from): the full net (every unit, no symmetry
assumed), the lecture's layer order, the run's minibatch stream.

- ``autograd64``: plain torch autograd in float64, each step's gradient norm per tensor.
- ``mp_norms``: the same net in mpmath at ``dps`` digits, forward and backward written out
  by hand; mpmath's exponent has no bound, so a gradient of 1e-3000 is a number here.
"""

from __future__ import annotations

import math
import os

import mpmath
import torch
import torch.nn.functional as F

from mlp_core.config import RunConfig
from mlp_core.model import init_run

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"


def examples(n: int) -> int:
    """n examples in CI; 40 times as many in the long profile (HYPOTHESIS_PROFILE=long)."""
    return n * 40 if LONG else n


ACTS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}


def layout(cfg: RunConfig) -> list[dict]:
    """Per Linear: its parameter names in the engine's naming, whether a BN follows."""
    m, out, pos = cfg.model, [], 0
    for i in range(m.n_layers + 1):
        last = i == m.n_layers
        bn = m.batchnorm and (m.output_bn or not last)
        entry = {"i": i, "W": f"layers.{pos}.weight", "bn": bn, "last": last}
        if bn:
            entry |= {"gamma": f"layers.{pos + 1}.gamma", "beta": f"layers.{pos + 1}.beta"}
        else:
            entry["b"] = f"layers.{pos}.bias"
        out.append(entry)
        pos += 3 if m.batchnorm else 2
    return out


def init_params(cfg: RunConfig, V: int) -> dict[str, torch.Tensor]:
    """The run's initial parameters under the engine's names, float64."""
    raw = init_run(cfg.model, V, cfg.data.block_size, cfg.train.seed)
    P = {"C": raw["C"].double()}
    for e in layout(cfg):
        P[e["W"]] = raw[f"W{e['i']}"].double()
        keys = ("gamma", "beta") if e["bn"] else ("b",)
        for k in keys:
            P[e[k]] = raw[f"{k}{e['i']}"].double().reshape(-1)
    return P


def batches(cfg: RunConfig, n_train: int, steps: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(cfg.train.seed)
    return torch.randint(0, n_train, (steps, cfg.train.batch_size), generator=g)


def lr_at(cfg: RunConfig, t: int) -> float:
    d = cfg.train.lr_decay_step
    return cfg.train.lr / 10 if d and t >= d else cfg.train.lr


def forward64(cfg: RunConfig, P: dict, X: torch.Tensor) -> torch.Tensor:
    m = cfg.model
    x = P["C"][X].flatten(1)
    for e in layout(cfg):
        x = x @ P[e["W"]]
        if e["bn"]:
            mean, var = x.mean(0, keepdim=True), x.var(0, keepdim=True, unbiased=False)
            x = P[e["gamma"]] * (x - mean) / torch.sqrt(var + m.bn_eps) + P[e["beta"]]
        else:
            x = x + P[e["b"]]
        if not e["last"]:
            x = ACTS[m.activation](x)
    return x


def autograd64(cfg: RunConfig, Xtr, Ytr, V: int, steps: int) -> dict[str, list[float]]:
    """Each step's gradient norm of every tensor, plain autograd in float64 (nan once the
    run's numbers stop being finite)."""
    P = {k: v.clone().requires_grad_(True) for k, v in init_params(cfg, V).items()}
    norms: dict[str, list[float]] = {k: [] for k in P}
    for t, ix in enumerate(batches(cfg, len(Ytr), steps)):
        loss = F.cross_entropy(forward64(cfg, P, Xtr[ix]), Ytr[ix])
        grads = torch.autograd.grad(loss, list(P.values()))
        with torch.no_grad():
            for (k, p), g in zip(P.items(), grads):
                norms[k].append(float(g.norm()))
                p -= lr_at(cfg, t) * g
    return norms


# ---- arbitrary precision -------------------------------------------------------------
def _mat(t: torch.Tensor) -> list[list]:
    t = t.reshape(t.shape[0], -1) if t.dim() > 1 else t.reshape(1, -1)
    return [[mpmath.mpf(float(v)) for v in row] for row in t.tolist()]


def _mm(a, b):
    return [
        [mpmath.fsum(a[i][k] * b[k][j] for k in range(len(b))) for j in range(len(b[0]))]
        for i in range(len(a))
    ]


def _t(a):
    return [list(r) for r in zip(*a)]


ACT_MP = {
    "tanh": (mpmath.tanh, lambda z: 1 - mpmath.tanh(z) ** 2),
    "sigmoid": (
        lambda z: 1 / (1 + mpmath.exp(-z)),
        lambda z: mpmath.exp(-z) / (1 + mpmath.exp(-z)) ** 2,
    ),
    "relu": (lambda z: z if z > 0 else mpmath.mpf(0), lambda z: mpmath.mpf(1 if z > 0 else 0)),
}


def mp_norms(cfg: RunConfig, Xtr, Ytr, V: int, steps: int, dps: int = 50) -> dict[str, list]:
    """Each step's gradient norm of every tensor in mpmath (log10 of it; None for 0)."""
    mpmath.mp.dps = dps
    lay = layout(cfg)
    P = {k: _mat(v) for k, v in init_params(cfg, V).items()}
    logs: dict[str, list] = {k: [] for k in P}
    for t, ix in enumerate(batches(cfg, len(Ytr), steps)):
        X, Y = Xtr[ix].tolist(), Ytr[ix].tolist()
        grads = _mp_step(cfg, lay, P, X, Y, V)
        for k in P:
            sq = mpmath.fsum(v * v for row in grads[k] for v in row)
            logs[k].append(None if sq == 0 else float(mpmath.log10(mpmath.sqrt(sq))))
            lr = mpmath.mpf(lr_at(cfg, t))
            P[k] = [[p - lr * g for p, g in zip(pr, gr)] for pr, gr in zip(P[k], grads[k])]
    return logs


def _mp_step(cfg, lay, P, X, Y, V) -> dict:
    m, B = cfg.model, len(Y)
    act, dact = ACT_MP[m.activation]
    x = [[v for c in ctx for v in P["C"][c]] for ctx in X]
    cache = []
    for e in lay:
        a = _mm(x, P[e["W"]])
        c = {"x": x, "a": a}
        if e["bn"]:
            n = len(a[0])
            mean = [mpmath.fsum(a[b][j] for b in range(B)) / B for j in range(n)]
            var = [mpmath.fsum((a[b][j] - mean[j]) ** 2 for b in range(B)) / B for j in range(n)]
            rstd = [1 / mpmath.sqrt(var[j] + m.bn_eps) for j in range(n)]
            xhat = [[(a[b][j] - mean[j]) * rstd[j] for j in range(n)] for b in range(B)]
            z = [
                [P[e["gamma"]][0][j] * xhat[b][j] + P[e["beta"]][0][j] for j in range(n)]
                for b in range(B)
            ]
            c |= {"xhat": xhat, "rstd": rstd}
        else:
            z = [[a[b][j] + P[e["b"]][0][j] for j in range(len(a[0]))] for b in range(B)]
        c["z"] = z
        x = z if e["last"] else [[act(v) for v in row] for row in z]
        cache.append(c)
    grads: dict = {}
    d = []
    for b in range(B):
        top = max(x[b])
        ex = [mpmath.exp(v - top) for v in x[b]]
        s = mpmath.fsum(ex)
        d.append([(ex[j] / s - (1 if j == Y[b] else 0)) / B for j in range(V)])
    for e, c in zip(reversed(lay), reversed(cache)):
        if not e["last"]:
            d = [[d[b][j] * dact(c["z"][b][j]) for j in range(len(d[0]))] for b in range(B)]
        n = len(d[0])
        if e["bn"]:
            grads[e["beta"]] = [[mpmath.fsum(d[b][j] for b in range(B)) for j in range(n)]]
            dg = [mpmath.fsum(d[b][j] * c["xhat"][b][j] for b in range(B)) for j in range(n)]
            grads[e["gamma"]] = [dg]
            dxh = [[d[b][j] * P[e["gamma"]][0][j] for j in range(n)] for b in range(B)]
            mdx = [mpmath.fsum(dxh[b][j] for b in range(B)) / B for j in range(n)]
            mdxx = [
                mpmath.fsum(dxh[b][j] * c["xhat"][b][j] for b in range(B)) / B for j in range(n)
            ]
            d = [
                [c["rstd"][j] * (dxh[b][j] - mdx[j] - c["xhat"][b][j] * mdxx[j]) for j in range(n)]
                for b in range(B)
            ]
        else:
            grads[e["b"]] = [[mpmath.fsum(d[b][j] for b in range(B)) for j in range(n)]]
        grads[e["W"]] = _mm(_t(c["x"]), d)
        d = _mm(d, _t(P[e["W"]]))
    E = m.n_embd
    dC = [[mpmath.mpf(0)] * E for _ in range(V)]
    for b in range(B):
        for p, ch in enumerate(X[b]):
            for k in range(E):
                dC[ch][k] += d[b][p * E + k]
    grads["C"] = dC
    return grads


def log10(x: float) -> float | None:
    return None if x == 0 or not math.isfinite(x) else math.log10(x)
