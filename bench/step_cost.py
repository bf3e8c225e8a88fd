"""The cost of a form: CPU seconds of stacks of many shapes (one process, one thread,
diagnostics on as the app trains, the built-in names), each trained for S and 3S steps,
and random forms within the demo's caps (a seeded draw), fitted at once to
hosting/cost.py's model (non-negative least squares of the relative error: every step's
and every measuring's constant together; the notebook's arithmetic apart, on shapes of
its own). Then a check on forms the fit never saw: random forms of another draw (none
with a fitted stack's settings), each trained as the app trains it (its stacks, the
default processes), and single notebook-arithmetic runs of a third draw: the estimate of
their CPU seconds and of their wall seconds over what they measured. Last, the forms at
the caps' widest shape. Everything, with the machine's load, goes to bench/step_cost.json.

    python bench/step_cost.py [--forms 24] [--fit-forms 16] [--repeats 2]
    python bench/step_cost.py --refit        # the json's measures, the model's features now
    python bench/step_cost.py --caps-only    # the caps' forms again, into the json
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hosting import cost  # noqa: E402
from mlp_core.config import ModelConfig, RunConfig, TrainConfig  # noqa: E402
from mlp_core.train import train_stack, warm_workers  # noqa: E402
from mlp_core.words import default_dataset  # noqa: E402

# (runs, layers, hidden, batch, batchnorm, activation, evaluation, n_embd, steps S): from
# a tiny net to the demo caps, the lecture's nets and the init landscape's stacks
SHAPES = [
    (1, 5, 100, 32, False, "tanh", "full", 10, 600),
    (1, 2, 50, 32, False, "tanh", "full", 10, 600),
    (1, 1, 200, 32, False, "tanh", "full", 10, 600),
    (1, 1, 1, 1, False, "tanh", "full", 10, 600),
    (3, 2, 10, 8, False, "sigmoid", "full", 10, 600),
    (1, 5, 100, 32, True, "tanh", "full", 10, 400),
    (2, 5, 100, 32, True, "relu", "full", 10, 400),
    (8, 5, 100, 32, False, "tanh", "full", 10, 300),
    (8, 2, 50, 32, False, "tanh", "full", 10, 400),
    (4, 3, 100, 128, False, "relu", "full", 10, 200),
    (1, 5, 100, 256, False, "sigmoid", "full", 10, 150),
    (4, 3, 64, 64, True, "relu", "full", 64, 200),
    (2, 6, 200, 512, False, "tanh", "full", 10, 100),
    (1, 6, 200, 1024, False, "tanh", "full", 10, 100),
    (8, 6, 200, 256, False, "tanh", "full", 10, 50),
    (2, 6, 200, 1024, True, "tanh", "full", 10, 50),
    (3, 1, 32, 64, True, "tanh", "full", 10, 1500),
    (5, 6, 1, 256, True, "sigmoid", "full", 24, 1000),
    (7, 1, 64, 1, False, "tanh", "full", 10, 1000),
    (2, 6, 10, 8, True, "relu", "full", 10, 1500),
    (9, 1, 100, 32, False, "tanh", "dev", 10, 400),
    (9, 4, 100, 32, False, "tanh", "dev", 10, 300),
    (9, 8, 100, 32, True, "tanh", "dev", 10, 200),
]
# (runs, layers, hidden, batch, batchnorm, activation, steps S): the notebook's
# arithmetic, at S and 3S steps
NOTEBOOK = [
    (1, 2, 50, 32, False, "tanh", 1000),
    (1, 5, 100, 32, False, "tanh", 1000),
    (1, 1, 200, 32, False, "tanh", 1000),
    (2, 5, 100, 128, False, "tanh", 300),
    (1, 6, 200, 512, False, "tanh", 150),
    (1, 5, 100, 32, True, "tanh", 1000),
    (1, 3, 64, 256, True, "relu", 300),
    (1, 4, 100, 64, False, "relu", 1000),
    (1, 2, 100, 64, False, "sigmoid", 1000),
]
# the estimate's constants that choose the random forms (0.3-8 s each): fixed, so that a
# fit of the model draws the same forms
FILTER = {
    "STEP_S": 1.6e-05,
    "LAYER_S": 4.8e-06,
    "BN_LAYER_S": 2.3e-05,
    "RUN_LAYER_S": 3.2e-06,
    "ELEM_S": 1.2e-09,
    "BN_ELEM_S": 4.7e-09,
    "MAC_S": 5.1e-11,
    "ROW_S": 1.8e-07,
    "EMBED_ELEM_S": 2.8e-09,
    "PARAM_S": 1e-09,
    "POINT_S": 0.0028,
    "EVAL_ELEM_S": 1.8e-09,
    "EVAL_MAC_S": 3.4e-11,
    "GRAD_S": 3e-09,
    "CAPTURE_ELEM_S": 1.7e-08,
}
NOTEBOOK_FILTER = {
    "STEP_S": 0.0,
    "ROW_S": 0.0,
    "LAYER_S": 1.2e-4,
    "BN_LAYER_S": 0.0,
    "ELEM_S": 5e-9,
    "BN_ELEM_S": 0.0,
    "MAC_S": 6e-11,
    "EVAL_ELEM_S": 1.5e-8,
    "EVAL_MAC_S": 1.5e-11,
    "GRAD_S": 0.0,
    "CAPTURE_ELEM_S": 0.0,
}
FIT_SEED, CHECK_SEED, NOTEBOOK_CHECK_SEED = 1, 2, 3
CAPS = {"runs": 8, "n_layers": 6, "n_hidden": 200, "batch_size": 1024, "n_embd": 64}


def configs(shape, steps: int) -> list[RunConfig]:
    runs, layers, hidden, batch, bn, act, evaluation, embd, _ = shape
    base = RunConfig(
        model=ModelConfig(
            n_layers=layers, n_hidden=hidden, batchnorm=bn, activation=act, n_embd=embd
        ),
        train=TrainConfig(steps=steps, batch_size=batch, evaluation=evaluation),
    )
    return [replace(base, train=replace(base.train, seed=s)) for s in range(runs)]


def notebook_configs(shape, steps: int) -> list[RunConfig]:
    runs, layers, hidden, batch, bn, act, _ = shape
    base = RunConfig(
        model=ModelConfig(n_layers=layers, n_hidden=hidden, batchnorm=bn, activation=act),
        train=TrainConfig(steps=steps, batch_size=batch, arithmetic="notebook"),
    )
    return [replace(base, train=replace(base.train, seed=s)) for s in range(runs)]


def spec(cfgs: list[RunConfig]) -> dict:
    """A stack's settings, as the json keeps them (--refit builds the stack again)."""
    m, t = cfgs[0].model, cfgs[0].train
    return {
        "runs": len(cfgs),
        "n_layers": m.n_layers,
        "n_hidden": m.n_hidden,
        "n_embd": m.n_embd,
        "batchnorm": m.batchnorm,
        "activation": m.activation,
        "batch_size": t.batch_size,
        "steps": t.steps,
        "evaluation": t.evaluation,
        "arithmetic": t.arithmetic,
    }


