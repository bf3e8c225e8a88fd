import copy
import io
import json

import pytest
import torch
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from torch.nn.utils.fusion import fuse_linear_bn_eval

from mlp_core import data
from mlp_core.bn_fold import (
    FoldError,
    checkpoint_bytes,
    fold_bn_linear,
    fold_configs,
    fold_linear_bn,
    fold_model,
    fold_report,
    models,
    proof,
    timing,
)
from mlp_core.bn_fold_text import MULTIPLE, answer, checks
from mlp_core.cli import main
from mlp_core.config import ModelConfig, RunConfig
from mlp_core.fast.evaluate import evaluate
from mlp_core.folding import copy_as, torch_pair
from mlp_core.layers import BatchNorm1d, Linear, Tanh
from mlp_core.model import MLP
from mlp_core.runs import run_experiment
from mlp_core.store import RunStore
from mlp_core.train import Diverged, train_stack

F64 = {"dtype": torch.float64}


def random_linear(K, fan_in, fan_out, bias):
    b = torch.randn(K, 1, fan_out, **F64) if bias else None
    return Linear(torch.randn(K, fan_in, fan_out, **F64), b)


def random_bn(K, dim, eps=1e-5):
    """An eval-mode BN with trained-looking, non-trivial parameters and statistics."""
    bn = BatchNorm1d(K, dim, eps=eps, **F64)
    bn.gamma, bn.beta = torch.rand(K, 1, dim, **F64) + 0.5, torch.randn(K, 1, dim, **F64)
    bn.running_mean = torch.randn(K, 1, dim, **F64)
    bn.running_var = torch.rand(K, 1, dim, **F64) * 2 + 1e-3
    bn.training = False
    return bn


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_fold_linear_bn_equals_torch_fuse_linear_bn_eval(bias, eps):
    torch.manual_seed(0)
    linear, bn = random_linear(2, 6, 5, bias), random_bn(2, 5, eps)
    folded = fold_linear_bn(linear, bn)
    for k in range(2):
        ref = fuse_linear_bn_eval(*torch_pair(linear, bn, k))
        torch.testing.assert_close(folded.weight[k], ref.weight.detach().T, rtol=0, atol=1e-15)
        torch.testing.assert_close(folded.bias[k, 0], ref.bias.detach(), rtol=0, atol=1e-15)
    x = torch.randn(2, 16, 6, **F64)
    torch.testing.assert_close(folded(x), bn(linear(x)))


@pytest.mark.parametrize("bias", [False, True])
def test_forward_fold_of_a_bn_before_a_linear_scales_rows(bias):
    torch.manual_seed(1)
    bn, linear = random_bn(2, 6, eps=1e-3), random_linear(2, 6, 4, bias)
    folded = fold_bn_linear(bn, linear)
    x = torch.randn(2, 16, 6, **F64)
    torch.testing.assert_close(folded(x), linear(bn(x)))
    s = bn.gamma / (bn.running_var + bn.eps).sqrt()  # (K, 1, fan_in)
    torch.testing.assert_close(folded.weight, linear.weight * s.transpose(1, 2))


def small_mlp(K=1, batchnorm=True, seed=0):
    cfg = ModelConfig(n_embd=4, n_hidden=8, n_layers=2, batchnorm=batchnorm)
    return MLP(
        [cfg] * K, vocab_size=11, block_size=3, seeds=list(range(seed, seed + K)), dtype="float64"
    )


def test_fold_model_folds_forward_and_keeps_what_cannot_be_folded():
    """Linear→tanh→BN→Linear→BN→tanh→BN→tanh→Linear: the first BN folds forward (rows), the
    second back (columns), the third sits between two nonlinearities and stays."""
    torch.manual_seed(2)
    model = small_mlp(batchnorm=False)
    model.layers = [
        random_linear(1, 12, 8, True), Tanh(), random_bn(1, 8),
        random_linear(1, 8, 8, False), random_bn(1, 8), Tanh(), random_bn(1, 8, eps=0.5),
        Tanh(), random_linear(1, 8, 11, True),
    ]  # fmt: skip
    folded = fold_model(model)
    assert len(folded.folds) == 2 and "forward" in folded.folds[0] and "back" in folded.folds[1]
    assert len(folded.kept) == 1 and "layers.6" in folded.kept[0]
    assert sum(isinstance(layer, BatchNorm1d) for layer in folded.layers) == 1
    assert folded.architecture()[:3] == ["Linear(12→8, bias)", "tanh", "Linear'(8→8, bias)"]
    X = torch.randint(0, 11, (1, 64, 3))
    torch.testing.assert_close(folded(X), model(X))


