"""Question 1's answer held to the truth over a matrix of configurations.

For each cell (activation x BatchNorm x shape x steps) the zero-init experiment runs on
small data, and an independent plain-autograd reference written here (float64, the same
init and minibatches, nothing shared with the engine or the notebook arithmetic but
model.init_run) checks its facts: which tensors get an exact gradient, how much the
trained output depends on the context, how many distinct neurons each layer has. Then every
sentence of the answer and every verdict is checked against those facts.
"""

import pytest
import torch
import torch.nn.functional as F

from mlp_core import data
from mlp_core.config import RunConfig
from mlp_core.model import init_run
from mlp_core.store import get_or_train
from mlp_core.zero_init import zero_init_configs, zero_init_report
from mlp_core.zero_init_facts import CHECK_STEPS, NEURON_EPS_FACTOR, WIDTH_ROWS

ACTS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}
SHAPES = [(5, 100), (1, 200), (2, 50)]
CELLS = [
    pytest.param(act, bn, shape, steps, marks=[pytest.mark.slow] if steps > 3000 else [])
    for steps in (3000, 20000)
    for act in ("tanh", "relu", "sigmoid")
    for bn in (False, True)
    for shape in SHAPES
]


def reference_gradients(cfg: RunConfig, ds: data.Dataset, steps: int) -> dict[str, list[float]]:
    """Per-step gradient norms of every tensor over the first steps, plain autograd in float64,
    named like the engine's parameters."""
    m, t = cfg.model, cfg.train
    sp = data.make_splits(ds, cfg.data.block_size)
    P = {
        k: v.double().requires_grad_(True) for k, v in init_run(m, ds.vocab_size, 3, t.seed).items()
    }
    if m.batchnorm:
        for i in range(m.n_layers + 1):
            P.pop(f"b{i}")
    names = _names(m)
    g = torch.Generator().manual_seed(t.seed)
    norms = {names[k]: [] for k in P}
    for _ in range(steps):
        ix = torch.randint(0, len(sp.Ytr), (t.batch_size,), generator=g)
        loss = F.cross_entropy(_forward(m, P, sp.Xtr[ix]), sp.Ytr[ix])
        grads = torch.autograd.grad(loss, list(P.values()))
        with torch.no_grad():
            for (k, p), gr in zip(P.items(), grads):
                norms[names[k]].append(float(gr.norm()))
                p -= t.lr * gr
    return norms


def _names(m) -> dict[str, str]:
    names, pos = {"C": "C"}, 0
    for i in range(m.n_layers + 1):
        names[f"W{i}"] = f"layers.{pos}.weight"
        if m.batchnorm:
            names[f"gamma{i}"], names[f"beta{i}"] = (
                f"layers.{pos + 1}.gamma",
                f"layers.{pos + 1}.beta",
            )
        else:
            names[f"b{i}"] = f"layers.{pos}.bias"
        pos += 3 if m.batchnorm else 2
    return names


def _forward(m, P: dict, X: torch.Tensor) -> torch.Tensor:
    """Training-mode forward (batch statistics), the lecture's layer order."""
    x = P["C"][X].flatten(1)
    for i in range(m.n_layers + 1):
        x = x @ P[f"W{i}"]
        if m.batchnorm:
            mean, var = x.mean(0, keepdim=True), x.var(0, keepdim=True, unbiased=False)
            x = P[f"gamma{i}"] * (x - mean) / torch.sqrt(var + m.bn_eps) + P[f"beta{i}"]
        else:
            x = x + P[f"b{i}"]
        if i < m.n_layers:
            x = ACTS[m.activation](x)
    return x


