"""``TrainConfig.rng``: "lecture" replays the lecture notebook's one random stream (its init
draws, then its minibatches, from one generator); "own" keeps our two generators."""

import hashlib
import json

import pytest
import torch
import torch.nn.functional as F

from mlp_core import data, train
from mlp_core.cli import main
from mlp_core.config import ConfigError, RunConfig, validate
from mlp_core.model import init_and_generator, init_run
from mlp_core.store import CACHE_VERSION, run_key

SEED, STEPS, DECAY = 2147483647, 40, 25
LECTURE_BN = {"batchnorm": True, "output_bn": False, "bn_momentum": 0.001}


def _cfg(batchnorm: bool, **changes) -> RunConfig:
    base = {"n_layers": 1, "n_hidden": 64, "steps": STEPS, "lr_decay_step": DECAY}
    base |= {"seed": SEED, "rng": "lecture", "dtype": "float64"}
    return RunConfig().replace(**(base | (LECTURE_BN if batchnorm else {}) | changes))


def notebook_loop(ds: data.Dataset, batchnorm: bool) -> dict:
    """The notebook's 2-layer cells as written there: one generator, its draws in its order
    (b1 only in the net without BatchNorm), the minibatches from the same generator. The
    BatchNorm is torch's formula (biased variance and eps, running unbiased variance), the
    engine's: this test is about the random stream (README, "Parity with the lecture")."""
    sp = data.make_splits(ds, 3)
    V, n_embd, block, n_hidden, fan_in = ds.vocab_size, 10, 3, 64, 30
    g = torch.Generator().manual_seed(SEED)
    P = {"C": torch.randn((V, n_embd), generator=g)}
    P["W1"] = torch.randn((n_embd * block, n_hidden), generator=g) * (5 / 3) / fan_in**0.5
    if not batchnorm:
        P["b1"] = torch.randn(n_hidden, generator=g) * 0.01
    P["W2"] = torch.randn((n_hidden, V), generator=g) * 0.01
    P["b2"] = torch.randn(V, generator=g) * 0
    if batchnorm:
        P["bngain"], P["bnbias"] = torch.ones((1, n_hidden)), torch.zeros((1, n_hidden))
    P = {k: v.double().requires_grad_(True) for k, v in P.items()}
    mean_run = torch.zeros((1, n_hidden), dtype=torch.float64)
    var_run = torch.ones((1, n_hidden), dtype=torch.float64)
    for i in range(STEPS):
        ix = torch.randint(0, sp.Xtr.shape[0], (32,), generator=g)
        Xb, Yb = sp.Xtr[ix], sp.Ytr[ix]
        hpreact = P["C"][Xb].view(len(Xb), -1) @ P["W1"]
        if batchnorm:
            mean, var = hpreact.mean(0, keepdim=True), hpreact.var(0, keepdim=True, unbiased=False)
            hpreact = P["bngain"] * (hpreact - mean) / torch.sqrt(var + 1e-5) + P["bnbias"]
            with torch.no_grad():
                mean_run = 0.999 * mean_run + 0.001 * mean
                var_run = 0.999 * var_run + 0.001 * var * 32 / 31
        else:
            hpreact = hpreact + P["b1"]
        loss = F.cross_entropy(torch.tanh(hpreact) @ P["W2"] + P["b2"], Yb)
        for p in P.values():
            p.grad = None
        loss.backward()
        lr = 0.1 if i < DECAY else 0.01
        for p in P.values():
            p.data += -lr * p.grad
    names = {"C": "C", "W1": "layers.0.weight", "b1": "layers.0.bias", "bngain": "layers.1.gamma"}
    out = 3 if batchnorm else 2
    names |= {"bnbias": "layers.1.beta", "W2": f"layers.{out}.weight", "b2": f"layers.{out}.bias"}
    state = {names[k]: v.detach() for k, v in P.items()}
    if batchnorm:
        state |= {"layers.1.running_mean": mean_run, "layers.1.running_var": var_run}
    return state


