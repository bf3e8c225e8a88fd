"""The evaluation forwards each distinct context once and weights its log-probabilities by
how many rows have each target (mlp_core/fast/evaluate.py). Held, over generated splits
(repeated contexts, every vocabulary and block size a learner can reach, the one-int64 key
and the fallback past 62 bits, BatchNorm in eval mode, several chunks, K stacked runs), to
a reference written here: the readable model's forward on every row, log_softmax, the
target's log-probability, summed in float64 row by row."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mlp_core.config import ModelConfig
from mlp_core.fast import evaluate as ev
from mlp_core.model import MLP


def row_by_row(model, X: torch.Tensor, Y: torch.Tensor) -> list[float]:
    """Mean loss per run over the rows, each row on its own line of the readable forward."""
    model.set_training(False)
    logits = model(X.expand(model.K, *X.shape))  # (K, N, V)
    logp = torch.log_softmax(logits.double(), -1)
    picked = logp.gather(2, Y.view(1, -1, 1).expand(model.K, -1, 1))
    return (-picked.sum((1, 2)) / len(Y)).tolist()


@settings(max_examples=25, deadline=None)
@given(
    vocab=st.integers(2, 120),
    block=st.integers(1, 12),
    rows=st.integers(1, 700),
    distinct=st.integers(1, 60),
    runs=st.integers(1, 3),
    batchnorm=st.booleans(),
    chunk=st.sampled_from([256, 2048]),
    seed=st.integers(0, 2**16),
)
def test_the_distinct_contexts_loss_is_the_row_by_row_loss(
    vocab, block, rows, distinct, runs, batchnorm, chunk, seed
):
    g = torch.Generator().manual_seed(seed)
    pool = torch.randint(0, vocab, (distinct, block), generator=g)  # contexts that repeat
    X = pool[torch.randint(0, distinct, (rows,), generator=g)]
    Y = torch.randint(0, vocab, (rows,), generator=g)
    cfg = ModelConfig(n_embd=4, n_hidden=8, n_layers=2, batchnorm=batchnorm)
    model = MLP([cfg] * runs, vocab, block, seeds=list(range(runs)), dtype="float64")
    old = ev.EVAL_ROWS
    ev.EVAL_ROWS = chunk  # several chunks, and one left over, as on the real splits
    try:
        got = ev.evaluate(model, X, Y)
    finally:
        ev.EVAL_ROWS = old
    assert got == pytest.approx(row_by_row(model, X, Y), rel=1e-12, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(vocab=st.integers(2, 300), block=st.integers(1, 16), seed=st.integers(0, 2**16))
def test_distinct_counts_every_row_once_under_its_own_context(vocab, block, seed):
    g = torch.Generator().manual_seed(seed)
    X = torch.randint(0, vocab, (400, block), generator=g)[
        torch.randint(0, 400, (900,), generator=g)
    ]
    Y = torch.randint(0, vocab, (900,), generator=g)
    Xu, W = ev.distinct(X, Y, vocab)
    assert len({tuple(r) for r in Xu.tolist()}) == len(Xu)  # each context once
    assert {tuple(r) for r in Xu.tolist()} == {tuple(r) for r in X.tolist()}
    where = {tuple(r): i for i, r in enumerate(Xu.tolist())}
    expected = torch.zeros_like(W)
    for x, y in zip(X.tolist(), Y.tolist()):
        expected[y, where[tuple(x)]] += 1
    assert torch.equal(W, expected)
