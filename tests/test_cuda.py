"""The engine on a CUDA device gives the CPU engine's numbers (skipped without one).

Self-contained (its own word list, no fixtures), so that it also runs with --noconftest
on a GPU machine that has torch but not the app's other packages."""

import itertools

import pytest
import torch

from mlp_core import data, train
from mlp_core.config import RunConfig

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def _words() -> list[str]:
    syl = ["ma", "ri", "an", "el", "jo", "sa", "ly", "ke", "on", "da", "ne", "th", "bo", "ia"]
    return ["".join(w) for n in (2, 3) for w in itertools.permutations(syl, n)][:2500]


DS = data.dataset_from_words(_words(), "test: syllables")
BASE = RunConfig().replace(
    n_embd=4, n_hidden=16, n_layers=2, steps=150, batch_size=16, lr_decay_step=120,
    dtype="float64",
)  # fmt: skip
CASES = {
    "tanh": [BASE],
    "batchnorm": [BASE.replace(batchnorm=True)],
    "sigmoid, zero init": [BASE.replace(activation="sigmoid", init="zeros")],
    "mixed stack, own lr": [
        BASE.replace(activation="relu", seed=1),
        BASE.replace(activation="tanh", lr=0.05, batchnorm=False),
        BASE.replace(activation="sigmoid", seed=3),
    ],
}


@pytest.mark.parametrize("diagnostics", [True, False])
@pytest.mark.parametrize("case", CASES)
def test_cuda_matches_cpu(case, diagnostics):
    cfgs = CASES[case]
    cpu = train.train_stack(cfgs, DS, workers=1, diagnostics=diagnostics)
    gpu = train.train_stack(
        [c.replace(device="cuda") for c in cfgs], DS, workers=1, diagnostics=diagnostics
    )
    for a, b in zip(cpu, gpu):
        assert b.status == a.status == "ok"
        for name, t in a.state.items():
            torch.testing.assert_close(b.state[name], t, rtol=1e-7, atol=1e-9, msg=name)
        assert b.metrics["val_loss"] == pytest.approx(a.metrics["val_loss"], abs=1e-9)
        assert b.metrics["curve"]["train"] == pytest.approx(a.metrics["curve"]["train"], abs=1e-9)
        trained = [p["trained"] for p in a.metrics["params"]]
        assert [p["trained"] for p in b.metrics["params"]] == trained


def test_cuda_float32_lecture_net_trains():
    cfg = RunConfig().replace(n_layers=5, n_hidden=100, steps=400, device="cuda")
    (run,) = train.train_stack([cfg], DS)
    assert run.status == "ok" and run.metrics["val_loss"] < run.metrics["curve"]["val"][0]
