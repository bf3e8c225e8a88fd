"""The run store: a run is a pure function of (config, data hash, CACHE_VERSION).

Entries are folders of plain files named by that hash: config.json, metrics.json, model.pt
and, written last, manifest.json with each file's sha256. A folder is built under a temp
name and renamed into place, so readers see a whole entry or none; an entry whose manifest
or hashes do not check out is deleted and recomputed. An unwritable cache degrades to no
cache (``store.error`` says why) instead of failing the run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch

from .config import RunConfig
from .data import Dataset
from .train import ProgressFn, RunOutcome, stack_key, train_stack

CACHE_VERSION = "4"  # bump when training or metrics change meaning: old entries are ignored
CACHE_ENV = "PRACTICE_BOARD_CACHE"  # overrides the default cache folder
FILES = ("config.json", "metrics.json", "model.pt")
TRAIN_LOCK = threading.Lock()  # one training at a time per process (the hosted demo)
STALE_TMP_SECONDS = 3600  # a temp folder this old was left by a killed writer


def default_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "practice-board"


def run_key(cfg: RunConfig, data_sha256: str) -> str:
    blob = json.dumps(
        {"version": CACHE_VERSION, "config": cfg.to_dict(), "data": data_sha256}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class RunStore:
    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root else default_root()
        self.error: str | None = None  # set when the cache could not be written

    def path(self, key: str) -> Path:
        return self.root / f"v{CACHE_VERSION}" / key[:2] / key

    def get(self, cfg: RunConfig, data_sha256: str) -> RunOutcome | None:
        entry = self.path(run_key(cfg, data_sha256))
        try:
            if not entry.is_dir():
                return None
            return self._read(entry, cfg)
        except Exception:  # corrupt or partial: drop it, the caller recomputes
            shutil.rmtree(entry, ignore_errors=True)
            return None

    def _read(self, entry: Path, cfg: RunConfig) -> RunOutcome:
        manifest = json.loads((entry / "manifest.json").read_text())
        for name in FILES:
            if _sha(entry / name) != manifest[name]:
                raise ValueError(f"{entry / name}: hash mismatch")
        metrics = json.loads((entry / "metrics.json").read_text())
        state = torch.load(entry / "model.pt", weights_only=True)
        return RunOutcome(cfg, metrics["status"], metrics, state, cached=True)

    def put(self, outcome: RunOutcome, data_sha256: str) -> bool:
        """Store a finished run atomically; False (and self.error) if it could not be."""
        if outcome.status != "ok":
            return False  # diverged or stopped runs are never results
        entry = self.path(run_key(outcome.config, data_sha256))
        tmp = None
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            _sweep_stale(entry.parent)
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=entry.parent))
            self._write(tmp, outcome, data_sha256)
            os.rename(tmp, entry)  # fails if someone stored the same run first: theirs is as good
            return True
        except OSError as e:
            if entry.is_dir():
                return True
            self.error = f"results are not cached: cannot write {self.root} ({e.strerror or e})"
            return False
        finally:
            if tmp is not None and tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def _write(self, tmp: Path, outcome: RunOutcome, data_sha256: str) -> None:
        config = {"config": outcome.config.to_dict(), "data_sha256": data_sha256}
        (tmp / "config.json").write_text(json.dumps(config, indent=1))
        (tmp / "metrics.json").write_text(json.dumps(outcome.metrics))
        torch.save(outcome.state, tmp / "model.pt")
        manifest = {name: _sha(tmp / name) for name in FILES}
        (tmp / "manifest.json").write_text(json.dumps(manifest))
        for name in (*FILES, "manifest.json"):
            with open(tmp / name, "rb") as f:
                os.fsync(f.fileno())


def _sweep_stale(folder: Path) -> None:
    """Remove temp folders of writers that died (SIGKILL, power loss) long ago."""
    now = time.time()
    for tmp in folder.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > STALE_TMP_SECONDS:
                shutil.rmtree(tmp, ignore_errors=True)


def get_or_train(
    cfgs: list[RunConfig],
    ds: Dataset,
    store: RunStore | None = None,
    on_progress: ProgressFn | None = None,
    on_wait: Callable[[], None] | None = None,
) -> list[RunOutcome]:
    """Each config's run: from the store when there, else trained (stacked where shapes
    allow, one training at a time per process) and stored. Results in config order."""
    results = [store.get(c, ds.sha256) if store else None for c in cfgs]
    if all(results):
        return results
    if not TRAIN_LOCK.acquire(blocking=False):
        if on_wait:
            on_wait()
        TRAIN_LOCK.acquire()
    try:
        return _train_missing(cfgs, ds, store, on_progress, results)
    finally:
        TRAIN_LOCK.release()


def run_experiment(
    cfgs: list[RunConfig],
    report: Callable,
    ds: Dataset,
    store: RunStore | None = None,
    on_progress: ProgressFn | None = None,
):
    """The shape both questions share (zero_init.py, bn_fold.py): their configs' runs, from
    the store or trained, handed to their report function: report(*outcomes, ds)."""
    return report(*get_or_train(cfgs, ds, store, on_progress), ds)


def _train_missing(cfgs, ds, store, on_progress, results):
    if store:  # another caller may have trained them while we waited for the lock
        results = [r or store.get(c, ds.sha256) for r, c in zip(results, cfgs)]
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(cfgs):
        if results[i] is None:
            groups.setdefault(stack_key(c), []).append(i)
    for idx in groups.values():
        for i, outcome in zip(idx, train_stack([cfgs[i] for i in idx], ds, on_progress)):
            results[i] = outcome
            if store:
                store.put(outcome, ds.sha256)
    return results
