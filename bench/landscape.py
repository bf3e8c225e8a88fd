"""The init landscape's speed: the whole grid through the product's path against the seed
notebook's loop doing the same runs, in ONE process, interleaved.

    python bench/landscape.py                  # tanh, 8 depths x 9 scales, 1,000 steps, 3 repeats
    python bench/landscape.py --steps 200 --repeats 1 --max-depth 3   # a quick look

Each repeat runs, depth by depth, each depth's stack of nine through each contender one
after another, so that a busy neighbour slows both sides of a ratio alike (the VM's load
moves within a minute); the whole grid's figures are the sums over the depths:

(grid)  landscape.sweep over an empty run store: every depth's cells as one stack through
        runs.get_or_train, the whole call: the steps, each cell's evaluation (what it
        shows: the whole dev split's loss and a curve of 10 points on 4,096 dev rows;
        TrainConfig.evaluation "dev"), the store's writes; each stack split over this
        process and a worker process (started in the first repeat, kept after). Also:
        when the first depth's cells were done (the first cells a page can draw), and the
        seconds inside the engine's evaluations (this process's half).
(seed)  bench/seed_loop.py's loop training the same runs, one after another: each cell's
        own init (model.init_run) and minibatch stream, autograd, ``p.data += -lr * grad``;
        then the notebook's ``split_loss`` of val (one batch, no grad: the dev loss the cell
        shows) and of train (the notebook's other evaluation, which a cell does not show).
        The steps, the dev loss and the whole evaluation are timed apart.
(steps) the engine's training loop alone on the same stacks, in this process (one core;
        stack.StackTrainer.run: no diagnostics, no curve, no evaluation, no store), as the seed
        loop's steps are timed: what the engine's steps give before the whole call's other
        work.
(products) the same stacks' matrix products alone, in this process (one core): per step and
        layer, the forward product and the two gradient products (weights and inputs, the
        first layer's too: the embedding trains), stacked nine at a time in the engine's
        feature-major layout, every operand contiguous, nothing else (no activation, loss,
        update, evaluation or Python beyond the calls). What any float32 engine on this
        core spends at the least; half of it is the least on two perfectly shared cores,
        and the seed loop's steps over that half bound the whole grid's ratio from above.
(init)  landscape.at_init of the whole grid (warm: the splits are built).

``--browser``: a real chromium against `streamlit run app.py` (an empty run store): per
attempt a new visitor (a seed of its own, so nothing is stored yet) opens the trained view
and presses Train; the seconds from the press until the first cells show their dev loss
in the heatmap, and from opening the page until the at-init heatmap is drawn.

Ratios are run-steps per second (cells x steps / wall seconds). The machine's load
(`uptime`) is printed before and after; the whole grid's result (the default steps and
depths) is also written to bench/landscape.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from seed_loop import BatchNorm1d, Linear, SeedLoop, Tanh  # noqa: E402

from mlp_core import data  # noqa: E402
from mlp_core import landscape as L  # noqa: E402
from mlp_core.fast.step import Step  # noqa: E402
from mlp_core.model import init_run  # noqa: E402
from mlp_core.stack import StackTrainer  # noqa: E402
from mlp_core.store import RunStore  # noqa: E402

ACT = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}


def seed_loop(cfg, sp, V: int) -> SeedLoop:
    """The seed loop holding this cell's init, drawing its minibatches from the cell's own
    stream (the engine's, rng "own"), with the cell's activation."""
    loop = SeedLoop(cfg, sp.Xtr, sp.Ytr, V)
    p = init_run(cfg.model, V, cfg.data.block_size, cfg.train.seed)
    linears = [layer for layer in loop.layers if isinstance(layer, Linear)]
    norms = [layer for layer in loop.layers if isinstance(layer, BatchNorm1d)]
    with torch.no_grad():
        loop.C.copy_(p["C"])
        for i, layer in enumerate(linears):
            layer.weight.copy_(p[f"W{i}"])
            if layer.bias is not None:
                layer.bias.copy_(p[f"b{i}"][0])
        bn_at = [i for i in range(len(linears)) if f"gamma{i}" in p]
        for i, bn in zip(bn_at, norms):
            bn.gamma.copy_(p[f"gamma{i}"][0])
            bn.beta.copy_(p[f"beta{i}"][0])
    loop.layers = [Act(cfg.model.activation) if isinstance(x, Tanh) else x for x in loop.layers]
    loop.g = torch.Generator().manual_seed(cfg.train.seed)
    return loop


class Act:
    """The seed loop's Tanh layer, for any of the three activations."""

    def __init__(self, name: str):
        self.f = ACT[name]

    def __call__(self, x):
        self.out = self.f(x)
        return self.out


@torch.no_grad()
def split_loss(loop: SeedLoop, X, Y) -> float:
    """The notebook's split_loss: the whole split in one batch, BatchNorm in eval mode."""
    for layer in loop.layers:
        layer.training = False
    x = loop.C[X].view(len(X), -1)
    for layer in loop.layers:
        x = layer(x)
    return F.cross_entropy(x, Y).item()


def run_seed(base, ds, depths) -> dict:
    sp = data.make_splits(ds, base.data.block_size)
    steps_s = dev_s = eval_s = 0.0
    losses = {}
    for depth in depths:
        for scale, cfg in zip(L.SCALES, L.depth_configs(base, depth)):
            loop = seed_loop(cfg, sp, ds.vocab_size)
            t0 = time.perf_counter()
            loop.steps(cfg.train.steps)
            t1 = time.perf_counter()
            losses[depth, scale] = split_loss(loop, sp.Xdev, sp.Ydev)
            t2 = time.perf_counter()
            split_loss(loop, sp.Xtr, sp.Ytr)
            dev_s += t2 - t1
            eval_s += time.perf_counter() - t1
            steps_s += t1 - t0
    return {
        "steps_s": steps_s,
        "dev_s": dev_s,
        "eval_s": eval_s,
        "whole_s": steps_s + eval_s,
        "val": losses,
    }


def run_grid(base, ds, depths, store: RunStore) -> dict:
    spent = {"eval": 0.0}
    evaluate = Step.evaluate

    def timed(self, *a, **k):
        t = time.perf_counter()
        try:
            return evaluate(self, *a, **k)
        finally:
            spent["eval"] += time.perf_counter() - t

    Step.evaluate = timed
    try:
        t0, first, cells = time.perf_counter(), None, []
        for row in L.sweep(base, ds, store, depths):
            first = first or time.perf_counter() - t0
            cells += row
        whole = time.perf_counter() - t0
    finally:
        Step.evaluate = evaluate
    val = {(c["depth"], c["scale"]): c["val_loss"] for c in cells}
    return {"whole_s": whole, "first_s": first, "eval_s": spent["eval"], "val": val}


def engine_steps(base, ds, depths) -> float:
    sp, spent = data.make_splits(ds, base.data.block_size), 0.0
    for depth in depths:
        stack = StackTrainer(
            L.depth_configs(base, depth), ds.vocab_size, sp, 1 << 40, 1 << 40, False
        )
        t0 = time.perf_counter()
        with torch.no_grad():
            stack.run(0, base.train.steps)
        spent += time.perf_counter() - t0
    return spent


def products_alone(base, ds, depths) -> float:
    """The seconds of the stacks' matrix products alone (docstring: (products))."""
    K, B, m = len(L.SCALES), base.train.batch_size, base.model
    g, spent = torch.Generator().manual_seed(0), 0.0
    for depth in depths:
        dims = [m.n_embd * base.data.block_size] + [m.n_hidden] * depth + [ds.vocab_size]
        W = [torch.randn(K, o, i, generator=g) / i**0.5 for i, o in zip(dims[:-1], dims[1:])]
        Wt = [w.transpose(1, 2).contiguous() for w in W]
        x = [torch.randn(K, d, B, generator=g) for d in dims]
        xt = [t.transpose(1, 2).contiguous() for t in x]
        grad = [torch.randn(K, d, B, generator=g) / 10 for d in dims]
        dW = [torch.empty_like(w) for w in W]
        t0 = time.perf_counter()
        for _ in range(base.train.steps):
            for i, w in enumerate(W):
                torch.bmm(w, x[i], out=x[i + 1])
            for i in reversed(range(len(W))):
                torch.bmm(grad[i + 1], xt[i], out=dW[i])
                torch.bmm(Wt[i], grad[i + 1], out=grad[i])
        spent += time.perf_counter() - t0
    return spent


def run_init(base, ds, depths) -> float:
    t0 = time.perf_counter()
    L.at_init(base, ds, depths)
    return time.perf_counter() - t0


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def browser_runs(attempts: int) -> list[dict]:
    """First cells on screen and the at-init view on screen, in a real browser."""
    sys.path.insert(0, str(ROOT / "tests"))
    from browser_helpers import CHROMIUM, CHROMIUM_ARGS, start_streamlit, wait_healthy
    from playwright.sync_api import sync_playwright

    first = "[data-testid='stVegaLiteChart'] path[aria-label*='cell: 1 hidden layers, 1×;']"
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_streamlit({"PRACTICE_BOARD_CACHE": tmp, "PRACTICE_BOARD_WARM": "0"})
        try:
            wait_healthy(url, proc)
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for i in range(attempts):
                    page = b.new_context(viewport={"width": 1400, "height": 900}).new_page()
                    t0 = time.perf_counter()
                    page.goto(f"{url}/landscape?seed={1000 + i}")
                    page.locator(first).first.wait_for(timeout=120_000)
                    drawn = time.perf_counter() - t0
                    page.get_by_text("After N steps", exact=False).first.click()
                    page.get_by_role("button", name=re.compile("Train the")).click()
                    t1 = time.perf_counter()
                    page.locator(first + "[aria-label*='dev loss: 2.']").first.wait_for(
                        timeout=300_000
                    )
                    out.append(
                        {"at_init_on_screen_s": drawn, "first_cells_s": time.perf_counter() - t1}
                    )
                    print(f"browser {i + 1}: " + json.dumps(out[-1]), flush=True)
                    page.context.close()
                b.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--activation", default="tanh", choices=tuple(ACT))
    ap.add_argument("--batchnorm", action="store_true")
    ap.add_argument("--steps", type=int, default=L.STEPS)
    ap.add_argument("--max-depth", type=int, default=L.DEPTHS[-1])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--browser", action="store_true", help="first cells on screen, 3 visitors")
    a = ap.parse_args()
    if a.browser:
        print(f"load before: {load()}")
        browser_runs(a.repeats)
        print(f"load after: {load()}")
        return
    torch.set_num_threads(1)
    ds = data.default_dataset()
    base = L.base_config(a.activation, a.batchnorm, a.steps)
    depths = L.DEPTHS[: a.max_depth]
    run_steps = len(depths) * len(L.SCALES) * a.steps
    before = load()
    print(f"load before: {before}")
    L.at_init(base, ds, depths)  # builds the splits; imports are warm from here on
    rows = []
    for r in range(a.repeats):
        init = [run_init(base, ds, depths) for _ in range(3)]
        grid = {"whole_s": 0.0, "eval_s": 0.0, "steps_s": 0.0, "products_s": 0.0, "val": {}}
        seed: dict = {}
        with tempfile.TemporaryDirectory() as tmp:
            for depth in depths:  # interleaved: each depth through every contender
                one = run_grid(base, ds, (depth,), RunStore(tmp))
                grid["first_s"] = grid.get("first_s", one["first_s"])
                for key in ("whole_s", "eval_s"):
                    grid[key] += one[key]
                grid["val"] |= one["val"]
                for key, value in run_seed(base, ds, (depth,)).items():
                    seed[key] = (
                        seed.get(key, {}) | value if key == "val" else seed.get(key, 0) + value
                    )
                grid["steps_s"] += engine_steps(base, ds, (depth,))
                grid["products_s"] += products_alone(base, ds, (depth,))
                ratio = seed["steps_s"] / grid["whole_s"]
                print(
                    f"  depth {depth}: whole grid so far {ratio:.2f}x the seed's steps", flush=True
                )
        row = summary(grid, seed, init, run_steps)
        rows.append(row)
        print(f"repeat {r + 1}: " + json.dumps(row), flush=True)
    print(f"load after: {load()}")
    out = {"config": vars(a), "run_steps": run_steps, "load_before": before, "repeats": rows}
    out["load_after"] = load()
    if a.steps == L.STEPS and depths == L.DEPTHS:  # the whole grid's record
        (ROOT / "bench" / "landscape.json").write_text(json.dumps(out, indent=1))
    for key in rows[0]:
        print(f"{key:>28}: " + " / ".join(f"{row[key]:.3g}" for row in rows))


def summary(grid: dict, seed: dict, init: list[float], run_steps: int) -> dict:
    diffs = {k: abs(v - seed["val"][k]) for k, v in grid["val"].items() if v is not None}
    worst = max(diffs, key=diffs.get)
    return {
        "grid_s": grid["whole_s"],
        "grid_first_cells_s": grid["first_s"],
        "grid_eval_s": grid["eval_s"],
        "seed_steps_s": seed["steps_s"],
        "seed_eval_s": seed["eval_s"],
        "seed_dev_loss_s": seed["dev_s"],
        "ratio_vs_seed_steps": seed["steps_s"] / grid["whole_s"],
        "ratio_vs_seed_with_dev_loss": (seed["steps_s"] + seed["dev_s"]) / grid["whole_s"],
        "ratio_vs_seed_with_eval": seed["whole_s"] / grid["whole_s"],
        "engine_steps_s": grid["steps_s"],
        "ratio_steps_alone": seed["steps_s"] / grid["steps_s"],
        "products_s": grid["products_s"],
        "ratio_products_one_core": seed["steps_s"] / grid["products_s"],
        "ratio_products_two_cores": seed["steps_s"] / (grid["products_s"] / 2),
        "grid_run_steps_per_s": run_steps / grid["whole_s"],
        "at_init_s": statistics.median(init),
        "max_val_diff_vs_seed": diffs[worst],
        "worst_cell_depth": worst[0],
        "worst_cell_scale": worst[1],
    }


if __name__ == "__main__":
    main()
