"""Replicas sharing one store folder: separate Python processes on one machine, as two
app servers on one shared volume. A run trained through one is served by the other, no
two train the same run at once, and one killed mid-run (kill -9) loses nothing."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from mlp_core import store_disk as disk
from mlp_core.config import RunConfig
from mlp_core.runs import get_or_train
from mlp_core.store import RunStore, run_key

ROOT = Path(__file__).resolve().parents[1]
WORDS = [f"{a}{b}{c}" for a in "abcdefgh" for b in "aeiou" for c in ("n", "ra", "lie")]

REPLICA = textwrap.dedent(
    """
    import json, sys
    from mlp_core import data
    from mlp_core.config import RunConfig
    from mlp_core.store import RunStore
    from mlp_core.runs import get_or_train
    root, steps, words = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
    ds = data.dataset_from_words(words, "test")
    cfg = RunConfig().replace(n_layers=1, n_hidden=8, steps=steps)
    print("started", flush=True)
    (run,) = get_or_train([cfg], ds, RunStore(root))
    print(json.dumps({"cached": run.cached, "steps": run.metrics["steps"]}), flush=True)
    """
)


def _replica(root: Path, steps: int) -> subprocess.Popen:
    args = [sys.executable, "-c", REPLICA, str(root), str(steps), ",".join(WORDS)]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)


def _result(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0
    return json.loads(out.splitlines()[-1])


def _entry(root: Path, steps: int) -> Path:
    from mlp_core import data

    ds = data.dataset_from_words(WORDS, "test")
    cfg = RunConfig().replace(n_layers=1, n_hidden=8, steps=steps)
    return RunStore(root).path(run_key(cfg, ds.sha256))


def test_two_replicas_train_one_run_once_and_the_other_serves_it(tmp_path):
    procs = [_replica(tmp_path, 3000) for _ in range(2)]
    results = [_result(p) for p in procs]
    assert sorted(r["cached"] for r in results) == [False, True]  # one trained, one read
    assert all(r["steps"] == 3000 for r in results)
    assert _result(_replica(tmp_path, 3000))["cached"]  # a third replica: from the store


def test_a_replica_killed_mid_run_loses_nothing(tmp_path, small_ds, tiny_cfg):
    store = RunStore(tmp_path)
    get_or_train([tiny_cfg], small_ds, store)  # a result stored before
    long = _replica(tmp_path, 1_000_000)  # the most steps a config takes
    entry = _entry(tmp_path, 1_000_000)
    long.stdout.readline()  # started
    while (fd := disk.try_lock(entry)) is not None:  # until it trains under the key's lock
        os.close(fd)
        assert long.poll() is None, "the replica ended before it took the key's lock"
        time.sleep(0.05)
    long.send_signal(signal.SIGKILL)
    long.wait()
    fd = disk.try_lock(entry)  # the kernel dropped the dead replica's lock
    assert fd is not None
    os.close(fd)
    (again,) = get_or_train([tiny_cfg], small_ds, RunStore(tmp_path))
    assert again.cached  # what was stored is still served
    assert not disk.temp_folders(tmp_path)
