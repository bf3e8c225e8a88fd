import json

import pytest

from mlp_core import data
from mlp_core.cli import main
from mlp_core.regime import REGIMES
from mlp_core.runs import run_experiment
from mlp_core.zero_init import zero_init_configs, zero_init_report


def run(small_ds, tiny_cfg, **changes):
    cfgs = zero_init_configs(tiny_cfg.replace(steps=800, **changes))
    return run_experiment(cfgs, zero_init_report, small_ds)


def trained(report) -> list[str]:
    return [p["name"] for p in report.params if p["trained"]]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_tanh_and_relu_train_only_the_last_bias_and_become_unigram(small_ds, tiny_cfg, activation):
    r = run(small_ds, tiny_cfg, activation=activation)
    assert trained(r) == ["layers.4.bias"]
    assert r.facts["hidden_zero_at_start"]
    unigram = data.baselines(small_ds, 3)["unigram_entropy"]
    assert abs(r.train_loss["zero"] - unigram) < 0.02
    assert r.val_loss["compare"] < r.val_loss["zero"] - 0.1
    assert "`layers.4.bias`" in r.answer and "unigram model" in r.answer
    assert r.facts["exact"] == ["layers.4.bias"] and r.facts["context_dependence"]["zero"] == 0
    assert f"{activation}(0) = 0" in r.answer


def test_sigmoid_trains_more_but_keeps_one_neuron_per_layer(small_ds, tiny_cfg):
    r = run(small_ds, tiny_cfg, activation="sigmoid")
    assert len(trained(r)) > 1
    hidden = [p for p in r.params if "distinct_neurons" in p][:-1]
    assert len(hidden) == 2 and all(p["distinct_neurons"] == 1 for p in hidden)
    assert r.facts["hidden_mean_at_start"] == [0.5, 0.5]
    assert "sigmoid(0) = 0.5" in r.answer and "1 distinct neuron" in r.answer


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_one_unit_on_one_row_is_still_all_units_equal_at_step_0(small_ds, tiny_cfg, activation):
    # batch 1, width 1: a layer's output at step 0 is one number (its unbiased std is NaN)
    r = run(small_ds, tiny_cfg, activation=activation, batch_size=1, n_hidden=1)
    assert r.facts["hidden_identical_at_start"]
    assert r.facts["hidden_zero_at_start"] == (activation == "tanh")
    same = next(c for c in r.draft_assessment if c["claim"].startswith("All the neurons"))
    assert same["verdict"] != "contradicted"
    assert "units of each layer were identical" in same["evidence"]
    assert "Why: " in r.answer


def test_batchnorm_moves_the_training_to_the_last_beta(small_ds, tiny_cfg):
    r = run(small_ds, tiny_cfg, batchnorm=True)
    assert trained(r) == ["layers.7.beta"]
    assert "BatchNorm maps 0" in r.answer and "`layers.7.beta`" in r.answer


def test_batchnorm_without_eps_is_reported_as_diverged(small_ds, tiny_cfg):
    r = run(small_ds, tiny_cfg, batchnorm=True, bn_eps=0.0)
    assert r.status["zero"] == "diverged" and r.diverged_at["zero"] == 0
    assert r.status["compare"] == "ok"
    assert "0/0 = NaN" in r.answer and r.draft_assessment == []
    assert r.facts["diverged"]["zero"]["reason"] == "not finite"


def test_draft_assessment_follows_the_measurements(small_ds, tiny_cfg):
    tanh = {c["claim"][:20]: c["verdict"] for c in run(small_ds, tiny_cfg).draft_assessment}
    sig = {
        c["claim"][:20]: c["verdict"]
        for c in run(small_ds, tiny_cfg, activation="sigmoid").draft_assessment
    }
    assert tanh["With tanh, the gradi"] == "contradicted"  # the last bias does get one
    assert tanh["The network does not"] == "contradicted"  # it learns the unigram
    assert tanh["All the neurons emit"] == "supported"
    assert tanh["Only the output laye"] == "partly supported"  # the bias, not the weights
    assert sig["Only the output laye"] == "contradicted"
    assert sig["Sigmoid behaves like"] == "contradicted"


def test_cli_zero_init_json(small_ds, tmp_path, store_dir, capsys):
    f = tmp_path / "names.txt"
    f.write_text("\n".join(small_ds.words[:1000]))
    args = [
        "zero-init",
        "--names",
        str(f),
        "--layers",
        "2",
        "--n-hidden",
        "16",
        "--steps",
        "300",
        "--json",
    ]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert "diagnostics" not in out
    for key in (
        "params",
        "train_loss",
        "val_loss",
        "curves",
        "baselines",
        "answer",
        "draft_assessment",
    ):
        assert key in out
    assert set(out["val_loss"]) == {"zero", "compare"}
    assert set(out["baselines"]) == {
        "uniform", "unigram_entropy", "bigram", "dev_unigram", "dev_bigram"
    }  # fmt: skip
    f = out["facts"]
    assert f["arithmetic"] == "engine"
    assert set(f["context_dependence"]) == set(f["regime"]) == {"zero", "compare"}
    assert f["context_dependence"]["zero"] == 0.0 and f["regime"]["zero"]["state"] in REGIMES
    assert set(f["notebook_numbers"]) >= {"printed", "batch_band", "fresh_test", "trained_test"}
    assert f["notebook_numbers"]["printed"] == {
        "batch_losses": ["2.5", "3.1"],
        "val_loss": "3.2870",
    }
    row = out["params"][1]
    assert {
        "name",
        "shape",
        "grad_norm_max",
        "moved",
        "trained",
        "distinct_neurons",
        "rank",
        "exact_gradient",
        "gradient_kind",
    } <= set(row)
    kinds = {p["name"]: (p["gradient_kind"], p["exact_gradient"]) for p in out["params"]}
    assert kinds["layers.4.bias"] == ("exact", True) and kinds["C"] == ("none", False)


def test_the_report_is_the_cli_json_plus_the_diagnostics(small_ds, tiny_cfg):
    r = run(small_ds, tiny_cfg)
    out = r.to_json()
    assert list(out) == [
        "config", "compare", "status", "diverged_at", "params", "params_compare",
        "train_loss", "val_loss", "curves", "baselines", "facts", "answer", "draft",
        "draft_source", "draft_assessment",
    ]  # fmt: skip
    assert out["answer"] == r.answer and set(r.diagnostics) == {"zero", "compare"}
    json.dumps(out)


def test_cli_zero_init_in_the_notebook_arithmetic_with_another_comparison(
    small_ds, tmp_path, store_dir, capsys
):
    f = tmp_path / "names.txt"
    f.write_text("\n".join(small_ds.words[:1000]))
    args = ["zero-init", "--names", str(f), "--layers", "1", "--n-hidden", "8", "--steps", "120"]
    args += ["--arithmetic", "notebook", "--compare-init", "kaiming", "--compare-gain", "0.5"]
    assert main([*args, "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert "step" in captured.err  # progress lines, one run at a time ("-" for the other)
    assert out["facts"]["arithmetic"] == "notebook"
    assert out["compare"]["label"] == "kaiming init (gain 0.5)"
    assert "your notebook's float32 arithmetic" in out["answer"]
    assert out["config"]["train"]["arithmetic"] == "notebook"
