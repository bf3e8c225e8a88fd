"""Zero init at the edges of its regimes: each test names what the answer must get right
there (deep underflow, a 3-step run, a blow-up, a tiny or one-letter data set, ...)."""

from __future__ import annotations

import pytest

from mlp_core import data
from mlp_core.config import RunConfig
from mlp_core.regime import regime
from mlp_core.run_text import reason
from mlp_core.runs import run_experiment
from mlp_core.zero_init import zero_init_configs, zero_init_report
from mlp_core.zero_init_text import answer


def run(ds, **changes):
    compare = {k: changes.pop(k) for k in ("compare", "gain", "scale") if k in changes}
    cfgs = zero_init_configs(RunConfig().replace(**changes), **compare)
    return run_experiment(cfgs, zero_init_report, ds)


def lead(rep) -> str:
    return rep.answer.split("\n\n")[0]


def claims(rep) -> dict:
    return {c["claim"]: c for c in rep.draft_assessment}


def test_deep_sigmoid_gradients_are_exact_however_small(small_ds):
    rep = run(small_ds, activation="sigmoid", n_layers=6, steps=200)
    f = rep.facts
    assert f["exact"] == [p["name"] for p in rep.params] and not f["roundoff"]
    assert f["gradients"]["C"]["onset"] == 7 and f["gradients"]["C"]["log10"] < -100
    assert "round-off" not in rep.answer and "0.0e+00" not in rep.answer
    assert "`C` at step 7" in rep.answer and "too small to move a float32 number" in rep.answer
    row = next(p for p in rep.params if p["name"] == "C")
    assert row["verdict"] == "too small to move it in float32" and row["moved"] == 0


def test_a_three_step_sigmoid_net_really_depends_on_the_context(small_ds):
    rep = run(small_ds, activation="sigmoid", n_layers=1, n_hidden=200, steps=3)
    assert rep.facts["exact_context"] and rep.facts["context_dependence"]["zero"] > 0
    assert "The net uses the context" in lead(rep)
    assert "round-off level" not in rep.answer and "unigram model in effect" not in rep.answer


@pytest.mark.parametrize(
    ("vals", "state"),
    [
        ([3.0, 2.9, 3.1, 50.0, 900.0, 64_000.0], "blowing up"),  # sigmoid + BN, eps 1e-10
        ([2.0 + 0.01 * i for i in range(40)], "rising"),  # a character only in dev
        ([3.2958 - 1e-5 * i for i in range(40)], "falling"),  # lr 1e-5: slow and straight
        ([2.5 + 0.001 * (-1) ** i for i in range(40)], "settled"),
        ([2.5 + 0.2 * (-1) ** i + 0.002 * i for i in range(40)], "too short to tell"),  # noise
        ([3.3, 3.1, 3.0], "too short to tell"),  # a 3-step run
    ],
)
def test_settled_is_said_only_of_a_flat_curve_within_its_noise(vals, state):
    curve = {"step": list(range(0, 100 * len(vals), 100)), "val": vals}
    assert regime(curve, "ok", 3.2958)["state"] == state


def test_a_slow_straight_fall_is_still_falling(small_ds):
    rep = run(small_ds, n_layers=2, n_hidden=16, lr=1e-5, steps=400)
    assert rep.facts["regime"]["zero"]["state"] == "falling"
    assert "was still falling" in rep.answer and "has settled" not in rep.answer
    assert "more steps would lower it" not in rep.answer


def test_sigmoid_batchnorm_with_a_tiny_eps_never_uses_the_context(small_ds):
    rep = run(small_ds, activation="sigmoid", batchnorm=True, bn_eps=1e-10, steps=300)
    f = rep.facts
    assert f["exact"] == ["layers.16.beta"] and not f["exact_context"]
    assert "starts to train" not in rep.answer and "whole net" not in rep.answer
    if f["roundoff"]:
        assert "only through float rounding" in rep.answer


def test_one_letter_words_are_judged_on_their_own_ladder():
    ds = data.dataset_from_words(["a" * (1 + i % 5) for i in range(300)], "one letter")
    rep = run(ds, n_layers=2, n_hidden=16, steps=300)
    f = rep.facts
    if f["compare_beats_unigram"]:
        assert "did not" not in rep.answer and "reaches dev" in rep.answer
    assert "either" not in rep.answer


