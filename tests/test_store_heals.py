"""The run store heals itself: an entry that loads but is not a whole result, a link in an
entry's place, a file that is not strict JSON; and the full-disk note says so in words,
on Compare above the (closed) form."""

import json
import math
import re

import pytest
import torch
from app_helpers import open_app

from mlp_core import store as run_store
from mlp_core.runs import get_or_train
from mlp_core.store import RunStore, _sha, run_key

FULL = r"not cached: the disk is full \([\d,]+ bytes free\)"


def _rewrite(entry, name: str, text: str | None) -> None:
    """Replace one file of an entry (None: as it is now) and update its manifest: the
    hashes still match."""
    if text is not None:
        (entry / name).write_text(text)
    manifest = json.loads((entry / "manifest.json").read_text())
    manifest[name] = _sha(entry / name)
    (entry / "manifest.json").write_text(json.dumps(manifest))


def test_an_entry_whose_hashes_match_but_holds_no_result_is_retrained(small_ds, tiny_cfg, tmp_path):
    store = RunStore(tmp_path)
    get_or_train([tiny_cfg], small_ds, store)
    entry = store.path(run_key(tiny_cfg, small_ds.sha256))
    _rewrite(entry, "metrics.json", json.dumps({"status": "ok"}))
    (again,) = get_or_train([tiny_cfg], small_ds, store)
    assert not again.cached and again.metrics["steps"] == tiny_cfg.train.steps
    (third,) = get_or_train([tiny_cfg], small_ds, store)
    assert third.cached and third.metrics["steps"] == tiny_cfg.train.steps


def test_weights_that_are_not_tensors_are_retrained(small_ds, tiny_cfg, tmp_path):
    store = RunStore(tmp_path)
    get_or_train([tiny_cfg], small_ds, store)
    entry = store.path(run_key(tiny_cfg, small_ds.sha256))
    torch.save({"C": [1, 2]}, entry / "model.pt")
    _rewrite(entry, "model.pt", None)
    (again,) = get_or_train([tiny_cfg], small_ds, store)
    assert not again.cached and isinstance(again.state["C"], torch.Tensor)


def test_a_symlinked_entry_is_removed_and_the_run_stored_as_a_folder(small_ds, tiny_cfg, tmp_path):
    store = RunStore(tmp_path / "store")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not the store's")
    entry = store.path(run_key(tiny_cfg, small_ds.sha256))
    entry.parent.mkdir(parents=True)
    entry.symlink_to(elsewhere)
    (first,) = get_or_train([tiny_cfg], small_ds, store)
    assert not first.cached and first.cache_note is None
    assert entry.is_dir() and not entry.is_symlink()
    assert (elsewhere / "keep.txt").exists()  # the link went, not what it pointed at
    (again,) = get_or_train([tiny_cfg], small_ds, store)
    assert again.cached


def _strict(text: str):
    def refuse(token):
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def test_every_stored_file_is_strict_json(small_ds, tiny_cfg, tmp_path):
    store = RunStore(tmp_path)
    get_or_train([tiny_cfg], small_ds, store)
    for path in tmp_path.rglob("*.json"):
        _strict(path.read_text())


def test_a_result_with_a_non_finite_number_inside_is_not_stored(small_ds, tiny_cfg, tmp_path):
    store = RunStore(tmp_path)
    (run,) = get_or_train([tiny_cfg], small_ds, None)
    run.metrics["seconds"] = math.inf
    assert not store.put(run, small_ds.sha256)
    assert run.cache_note.startswith("not cached")
    assert not list(tmp_path.rglob("*.json")) and not list(tmp_path.rglob(".tmp-*"))


def _full(*a, **k):
    raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")


def test_the_full_disk_note_is_in_words_without_the_folder(
    small_ds, tiny_cfg, tmp_path, monkeypatch
):
    monkeypatch.setattr(run_store.torch, "save", _full)
    store = RunStore(tmp_path)
    (run,) = get_or_train([tiny_cfg], small_ds, store)
    assert re.fullmatch(FULL, run.cache_note) and str(tmp_path) not in run.cache_note


@pytest.mark.usefixtures("fresh_app")
def test_on_compare_the_full_disk_note_is_above_the_closed_form(small_ds, monkeypatch):
    monkeypatch.setattr(run_store.torch, "save", _full)
    at = open_app("pages/compare.py", session={"dataset": small_ds})
    for key, value in {"cmp_n_layers": 1, "cmp_n_hidden": 8, "cmp_steps": 60}.items():
        at.number_input(key=key).set_value(value)
    at.button(key="cmp_train").click().run()
    assert not at.exception
    notes = [w.value for w in at.main.warning]  # drawn in the page, not in an expander
    assert any(re.search(FULL, n) for n in notes), notes
    assert not any("disk is full" in w.value for e in at.expander for w in e.warning)
