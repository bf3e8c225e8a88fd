"""Arrays of float64 (or long double) with one shared binary exponent: value = mantissa *
2**exponent.

Exact gradients at zero init shrink by hundreds of orders of magnitude per layer (a deep
sigmoid net's embedding gradient is about 1e-173 after 7 steps, and far below float64's
range, 1e-308, in deeper nets). A ``Scaled`` keeps the mantissa's largest entry in
[0.5, 1) and the exponent as a Python int, so products and sums keep 53 bits of relative
precision at any magnitude. Entries far smaller than a tensor's largest one are lost, as
in float64 itself: the magnitudes stay right, the sub-dominant parts do not matter here.
"""

from __future__ import annotations

import math

import numpy as np

LOG10_2 = math.log10(2.0)


class Scaled:
    """``zero``: the value is exactly zero by construction (a zero init, a product with an
    exact zero, a sum of exact zeros), the only way a Scaled is ever "zero": a sum whose
    float mantissas cancel to 0 is not, and its norm reads -inf (nonzero, below what
    53 bits resolve) instead of None."""

    __slots__ = ("m", "e", "zero")

    def __init__(self, m, e: int = 0, zero: bool | None = None):
        m = np.asarray(m)
        if m.dtype not in (np.float64, np.longdouble):
            m = m.astype(np.float64)
        top = float(np.max(np.abs(m))) if m.size else 0.0
        self.zero = (top == 0.0) if zero is None else bool(zero)
        if top == 0.0 or not math.isfinite(top):
            self.m, self.e = (m * 0.0 if top == 0.0 else m), 0
            return
        shift = math.frexp(top)[1]
        self.m, self.e = np.ldexp(m, -shift), e + shift

    @classmethod
    def zeros(cls, shape) -> Scaled:
        return cls(np.zeros(shape), zero=True)

    @property
    def is_zero(self) -> bool:
        return self.zero

    def _like(self, m, e: int, zero: bool | None = None) -> Scaled:
        return Scaled(m, e, self.zero if zero is None else zero)

    def __mul__(self, other) -> Scaled:
        if isinstance(other, Scaled):
            return Scaled(self.m * other.m, self.e + other.e, self.zero or other.zero)
        return Scaled(self.m * other, self.e, self.zero or other == 0)

    __rmul__ = __mul__

    def __add__(self, other: Scaled) -> Scaled:
        shape = np.broadcast_shapes(self.m.shape, other.m.shape)
        if other.zero:
            return self._like(np.broadcast_to(self.m, shape).copy(), self.e)
        if self.zero:
            return other._like(np.broadcast_to(other.m, shape).copy(), other.e)
        e = max(self.e, other.e)
        return Scaled(_shift(self.m, self.e - e) + _shift(other.m, other.e - e), e, False)

    def __neg__(self) -> Scaled:
        return self._like(-self.m, self.e)

    def __sub__(self, other: Scaled) -> Scaled:
        return self + (-other)

    def __getitem__(self, idx) -> Scaled:
        return self._like(self.m[idx], self.e)

    def sum(self, axis=None) -> Scaled:
        return self._like(self.m.sum(axis), self.e)

    def mean(self, axis=None) -> Scaled:
        return self._like(self.m.mean(axis), self.e)

    def matmul(self, other: Scaled) -> Scaled:
        return Scaled(self.m @ other.m, self.e + other.e, self.zero or other.zero)

    def sqrt(self) -> Scaled:
        """Square root of a non-negative array."""
        e = self.e if self.e % 2 == 0 else self.e - 1
        m = self.m if self.e % 2 == 0 else self.m * 2.0
        return self._like(np.sqrt(m), e // 2)

    def reciprocal(self) -> Scaled:
        return self._like(1.0 / self.m, -self.e)

    def float(self) -> np.ndarray:
        """The plain float64 values (tiny ones underflow to 0, as float64 would)."""
        return np.ldexp(self.m, np.clip(self.e, -10_000, 10_000))

    def log10_norm(self) -> float | None:
        """log10 of the Frobenius norm; None for an exact zero, -inf for a nonzero value
        whose mantissas cancelled to 0."""
        if self.zero:
            return None
        n = float(np.sqrt(np.sum(self.m * self.m)))
        return -math.inf if n == 0.0 else math.log10(n) + self.e * LOG10_2


def _shift(m: np.ndarray, by: int) -> np.ndarray:
    return m * 0.0 if by < -1100 else np.ldexp(m, by)


def scalar(x: float) -> Scaled:
    return Scaled(np.asarray(float(x)))


def magnitude_text(log10: float | None) -> str:
    """A magnitude in words: "1.9e-173", or "0" for an exact zero. Numbers float64 cannot
    hold say so."""
    if log10 is None:
        return "0"
    if log10 == -math.inf:
        return "nonzero, below what 53-bit arithmetic resolves here"
    exp = math.floor(log10)
    mant = 10 ** (log10 - exp)
    if mant >= 9.95:
        mant, exp = 1.0, exp + 1
    text = f"{mant:.1f}e{exp:+d}".replace("e+", "e")
    if log10 < math.log10(2.2250738585072014e-308):
        text += " (below 1e-308, the smallest float64)"
    return text