def test_a_comparison_that_overfits_a_tiny_list_is_not_said_not_to_train():
    words = ["anna", "bob", "cleo", "dan", "eve", "finn", "gus", "hal", "ivy", "jo"] * 2
    ds = data.dataset_from_words(words, "twenty words")
    rep = run(ds, n_layers=1, n_hidden=64, steps=400, lr=0.5)
    f = rep.facts
    assert f["compare_trained"]
    assert "train loss did not fall" not in rep.answer


def test_a_finite_loss_above_the_bound_is_not_called_not_finite():
    d = {"step": 3, "reason": "above bound", "loss": 37.9, "bound": 32.96}
    assert "not finite" not in reason(d) and "37.9" in reason(d)
    assert "not finite" in reason({"step": 0, "reason": "not finite", "loss": None})


def test_the_notebook_numbers_are_judged_as_printed_on_their_split(small_ds):
    rep = run(small_ds, n_layers=2, n_hidden=16, batch_size=1, steps=400)
    band = next(c for k, c in claims(rep).items() if k.startswith("The notebook's minibatch"))
    lo, hi = rep.facts["notebook_numbers"]["batch_band"]
    assert band["verdict"] == "contradicted" and hi - lo > 1
    slow = run(small_ds, n_layers=2, n_hidden=16, lr=1e-4, steps=300)
    val = claims(slow)["The notebook's final validation loss was 3.2870."]
    assert (val["verdict"] == "supported") == (
        f"{slow.facts['notebook_numbers']['trained_test']:.4f}" == "3.2870"
    )
    assert "third split" in val["evidence"] and "passes it between" not in val["evidence"]
    assert "stale" not in val["evidence"] and "re-initialised" not in val["evidence"]


def test_only_the_output_layer_is_partly_supported_when_the_run_stops_early(small_ds):
    rep = run(small_ds, activation="sigmoid", n_layers=2, steps=1)
    only = claims(rep)["Only the output layer gets a nonzero gradient; it alone trains."]
    assert only["verdict"] == "partly supported" and "stopped after 1 step:" in only["evidence"]
    assert "The run stopped after 1 step: with more steps" in rep.answer


def test_a_net_worse_than_unigram_is_not_said_to_have_learned_the_context(small_ds):
    rep = run(small_ds, activation="sigmoid", n_layers=3, steps=300)
    f = rep.facts
    learned = claims(rep)["The network does not learn anything."]["evidence"]
    if f["val_loss"]["zero"] >= f["baselines"]["dev_unigram"]:
        assert "it learned to use the context" not in learned
        assert "more than a unigram model" not in rep.answer


def test_the_parameter_table_says_what_the_prose_says(small_ds):
    for act, bn in (("sigmoid", False), ("sigmoid", True), ("tanh", False)):
        rep = run(small_ds, activation=act, batchnorm=bn, steps=200)
        for p in rep.params:
            g = rep.facts["gradients"][p["name"]]
            if p["verdict"] == "trains":
                assert g["kind"] == "exact" and p["moved"] > 0
            if g["kind"] == "round-off":
                assert p["verdict"] == "round-off only" and (p["grad_norm_max"] or p["moved"])
                assert p["name"] not in rep.facts["exact"]
            if g["kind"] == "none":
                assert not p["grad_norm_max"] and p["verdict"] == "no gradient"


def test_the_notebook_number_is_printed_as_the_notebook_printed_it(small_ds):
    rep = run(small_ds, n_layers=2, n_hidden=16, steps=200)
    assert "3.2870" in " ".join(c["claim"] for c in rep.draft_assessment)
    assert "3.287." not in " ".join(c["claim"] for c in rep.draft_assessment)


def test_a_comparison_that_diverges_before_any_update_blames_the_init(small_ds):
    rep = run(small_ds, n_layers=2, n_hidden=16, steps=50, compare="normal", scale=100.0)
    f = rep.facts
    d = f["diverged"]["compare"]
    if d and d["step"] == 0:
        assert "before any update: the init itself is at fault" in rep.answer
        assert "smaller learning rate" not in rep.answer


def test_a_short_comparison_is_too_short_to_tell_not_untrained(small_ds):
    rep = run(small_ds, n_layers=2, n_hidden=16, steps=1, lr=1e-4)
    assert "did not train" not in rep.answer and "either" not in rep.answer


def test_the_answer_opens_with_a_plain_lead(small_ds):
    rep = run(small_ds, n_layers=2, n_hidden=16, steps=200)
    first = lead(rep)
    assert first.count(". ") <= 2 and len(first) < 400
    for jargon in ("float64", "matmul", "round-off", "exact arithmetic (", "rerun"):
        assert jargon not in first
    assert answer(rep.facts) == rep.answer
