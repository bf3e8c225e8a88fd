"""What a killed writer, a second visitor or a broken cache must not break."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mlp_core import store as run_store
from mlp_core import store_disk as disk
from mlp_core.runs import get_or_train
from mlp_core.store import RunStore, run_key

ROOT = Path(__file__).resolve().parents[1]
FULL_DISK_NOTE = r"not cached: the disk is full \([\d,]+ bytes free\)"

WRITER = textwrap.dedent(
    """
    import sys, torch
    from mlp_core.config import RunConfig
    from mlp_core.store import RunStore
    from mlp_core.train import RunOutcome
    store = RunStore(sys.argv[1])
    state = {"C": torch.randn(4_000_000)}  # 16 MB: each write takes a while
    for seed in range(10_000):
        cfg = RunConfig().replace(seed=seed)
        curve = {"step": [], "train": [], "val": []}
        metrics = {"status": "ok", "seed": seed, "train_loss": 2.0, "val_loss": 2.0,
                   "steps": 1, "curve": curve}
        store.put(RunOutcome(cfg, "ok", metrics, state), "data")
        print(seed, flush=True)
    """
)


def test_sigkill_while_writing_leaves_no_corrupt_entry(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    proc.stdout.readline()  # at least one entry is complete
    time.sleep(0.3)  # now it is in the middle of another write
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    store = RunStore(tmp_path)
    found = [store.get(run_store.RunConfig().replace(seed=s), "data") for s in range(200)]
    complete = [o for o in found if o is not None]
    assert complete, "the first entry should have landed"
    for o in complete:
        assert o.metrics["status"] == "ok" and o.state["C"].numel() == 4_000_000
    assert all(o is None for o in found[len(complete) :])  # no half-written entry is read


def test_sigkill_mid_training_then_the_next_run_recomputes(tmp_path, small_ds):
    words = tmp_path / "w.txt"
    words.write_text("\n".join(small_ds.words))
    cache = tmp_path / "cache"
    args = [
        sys.executable,
        "-m",
        "mlp_core",
        "train",
        "--names",
        str(words),
        "--layers",
        "1",
        "--n-hidden",
        "8",
        "--cache-dir",
        str(cache),
        "--json",
    ]
    proc = subprocess.Popen(
        [*args, "--steps", "200000"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stderr.readline()  # the first progress line: training is under way
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = subprocess.run(
        [*args, "--steps", "100"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and '"cached": false' in done.stdout
    again = subprocess.run(
        [*args, "--steps", "100"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert '"cached": true' in again.stdout


def test_orphan_temp_folders_are_swept_at_open_and_count_in_the_bound(tmp_path, tiny_cfg):
    store = RunStore(tmp_path)
    dead, live = (store.path(run_key(tiny_cfg.replace(seed=s), "sha")) for s in (1, 2))
    folders = []
    for entry in (dead, live):
        entry.parent.mkdir(parents=True, exist_ok=True)
        folders.append(entry.parent / f"{disk.tmp_prefix(entry)}abc")
        folders[-1].mkdir()
        (folders[-1] / "model.pt").write_bytes(b"x" * 1000)
    assert store.size() == 2000  # half-written folders count in the bound
    held = disk.try_lock(live)  # a writer (another replica) is building this one now
    try:
        RunStore(tmp_path)  # a server's start
        assert not folders[0].exists() and folders[1].exists()
    finally:
        os.close(held)
    RunStore(tmp_path)
    assert not folders[1].exists()


def test_concurrent_trainings_take_turns_one_slice_at_a_time(
    small_ds, tiny_cfg, tmp_path, monkeypatch
):
    # three visitors at once: never two slices at the same time (one server process),
    # and their slices interleave (fair turns, not one whole job after another)
    from hosting import turns
    from hosting.schedule import SCHEDULER
    from mlp_core.stack import StackTrainer

    active, peak, order, places = [0], [0], [], []
    lock = threading.Lock()
    real = StackTrainer.segment

    def counting(self, a, b):
        if not order:  # the first slice waits until every visitor has asked
            deadline = time.monotonic() + 30
            while SCHEDULER.turns.active() < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            order.append(self.cfgs[0].train.seed)
            return real(self, a, b)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(StackTrainer, "segment", counting)
    monkeypatch.setattr(turns, "SLICE_S", 1e-4)  # slices of a step or so
    results = {}

    def visitor(i):
        cfg = tiny_cfg.replace(seed=100 + i, steps=200)
        results[i] = get_or_train(
            [cfg],
            small_ds,
            RunStore(tmp_path),
            scheduler=SCHEDULER,
            on_wait=places.append,
            visitor=f"v{i}",
        )

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 1
    assert all(results[i][0].status == "ok" for i in range(3))
    first_done = min(max(j for j, s in enumerate(order) if s == 100 + i) for i in range(3))
    assert len(set(order[:first_done])) == 3  # all three trained before any finished
    assert places and all(p.position >= 1 for p in places)


@pytest.mark.skipif(not hasattr(os, "statvfs"), reason="needs a POSIX file system")
def test_a_full_disk_still_returns_the_run(small_ds, tiny_cfg, tmp_path, monkeypatch):
    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_store.torch, "save", full)
    store = RunStore(tmp_path)
    (run,) = get_or_train([tiny_cfg], small_ds, store)
    assert run.status == "ok" and re.fullmatch(FULL_DISK_NOTE, store.error)
    assert str(tmp_path) not in store.error
    assert store.get(tiny_cfg, small_ds.sha256) is None
    assert not list(tmp_path.rglob(".tmp-*"))  # the half-written folder is cleaned up