def from_spec(d: dict) -> list[RunConfig]:
    model = {k: d[k] for k in ("n_layers", "n_hidden", "n_embd", "batchnorm", "activation")}
    base = RunConfig(
        model=ModelConfig(**model),
        train=TrainConfig(
            steps=d["steps"],
            batch_size=d["batch_size"],
            evaluation=d["evaluation"],
            arithmetic=d.get("arithmetic", "engine"),
        ),
    )
    return [replace(base, train=replace(base.train, seed=s)) for s in range(d["runs"])]


def cpu(cfgs: list[RunConfig], ds, workers: int | None = 1) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) of training these runs as one stack."""
    t0, w0 = time.process_time(), time.perf_counter()
    train_stack(cfgs, ds, threads=1, workers=workers)  # with diagnostics, as the app trains
    return time.process_time() - t0, time.perf_counter() - w0


def fit(rows: list[tuple[list[float], float]]) -> list[float]:
    """Non-negative least squares of the relative error: the best over every subset of
    the features whose plain fit is non-negative, to 3 significant digits."""
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
    return [float(f"{v:.3g}") for v in best]  # as hosting/cost.py keeps them


def features(cfgs: list[RunConfig], sizes: cost.Sizes) -> list[float]:
    """A stack's features, steps x STEP_TERMS' then ONCE_TERMS'."""
    steps = cfgs[0].train.steps
    f_step = [steps * f for f in cost.step_features(cfgs, sizes)]
    return f_step + list(cost.once_features(cfgs, sizes))


