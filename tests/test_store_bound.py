"""The run store on a long-lived hosted server: a size bound with least-recently-used
eviction, and every write failure survived (the result is returned with a note)."""

import os

import pytest
import torch

from mlp_core import store as run_store
from mlp_core.runs import get_or_train
from mlp_core.store import RunStore, run_key
from mlp_core.train import RunOutcome


def fake(cfg, size: int = 100_000) -> RunOutcome:
    """An ok outcome whose weights take ~size bytes on disk."""
    metrics = {"status": "ok", "train_loss": 2.0, "val_loss": 2.1, "steps": cfg.train.steps}
    metrics["curve"] = {"step": [0], "train": [2.0], "val": [2.1]}
    return RunOutcome(cfg, "ok", metrics, {"w": torch.zeros(size // 4)})


def test_the_store_stays_within_its_bound_and_evicts_the_least_recently_used(tmp_path, tiny_cfg):
    store = RunStore(tmp_path, max_mb=1)
    cfgs = [tiny_cfg.replace(seed=s) for s in range(20)]
    entry_bytes = None
    for i, c in enumerate(cfgs):
        assert store.put(fake(c), "sha")
        entry_bytes = entry_bytes or store.size()
        if i >= 2:
            os.utime(store.path(run_key(cfgs[0], "sha")), (1, 1))  # force an old mtime...
            assert store.get(cfgs[0], "sha") is not None  # ...then a read makes it recent
        assert store.size() <= store.max_bytes + entry_bytes
    assert store.get(cfgs[-1], "sha") is not None  # the most recently used is served
    assert store.get(cfgs[0], "sha") is not None  # read all along: never evicted
    assert store.get(cfgs[1], "sha") is None  # the oldest unread went first
    kept = sum(store.get(c, "sha") is not None for c in cfgs)
    assert 2 <= kept <= 11


def test_eviction_leaves_foreign_files_alone(tmp_path, tiny_cfg):
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "notes.txt").write_text("mine")
    store = RunStore(tmp_path, max_mb=0)
    for s in range(3):
        store.put(fake(tiny_cfg.replace(seed=s)), "sha")
    assert (tmp_path / "v1" / "notes.txt").read_text() == "mine"
    assert store.get(tiny_cfg.replace(seed=2), "sha") is not None  # the one just written


def test_the_bound_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PRACTICE_BOARD_CACHE_MAX_MB", "3")
    assert RunStore(tmp_path).max_bytes == 3_000_000
    monkeypatch.setenv("PRACTICE_BOARD_CACHE_MAX_MB", "junk")
    assert RunStore(tmp_path).max_bytes == run_store.DEFAULT_MAX_MB * 1_000_000


def full_disk(*a, **k):
    # what torch.save raises when the disk fills (measured on a 120 KB tmpfs)
    raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")


@pytest.mark.parametrize("failure", ["full_disk", "root_is_a_file", "rename_refused"])
def test_a_failed_write_returns_the_result_with_a_note(
    small_ds, tiny_cfg, tmp_path, monkeypatch, failure
):
    root = tmp_path / "cache"
    if failure == "full_disk":
        monkeypatch.setattr(run_store.torch, "save", full_disk)
    elif failure == "root_is_a_file":
        root.write_text("not a folder")
    else:  # a read-only file system refuses the rename (root may write anywhere else)

        def read_only(*a):
            raise OSError(30, "Read-only file system")

        monkeypatch.setattr(run_store.os, "rename", read_only)
    store = RunStore(root)
    (run,) = get_or_train([tiny_cfg], small_ds, store)
    assert run.status == "ok" and run.metrics["val_loss"] > 0
    assert run.cache_note and run.cache_note.startswith("not cached")
    assert "\n" not in run.cache_note
    if root.is_dir():
        assert not list(root.rglob(".tmp-*"))  # nothing half-written stays


def test_a_file_in_an_entrys_place_heals(small_ds, tiny_cfg, tmp_path):
    store = RunStore(tmp_path)
    entry = store.path(run_key(tiny_cfg, small_ds.sha256))
    entry.parent.mkdir(parents=True)
    entry.write_text("junk")
    (first,) = get_or_train([tiny_cfg], small_ds, store)
    assert first.cache_note is None
    (again,) = get_or_train([tiny_cfg], small_ds, store)
    assert again.cached  # stored this time, not retrained forever


def test_a_non_finite_result_is_never_stored(tmp_path, tiny_cfg):
    store = RunStore(tmp_path)
    bad = fake(tiny_cfg)
    bad.metrics["val_loss"] = float("nan")
    assert not store.put(bad, "sha")
    assert store.get(tiny_cfg, "sha") is None