def test_fold_model_matches_every_run_of_a_stack_and_leaves_the_input_unchanged():
    torch.manual_seed(3)
    model = small_mlp(K=3)
    for name, b in model.named_buffers():
        b.copy_(torch.rand_like(b) + 0.5 if name.endswith("var") else torch.randn_like(b))
    model.set_training(False)
    before = [model.state_dict(k) for k in range(3)]
    n_layers = len(model.layers)
    folded = fold_model(model)
    X = torch.randint(0, 11, (3, 64, 3))
    torch.testing.assert_close(folded(X), model(X))
    assert not any(isinstance(layer, BatchNorm1d) for layer in folded.layers)
    assert len(model.layers) == n_layers
    assert not any(getattr(layer, "training", False) for layer in model.layers)
    for k in range(3):
        after = model.state_dict(k)
        assert all(torch.equal(before[k][n], after[n]) for n in after)


def test_training_mode_batchnorm_is_refused():
    model = small_mlp()  # a fresh MLP is in training mode
    with pytest.raises(FoldError, match="training mode"):
        fold_model(model)
    linear, bn = model.layers[0], model.layers[1]
    with pytest.raises(FoldError, match="training mode"):
        fold_linear_bn(linear, bn)


@pytest.mark.parametrize("eps", [1e-5, 1e-2])
def test_a_trained_model_folds_to_the_same_inference(small_ds, tiny_cfg, eps):
    cfg = tiny_cfg.replace(batchnorm=True, bn_eps=eps, steps=150)
    (outcome,) = train_stack([cfg], small_ds)
    report = fold_report(outcome, small_ds)
    m = report.metrics
    assert m["layers_folded"] == 3 and m["not_folded"] == []
    assert m["max_abs_diff_logits"] < 1e-5 and m["argmax_agreement"] == 1.0
    assert abs(m["val_loss_bn"] - m["val_loss_folded"]) < 1e-6
    assert m["max_abs_diff_vs_torch_reference"] < 1e-6
    assert m["train_mode_diff"] > 1e-2  # training mode is a different function
    assert m["neuron_example"]["eps"] == eps
    assert m["params_before"] - m["params_after"] == m["buffers_before"] // 2
    assert m["buffers_after"] == 0 and not any("gamma" in n for n in report.folded_state)
    # the folded net plugs into the trainer's evaluate like an MLP
    sp = data.make_splits(small_ds, cfg.data.block_size)
    folded = models(outcome, small_ds)[1]
    assert evaluate(folded, sp.Xdev, sp.Ydev)[0] == pytest.approx(m["val_loss_bn"], abs=1e-5)
    # the verdict and its text travel with the numbers
    assert report.same and m["same_forward_pass"] is True
    assert report.text == m["answer"] and report.text.startswith("Same forward pass. ")
    assert m["max_abs_diff_logits"] <= m["logits_tolerance"] == m["loss_tolerance"] / 2
    assert m["max_abs_diff_logits_float64"] <= m["float64_tolerance"] < 1e-12
    assert set(timing(outcome, small_ds)) == {"bn", "folded"}
    saved = torch.load(io.BytesIO(checkpoint_bytes(cfg, report)), weights_only=True)
    assert saved["state_dict"].keys() == report.folded_state.keys()
    assert saved["architecture"] == m["architecture_after"]


def test_a_diverged_run_has_nothing_to_fold(small_ds, tiny_cfg):
    cfg = tiny_cfg.replace(batchnorm=True, init="zeros", bn_eps=0.0, steps=20)
    (outcome,) = train_stack([cfg], small_ds)
    with pytest.raises(Diverged, match="diverged at step 0"):
        fold_report(outcome, small_ds)