def eval_forward(m, state: dict, X: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Eval-mode forward from a stored state (running statistics), in the state's dtype:
    log-probabilities and the hidden activations."""
    x, hidden, pos = state["C"][X].flatten(1), [], 0
    for i in range(m.n_layers + 1):
        x = x @ state[f"layers.{pos}.weight"]
        if m.batchnorm:
            p = f"layers.{pos + 1}."
            rstd = torch.rsqrt(state[p + "running_var"] + m.bn_eps)
            x = state[p + "gamma"] * (x - state[p + "running_mean"]) * rstd + state[p + "beta"]
        else:
            x = x + state[f"layers.{pos}.bias"]
        if i < m.n_layers:
            x = ACTS[m.activation](x)
            hidden.append(x)
        pos += 3 if m.batchnorm else 2
    return F.log_softmax(x.double(), 1), hidden


def distinct(h: torch.Tensor, rtol: float) -> int:
    """Distinct columns of h by the same rule (greedy, relative to the largest norm)."""
    cols = h.double().T
    top = float(cols.norm(dim=1).max())
    if top == 0:
        return 1
    reps: list[torch.Tensor] = []
    for c in cols:
        if not any(float((c - r).norm()) <= rtol * top for r in reps):
            reps.append(c)
    return len(reps)


def spread(logp: torch.Tensor) -> float:
    d = logp - logp[:1]
    return float(d.var(0, unbiased=False).mean().sqrt())


def check_gradients(f: dict, ref: dict[str, list[float]]) -> None:
    """Exact: the reference's float64 norm at the onset equals the engine's float64 rerun
    (and is 0 before); round-off: the reference sees nothing of that size there; none:
    the reference sees nothing at all."""
    for name, g in f["gradients"].items():
        r = ref[name]
        if g["kind"] == "exact":
            t = g["onset"]
            assert all(v == 0 for v in r[:t]), name
            assert r[t] == pytest.approx(g["size64"], rel=1e-6), name
        elif g["kind"] == "round-off" and g["onset"] is not None:
            top = max(max(v) for v in ref.values())
            assert r[g["onset"]] <= 1e-8 * top, name
        elif g["kind"] == "none":
            assert not any(r), name


def theory(act: str, bn: bool, f: dict) -> list[str]:
    """What exact arithmetic gives (makemore part 3, and DESIGN's measured facts): with
    f(0) = 0 or BatchNorm only the last bias / beta; sigmoid without BN: every tensor."""
    if act == "sigmoid" and not bn:
        return [p for p in f["gradients"]]
    return [f["output_params"][-1]]


def check_text(f: dict, answer: str, verdicts: dict, ref_width: list[int], ref_cd: float) -> None:
    exact = f["exact"]
    if len(exact) == f["n_params"]:
        assert f"All {f['n_params']} parameter tensors receive a gradient." in answer
    else:
        assert "a gradient: " + ", ".join(f"`{x}`" for x in exact) + "." in answer
    cd = f["context_dependence"]["zero"]
    assert ("does not depend on the context at all" in answer) == (cd == 0 == ref_cd)
    assert ("does depend on the context" in answer) == (cd >= f["context_tol"])
    assert ("unigram model" in answer.split("Its output")[1].split(".")[0]) == (
        cd < f["context_tol"]
    )
    assert ("It has settled" in answer) == (f["settled"]["zero"] is True)
    assert ("It is still falling" in answer) == (f["settled"]["zero"] is False)
    if "the neurons stay identical" in answer:
        assert all(w == 1 for w in ref_width)
    if "did not stay so" in answer:
        assert any(w > 1 for w in ref_width)
    assert ("did not train either" in answer) == (not f["compare_trained"])
    if "measured exactly 0 at step 0" in answer:
        assert f["hidden_zero_at_start"]
    for gone in ("nearest to", "the best it can reach", "unigram entropy of the training"):
        assert gone not in answer
    out = set(f["output_params"])
    only = verdicts["Only the output layer gets a nonzero gradient; it alone trains."]
    assert only == (
        ("supported" if set(exact) == out else "partly supported")
        if exact and set(exact) <= out
        else "contradicted"
    )
    same = verdicts["All the neurons emit the same thing."]
    assert (same == "supported") == (f["hidden_identical_at_start"] and set(ref_width) == {1})
    learned = verdicts["The network does not learn anything."]
    assert (learned == "contradicted") == (f["val_loss"]["zero"] < f["baselines"]["uniform"] - 0.05)


@pytest.mark.parametrize(("act", "bn", "shape", "steps"), CELLS)
def test_answer_and_verdicts_hold_to_an_independent_reference(small_ds, act, bn, shape, steps):
    cfg = RunConfig().replace(
        activation=act, batchnorm=bn, n_layers=shape[0], n_hidden=shape[1], steps=steps
    )
    cfgs = zero_init_configs(cfg)
    outcomes = get_or_train(cfgs, small_ds)
    rep = zero_init_report(*outcomes, small_ds)
    f = rep.facts
    assert rep.status["zero"] == "ok"
    ref = reference_gradients(cfgs[0], small_ds, min(steps, CHECK_STEPS))
    check_gradients(f, ref)
    assert f["exact"] == theory(act, bn, f)
    X = data.make_splits(small_ds, 3).Xdev
    logp, hidden = eval_forward(cfg.model, outcomes[0].state, X)
    ref_cd = spread(logp)
    cd = f["context_dependence"]["zero"]
    assert (cd == 0) == (ref_cd == 0) and cd == pytest.approx(ref_cd, rel=1e-3, abs=1e-6)
    eps = torch.finfo(torch.float32).eps
    rows = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))[:WIDTH_ROWS]
    ref_width = [distinct(h[rows], NEURON_EPS_FACTOR * eps) for h in hidden]
    assert [w["distinct_neurons"] for w in f["effective_width"]["zero"]] == ref_width
    verdicts = {c["claim"]: c["verdict"] for c in rep.draft_assessment}
    check_text(f, rep.answer, verdicts, ref_width, ref_cd)
