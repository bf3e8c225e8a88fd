"""Where BatchNorm goes (``output_bn``) and how its running statistics move
(``bn_momentum``): the lecture's 2-layer BN net next to its deep net. The engine against
autograd for both layouts and momenta is in tests/test_engine.py."""

import json

import pytest
import torch
from torch.nn.utils.fusion import fuse_linear_bn_eval

from mlp_core.bn_fold import fold_report, models
from mlp_core.cli import main
from mlp_core.config import ConfigError, RunConfig, validate
from mlp_core.folding import linear_bn_pairs, torch_pair
from mlp_core.layers import BatchNorm1d, Linear
from mlp_core.model import MLP, init_run
from mlp_core.store import RunStore, run_key
from mlp_core.train import train_stack

LECTURE_BN = {"batchnorm": True, "output_bn": False, "bn_momentum": 0.001}


def test_hidden_only_layout_has_no_output_bn_and_an_output_bias():
    cfg = RunConfig().replace(n_layers=2, n_hidden=16, **LECTURE_BN).model
    model = MLP([cfg], vocab_size=27, block_size=3, seeds=[0])
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Linear", "BatchNorm1d", "Tanh"] * 2 + ["Linear"]
    assert all(layer.bias is None for layer in model.layers[:-1] if isinstance(layer, Linear))
    assert model.layers[-1].bias is not None
    bns = [layer for layer in model.layers if isinstance(layer, BatchNorm1d)]
    assert [bn.momentum for bn in bns] == [0.001, 0.001]


def test_hidden_only_layout_initialises_the_output_like_the_no_bn_net():
    """No output BN, so no gamma of 0.1 there: the output weights are shrunk by 0.1
    instead (kaiming / sqrt(fan_in) * 0.1), as in the net without BatchNorm."""
    base = RunConfig().replace(n_layers=1, n_hidden=200).model
    plain = init_run(base, 27, 3, seed=5)
    lecture = init_run(RunConfig().replace(n_layers=1, n_hidden=200, **LECTURE_BN).model, 27, 3, 5)
    deep = init_run(RunConfig().replace(n_layers=1, n_hidden=200, batchnorm=True).model, 27, 3, 5)
    torch.testing.assert_close(lecture["W1"], plain["W1"])
    torch.testing.assert_close(deep["W1"], plain["W1"] * 10)
    assert "gamma1" not in lecture and "gamma0" in lecture
    assert float(deep["gamma1"].max()) == pytest.approx(0.1)
    assert float(lecture["W1"].std()) == pytest.approx(0.1 / 200**0.5, rel=0.05)


def test_no_output_bn_without_batchnorm_is_refused():
    with pytest.raises(ConfigError, match="needs batchnorm"):
        validate(RunConfig().replace(output_bn=False))


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_momentum_outside_0_1_is_refused(bad):
    with pytest.raises(ConfigError, match="bn_momentum"):
        validate(RunConfig().replace(batchnorm=True, bn_momentum=bad))


def test_the_run_store_key_tells_the_layouts_and_momenta_apart(tmp_path, small_ds):
    base = RunConfig().replace(n_layers=1, n_hidden=8, steps=30, batchnorm=True)
    variants = [
        base.replace(output_bn=o, bn_momentum=m) for o in (True, False) for m in (0.1, 0.001)
    ]
    keys = {run_key(c, small_ds.sha256) for c in variants}
    assert len(keys) == 4
    store = RunStore(tmp_path)
    (done,) = train_stack([variants[3]], small_ds)
    store.put(done, small_ds.sha256)
    assert store.get(variants[3], small_ds.sha256) is not None
    assert all(store.get(c, small_ds.sha256) is None for c in variants[:3])


def test_a_trained_hidden_only_bn_net_folds_to_the_same_inference(small_ds):
    """Each hidden BN folds back into the bias-less Linear before it; the output Linear,
    with no BN after it, stays as it is, bias and all."""
    cfg = RunConfig().replace(n_layers=2, n_hidden=16, steps=300, **LECTURE_BN)
    (outcome,) = train_stack([cfg], small_ds)
    report = fold_report(outcome, small_ds)
    m = report.metrics
    assert m["layers_folded"] == 2 and m["not_folded"] == []
    assert report.same and m["max_abs_diff_logits"] < 1e-5 and m["argmax_agreement"] == 1.0
    assert abs(m["val_loss_bn"] - m["val_loss_folded"]) < 1e-6
    assert m["max_abs_diff_vs_torch_reference"] < 1e-6
    model, folded = models(outcome, small_ds)
    assert [type(x).__name__ for x in folded.layers] == ["Linear", "Tanh"] * 2 + ["Linear"]
    torch.testing.assert_close(folded.layers[-1].bias, model.layers[-1].bias)
    torch.testing.assert_close(folded.layers[-1].weight, model.layers[-1].weight)


@torch.no_grad()
def test_the_fold_of_a_trained_hidden_bn_equals_torchs_fuse_linear_bn_eval(small_ds):
    """Our folded W', b' of every Linear→BN pair of the lecture layout against
    torch.nn.utils.fusion.fuse_linear_bn_eval, and the eval-mode outputs against
    torch.nn.Linear followed by torch.nn.BatchNorm1d."""
    cfg = RunConfig().replace(n_layers=2, n_hidden=16, steps=300, **LECTURE_BN)
    (outcome,) = train_stack([cfg], small_ds)
    model, folded = models(outcome, small_ds)
    pairs = linear_bn_pairs(model.layers)
    assert [i for i, *_ in pairs] == [0, 3]
    x = torch.randn(50, pairs[0][1].weight.shape[1])
    for (i, linear, bn), mine in zip(pairs, folded.layers[::2]):
        lin, ref_bn = torch_pair(linear, bn, 0)
        ref = fuse_linear_bn_eval(lin, ref_bn)
        torch.testing.assert_close(mine.weight[0], ref.weight.T, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(mine.bias[0, 0], ref.bias, rtol=1e-6, atol=1e-6)
        xin = x if i == 0 else torch.randn(50, linear.weight.shape[1])
        torch.testing.assert_close(xin @ mine.weight[0] + mine.bias[0], ref_bn(lin(xin)))


def test_cli_train_takes_the_lecture_layout(tmp_path, capsys):
    words = tmp_path / "w.txt"
    words.write_text("\n".join(f"n{a}{b}{c}" for a in "aeiou" for b in "lmnrst" for c in "ay"))
    args = ["train", "--names", str(words), "--layers", "1", "--n-hidden", "8", "--no-cache"]
    flags = ["--batchnorm", "--no-output-bn", "--bn-momentum", "0.001"]
    assert main([*args, *flags, "--steps", "40", "--json"]) == 0
    model = json.loads(capsys.readouterr().out)["config"]["model"]
    assert model["output_bn"] is False and model["bn_momentum"] == 0.001
    assert main([*args, "--no-output-bn", "--steps", "5"]) == 2
    assert "needs batchnorm" in capsys.readouterr().err
