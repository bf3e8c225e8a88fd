"""The cost of a form: CPU seconds of stacks of many shapes (one process, one thread,
diagnostics on as the app trains, the built-in names), each trained for S and 3S steps,
and random forms within the demo's caps (a seeded draw), fitted at once to
hosting/cost.py's model (non-negative least squares of the relative
error: every step's and every measuring's constant together), printed with each shape's
estimate over its measured cost and the machine's load, and written to
bench/step_cost.json. Then forms the fit never saw: random forms of another draw, each
trained as the app trains it (its stacks, the default processes),
the estimate of its CPU seconds and of its wall seconds over what they measured.

    python bench/step_cost.py [--forms 24] [--fit-forms 16] [--repeats 2]
    python bench/step_cost.py --refit        # the json's measures, the model's features now
    python bench/step_cost.py --caps-only    # the caps' forms again, into the json
    python bench/step_cost.py --notebook-only   # the notebook's shapes again, into the json
"""

from __future__ import annotations

import argparse
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
NOTEBOOK = [(1, 2, 50, 32), (2, 5, 100, 128), (1, 6, 200, 512), (1, 5, 100, 32), (1, 1, 200, 32)]
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
    runs, layers, hidden, batch = shape
    base = RunConfig(
        model=ModelConfig(n_layers=layers, n_hidden=hidden),
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


def features(cfgs: list[RunConfig], vocab: int) -> list[float]:
    """A stack's features, steps x STEP_TERMS' then ONCE_TERMS'."""
    steps = cfgs[0].train.steps
    f_step = [steps * f for f in cost.step_features(cfgs, vocab)]
    return f_step + list(cost.once_features(cfgs, vocab))


def warm(cfgs: list[RunConfig], ds) -> None:
    """Train the shape for 2 steps: its kernels and buffers are warm, as on a server that
    has trained before."""
    cpu([replace(c, train=replace(c.train, steps=2)) for c in cfgs], ds)


def measure(ds, repeats: int, forms: int) -> list[tuple]:
    """Rows (features, CPU seconds: the least of the repeats, label, spec) for each shape at S
    and 3S steps, and for random forms of another draw than the ones checked after."""
    stacks = [configs(shape, n) for shape in SHAPES for n in (shape[-1], 3 * shape[-1])]
    stacks += random_forms(forms, seed=1)
    rows = []
    for cfgs in stacks:
        warm(cfgs, ds)
        s = min(cpu(cfgs, ds)[0] for _ in range(repeats))
        rows.append((features(cfgs, ds.vocab_size), s, form_label(cfgs), spec(cfgs)))
        print(f"{rows[-1][2]}: {s:.3f} s", flush=True)
    return rows


def notebook_features(cfgs: list[RunConfig], vocab: int) -> list[float]:
    """Runs in the notebook's arithmetic: steps x NOTEBOOK_STEP_TERMS' features, then
    NOTEBOOK_EVAL_TERMS', summed over the runs (one after another)."""
    out = np.zeros(5)
    for c in cfgs:
        m, per_row = c.model, cost.run_macs(c, vocab) / c.train.batch_size
        step = (m.n_layers, c.train.batch_size * m.n_hidden * m.n_layers, cost.run_macs(c, vocab))
        once = (cost.EVAL_ROWS * m.n_hidden * m.n_layers, cost.EVAL_ROWS * per_row)
        out += [c.train.steps * f for f in step] + list(once)
    return [float(f) for f in out]


def measure_notebook(ds, repeats: int) -> list[dict]:
    """Rows (label, spec, CPU seconds: the least of the repeats) of the notebook's shapes
    at 100 and 300 steps."""
    rows = []
    for shape in NOTEBOOK:
        warm(notebook_configs(shape, 2), ds)
        for steps in (100, 300):
            cfgs = notebook_configs(shape, steps)
            s = min(cpu(cfgs, ds)[0] for _ in range(repeats))
            rows.append({"shape": form_label(cfgs), "spec": spec(cfgs), "measured_s": round(s, 3)})
            print(f"notebook {rows[-1]['shape']}: {s:.3f} s", flush=True)
    return rows


def random_forms(n: int, seed: int = 0) -> list[list[RunConfig]]:
    """n forms within the demo's caps, as the compare form takes them (one shape, K runs,
    seeds apart), their steps drawn so that each costs 0.3-8 s by the estimate."""
    rnd, out = random.Random(seed), []
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
        runs, steps = rnd.randint(1, CAPS["runs"]), rnd.choice([50, 100, 300, 1000, 3000, 5000])
        base = RunConfig(model=model, train=TrainConfig(steps=steps, batch_size=batch))
        cfgs = [replace(base, train=replace(base.train, seed=s)) for s in range(runs)]
        if 0.3 <= cost.cpu_seconds(cfgs) <= 8:
            out.append(cfgs)
    return out


def form_label(cfgs: list[RunConfig]) -> str:
    m, t = cfgs[0].model, cfgs[0].train
    return (
        f"{len(cfgs)} x {m.n_layers} x {m.n_hidden} ({m.activation}{', BN' if m.batchnorm else ''}"
        f", n_embd {m.n_embd}), batch {t.batch_size}, {t.steps} steps"
        + (", dev only" if t.evaluation == "dev" else "")
    )


def held_out(ds, n: int) -> list[dict]:
    """Random forms: estimate over measured, CPU (one process) and wall (the default
    processes, as the app trains them)."""
    warm_workers()
    out = []
    for cfgs in random_forms(n):
        warm(cfgs, ds)
        one, _ = cpu(cfgs, ds, workers=1)
        _, wall = cpu(cfgs, ds, workers=None)
        row = {
            "form": form_label(cfgs),
            "spec": spec(cfgs),
            "cpu_s": round(one, 3),
            "cpu_estimate_over_measured": round(cost.cpu_seconds(cfgs, ds.vocab_size) / one, 2),
            "wall_s": round(wall, 3),
            "wall_estimate_over_measured": round(
                cost.wall_seconds(cfgs, 0, ds.vocab_size) / wall, 2
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
        estimate = cost.cpu_seconds(cfgs, ds.vocab_size)
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


def refit(out: dict, vocab: int) -> dict:
    """Fit the engine's constants to the measured stacks (their specs built again, so a
    change of hosting/cost.py's features needs no new measure), and price every form the
    json holds with them."""
    rows = [(features(from_spec(r["spec"]), vocab), r["measured_s"]) for r in out["fitted_shapes"]]
    k = fit(rows)
    out["ENGINE"] = dict(zip(cost.STEP_TERMS + cost.ONCE_TERMS, k))
    cost.ENGINE.update(out["ENGINE"])
    for r, (f, s) in zip(out["fitted_shapes"], rows):
        r["estimate_over_measured"] = round(float(np.dot(f, k)) / s, 2)
    out["fitted_spread"] = spread([r["estimate_over_measured"] for r in out["fitted_shapes"]])
    nb = [
        (notebook_features(from_spec(r["spec"]), vocab), r["measured_s"])
        for r in out["notebook_shapes"]
    ]
    k_nb = fit(nb)
    out["NOTEBOOK"] = dict(zip(cost.NOTEBOOK_STEP_TERMS + cost.NOTEBOOK_EVAL_TERMS, k_nb))
    cost.NOTEBOOK.update(out["NOTEBOOK"])
    for r, (f, s) in zip(out["notebook_shapes"], nb):
        r["estimate_over_measured"] = round(float(np.dot(f, k_nb)) / s, 2)
    for r in out.get("held_out_forms", []):
        cfgs = from_spec(r["spec"])
        r["cpu_estimate_over_measured"] = round(cost.cpu_seconds(cfgs, vocab) / r["cpu_s"], 2)
        r["wall_estimate_over_measured"] = round(cost.wall_seconds(cfgs, 0, vocab) / r["wall_s"], 2)
    if out.get("held_out_forms"):
        forms = out["held_out_forms"]
        out["held_out_cpu_spread"] = spread([r["cpu_estimate_over_measured"] for r in forms])
        out["held_out_wall_spread"] = spread([r["wall_estimate_over_measured"] for r in forms])
    for r in out.get("caps", []):
        r["estimate_s"] = round(cost.cpu_seconds(from_spec(r["spec"]), vocab), 2)
        r["measured_over_estimate"] = round(r["measured_s"] / r["estimate_s"], 2)
    return out


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
        "--notebook-only",
        action="store_true",
        help="only the notebook's shapes, measured again and fitted (into the json)",
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
    if a.caps_only:
        out = json.loads(path.read_text())
        out["caps"] = caps_forms(ds, 3)
        out["caps_load_before_after"] = [load0[0], os.getloadavg()[0]]
        path.write_text(json.dumps(out, indent=1))
        return
    if a.refit:
        out = refit(json.loads(path.read_text()), ds.vocab_size)
        print(json.dumps({k: v for k, v in out.items() if "spread" in k or k.isupper()}, indent=1))
        path.write_text(json.dumps(out, indent=1))
        return
    if a.notebook_only:
        out = json.loads(path.read_text())
        out["notebook_shapes"] = measure_notebook(ds, a.repeats)
        out["notebook_load_before_after"] = [load0[0], os.getloadavg()[0]]
        out = refit(out, ds.vocab_size)
        print(json.dumps({k: v for k, v in out.items() if "spread" in k or k.isupper()}, indent=1))
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
    out = refit(out, ds.vocab_size)  # the forms are priced with the constants just fitted
    out["held_out_forms"] = held_out(ds, a.forms)
    out["caps"] = caps_forms(ds, 3)
    out["load_before_after"] = [load0[0], os.getloadavg()[0]]
    out = refit(out, ds.vocab_size)
    print(json.dumps({k: v for k, v in out.items() if "spread" in k or k.isupper()}, indent=1))
    path.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
