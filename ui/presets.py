"""Lecture runs (Compare runs): the lecture's own nets, one click each, and the losses its
notebook printed next to ours.

The lecture's numbers are a published reference, copied here as printed (rounded to four
places): karpathy/nn-zero-to-hero, lectures/makemore/makemore_part3_bn.ipynb, the
markdown cell "loss log" (train and val after 200,000 steps of each 2-layer net), and the
output of the deep net's split_loss cell, whose training cell stops after 1,001 steps
(``break # AFTER_DEBUG``). The notebook prints no 200,000-step loss of the deep nets.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from mlp_core.config import ConfigError, RunConfig
from mlp_core.data import DEFAULT_SOURCE, Dataset
from mlp_core.store import run_key

from .run_cache import lookup
from .settings import check_caps, check_cost, seed
from .training import train
from .waiting import estimate_text

NOTEBOOK = "karpathy/nn-zero-to-hero · lectures/makemore/makemore_part3_bn.ipynb"
# the content hash (data.Dataset.sha256) of the lecture's names.txt, 32,033 names: the data
# its numbers are measured on (python -m mlp_core data --names names.txt)
NAMES_TXT_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"
TWO_LAYER = {"n_layers": 1, "n_hidden": 200, "steps": 200_000, "lr_decay_step": 100_000}
LECTURE_SEED = 2147483647  # the notebook's torch.Generator().manual_seed(2147483647)
SIX_LAYER = {"n_layers": 5, "n_hidden": 100, "lr_decay_step": 150_000}


@dataclass(frozen=True)
class Preset:
    title: str
    changes: dict  # RunConfig.replace arguments on top of the defaults (tanh, kaiming, lr 0.1)
    lecture: tuple[float, float] | None  # the notebook's printed (train, val), if any
    source: str  # where in the notebook that pair is, or why there is none
    seed: int | None = None  # a fixed seed (the notebook's own), else the sidebar's


PRESETS = (
    Preset(
        "2-layer net (1×200 tanh, kaiming)",
        TWO_LAYER,
        (2.0377, 2.1070),
        'loss log, "use semi-principled kaiming init"',
    ),
    Preset(
        "2-layer net + BatchNorm (hidden only, momentum 0.001)",
        TWO_LAYER | {"batchnorm": True, "output_bn": False, "bn_momentum": 0.001},
        (2.0668, 2.1048),
        'loss log, "add batch norm layer"',
    ),
    Preset(
        "6-layer net (5×100 tanh, kaiming)",
        SIX_LAYER | {"steps": 200_000},
        None,
        "not printed: the notebook keeps this layer list commented out",
    ),
    Preset(
        "6-layer net + BatchNorm (every Linear, momentum 0.1)",
        SIX_LAYER | {"steps": 200_000, "batchnorm": True},
        None,
        "not printed: the notebook's training cell stops after 1,001 steps",
    ),
    Preset(
        "6-layer net + BatchNorm, 1,001 steps (as the notebook ran it)",
        SIX_LAYER | {"steps": 1_001, "batchnorm": True},
        (2.4003, 2.3982),
        "split_loss after 1,001 steps; it used gain 1 on the hidden weights, we use 5/3",
    ),
    Preset(
        "2-layer net + BatchNorm, the lecture's own random stream (seed 2147483647)",
        TWO_LAYER | {"batchnorm": True, "output_bn": False, "bn_momentum": 0.001, "rng": "lecture"},
        (2.0674, 2.1057),
        "split_loss output of the BatchNorm net's cell (one generator: init, then batches)",
        seed=LECTURE_SEED,
    ),
)


def config(p: Preset, run_seed: int) -> RunConfig:
    return RunConfig().replace(**p.changes, seed=run_seed if p.seed is None else p.seed)


def label(p: Preset) -> str:
    return f"lecture: {p.title}"


def refusal(cfg: RunConfig, ds: Dataset | None = None) -> str | None:
    """Why this run cannot be trained here (the demo caps and budget), or None."""
    try:
        check_caps(cfg)
        check_cost([cfg], ds)
    except ConfigError as e:
        return str(e)
    return None


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.4f}"


def table(presets, outcomes: list) -> pd.DataFrame:
    """One row per preset: the notebook's train/val next to ours (blank until computed)."""
    rows = []
    for p, o in zip(presets, outcomes):
        m = o.metrics if o is not None and o.status == "ok" else {}
        lec = p.lecture or (None, None)
        ours_val = m.get("val_loss")
        gap = None if lec[1] is None or ours_val is None else ours_val - lec[1]
        rows.append(
            {
                "lecture run": p.title,
                "lecture train": _fmt(lec[0]),
                "lecture val": _fmt(lec[1]),
                "our train": _fmt(m.get("train_loss")),
                "our val": _fmt(ours_val),
                "val − lecture": "" if gap is None else f"{gap:+.4f}",
                "our seconds": "" if not m else f"{m['seconds']:.0f}",
                "lecture numbers from": p.source,
            }
        )
    return pd.DataFrame(rows).set_index("lecture run")


