"""The reduced net's elementwise arithmetic (reduced_net.py): activations and their slopes
without underflow, softmax minus one-hot without cancellation, weighted counts in any
float type."""

from __future__ import annotations

import numpy as np

from .scaled import Scaled


def log_slope(kind: str, z: np.ndarray) -> np.ndarray:
    """log f'(z) of tanh or sigmoid, without underflow: their slope is never 0, however
    large |z| (1 - tanh^2 rounds to 0 from |z| ~ 19 in float64)."""
    a = np.abs(z)
    if kind == "tanh":  # 1 - tanh^2 = 4 e^-2a / (1 + e^-2a)^2
        return np.log(4.0) - 2 * a - 2 * np.log1p(np.exp(-2 * a))
    return -a - 2 * np.log1p(np.exp(-a))  # sigmoid' = e^-a / (1 + e^-a)^2


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z) without overflow, and to full precision where it is tiny (z << 0)."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _from_log(log: np.ndarray) -> Scaled:
    """Positive values given by their natural logs, as a Scaled (never zero; a value beyond
    the float range reads 0 in the mantissas: nonzero, its size unresolved)."""
    log = np.where(np.isfinite(log), log, -np.inf)
    if not np.isfinite(log).any():
        return Scaled(np.zeros_like(log), zero=False)
    top = log[np.isfinite(log)].max()
    e = int(np.floor(top / np.log(2.0)))
    return Scaled(np.exp(log - e * np.log(2.0)), e, zero=False)


ACT = {
    "tanh": (np.tanh, lambda z: _from_log(log_slope("tanh", z))),
    "sigmoid": (lambda z: _sigmoid(z), lambda z: _from_log(log_slope("sigmoid", z))),
    # relu's slope is 0 or 1: exactly 0 where the input is 0 or negative
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: Scaled((z > 0).astype(z.dtype))),
}


def softmax_minus_onehot(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """softmax(z) - onehot(y) per row, the target's entry as minus the sum of the other
    probabilities: 1 - p_y itself rounds to 0 once p_y is within 1e-16 of 1."""
    e = np.exp(z - z.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    rows = np.arange(len(y))
    p[rows, y] = 0.0
    others = p.sum(1)
    p[rows, y] = -others
    return p


def bincount(idx: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """np.bincount with weights of any float type (long double included)."""
    if weights.dtype == np.float64:
        return np.bincount(idx, weights=weights, minlength=n)
    out = np.zeros(n, weights.dtype)
    np.add.at(out, idx, weights)
    return out
