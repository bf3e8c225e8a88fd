"""Lecture runs on Compare runs (ui/presets.py): the lecture's nets as configs, its printed
numbers next to ours, one click each, and the demo caps."""

import dataclasses

import pytest
from app_helpers import open_app

import ui
from mlp_core.train import RunOutcome
from ui import presets
from ui.text import shown_frame

pytestmark = pytest.mark.usefixtures("fresh_app")


def test_the_presets_are_the_lectures_nets():
    cfgs = {p.title.split(" (")[0]: presets.config(p, 42) for p in presets.PRESETS}
    two, two_bn = cfgs["2-layer net"], cfgs["2-layer net + BatchNorm"]
    for c in (two, two_bn):
        assert (c.model.n_layers, c.model.n_hidden, c.model.n_embd) == (1, 200, 10)
        assert (c.train.steps, c.train.lr, c.train.lr_decay_step) == (200_000, 0.1, 100_000)
        assert c.train.batch_size == 32 and c.model.init == "kaiming"
    assert not two.model.batchnorm
    assert two_bn.model.batchnorm and not two_bn.model.output_bn
    assert two_bn.model.bn_momentum == 0.001
    deep = [presets.config(p, 42) for p in presets.PRESETS[2:5]]
    assert all((c.model.n_layers, c.model.n_hidden) == (5, 100) for c in deep)
    assert all(c.train.lr_decay_step == 150_000 for c in deep)
    assert [c.model.batchnorm for c in deep] == [False, True, True]
    assert all(c.model.output_bn and c.model.bn_momentum == 0.1 for c in deep)
    assert [c.train.steps for c in deep] == [200_000, 200_000, 1_001]
    first_five = [presets.config(p, 42) for p in presets.PRESETS[:5]]
    assert all(c.train.rng == "own" and c.train.seed == 42 for c in first_five)


def test_the_lectures_own_stream_preset_is_the_bn_net_on_its_seed_and_generator():
    own_stream = presets.config(presets.PRESETS[5], 42)
    bn_net = presets.config(presets.PRESETS[1], 42)
    assert own_stream.train.seed == 2147483647 and own_stream.train.rng == "lecture"
    assert own_stream.replace(seed=42, rng="own") == bn_net
    assert presets.PRESETS[5].lecture == (2.0674, 2.1057)


def test_the_table_puts_ours_next_to_the_lectures_and_says_where_from():
    ps = presets.PRESETS[:3]
    cfg = presets.config(ps[1], 42)
    metrics = {"train_loss": 2.07, "val_loss": 2.1061, "seconds": 71.4}
    done = RunOutcome(cfg, "ok", metrics, {})
    df = presets.table(ps, [None, done, None])
    row = df.loc[ps[1].title]
    assert (row["lecture train"], row["lecture val"]) == ("2.0668", "2.1048")
    assert (row["our train"], row["our val"], row["our seconds"]) == ("2.0700", "2.1061", "71")
    assert row["val − lecture"] == "+0.0013"
    assert "add batch norm layer" in row["lecture numbers from"]
    assert df.loc[ps[0].title, "our val"] == "" and df.loc[ps[0].title, "lecture val"] == "2.1070"
    assert df.loc[ps[2].title, "lecture val"] == "" and "not printed" in ps[2].source


def _buttons(at):
    return [b for b in at.button if b.key and b.key.startswith("preset-")]


def test_compare_lists_the_lecture_runs_with_a_button_each(small_ds):
    at = open_app("pages/compare.py", session={"dataset": small_ds})
    assert not at.exception
    assert any(s.value == "Lecture runs" for s in at.subheader)
    (tab,) = at.table
    assert len(tab.value) == len(presets.PRESETS)
    assert len(_buttons(at)) == len(presets.PRESETS)
    assert not any(b.disabled for b in _buttons(at))
    assert any("not the lecture's names.txt" in c.value for c in at.caption)
    (note,) = [c.value for c in at.caption if "names.txt (32,033 names)" in c.value]
    assert "your own word list" in note  # an upload is in use here
    assert "upload names.txt with the sidebar's “Upload a word list” (under Data set)" in note
    assert "Dataset page" not in note  # the uploader is in the sidebar, on every page
    # before a press, beside each button: how long it takes here (the form's estimate)
    captions = [c.value for c in at.caption]
    first = next(i for i, c in enumerate(captions) if "names.txt (32,033 names)" in c)
    times = [c for c in captions[first:] if c.startswith("Training: about ")]
    assert len(times) == len(presets.PRESETS)
    assert all(t.endswith(" on this server now.") for t in times)
    long, short = times[0], times[4]  # 200,000 steps of 1×200; 1,001 steps of 5×100
    assert long != short


def test_a_presets_estimate_is_the_cost_of_its_run():
    from hosting import cost

    cfg = presets.config(presets.PRESETS[0], 42)
    seconds = cost.wall_seconds([cfg], 0)
    assert seconds > 10  # 200,000 steps: worth saying before the click
    assert presets.button_note(cfg, stored=False).startswith("Training: about ")
    assert presets.button_note(cfg, stored=True) == "Trained already: shows at once."


def test_the_data_note_names_the_built_in_names_and_the_lectures_file():
    from mlp_core import data

    builtin = data.dataset_from_words(["ann", "bob"], data.DEFAULT_SOURCE)
    assert presets.data_note(builtin).startswith(
        "The data in use is the built-in names, not the lecture's names.txt"
    )


def test_demo_mode_disables_the_long_presets_with_a_note(monkeypatch, small_ds):
    monkeypatch.setenv(ui.DEMO_ENV, "1")
    at = open_app("pages/compare.py", session={"dataset": small_ds})
    assert not at.exception
    disabled = [b.disabled for b in _buttons(at)]
    assert disabled == [True, True, True, True, False, True]  # only the 1,001-step run fits
    notes = [c.value for c in at.caption if c.value.startswith("Disabled: ")]
    assert len(notes) == 5 and "steps is at most 5,000" in notes[0]


def test_one_click_trains_a_preset_and_shows_it_next_to_the_lecture(monkeypatch, small_ds):
    tiny = [
        dataclasses.replace(p, changes=p.changes | {"n_hidden": 8, "steps": 50})
        for p in presets.PRESETS
    ]
    monkeypatch.setattr(presets, "PRESETS", tuple(tiny))
    at = open_app("pages/compare.py", session={"dataset": small_ds})
    _buttons(at)[1].click().run()
    assert not at.exception and not at.error
    listed = shown_frame(next(t.value for t in at.table if "run" in t.value.columns))
    assert list(listed["run"]) == ["#1 tanh+hidden BN kaiming 1×8 s42 · test: 3000 names"]
    assert at.multiselect(key="cmp_pick").value  # selected for the comparison
    row = at.table[-1].value.loc[tiny[1].title]
    assert row["our val"] != "" and row["lecture val"] == "2.1048"
    assert _buttons(at)[1].label.startswith("Show:")
