"""The zero-init net in its symmetric subspace, in exact-fact arithmetic: the engine of
zero_init_exact.py (its docstring says what the reduced net is and why it is exact).

Every per-example quantity is a ``Flagged``: its value (``Scaled``: float64 mantissas, an
unbounded exponent) and two exact facts, constant over the batch (K) and zero batch mean
(ZM); "exactly zero" is the value's own zero, set only where the structure makes it so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .config import RunConfig
from .reduced_ops import ACT, bincount, softmax_minus_onehot
from .scaled import Scaled, scalar


class Undefined(Exception):
    """The exact computation is 0/0 (BatchNorm with eps = 0 on a constant input)."""


@dataclass
class Flagged:
    """A per-example quantity and its exact facts."""

    v: Scaled
    K: bool  # constant over the batch (exactly)
    ZM: bool = False  # exactly zero sum over the batch

    @property
    def Z(self) -> bool:
        return self.v.is_zero


class ReducedNet:
    """The zero-init net in its symmetric subspace (module docstring)."""

    def __init__(self, cfg: RunConfig, V: int, C: np.ndarray, dtype=np.float64):
        m = cfg.model
        self.dtype = dtype  # the mantissas' float type: float64, or long double to check them
        self.special = False  # this step's minibatch made a data-dependent exact zero
        self.cfg, self.V, self.L, self.n = cfg, V, m.n_layers, m.n_hidden
        self.T, self.E = cfg.data.block_size, m.n_embd
        self.bn, self.out_bn, self.eps = m.batchnorm, m.batchnorm and m.output_bn, m.bn_eps
        self.act, self.dact = ACT[m.activation]
        self.p: dict[str, Scaled] = {"C": Scaled(C.astype(dtype))}
        self.mult: dict[str, float] = {"C": 1.0}  # entries of the full tensor per entry
        n = float(self.n)
        for layer in range(self.L + 1):
            last, names = layer == self.L, self.layer_names(layer)
            shape = (V,) if last else () if layer else (self.T * self.E,)
            self.p[names["W"]] = Scaled.zeros(shape)
            self.mult[names["W"]] = n * n if 0 < layer < self.L else n
            for key in ("b", "gamma", "beta"):
                if key in names:
                    start = np.ones(shape[:1] if last else (), dtype) * (key == "gamma")
                    self.p[names[key]] = Scaled(start)
                    self.mult[names[key]] = 1.0 if last else n
        self.names = list(self.p)

    def _values(self, x: Scaled) -> np.ndarray:
        return x.float().astype(self.dtype)

    def layer_names(self, layer: int) -> dict[str, str]:
        """Parameter names of hidden layer ``layer`` (L: the output layer)."""
        i = 3 * layer if self.bn else 2 * layer
        out = {"W": f"layers.{i}.weight"}
        has_bn = self.out_bn if layer == self.L else self.bn
        if has_bn:
            out |= {"gamma": f"layers.{i + 1}.gamma", "beta": f"layers.{i + 1}.beta"}
        else:
            out["b"] = f"layers.{i}.bias"
        return out

    # ---- forward -------------------------------------------------------------------
    def _first(self, ctx: np.ndarray, xK: bool) -> Flagged:
        v, C = self.p[self.layer_names(0)["W"]], self.p["C"]
        if v.is_zero or C.is_zero:
            a = Scaled.zeros(len(ctx))
        else:
            Cv = C.m @ v.m.reshape(self.T, self.E).T  # (V, T)
            a = Scaled(Cv[ctx, np.arange(self.T)].sum(1), C.e + v.e, zero=False)
        return Flagged(a, K=xK or v.is_zero or C.is_zero)

    def _bias(self, a: Flagged, names: dict) -> Flagged:
        if "b" in names:
            a = Flagged(a.v + self.p[names["b"]], a.K)
        return a

    def _bn(self, a: Flagged, names: dict) -> tuple[Flagged, dict]:
        g, b = self.p[names["gamma"]], self.p[names["beta"]]
        if a.K or not np.any(a.v.m - a.v.m[0]):  # the same value for every example
            if self.eps == 0:
                raise Undefined("BatchNorm with eps = 0 divides 0 by 0 on a constant input")
            rstd = scalar(1 / math.sqrt(self.eps))
            z = Scaled(np.broadcast_to(np.ones_like(a.v.m), a.v.m.shape)) * b
            return Flagged(z, True), {"K": True, "rstd": rstd, "xhat": None}
        d = Scaled(a.v.m - a.v.m.mean(0), a.v.e, zero=False)
        var = (d * d).mean(0)
        rstd = (var + scalar(self.eps) if self.eps else var).sqrt().reciprocal()
        xhat = d * rstd
        return Flagged(xhat * g + b * Scaled(np.ones_like(a.v.m)), False), {
            "K": False,
            "rstd": rstd,
            "var": var,
            "xhat": xhat,
        }

    def forward(self, ctx: np.ndarray, xK: bool) -> dict:
        cache: dict = {"h": [], "z": [], "bn": [], "a": []}
        a = self._first(ctx, xK)
        for layer in range(self.L):
            names = self.layer_names(layer)
            a = self._bias(a, names)
            cache["a"].append(a)
            z, bn = self._bn(a, names) if "gamma" in names else (a, None)
            cache["z"].append(z)
            cache["bn"].append(bn)
            h = Flagged(
                Scaled(self.act(self._values(z.v)), zero=z.v.zero and self.act(0.0) == 0), z.K
            )
            cache["h"].append(h)
            nxt = self.layer_names(layer + 1)["W"]
            w = self.p[nxt]
            if layer + 1 < self.L:
                a = Flagged(h.v * w * float(self.n), h.K or w.is_zero)
            else:
                logits = Scaled(
                    np.outer(h.v.m, w.m) if not w.is_zero else np.zeros((len(ctx), self.V)),
                    h.v.e + w.e,
                    zero=h.v.zero or w.is_zero,
                ) * float(self.n)
                a = Flagged(logits, h.K or w.is_zero)
        if self.L == 0:
            raise ValueError("a net has at least one hidden layer")
        names = self.layer_names(self.L)
        a = self._bias(a, names)
        cache["a"].append(a)
        z, bn = self._bn(a, names) if "gamma" in names else (a, None)
        cache["z"].append(z)
        cache["bn"].append(bn)
        return cache

    # ---- backward ------------------------------------------------------------------
    def _bn_back(self, dz: Flagged, bn: dict, names: dict, grads: dict) -> Flagged:
        """BatchNorm's backward: gamma and beta's gradients, and the input gradient (ZM)."""
        g = self.p[names["gamma"]]
        if bn["K"]:
            grads[names["gamma"]] = Scaled.zeros(g.m.shape)  # x_hat is exactly 0
            centred = Scaled.zeros(dz.v.m.shape) if dz.K else dz.v - dz.v.mean(0)
        else:
            xhat = bn["xhat"]
            grads[names["gamma"]] = (dz.v * xhat).sum(0)
            centred = self._centred(dz.v, xhat, bn)
        grads[names["beta"]] = Scaled.zeros(g.m.shape) if dz.ZM else dz.v.sum(0)
        return Flagged(centred * bn["rstd"] * g, K=dz.K and bn["K"], ZM=True)

    def _centred(self, g: Scaled, xhat: Scaled, bn: dict) -> Scaled:
        """g - mean g - xhat mean(g xhat), without its cancellation: with the part of the
        centred g along xhat, alpha xhat, it is the rest plus alpha xhat eps / (var + eps),
        whose factor is computed directly. At batch 2 the rest is exactly 0 (a centred
        pair is a multiple of x_hat), and the result, that term alone, can lie far below
        the rounding of g itself when eps is tiny."""
        gc = g - g.mean(0)
        r2 = bn["rstd"] * bn["rstd"]
        along = (gc * xhat).mean(0) * ((bn["var"] * r2).reciprocal())  # alpha
        rest = Scaled.zeros(gc.m.shape) if len(gc.m) == 2 else gc - xhat * along
        if not self.eps:
            return rest
        return rest + xhat * along * (r2 * scalar(self.eps))

    @staticmethod
    def _weighted_sum(h: Flagged, d: Flagged) -> Scaled:
        """sum_b h_b d_b (d may have a class axis): exactly 0 when h is 0, d is 0, or h is
        constant over the batch and d sums to 0."""
        shape = d.v.m.shape[1:]
        if h.Z or d.Z or (h.K and d.ZM):
            return Scaled.zeros(shape)
        return Scaled(h.v.m @ d.v.m, h.v.e + d.v.e, zero=False)

    def backward(self, cache: dict, ctx: np.ndarray, y: np.ndarray, xK: bool) -> dict:
        B, V = len(y), self.V
        z = cache["z"][-1]
        d = softmax_minus_onehot(self._values(z.v), y)
        same_y = bool((y == y[0]).all())
        self.special |= same_y and B > 1
        dz = Flagged(Scaled(d / B, zero=False), K=z.K and same_y)
        grads: dict[str, Scaled] = {}
        names = self.layer_names(self.L)
        da = self._bn_back(dz, cache["bn"][-1], names, grads) if "gamma" in names else dz
        if "b" in names:
            grads[names["b"]] = Scaled.zeros(V) if da.ZM else da.v.sum(0)
        grads[names["W"]] = self._weighted_sum(cache["h"][-1], da)
        self._exact_uniform_columns(grads, names, cache["h"][-1], y)
        u = self.p[names["W"]]
        if u.is_zero or da.Z:
            dh = Flagged(Scaled.zeros(B), True, True)
        else:
            dh = Flagged(Scaled(da.v.m @ u.m, da.v.e + u.e, zero=False), da.K, da.ZM)
        for layer in reversed(range(self.L)):
            dh = self._hidden_back(layer, dh, cache, grads, ctx, xK)
        return grads

    def _exact_uniform_columns(self, grads: dict, names: dict, h: Flagged, y: np.ndarray):
        """While the output layer is all zero the net predicts exactly 1/V: the column
        sum_b (1/V - y_bc) of the output's bias (or beta) gradient is exactly 0 where
        V * count_c = B, and so is the weight's column when h is constant over the batch."""
        if any(not self.p[nm].is_zero for k, nm in names.items() if k != "gamma"):
            return
        zero = np.bincount(y, minlength=self.V) * self.V == len(y)
        self.special |= bool(zero.any())
        keys = [k for k in ("b", "beta") if k in names] + (["W"] if h.K else [])
        for k in keys:
            g = grads[names[k]]
            grads[names[k]] = Scaled(np.where(zero, 0.0, g.m), g.e, g.zero or bool(zero.all()))

    def _hidden_back(self, layer, dh, cache, grads, ctx, xK) -> Flagged:
        names, z = self.layer_names(layer), cache["z"][layer]
        slope = self.dact(self._values(z.v))
        if dh.Z or slope.zero:
            dz = Flagged(Scaled.zeros(len(ctx)), True, True)
        else:
            dz = Flagged(slope * dh.v, dh.K and z.K, dh.ZM and z.K)
        if "gamma" in names:
            da = self._bn_back(dz, cache["bn"][layer], names, grads)
        else:
            da = dz
            grads[names["b"]] = Scaled.zeros(()) if da.ZM or da.Z else da.v.sum(0)
        if layer == 0:
            self._first_back(da, grads, ctx, xK)
            return da
        grads[names["W"]] = self._weighted_sum(cache["h"][layer - 1], da)
        w = self.p[names["W"]]
        if w.is_zero or da.Z:
            return Flagged(Scaled.zeros(len(ctx)), True, True)
        return Flagged(da.v * w * float(self.n), da.K, da.ZM)

    def _first_back(self, da: Flagged, grads: dict, ctx: np.ndarray, xK: bool) -> None:
        """The first Linear's weight (one column v) and the embedding C."""
        names, C = self.layer_names(0), self.p["C"]
        v = self.p[names["W"]]
        cancels = da.Z or (xK and da.ZM)
        # a position whose character is the same for the whole batch adds sum_b g_b, exactly
        # 0 when g has zero batch mean: its counts are exact zeros, not a float sum
        same = [da.ZM and bool((ctx[:, t] == ctx[0, t]).all()) for t in range(self.T)]
        counts = [
            np.zeros(self.V, da.v.m.dtype) if same[t] else bincount(ctx[:, t], da.v.m, self.V)
            for t in range(self.T)
        ]
        if cancels or C.is_zero:
            grads[names["W"]] = Scaled.zeros(v.m.shape)
        else:
            dv = np.concatenate([C.m.T @ c for c in counts])
            grads[names["W"]] = Scaled(dv, C.e + da.v.e, zero=False)
        if cancels or v.is_zero:
            grads["C"] = Scaled.zeros(C.m.shape)
            return
        vm = v.m.reshape(self.T, self.E)
        dC = sum(np.outer(c, vm[t]) for t, c in enumerate(counts))
        grads["C"] = Scaled(dC * float(self.n), da.v.e + v.e, zero=False)

    def update(self, grads: dict, lr: float) -> None:
        for nm, g in grads.items():
            if not g.is_zero:
                self.p[nm] = self.p[nm] + g * (-lr)

    def norm_log10(self, nm: str, g: Scaled) -> float | None:
        lg = g.log10_norm()
        return None if lg is None else lg + 0.5 * math.log10(self.mult[nm])

    def context_dependent(self) -> bool:
        """The output changes with the context iff every link from C to the logits is
        nonzero: C, the first Linear's column, each hidden weight and the output row (a
        BatchNorm's gamma stays nonzero); ReLU never gets there at zero init."""
        chain = ["C"] + [self.layer_names(j)["W"] for j in range(self.L + 1)]
        return all(not self.p[nm].is_zero for nm in chain)