def warm(cfgs: list[RunConfig], ds) -> None:
    """Train the shape for 2 steps: its kernels and buffers are warm, as on a server that
    has trained before."""
    cpu([replace(c, train=replace(c.train, steps=2)) for c in cfgs], ds)


def measure(ds, repeats: int, forms: int) -> list[tuple]:
    """Rows (features, CPU seconds: the least of the repeats, label, spec) for each shape at S
    and 3S steps, and for random forms of another draw than the ones checked after."""
    stacks = [configs(shape, n) for shape in SHAPES for n in (shape[-1], 3 * shape[-1])]
    stacks += random_forms(forms, FIT_SEED)
    rows = []
    for cfgs in stacks:
        warm(cfgs, ds)
        s = min(cpu(cfgs, ds)[0] for _ in range(repeats))
        rows.append((features(cfgs, cost.data_sizes(ds)), s, form_label(cfgs), spec(cfgs)))
        print(f"{rows[-1][2]}: {s:.3f} s", flush=True)
    return rows


def notebook_features(cfgs: list[RunConfig], sizes: cost.Sizes) -> list[float]:
    """Runs in the notebook's arithmetic, one after another: their NOTEBOOK_TERMS'
    features, summed."""
    return [float(f) for f in np.sum([cost.notebook_features(c, sizes) for c in cfgs], axis=0)]


def measure_notebook(ds, repeats: int) -> list[dict]:
    """Rows (label, spec, CPU seconds: the least of the repeats) of the notebook's shapes
    at S and 3S steps."""
    rows = []
    for shape in NOTEBOOK:
        warm(notebook_configs(shape, 2), ds)
        for steps in (shape[-1], 3 * shape[-1]):
            cfgs = notebook_configs(shape, steps)
            s = min(cpu(cfgs, ds)[0] for _ in range(repeats))
            rows.append({"shape": form_label(cfgs), "spec": spec(cfgs), "measured_s": round(s, 3)})
            print(f"notebook {rows[-1]['shape']}: {s:.3f} s", flush=True)
    return rows


@contextlib.contextmanager
def priced_by(constants: dict, values: dict):
    """hosting/cost.py's constants (ENGINE or NOTEBOOK) set to these within the block."""
    saved = dict(constants)
    constants.update(values)
    try:
        yield
    finally:
        constants.update(saved)


def notebook_forms(n: int, seed: int) -> list[list[RunConfig]]:
    """n single runs in the notebook's arithmetic, as Zero init's "in your notebook's
    arithmetic" takes them (one run; layers, width, BatchNorm, activation, steps drawn),
    costing 0.3-8 s by NOTEBOOK_FILTER's estimate."""
    rnd, out = random.Random(seed), []
    while len(out) < n:
        model = ModelConfig(
            n_layers=rnd.randint(1, CAPS["n_layers"]),
            n_hidden=rnd.choice([10, 32, 64, 100, 200]),
            batchnorm=rnd.random() < 0.4,
            activation=rnd.choice(["tanh", "sigmoid", "relu"]),
        )
        batch = rnd.choice([8, 32, 64, 256])
        steps = rnd.choice([300, 1000, 3000])
        cfgs = [
            RunConfig(
                model=model,
                train=TrainConfig(steps=steps, batch_size=batch, arithmetic="notebook"),
            )
        ]
        with priced_by(cost.NOTEBOOK, NOTEBOOK_FILTER):
            if 0.3 <= cost.cpu_seconds(cfgs) <= 8:
                out.append(cfgs)
    return out


def random_forms(n: int, seed: int, exclude=()) -> list[list[RunConfig]]:
    """n forms within the demo's caps (one shape, K runs seeds apart; layers, width,
    n_embd, BatchNorm, activation, batch, runs and steps drawn), each costing 0.3-8 s by
    FILTER's estimate, none with the settings of a stack in ``exclude`` (specs)."""
    rnd, out = random.Random(seed), []
    with priced_by(cost.ENGINE, FILTER):
        while len(out) < n:
            model = ModelConfig(
                n_layers=rnd.randint(1, CAPS["n_layers"]),
                n_hidden=rnd.choice([1, 10, 32, 64, 100, 150, 200]),
                n_embd=rnd.choice([2, 10, 24, 64]),
                batchnorm=rnd.random() < 0.4,
                activation=rnd.choice(["tanh", "sigmoid", "relu"]),
            )
            batch = rnd.choice([1, 8, 32, 64, 128, 256, 512, 1024])
            if model.batchnorm and batch < 2:
                continue
            runs = rnd.randint(1, CAPS["runs"])
            steps = rnd.choice([50, 100, 300, 1000, 3000, 5000])
            base = RunConfig(model=model, train=TrainConfig(steps=steps, batch_size=batch))
            cfgs = [replace(base, train=replace(base.train, seed=s)) for s in range(runs)]
            if spec(cfgs) not in exclude and 0.3 <= cost.cpu_seconds(cfgs) <= 8:
                out.append(cfgs)
    return out


