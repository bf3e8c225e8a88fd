"""The cost of a form's shapes: CPU seconds of stacks of various shapes (one process,
one thread, diagnostics on as in the app, the built-in names) trained for S and 3S steps
(the same 50 curve points): the difference is the steps' cost, the rest the
evaluation's. Both are fitted to hosting/cost.py's model (non-negative, least squares of
the relative error), printed with each shape's estimate over its measured cost and the
machine's load, and written to bench/step_cost.json.

    python bench/step_cost.py [--steps 50]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hosting import cost  # noqa: E402
from mlp_core.config import ModelConfig, RunConfig, TrainConfig  # noqa: E402
from mlp_core.train import train_stack  # noqa: E402
from mlp_core.words import default_dataset  # noqa: E402

# (runs, layers, hidden, batch): from the lecture's net to the demo caps
SHAPES = [(1, 2, 50, 32), (2, 5, 100, 32), (1, 5, 100, 256), (4, 3, 100, 128)]
SHAPES += [(2, 6, 200, 512), (8, 6, 200, 256), (1, 6, 200, 1024), (8, 2, 50, 32)]
NOTEBOOK = [(1, 2, 50, 32), (2, 5, 100, 128), (1, 6, 200, 512)]


def configs(shape, steps: int, arithmetic: str = "engine") -> list[RunConfig]:
    runs, layers, hidden, batch = shape
    base = RunConfig(
        model=ModelConfig(n_layers=layers, n_hidden=hidden),
        train=TrainConfig(steps=steps, batch_size=batch, arithmetic=arithmetic),
    )
    return [replace(base, train=replace(base.train, seed=s)) for s in range(runs)]


def cpu(cfgs: list[RunConfig], ds) -> float:
    """CPU seconds of this process (load on other cores does not count)."""
    t0 = time.process_time()
    train_stack(cfgs, ds, threads=1, workers=1)  # with diagnostics, as the app trains
    return time.process_time() - t0


def fit(rows: list[tuple[list[float], float]]) -> list[float]:
    """Non-negative least squares of the relative error: the best over every subset of
    the features whose plain fit is non-negative."""
    x = np.array([f for f, _ in rows]) / np.array([[s] for _, s in rows])
    best, err = [0.0] * x.shape[1], float("inf")
    for mask in itertools.product([0, 1], repeat=x.shape[1]):
        cols = [i for i in range(x.shape[1]) if mask[i]]
        if not cols:
            continue
        c, *_ = np.linalg.lstsq(x[:, cols], np.ones(len(rows)), rcond=None)
        if (c < 0).any():
            continue
        full = np.zeros(x.shape[1])
        full[cols] = c
        e = float(((x @ full - 1) ** 2).sum())
        if e < err:
            best, err = [float(v) for v in full], e
    return best


def measure(shapes, steps: int, ds, arithmetic: str) -> tuple[list, list]:
    """Rows (step features, seconds per step) and (evaluation features, seconds)."""
    per_step, once = [], []
    for shape in shapes:
        cpu(configs(shape, 2, arithmetic), ds)  # warm the kernels and the splits
        short, long = (cpu(configs(shape, n, arithmetic), ds) for n in (steps, 3 * steps))
        cfgs = configs(shape, steps, arithmetic)
        step = max((long - short) / (2 * steps), 1e-9)
        f_step = np.sum([cost.step_features(c, ds.vocab_size) for c in cfgs], axis=0)
        f_eval = np.sum([cost.eval_features(c, ds.vocab_size) for c in cfgs], axis=0)
        per_step.append(([float(f) for f in f_step], step))
        once.append(([float(f) for f in f_eval], max(short - steps * step, 1e-6)))
        print(f"{arithmetic} {shape}: {step * 1e3:.2f} ms/step, evaluation {once[-1][1]:.2f} s")
    return per_step, once


def report(rows, k: list[float]) -> list[float]:
    """Each shape's estimate over its measured cost."""
    return [round(float(np.dot(f, k)) / s, 2) for f, s in rows]


def constants(per_step, once) -> tuple[dict, list]:
    k_step, k_eval = fit(per_step), fit(once)
    ratios = [report(per_step, k_step), report(once, k_eval)]
    return dict(zip(cost.STEP_TERMS + cost.EVAL_TERMS, k_step + k_eval)), ratios


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=50)
    a = ap.parse_args()
    ds = default_dataset()
    load0 = os.getloadavg()
    engine = constants(*measure(SHAPES, a.steps, ds, "engine"))
    notebook = constants(*measure(NOTEBOOK, a.steps, ds, "notebook"))
    out = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_before_after": [load0[0], os.getloadavg()[0]],
        "steps": [a.steps, 3 * a.steps],
        "ENGINE": engine[0],
        "NOTEBOOK": notebook[0],
        "estimate_over_measured (steps, evaluation)": {
            "engine": engine[1],
            "notebook": notebook[1],
        },
    }
    print(json.dumps(out, indent=1))
    (ROOT / "bench" / "step_cost.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
