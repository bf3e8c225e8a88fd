"""The exact gradient facts at zero init, held to independent references over generated
configurations: plain float64 autograd where float64 can hold the numbers, mpmath at 50
digits where it cannot (tests/zero_init_reference.py).

Profiles: the default one runs in CI; ``HYPOTHESIS_PROFILE=long`` runs many more examples
(README, "Tests").
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlp_core import data
from mlp_core.config import RunConfig
from mlp_core.scaled import Scaled, magnitude_text
from mlp_core.zero_init_exact import analyse
from tests.zero_init_reference import LONG, autograd64, examples, mp_norms

FLOAT64_OK = -290.0  # exact log10 sizes above this are compared with float64 autograd
ROUNDOFF64 = 1e-7  # float64 round-off of an exact zero, relative to the step's largest


@st.composite
def word_lists(draw, max_words: int = 60) -> list[str]:
    """Tiny, one-letter, two-letter and ordinary alphabets; duplicates allowed."""
    alphabet = draw(st.sampled_from(["a", "ab", "abc", "abcdefghij", "xyz "]))
    word = st.text(alphabet=alphabet, min_size=1, max_size=6)
    return draw(st.lists(word, min_size=data.MIN_WORDS, max_size=max_words))


@st.composite
def zero_configs(draw, max_width: int = 12, max_batch: int = 24) -> RunConfig:
    bn = draw(st.booleans())
    cfg = RunConfig().replace(
        init="zeros",
        activation=draw(st.sampled_from(["tanh", "sigmoid", "relu"])),
        batchnorm=bn,
        output_bn=draw(st.booleans()) if bn else True,
        bn_eps=draw(st.sampled_from([1e-5, 1e-3, 1e-10, 0.5])),
        n_layers=draw(st.integers(1, 8)),
        n_hidden=draw(st.integers(1, max_width)),
        n_embd=draw(st.integers(1, 4)),
        block_size=draw(st.integers(1, 4)),
        batch_size=draw(st.integers(2 if bn else 1, max_batch)),
        lr=draw(st.sampled_from([1e-4, 0.01, 0.1, 1.0, 10.0, 100.0])),
        lr_decay_step=draw(st.sampled_from([0, 2, 150_000])),
        steps=draw(st.integers(1, 20)),
        seed=draw(st.integers(0, 2**31)),
        zero_embedding=draw(st.booleans()),
    )
    return cfg


def _splits(words: list[str], cfg: RunConfig):
    ds = data.dataset_from_words(words, "generated")
    return ds, data.make_splits(ds, cfg.data.block_size)


def _compare_step(name: str, t: int, exact: float | None, ref: float, top: float) -> bool:
    """Hold one tensor's step to float64 autograd; False where float64 cannot tell: the
    exact size lies below float64's range and float64 still reads a number (its own
    rounding of terms that cancel), to be held to mpmath instead."""
    if exact == -math.inf:
        return True  # nonzero, below what 53 bits resolve: its existence is held to mpmath
    if exact is None:
        assert ref <= max(ROUNDOFF64 * top, 1e-9), (name, t, ref, top)
    elif exact > FLOAT64_OK and top < 1e150:
        assert ref == pytest.approx(10**exact, rel=1e-5), (name, t, exact, ref)
    elif exact <= FLOAT64_OK and ref >= 1e-280:
        return False
    return True


def _hold_to_mpmath(cfg, sp, V: int, exact: dict, cases: list[tuple[str, int]]) -> None:
    """The sizes float64 cannot tell, against mpmath with digits enough to hold them and
    whatever cancels above them."""
    digits = int(-min(exact[name][t] for name, t in cases)) + 60
    ref = mp_norms(cfg, sp.Xtr, sp.Ytr, V, max(t for _, t in cases) + 1, dps=digits)
    for name, t in cases:
        assert ref[name][t] is not None, (name, t, exact[name][t])
        assert abs(ref[name][t] - exact[name][t]) < 1e-5, (name, t, ref[name][t], exact[name][t])


@settings(
    max_examples=examples(60),
    derandomize=not LONG,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(words=word_lists(), cfg=zero_configs())
def test_exact_gradients_equal_float64_autograd_wherever_float64_holds(words, cfg):
    ds, sp = _splits(words, cfg)
    if cfg.train.batch_size > len(sp.Ytr):
        return
    ex = analyse(cfg, sp.Xtr, sp.Ytr, ds.vocab_size)
    if ex.undefined:
        assert cfg.model.batchnorm and cfg.model.bn_eps == 0
        return
    # with BatchNorm, float64's own round-off grows step by step (by 1/sqrt(eps) at each
    # layer): its first steps only; BatchNorm nets are held to mpmath below
    steps = min(ex.steps, 3 if cfg.model.batchnorm else 12)
    ref = autograd64(cfg, sp.Xtr, sp.Ytr, ds.vocab_size, steps)
    untold = []  # (tensor, step) whose size float64 cannot tell
    for t in range(steps):
        top = max(ref[n][t] for n in ref)
        if not math.isfinite(top) or top > 1e150:
            break  # the float64 run itself has blown up: nothing to compare
        for name in ex.names:
            if ex.log10[name][t] is None and cfg.model.batchnorm:
                continue  # BatchNorm grows float64's round-off: zeros held to mpmath below
            if not _compare_step(name, t, ex.log10[name][t], ref[name][t], top):
                untold.append((name, t))
    if untold:
        _hold_to_mpmath(cfg, sp, ds.vocab_size, ex.log10, untold)


@st.composite
def deep_narrow(draw) -> RunConfig:
    return RunConfig().replace(
        init="zeros",
        activation="sigmoid",
        n_layers=draw(st.integers(5, 9)),
        n_hidden=draw(st.integers(1, 2)),
        n_embd=1,
        block_size=draw(st.integers(1, 2)),
        batch_size=draw(st.integers(1, 4)),
        lr=draw(st.sampled_from([0.01, 0.1])),
        steps=20,
        seed=draw(st.integers(0, 1000)),
    )


@settings(max_examples=examples(6), derandomize=not LONG, deadline=None)
@given(cfg=deep_narrow())
def test_exact_magnitudes_below_float64_equal_arbitrary_precision(cfg):
    words = ["ab", "ba", "a", "bb", "aab", "b", "ab", "aa", "bab", "ba", "abb", "a"]
    ds, sp = _splits(words, cfg)
    ex = analyse(cfg, sp.Xtr, sp.Ytr, ds.vocab_size)
    ref = mp_norms(cfg, sp.Xtr, sp.Ytr, ds.vocab_size, min(ex.steps, cfg.model.n_layers + 3))
    for name, logs in ref.items():
        for t, r in enumerate(logs):
            e = ex.log10[name][t]
            if e is None:  # exact zero: mpmath sees only its own rounding
                top = max((x for x in (v[t] for v in ref.values()) if x is not None), default=0)
                assert r is None or r < max(top - 30, -40), (name, t, r)
            else:
                assert r is not None and abs(r - e) < 1e-5, (name, t, r, e)


@st.composite
def narrow_batchnorm(draw) -> RunConfig:
    return RunConfig().replace(
        init="zeros",
        activation=draw(st.sampled_from(["tanh", "sigmoid", "relu"])),
        batchnorm=True,
        output_bn=draw(st.booleans()),
        bn_eps=draw(st.sampled_from([1e-5, 1e-10, 1e-2])),
        n_layers=draw(st.integers(1, 3)),
        n_hidden=draw(st.integers(1, 3)),
        n_embd=1,
        block_size=draw(st.integers(1, 2)),
        batch_size=draw(st.integers(2, 5)),
        lr=draw(st.sampled_from([1e-4, 0.1, 10.0])),
        steps=20,
        seed=draw(st.integers(0, 1000)),
    )


@settings(max_examples=examples(8), derandomize=not LONG, deadline=None)
@given(cfg=narrow_batchnorm(), words=word_lists(max_words=20))
def test_exact_zeros_under_batchnorm_equal_arbitrary_precision(cfg, words):
    """With a tiny eps, BatchNorm amplifies float64's own round-off past the gradients' size
    (1e4 from an exact 0 at eps 1e-10), and so does a large lr: the reference here is mpmath
    at 300 digits."""
    ds, sp = _splits(words, cfg)
    if cfg.train.batch_size > len(sp.Ytr):
        return
    ex = analyse(cfg, sp.Xtr, sp.Ytr, ds.vocab_size)
    ref = mp_norms(cfg, sp.Xtr, sp.Ytr, ds.vocab_size, min(ex.steps, 8), dps=300)
    for name, logs in ref.items():
        for t, r in enumerate(logs):
            e = ex.log10[name][t]
            if e is None:  # mpmath's own rounding, amplified by 1/sqrt(eps) per BatchNorm
                assert r is None or r < -150, (name, t, r)
            elif e == -math.inf:  # too small to resolve in 53 and 64 bits: undecided
                continue
            else:
                assert r is not None and abs(r - e) < 1e-5, (name, t, r, e)


def test_a_deep_sigmoid_net_gets_gradients_far_below_float64(small_ds):
    """Finding: sigmoid 10 x 20 was called "round-off" below; C's gradient is real, ~1e-2900."""
    cfg = RunConfig().replace(init="zeros", activation="sigmoid", n_layers=10, n_hidden=20)
    sp = data.make_splits(small_ds, 3)
    ex = analyse(cfg, sp.Xtr, sp.Ytr, small_ds.vocab_size)
    assert all(ex.exists(n) for n in ex.names) and ex.fixed_point
    assert ex.onset["C"] == 11 and ex.at_onset("C") < -1000
    assert "below 1e-308, the smallest float64" in magnitude_text(ex.at_onset("C"))
    assert ex.context_dependent


def test_scaled_numbers_keep_magnitudes_that_float64_cannot_hold():
    tiny = Scaled([3.0], -5000) * Scaled([2.0], -5000)
    assert tiny.float()[0] == 0.0
    assert tiny.log10_norm() == pytest.approx(math.log10(6) - 10000 * math.log10(2))
    assert (tiny + Scaled([1.0])).log10_norm() == pytest.approx(0.0)
    assert magnitude_text(None) == "0" and magnitude_text(-3.5) == "3.2e-4"