def form_label(cfgs: list[RunConfig]) -> str:
    m, t = cfgs[0].model, cfgs[0].train
    return (
        f"{len(cfgs)} x {m.n_layers} x {m.n_hidden} ({m.activation}{', BN' if m.batchnorm else ''}"
        f", n_embd {m.n_embd}), batch {t.batch_size}, {t.steps} steps"
        + (", dev only" if t.evaluation == "dev" else "")
        + (", notebook" if t.arithmetic == "notebook" else "")
    )


def held_out(ds, n: int, fitted: list[dict]) -> list[dict]:
    """Random forms of a draw of their own, none with a fitted stack's settings: estimate
    over measured, CPU (one process) and wall (the default processes, as the app trains
    them)."""
    warm_workers()
    out = []
    for cfgs in random_forms(n, CHECK_SEED, exclude=[r["spec"] for r in fitted]):
        warm(cfgs, ds)
        one, _ = cpu(cfgs, ds, workers=1)
        _, wall = cpu(cfgs, ds, workers=None)
        row = {
            "form": form_label(cfgs),
            "spec": spec(cfgs),
            "cpu_s": round(one, 3),
            "cpu_estimate_over_measured": round(
                cost.cpu_seconds(cfgs, cost.data_sizes(ds)) / one, 2
            ),
            "wall_s": round(wall, 3),
            "wall_estimate_over_measured": round(
                cost.wall_seconds(cfgs, 0, cost.data_sizes(ds)) / wall, 2
            ),
        }
        print(row, flush=True)
        out.append(row)
    return out


def caps_forms(ds, repeats: int) -> list[dict]:
    """Forms at the caps' widest shape (6 x 200 at batch 1,024, the demo's heaviest per
    step): measured CPU seconds (one process, the least of the repeats) over the estimate
    (hosting/cost.py cites them)."""
    out = []
    for runs, steps in ((1, 100), (1, 200), (2, 100)):
        base = RunConfig(
            model=ModelConfig(n_layers=6, n_hidden=200),
            train=TrainConfig(steps=steps, batch_size=1024),
        )
        cfgs = [replace(base, train=replace(base.train, seed=s)) for s in range(runs)]
        warm(cfgs, ds)
        measured = min(cpu(cfgs, ds, workers=1)[0] for _ in range(repeats))
        estimate = cost.cpu_seconds(cfgs, cost.data_sizes(ds))
        out.append(
            {
                "form": form_label(cfgs),
                "spec": spec(cfgs),
                "measured_s": round(measured, 2),
                "estimate_s": round(estimate, 2),
                "measured_over_estimate": round(measured / estimate, 2),
            }
        )
        print(out[-1], flush=True)
    return out


def spread(values: list[float]) -> dict:
    return {
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
        "within_0.8_1.25": sum(1 for v in values if 0.8 <= v <= 1.25),
        "of": len(values),
    }


