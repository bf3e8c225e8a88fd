import pytest
import torch

from mlp_core.config import ModelConfig
from mlp_core.layers import BatchNorm1d, Linear
from mlp_core.model import MLP, cross_entropy, cross_entropy_backward


@pytest.mark.parametrize("eps", [1e-5, 1e-3])
def test_batchnorm_matches_torch_train_and_eval(eps):
    torch.manual_seed(0)
    K, B, D = 3, 32, 7
    ours = BatchNorm1d(K, D, eps=eps, momentum=0.1, dtype=torch.float64)
    refs = [torch.nn.BatchNorm1d(D, eps=eps, momentum=0.1, dtype=torch.float64) for _ in range(K)]
    for _ in range(5):
        x = torch.randn(K, B, D, dtype=torch.float64) * 3 + 1
        out = ours(x)
        for k, ref in enumerate(refs):
            torch.testing.assert_close(out[k], ref(x[k]))
    for k, ref in enumerate(refs):
        torch.testing.assert_close(ours.running_mean[k, 0], ref.running_mean)
        torch.testing.assert_close(ours.running_var[k, 0], ref.running_var)
        ref.eval()
    ours.training = False
    x = torch.randn(K, B, D, dtype=torch.float64)
    out = ours(x)
    for k, ref in enumerate(refs):
        torch.testing.assert_close(out[k], ref(x[k]))


def test_linear_matches_torch_nn_linear():
    torch.manual_seed(0)
    ref = torch.nn.Linear(5, 4)
    ours = Linear(ref.weight.detach().T.unsqueeze(0), ref.bias.detach().view(1, 1, 4))
    x = torch.randn(8, 5)
    torch.testing.assert_close(ours(x.unsqueeze(0))[0], ref(x))


@pytest.mark.parametrize("batchnorm", [False, True])
def test_mlp_forward_matches_an_equivalent_torch_nn_build(batchnorm):
    cfg = ModelConfig(n_embd=4, n_hidden=8, n_layers=2, activation="tanh", batchnorm=batchnorm)
    model = MLP([cfg], vocab_size=11, block_size=3, seeds=[7], dtype="float64")
    mods: list[torch.nn.Module] = []
    for layer in model.layers:
        if isinstance(layer, Linear):
            lin = torch.nn.Linear(*layer.weight.shape[1:], bias=layer.bias is not None).double()
            lin.weight.data = layer.weight[0].T.clone()
            if layer.bias is not None:
                lin.bias.data = layer.bias[0, 0].clone()
            mods.append(lin)
        elif isinstance(layer, BatchNorm1d):
            bn = torch.nn.BatchNorm1d(layer.gamma.shape[2]).double()
            bn.weight.data, bn.bias.data = layer.gamma[0, 0].clone(), layer.beta[0, 0].clone()
            mods.append(bn)
        else:
            mods.append(torch.nn.Tanh())
    ref = torch.nn.Sequential(torch.nn.Embedding(11, 4).double(), torch.nn.Flatten(), *mods)
    ref[0].weight.data = model.C[0].clone()
    X = torch.randint(0, 11, (32, 3))
    torch.testing.assert_close(model(X.unsqueeze(0))[0], ref(X))


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("acts", [["tanh"], ["sigmoid"], ["relu"], ["tanh", "sigmoid", "relu"]])
@pytest.mark.parametrize("init", ["kaiming", "zeros", "normal", "torch-default"])
def test_hand_written_backward_matches_autograd(acts, batchnorm, init):
    cfgs = [
        ModelConfig(n_embd=3, n_hidden=6, n_layers=2, activation=a, batchnorm=batchnorm, init=init)
        for a in acts
    ]
    X = torch.randint(0, 9, (len(acts), 16, 3))
    Y = torch.randint(0, 9, (len(acts), 16))
    ours = MLP(cfgs, 9, 3, seeds=list(range(len(acts))), dtype="float64")
    logits = ours(X)
    ours.backward(cross_entropy_backward(logits, Y))
    ref = MLP(cfgs, 9, 3, seeds=list(range(len(acts))), dtype="float64")
    for p in ref.parameters():
        p.requires_grad_(True)
    loss = cross_entropy(ref(X), Y)
    loss.sum().backward()
    torch.testing.assert_close(cross_entropy(logits, Y), loss.detach())
    for (name, p), q in zip(ours.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)


def test_stacked_runs_are_independent():
    cfg = ModelConfig(n_embd=3, n_hidden=6, n_layers=2)
    both = MLP([cfg, cfg.__class__(**{**cfg.__dict__, "init": "zeros"})], 9, 3, seeds=[1, 2])
    one = MLP([cfg], 9, 3, seeds=[1])
    X = torch.randint(0, 9, (1, 16, 3))
    torch.testing.assert_close(both(X.expand(2, -1, -1))[0], one(X)[0])


def test_zero_init_zeroes_every_linear_weight_and_bias_but_not_c():
    cfg = ModelConfig(n_layers=2, n_hidden=8, init="zeros")
    model = MLP([cfg], 9, 3, seeds=[0])
    for name, p in model.named_parameters():
        assert (p.abs().sum() > 0) == (name == "C"), name