def _assert_same_state(ours: dict, ref: dict) -> None:
    assert set(ours) == set(ref)
    for name, t in ref.items():
        torch.testing.assert_close(ours[name].view_as(t), t, rtol=1e-9, atol=1e-11, msg=name)


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("arithmetic", ["engine", "notebook"])
def test_rng_lecture_trains_what_the_notebooks_code_trains(small_ds, batchnorm, arithmetic):
    cfg = _cfg(batchnorm, arithmetic=arithmetic)
    validate(cfg)
    (run,) = train.train_stack([cfg], small_ds)
    _assert_same_state(run.state, notebook_loop(small_ds, batchnorm))


def test_rng_own_and_lecture_differ_in_init_and_in_batches(small_ds):
    own, lecture = (_cfg(True, rng=r) for r in ("own", "lecture"))
    (a,), (b,) = train.train_stack([own], small_ds), train.train_stack([lecture], small_ds)
    assert not torch.equal(a.state["layers.3.weight"], b.state["layers.3.weight"])


def test_a_stack_mixing_rng_modes_trains_each_as_alone(small_ds):
    cfgs = [_cfg(True, rng="own"), _cfg(True, rng="lecture")]
    both = train.train_stack(cfgs, small_ds, workers=1)
    for run, cfg in zip(both, cfgs):
        (alone,) = train.train_stack([cfg], small_ds)
        _assert_same_state(run.state, alone.state)


def test_the_deep_net_draws_its_init_as_ours_then_its_batches_from_the_same_generator():
    """The deep-net cell's Linear draws randn(fan_in, fan_out) / fan_in**0.5 layer by layer,
    as init_run does: the init is ours; the minibatches continue on its generator."""
    m = RunConfig().replace(n_layers=3, n_hidden=16, batchnorm=True).model
    lecture, g = init_and_generator(m, 27, 3, SEED, "lecture")
    own, g_own = init_and_generator(m, 27, 3, SEED, "own")
    for k, v in init_run(m, 27, 3, SEED).items():
        assert torch.equal(lecture[k], v) and torch.equal(own[k], v)
    first = torch.randint(0, 1000, (32,), generator=g)
    assert torch.equal(torch.randint(0, 1000, (32,), generator=g_own), first) is False


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"n_layers": 1, "init": "zeros"}, "init zeros"),
        ({"n_layers": 1, "batchnorm": True}, "hidden layer only"),
        ({"n_layers": 3, **LECTURE_BN}, "after every Linear"),
        ({"rng": "notebook"}, "rng must be one of own, lecture"),
    ],
)
def test_layouts_the_lecture_never_draws_are_refused(changes, words):
    with pytest.raises(ConfigError, match=words):
        validate(RunConfig().replace(**{"rng": "lecture", **changes}))


def test_the_run_key_tells_the_rng_modes_apart_and_leaves_out_default_fields(small_ds):
    own, lecture = (_cfg(True, rng=r) for r in ("own", "lecture"))
    assert run_key(own, small_ds.sha256) != run_key(lecture, small_ds.sha256)
    plain = own.to_dict()  # the key of a config without the fields at their defaults
    del plain["train"]["rng"], plain["train"]["evaluation"]
    blob = {"version": CACHE_VERSION, "config": plain, "data": small_ds.sha256}
    plain_key = hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()
    assert run_key(own, small_ds.sha256) == plain_key


def test_cli_train_takes_rng_and_refuses_a_layout_it_cannot_replay(tmp_path, capsys):
    words = tmp_path / "w.txt"
    words.write_text("\n".join(f"n{a}{b}{c}" for a in "aeiou" for b in "lmnrst" for c in "ay"))
    args = ["train", "--names", str(words), "--layers", "1", "--n-hidden", "8", "--no-cache"]
    bn = ["--batchnorm", "--no-output-bn", "--bn-momentum", "0.001"]
    assert main([*args, *bn, "--rng", "lecture", "--steps", "20", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["train"]["rng"] == "lecture"
    assert main([*args, "--batchnorm", "--rng", "lecture", "--steps", "5"]) == 2
    assert "hidden layer only" in capsys.readouterr().err
