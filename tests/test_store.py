import json

import pytest

from mlp_core import runs
from mlp_core import store as run_store
from mlp_core.runs import get_or_train
from mlp_core.store import RunStore, run_key


def test_default_root_follows_the_env_var(store_dir):
    assert RunStore().root == store_dir


def test_second_identical_request_is_read_from_the_store(
    small_ds, tiny_cfg, store_dir, monkeypatch
):
    store = RunStore()
    (first,) = get_or_train([tiny_cfg], small_ds, store)
    assert not first.cached

    def no_training(*a, **k):
        raise AssertionError("trained again")

    monkeypatch.setattr(runs, "train_stack", no_training)
    (again,) = get_or_train([tiny_cfg], small_ds, store)
    assert again.cached and again.metrics == json.loads(json.dumps(first.metrics))
    assert set(again.state) == set(first.state)


def test_the_key_depends_on_config_data_and_version(tiny_cfg, monkeypatch):
    k = run_key(tiny_cfg, "abc")
    assert k != run_key(tiny_cfg.replace(seed=1), "abc") and k != run_key(tiny_cfg, "abd")
    monkeypatch.setattr(run_store, "CACHE_VERSION", "999")
    assert run_key(tiny_cfg, "abc") != k


@pytest.mark.parametrize("damage", ["truncate_model", "garble_metrics", "drop_manifest"])
def test_a_corrupt_entry_is_recomputed(small_ds, tiny_cfg, store_dir, damage):
    store = RunStore()
    get_or_train([tiny_cfg], small_ds, store)
    entry = store.path(run_key(tiny_cfg, small_ds.sha256))
    if damage == "truncate_model":
        (entry / "model.pt").write_bytes((entry / "model.pt").read_bytes()[:100])
    elif damage == "garble_metrics":
        (entry / "metrics.json").write_text("{not json")
    else:
        (entry / "manifest.json").unlink()
    assert store.get(tiny_cfg, small_ds.sha256) is None
    (run,) = get_or_train([tiny_cfg], small_ds, store)
    assert not run.cached and store.get(tiny_cfg, small_ds.sha256) is not None


def test_diverged_runs_are_not_stored(small_ds, tiny_cfg, store_dir):
    store = RunStore()
    (bad,) = get_or_train([tiny_cfg.replace(lr=1e6)], small_ds, store)
    assert bad.status == "diverged"
    assert store.get(tiny_cfg.replace(lr=1e6), small_ds.sha256) is None


def test_unwritable_cache_still_trains(small_ds, tiny_cfg, tmp_path, monkeypatch):
    """A store folder the process may not write (as root, chmod does not stop a write:
    the OS's refusal is what the store sees, so it is raised where the store makes its
    folders)."""
    import mlp_core.store as run_store

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(run_store.tempfile, "mkdtemp", refuse)
    store = RunStore(tmp_path / "cache")
    (run,) = get_or_train([tiny_cfg], small_ds, store)
    assert run.status == "ok" and "not cached" in store.error
    assert "Permission denied" in store.error


def test_a_cache_path_that_is_a_file_still_trains(small_ds, tiny_cfg, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = RunStore(blocker)
    (run,) = get_or_train([tiny_cfg], small_ds, store)
    assert run.status == "ok" and "not cached" in store.error