def test_folding_refuses_a_model_without_batchnorm(small_ds, tiny_cfg):
    with pytest.raises(FoldError, match="no BatchNorm"):
        fold_configs(tiny_cfg)


FOLD_KEYS = (
    "layers_folded",
    "params_before",
    "params_after",
    "max_abs_diff_logits",
    "argmax_agreement",
    "max_abs_diff_vs_torch_reference",
    "val_loss_bn",
    "val_loss_folded",
    "eval_seconds_bn",
    "eval_seconds_folded",
    "train_mode_diff",
)


def test_cli_fold_json(tmp_path, store_dir, capsys):
    words = tmp_path / "w.txt"
    words.write_text("\n".join(f"n{a}{b}{c}" for a in "aeiou" for b in "lmnrst" for c in "ay"))
    args = ["fold", "--names", str(words), "--layers", "1", "--n-hidden", "8"]
    assert main([*args, "--steps", "100", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in FOLD_KEYS:
        assert key in out, key
    assert out["layers_folded"] == 2 and out["config"]["model"]["batchnorm"] is True
    assert out["max_abs_diff_logits"] < 1e-4 and out["argmax_agreement"] == 1.0
    assert out["same_forward_pass"] is True and out["answer"].startswith("Same forward pass.")


@pytest.mark.slow
def test_names_txt_fold_meets_the_issue_criteria(names_txt, store_dir):
    ds = data.load(names_txt)
    cfg = RunConfig().replace(n_layers=2, batchnorm=True, steps=1000)
    m = run_experiment(fold_configs(cfg), fold_report, ds, RunStore()).metrics
    assert m["layers_folded"] == 3 and m["dev_rows"] == 22_655
    assert m["max_abs_diff_logits"] < 1e-4
    assert abs(m["val_loss_bn"] - m["val_loss_folded"]) < 1e-5
    assert m["max_abs_diff_vs_torch_reference"] < 1e-6
    assert m["argmax_agreement"] > 0.999


def test_fold_of_huge_logits_is_judged_relative_to_their_scale(small_ds):
    """ReLU, running statistics of single batches of 2: logits in the thousands, whose
    float32 round-off alone is far above anything a net with logits near ±5 shows."""
    cfg = RunConfig().replace(
        n_layers=2, batchnorm=True, activation="relu", bn_momentum=1.0, batch_size=2, steps=300
    )
    (outcome,) = train_stack([cfg], small_ds)
    report = fold_report(outcome, small_ds)
    m = report.metrics
    assert m["max_abs_logit"] > 500 and m["max_abs_diff_logits"] > 1e-4
    assert m["max_abs_diff_logits"] <= MULTIPLE["float32"] * m["round_off_floor"]
    assert m["max_abs_diff_logits_float64"] < 1e-14 * m["max_abs_logit"]  # the fold is exact
    assert m["max_abs_diff_vs_torch_reference"] == 0
    assert report.same and report.text.startswith("Same forward pass. Folding erased 3 ")


@pytest.fixture(scope="module")
def bn_nets(small_ds):
    """Trained BN nets, with and without the output BN, and the dev rows to fold them on."""
    base = RunConfig().replace(n_layers=1, n_hidden=32, batchnorm=True, steps=150)
    cfgs = [base.replace(output_bn=False), base.replace(n_layers=2)]
    nets = [models(train_stack([cfg], small_ds)[0], small_ds)[0] for cfg in cfgs]
    sp = data.make_splits(small_ds, base.data.block_size)
    return nets, sp.Xdev, sp.Ydev


def scaled(model, scale: float):
    """A copy of model whose logits are scale times model's (the output layer scaled)."""
    model = copy.deepcopy(model)
    last = model.layers[-1]
    if isinstance(last, BatchNorm1d):
        last.gamma, last.beta = last.gamma * scale, last.beta * scale
    else:
        last.weight, last.bias = last.weight * scale, last.bias * scale
    return model


def wrong_fold(kind: str, rows: torch.Tensor):
    """A fold with a mistake in its algebra: a fold of the net with its BNs altered."""

    @torch.no_grad()
    def fold(model):
        model = copy.deepcopy(model)
        bns = [layer for layer in model.layers if isinstance(layer, BatchNorm1d)]
        if kind == "batch_stats":  # one batch's statistics in place of the running ones
            for bn in bns:
                bn.training, bn.momentum = True, 1.0
            model(rows[None])
        for bn in bns:
            bn.training = False
            bn.eps = 0.0 if kind == "forget_eps" else bn.eps
            bn.beta = torch.zeros_like(bn.beta) if kind == "drop_beta" else bn.beta
        return fold_model(model)

    return fold


SCALES = st.floats(-3, 5).map(lambda e: 10.0**e)  # logits from about ±0.005 to ±5e5


@settings(max_examples=20, deadline=None)
@given(net=st.integers(0, 1), scale=SCALES, dtype=st.sampled_from([torch.float32, torch.float64]))
def test_an_exact_fold_passes_the_verdict_at_any_scale(bn_nets, net, scale, dtype):
    nets, X, Y = bn_nets
    m = proof(copy_as(scaled(nets[net], scale), dtype), X, Y).metrics
    assert all(checks(m).values()), m


@settings(max_examples=20, deadline=None)
@given(
    net=st.integers(0, 1),
    scale=SCALES,
    kind=st.sampled_from(["forget_eps", "batch_stats", "drop_beta"]),
)
def test_a_wrong_fold_fails_the_verdict_at_any_scale(bn_nets, net, scale, kind):
    nets, X, Y = bn_nets
    m = proof(scaled(nets[net], scale), X, Y, fold=wrong_fold(kind, X[:32])).metrics
    assert not checks(m)["float64"], m
    assert m["max_abs_diff_logits_float64"] > 1e6 * m["float64_tolerance"]
    text = answer(m | {"layers_folded": 1})
    assert text.startswith("Not the same forward pass: ") and "erased 1 BatchNorm layer." in text


TINY_12 = [
    "caf",
    "bbdbb",
    "dbfac",
    "cabfc",
    "bdcaac",
    "bbbd",
    "aacbcada",
    "abb",
    "cbbda",
    "aadc",
    "ddbad",
    "bab",
]
TINY_17 = [
    "cbcaca",
    "bad",
    "abbca",
    "bdfbbb",
    "bdad",
    "aaabac",
    "bbbdaab",
    "cac",
    "abead",
    "efbcdbc",
    "bbdbbdca",
    "abadfff",
    "bbdcbe",
    "adefdac",
    "bacbecdb",
    "ceaba",
    "cabdcbeb",
]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    words=st.lists(
        st.text(alphabet="abcdef", min_size=1, max_size=8), min_size=data.MIN_WORDS, max_size=20
    ),
    layers=st.integers(1, 3),
    width=st.integers(1, 8),
    steps=st.integers(1, 50),
    output_bn=st.booleans(),
    seed=st.integers(0, 10**6),
)
@example(words=TINY_12, layers=3, width=1, steps=2, output_bn=False, seed=497318)
@example(words=TINY_17, layers=2, width=1, steps=2, output_bn=True, seed=408097)
def test_an_exact_fold_of_a_tiny_upload_is_the_same_forward_pass(
    words, layers, width, steps, output_bn, seed
):
    """A few dev rows, nets of width 1: the BN net's own round-off, a maximum over a few
    logits, is small by chance, and a fold's terms cancel; the verdict holds wherever the
    fold is exact (its float64 rebuild within float64's round-off of the BN net's)."""
    ds = data.dataset_from_words(words, "generated")
    cfg = RunConfig().replace(
        n_layers=layers, n_hidden=width, batchnorm=True, output_bn=output_bn, steps=steps,
        batch_size=8, seed=seed,
    )  # fmt: skip
    sp = data.make_splits(ds, cfg.data.block_size)
    assume(len(sp.Ytr) >= 8 and len(sp.Ydev) >= 1)
    (outcome,) = train_stack([cfg], ds)
    assume(outcome.status == "ok")
    m = fold_report(outcome, ds).metrics
    assert m["max_abs_diff_logits_float64"] <= 1e-12 * max(1.0, m["round_off_scale"])  # exact
    assert all(checks(m).values()), m