def refit(out: dict, sizes: cost.Sizes) -> dict:
    """Fit the engine's constants to the measured stacks (their specs built again, so a
    change of hosting/cost.py's features needs no new measure), and price every form the
    json holds with them."""
    rows = [(features(from_spec(r["spec"]), sizes), r["measured_s"]) for r in out["fitted_shapes"]]
    k = fit(rows)
    out["ENGINE"] = dict(zip(cost.STEP_TERMS + cost.ONCE_TERMS, k))
    cost.ENGINE.update(out["ENGINE"])
    for r, (f, s) in zip(out["fitted_shapes"], rows):
        r["estimate_over_measured"] = round(float(np.dot(f, k)) / s, 2)
    out["fitted_spread"] = spread([r["estimate_over_measured"] for r in out["fitted_shapes"]])
    nb = [
        (notebook_features(from_spec(r["spec"]), sizes), r["measured_s"])
        for r in out["notebook_shapes"]
    ]
    k_nb = fit(nb)
    out["NOTEBOOK"] = dict(zip(cost.NOTEBOOK_TERMS, k_nb))
    cost.NOTEBOOK.update(out["NOTEBOOK"])
    for r, (f, s) in zip(out["notebook_shapes"], nb):
        r["estimate_over_measured"] = round(float(np.dot(f, k_nb)) / s, 2)
    for r in out.get("notebook_held_out", []):
        r["cpu_estimate_over_measured"] = round(
            cost.cpu_seconds(from_spec(r["spec"]), sizes) / r["cpu_s"], 2
        )
    for r in out.get("held_out_forms", []):
        cfgs = from_spec(r["spec"])
        r["cpu_estimate_over_measured"] = round(cost.cpu_seconds(cfgs, sizes) / r["cpu_s"], 2)
        r["wall_estimate_over_measured"] = round(cost.wall_seconds(cfgs, 0, sizes) / r["wall_s"], 2)
    if out.get("held_out_forms"):
        forms = out["held_out_forms"]
        out["held_out_cpu_spread"] = spread([r["cpu_estimate_over_measured"] for r in forms])
        out["held_out_wall_spread"] = spread([r["wall_estimate_over_measured"] for r in forms])
    for r in out.get("caps", []):
        r["estimate_s"] = round(cost.cpu_seconds(from_spec(r["spec"]), sizes), 2)
        r["measured_over_estimate"] = round(r["measured_s"] / r["estimate_s"], 2)
    return out


def notebook_held_out(ds, n: int) -> list[dict]:
    """Single notebook-arithmetic runs of a draw of their own: CPU seconds and settings."""
    out = []
    for cfgs in notebook_forms(n, NOTEBOOK_CHECK_SEED):
        warm(cfgs, ds)
        row = {"form": form_label(cfgs), "spec": spec(cfgs), "cpu_s": round(cpu(cfgs, ds)[0], 3)}
        print(row, flush=True)
        out.append(row)
    return out


def summary(out: dict) -> dict:
    keys = ("ENGINE", "NOTEBOOK", "fitted_spread", "held_out_cpu_spread", "held_out_wall_spread")
    return {k: out.get(k) for k in keys} | {
        "notebook": [r["estimate_over_measured"] for r in out["notebook_shapes"]],
        "notebook_held_out": [r["cpu_estimate_over_measured"] for r in out["notebook_held_out"]],
        "caps": [r["measured_over_estimate"] for r in out["caps"]],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--forms", type=int, default=24, help="random forms checked after the fit")
    ap.add_argument("--fit-forms", type=int, default=16, help="random forms in the fit")
    ap.add_argument("--repeats", type=int, default=2, help="each shape's least CPU time of")
    ap.add_argument(
        "--caps-only",
        action="store_true",
        help="only the forms at the caps, with hosting/cost.py's constants (into the json)",
    )
    ap.add_argument(
        "--refit",
        action="store_true",
        help="fit the json's measured stacks again with hosting/cost.py's features, no measure",
    )
    a = ap.parse_args()
    ds = default_dataset()
    load0 = os.getloadavg()
    path = ROOT / "bench" / "step_cost.json"
    if a.caps_only or a.refit:
        out = json.loads(path.read_text())
        if a.caps_only:
            out["caps"] = caps_forms(ds, 3)
            out["caps_load_before_after"] = [load0[0], os.getloadavg()[0]]
        out = refit(out, cost.data_sizes(ds))
        print(json.dumps(summary(out), indent=1))
        path.write_text(json.dumps(out, indent=1))
        return
    rows = measure(ds, a.repeats, a.fit_forms)
    out = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "ENGINE": {},
        "NOTEBOOK": {},
        "fitted_shapes": [
            {"shape": label, "spec": sp, "measured_s": round(s, 3)} for _, s, label, sp in rows
        ],
        "notebook_shapes": measure_notebook(ds, a.repeats),
    }
    out = refit(out, cost.data_sizes(ds))  # the forms are priced with the constants just fitted
    out["held_out_forms"] = held_out(ds, a.forms, out["fitted_shapes"])
    out["notebook_held_out"] = notebook_held_out(ds, 6)
    out["caps"] = caps_forms(ds, 3)
    out["load_before_after"] = [load0[0], os.getloadavg()[0]]
    out = refit(out, cost.data_sizes(ds))
    print(json.dumps(summary(out), indent=1))
    path.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