UPLOADER = "the sidebar's “Upload a word list” (under Data set)"


def data_note(ds: Dataset) -> str:
    """Whether the data in use is the lecture's, and where to put the lecture's own."""
    if ds.sha256 == NAMES_TXT_SHA256:
        return "The data in use is the lecture's names.txt (same content)."
    which = "the built-in names" if ds.source == DEFAULT_SOURCE else "your own word list"
    return (
        f"The data in use is {which}, not the lecture's names.txt (32,033 names): to compare "
        f"like with like, upload names.txt with {UPLOADER}. Runs on your own words train "
        "here too; the lecture's numbers are then not theirs."
    )


def _caption(ds: Dataset, run_seed: int) -> str:
    return (
        f"Lecture numbers as printed in {NOTEBOOK} (one run each, on the notebook's own "
        "seed, not a mean over seeds; rounded to four places). Ours: seed "
        f"{run_seed} from the sidebar (the lecture's-own-random-stream run: the notebook's "
        f"seed {LECTURE_SEED:,}), blank until trained. " + data_note(ds)
    )


def lecture_runs(ds: Dataset, page: str, on_trained) -> None:
    """The section on Compare runs: the table, then one button per preset. A trained run
    joins this session's runs; on_trained(keys) selects it, then the page is drawn again."""
    st.subheader("Lecture runs")
    run_seed = seed()
    cfgs = [config(p, run_seed) for p in PRESETS]
    outcomes = [(lookup([c], ds) or [None])[0] for c in cfgs]
    st.table(table(PRESETS, outcomes))
    st.caption(_caption(ds, run_seed))
    for i, (p, cfg, done) in enumerate(zip(PRESETS, cfgs, outcomes)):
        why_not = refusal(cfg, ds)
        press, note = st.columns([7, 2], vertical_alignment="center")  # the whole label
        pressed = press.button(
            f"{'Show' if done else 'Train'}: {p.title} · {cfg.train.steps:,} steps",
            key=f"preset-{i}",
            disabled=why_not is not None,
            width="stretch",
        )
        if why_not:
            note.caption(f"Disabled: {why_not}.")
        else:
            note.caption(button_note(cfg, done is not None, ds))
        if pressed:
            (o,) = train([cfg], ds, [label(p)], page)
            if o.status == "ok":
                on_trained([run_key(cfg, ds.sha256)])
            st.rerun()


def button_note(cfg: RunConfig, stored: bool, ds: Dataset | None = None) -> str:
    """Beside a preset's button, before it is pressed: stored (shown at once), or how long
    its training takes here (the estimate the compare form shows, ui/waiting.py)."""
    if stored:
        return "Trained already: shows at once."
    return f"Training: {estimate_text([cfg], ds)}."
