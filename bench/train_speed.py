"""Training speed: the seed notebook's loop against the engine, in ONE process.

    python bench/train_speed.py            # from the repository root; ~3 minutes
    python bench/train_speed.py --quick    # (w) on 5k steps, (d) on 20k x 10; ~1.5 minutes

Every contender runs in each repeat, one after another (interleaved), so a busy neighbour
slows both sides of a ratio alike; the table shows medians over the repeats. Rows:

(w) the whole run a user waits for: a train_stack call of the 6-layer net for 20k steps
    (splits built, live curve, diagnostics, full-split evaluations, parameter table)
    against the seed loop's 20k steps, the two one after the other in each of 3 repeats.
(a) the lecture's 6-layer tanh net (5 hidden Linear+tanh of 100, then the output Linear),
    batch 32: steps/s of the engine's training loop against the seed loop.
(b) the same with BatchNorm after every Linear.
(a'), (b') the same two with the diagnostics the app keeps for a 20k-step run (gradient
    norms and a capture every 400 steps); (a) and (b) keep none, like the seed loop.
(c) K=8 runs at once: the engine's model-steps/s (8 x steps/s, the stack split over
    2 processes, one thread and one core each) against the seed loop training one run at
    a time.
(d) the lecture's 2-layer BN net (Linear->BN->tanh of 200, then a plain output Linear; BN
    momentum 0.001) for the full 200k-step lecture schedule through train_stack:
    wall seconds with everything a user gets (live curve, diagnostics, full-split evals);
    the seed loop's figure is its measured step time x 200k.
(e) first-result latency: a fresh `python -m mlp_core zero-init --no-cache` with an empty
    run store, from process start to the answer (the default path compiles nothing).

The loops time training steps only (minibatch, forward, backward, update; the seed loop
also keeps its loss list as the notebook does). The machine's load is printed with the
results: on a shared 2-core box the second core is often busy, which caps (c).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from seed_loop import SeedLoop  # noqa: E402
from speed_report import FULL_STEPS, TARGETS, machine, print_table, ratio, table  # noqa: E402, F401

from mlp_core import data, train  # noqa: E402
from mlp_core import workers as pool  # noqa: E402
from mlp_core.config import RunConfig  # noqa: E402
from mlp_core.stack import StackTrainer  # noqa: E402

NAMES = ROOT.parent / "shared" / "data" / "names.txt"
REPEATS = 5
ROUNDS = 10  # slices per contender in each repeat
LECTURE = RunConfig().replace(n_layers=5, n_hidden=100, lr=0.1, lr_decay_step=150_000)
TWO_LAYER_BN = LECTURE.replace(  # the lecture's 2-layer BN net: BN on the hidden layer
    n_layers=1,  # only, momentum 0.001, lr / 10 from step 100k
    n_hidden=200,
    batchnorm=True,
    output_bn=False,
    bn_momentum=0.001,
    steps=FULL_STEPS,
    lr_decay_step=100_000,
)
WHOLE_REPEATS = 3


# ---------------------------------------------------------------- the engine's loop


class EngineLoop:
    """train_stack's loop without its live curve: K runs split over `workers` processes
    (this one and worker processes), one thread each. Without diagnostics by default, like
    the seed loop; ``diagnostics=True`` keeps what train_stack keeps for a 20k-step run
    (gradient norms and a capture every 400 steps, the first 100 steps' norms)."""

    def __init__(self, cfgs, ds: data.Dataset, sp, workers: int, diagnostics: bool = False):
        every = 400 if diagnostics else 1 << 40
        args = [
            (g, ds.vocab_size, sp, every, every * 10, diagnostics)
            for g in train.split(cfgs, workers)
        ]
        self.remotes = pool.acquire(len(args) - 1, StackTrainer, args[1:], 1)
        assert len(self.remotes) == len(args) - 1, "no worker process"
        self.parts = [pool.Local(StackTrainer(*args[0]))] + self.remotes
        for remote in self.remotes:
            remote.receive()
        self.i = 0

    def steps(self, n: int) -> None:
        train._call_all(self.parts, "run", self.i, self.i + n)
        self.i += n


def rate(loop, n: int) -> float:
    t0 = time.perf_counter()
    with torch.no_grad() if isinstance(loop, EngineLoop) else torch.enable_grad():
        loop.steps(n)
    return n / (time.perf_counter() - t0)


# ---------------------------------------------------------------- the measurements


def loops(ds, sp, quick: bool) -> dict:
    """name: (loop, steps per repeat, runs per step)."""
    bn = LECTURE.replace(batchnorm=True)
    eight = [LECTURE.replace(seed=s, steps=1 << 20) for s in range(8)]
    args = (sp.Xtr, sp.Ytr, ds.vocab_size)
    scale = 0.5 if quick else 1.0
    n = {"seed": int(600 * scale), "seed_bn": int(250 * scale), "engine": int(2000 * scale)}
    # stacked steps per repeat of the K=8 rows, 400 per slice: the two processes meet at
    # the end of every slice, as train_stack's do at every curve point (steps/40 apart:
    # 500 for 20k steps); each waits there for the slower, so short slices measure the
    # meetings and this VM's uneven cores more than the engine (25-step slices: -20%)
    n["stack"] = int(4000 * scale)
    return {
        "seed tanh": (SeedLoop(LECTURE, *args), n["seed"], 1),
        "seed BN": (SeedLoop(bn, *args), n["seed_bn"], 1),
        "seed 2-layer BN": (SeedLoop(TWO_LAYER_BN, *args), n["seed"], 1),
        "engine tanh": (EngineLoop([LECTURE.replace(steps=1 << 20)], ds, sp, 1), n["engine"], 1),
        "engine BN": (EngineLoop([bn.replace(steps=1 << 20)], ds, sp, 1), n["engine"] // 2, 1),
        "engine tanh, diagnostics": (
            EngineLoop([LECTURE.replace(steps=1 << 20)], ds, sp, 1, True),
            n["engine"],
            1,
        ),
        "engine BN, diagnostics": (
            EngineLoop([bn.replace(steps=1 << 20)], ds, sp, 1, True),
            n["engine"] // 2,
            1,
        ),
        "engine K=8, 2 workers": (EngineLoop(eight, ds, sp, 2), n["stack"], 8),
        "engine K=8, 1 worker": (EngineLoop(eight, ds, sp, 1), n["stack"], 8),
    }


def interleaved(contenders: dict) -> dict[str, list[float]]:
    """Model-steps/s of every contender in every repeat. A repeat cycles ROUNDS times
    through all contenders, a short slice each, so load that comes and goes hits all alike."""
    for loop, n, _ in contenders.values():
        rate(loop, max(20, n // 10))  # warm up: first-call allocations, caches
    out: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(REPEATS):
        seconds = dict.fromkeys(contenders, 0.0)
        for _ in range(ROUNDS):
            for name, (loop, n, _) in contenders.items():
                seconds[name] += n // ROUNDS / rate(loop, n // ROUNDS)
        for name, (_, n, runs) in contenders.items():
            out[name].append(n // ROUNDS * ROUNDS * runs / seconds[name])
    return out


def full_schedule(ds, quick: bool) -> dict:
    cfg = TWO_LAYER_BN.replace(steps=20_000, lr_decay_step=10_000) if quick else TWO_LAYER_BN
    t0 = time.perf_counter()
    (run,) = train.train_stack([cfg], ds)
    wall = time.perf_counter() - t0
    scale = TWO_LAYER_BN.train.steps / cfg.train.steps
    return {
        "steps": cfg.train.steps,
        "wall_s": wall * scale,
        "measured_wall_s": wall,
        "train_loss": run.metrics["train_loss"],
        "val_loss": run.metrics["val_loss"],
    }


def whole_run(ds, sp, quick: bool) -> dict:
    """(w) What a user waits for: a whole train_stack call of the lecture's 6-layer net (the
    splits built, as the CLI does on every call; steps, live curve, diagnostics, full-split
    evaluations, parameter table) against the seed loop's steps for as many steps, timed
    one after the other in each of WHOLE_REPEATS repeats; the ratio is the median of the
    per-repeat ratios."""
    steps = 5_000 if quick else 20_000
    cfg = LECTURE.replace(steps=steps)
    seed_s, whole_s = [], []
    for _ in range(WHOLE_REPEATS):
        seed = SeedLoop(cfg, sp.Xtr, sp.Ytr, ds.vocab_size)
        t0 = time.perf_counter()
        seed.steps(steps)
        seed_s.append(time.perf_counter() - t0)
        data.make_splits.cache_clear()  # the CLI's case: nothing built yet in this process
        t0 = time.perf_counter()
        (run,) = train.train_stack([cfg], ds)
        whole_s.append(time.perf_counter() - t0)
    return {
        "steps": steps,
        "seed_s": seed_s,
        "whole_s": whole_s,
        "ratio": statistics.median(a / b for a, b in zip(seed_s, whole_s)),
        "val_loss": run.metrics["val_loss"],
    }


def first_result() -> dict:
    """Seconds from a fresh process's start to the zero-init answer, cold run store; and
    `import torch` alone, for scale."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    times, imports = [], []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as store:
            env["PRACTICE_BOARD_CACHE"] = store
            cmd = [sys.executable, "-m", "mlp_core", "zero-init", "--no-cache", "--json"]
            t0 = time.perf_counter()
            out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            assert out.returncode == 0, out.stderr
            answer = json.loads(out.stdout)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], env=env, check=True)
        imports.append(time.perf_counter() - t0)
    return {
        "seconds": statistics.median(times),
        "all_seconds": times,
        "import_torch_s": statistics.median(imports),
        "val_loss": answer["val_loss"],
    }


def parallel_probe() -> float:
    """How many cores this process gets right now: throughput of two threads running
    GIL-free matmuls against one (2.0 = both cores free)."""
    a = torch.randn(8, 128, 128)

    def work(n):
        torch.set_num_threads(1)
        for _ in range(n):
            torch.bmm(a, a)

    def timed(k):
        t0 = time.perf_counter()
        ts = [threading.Thread(target=work, args=(300,)) for _ in range(k)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return k / (time.perf_counter() - t0)

    return statistics.median(timed(2) / timed(1) for _ in range(3))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="(d) on 20k steps, fewer steps per repeat")
    ap.add_argument("--json", default=str(ROOT / "bench" / "train_speed.json"), help="output")
    a = ap.parse_args()
    torch.set_num_threads(1)
    ds = data.from_path(NAMES) if NAMES.is_file() else data.default_dataset()
    sp = data.make_splits(ds, 3)
    before = machine()
    probe = parallel_probe()
    rates = interleaved(loops(ds, sp, a.quick))
    w = whole_run(ds, sp, a.quick)
    d = full_schedule(ds, a.quick)
    e = first_result()
    rows = table(rates, w, d, e)
    result = {
        "machine": before | {"load_average_after": os.getloadavg(), "parallel_probe": probe},
        "data": ds.source,
        "repeats": REPEATS,
        "rates": rates,
        "whole_run": w,
        "full_schedule": d,
        "first_result": e,
        "table": rows,
    }
    Path(a.json).write_text(json.dumps(result, indent=1))
    m = result["machine"]
    print(f"{m['cpu']}, {m['cores']} cores, torch {m['torch']}, data: {ds.source}")
    print(f"load average {m['load_average'][0]:.2f} -> {m['load_average_after'][0]:.2f}; ", end="")
    print(f"two threads got {probe:.2f}x one thread's throughput (2.0 = both cores free)")
    print_table(rows)
    print(f"(e) import torch alone: {e['import_torch_s']:.1f} s; (d) val loss {d['val_loss']:.4f}")
    print(f"written to {a.json}")


if __name__ == "__main__":
    main()
