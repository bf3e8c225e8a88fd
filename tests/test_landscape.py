"""The init landscape (mlp_core/landscape.py) against a plain autograd reference written
here: the zero column, the kaiming column and a saturated one (tanh at 10x), at init and
after training; the zero column against Zero init's own answer; the stacks, the store,
Stop, and the CLI.

The reference shares only the initial parameters (model.init_run) and the minibatch
indices (one torch.randint per step from the run's own generator); its forward (x @ W + b,
F.batch_norm, torch activations), its gradients (autograd) and its SGD are its own.
Everything runs in float64, so engine and reference agree to rounding.
"""

import json
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mlp_core import cli, data
from mlp_core import landscape as L
from mlp_core.config import ConfigError, validate
from mlp_core.model import GAINS, init_run
from mlp_core.runs import get_or_train, run_experiment
from mlp_core.store import RunStore
from mlp_core.train import stack_key, train_stack
from mlp_core.zero_init import zero_init_configs, zero_init_report
from tests.test_zero_init_exact import word_lists
from tests.zero_init_reference import LONG, examples

ACT = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}
CHECKED = (0.0, 1.0, 10.0)  # the zero, the kaiming and a saturated column


def reference_forward(cfg, P: dict, X: torch.Tensor, hidden: list | None = None):
    """Logits of the lecture's net from the parameter dict (init_run's names), BatchNorm in
    training mode; each hidden activation's output appended to ``hidden``."""
    m = cfg.model
    x = P["C"][X].flatten(1)
    for i in range(m.n_layers + 1):
        x = x @ P[f"W{i}"]
        if f"gamma{i}" in P:
            x = F.batch_norm(x, None, None, P[f"gamma{i}"][0], P[f"beta{i}"][0], True, 0.0, 1e-5)
        else:
            x = x + P[f"b{i}"]
        if i < m.n_layers:
            x = ACT[m.activation](x)
            if hidden is not None:
                x.retain_grad()
                hidden.append(x)
    return x


def reference_at_init(cfg, ds, X, Y) -> dict:
    init = init_run(cfg.model, ds.vocab_size, cfg.data.block_size, cfg.train.seed)
    P = {k: v.double().requires_grad_(True) for k, v in init.items()}
    hidden: list = []
    loss = F.cross_entropy(reference_forward(cfg, P, X, hidden), Y)
    loss.backward()
    act_std = [h.detach().std(unbiased=False).item() for h in hidden]
    grad_std = [h.grad.std(unbiased=False).item() for h in hidden]
    if cfg.model.activation == "relu":
        sat = [(h.detach() == 0).all(0).double().mean().item() for h in hidden]
    elif cfg.model.activation == "tanh":
        sat = [(h.detach().abs() > 0.97).double().mean().item() for h in hidden]
    else:
        sat = [((h < 0.03) | (h > 0.97)).double().mean().item() for h in hidden]
    ratio = grad_std[0] / grad_std[-1] if grad_std[-1] > 0 else None
    return {
        "loss": loss.item(),
        "act_std": act_std,
        "grad_std": grad_std,
        "sat": sat,
        "ratio": ratio,
    }


def reference_train(cfg, ds) -> float:
    """Train cfg (no BatchNorm) with autograd and SGD; its dev loss."""
    t, sp = cfg.train, data.make_splits(ds, cfg.data.block_size)
    init = init_run(cfg.model, ds.vocab_size, cfg.data.block_size, t.seed)
    P = {k: v.double().requires_grad_(True) for k, v in init.items()}
    g = torch.Generator().manual_seed(t.seed)
    for _ in range(t.steps):
        ix = torch.randint(0, len(sp.Ytr), (t.batch_size,), generator=g)
        loss = F.cross_entropy(reference_forward(cfg, P, sp.Xtr[ix]), sp.Ytr[ix])
        for p in P.values():
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in P.values():
                p -= t.lr * p.grad
    with torch.no_grad():
        return F.cross_entropy(reference_forward(cfg, P, sp.Xdev), sp.Ydev).item()


def close(a, b, rel=1e-9, abs_=1e-12) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def test_the_zero_and_kaiming_columns_are_zero_inits_own_runs():
    base = L.base_config("sigmoid", batchnorm=True, steps=700, seed=3)
    zero, kaiming = zero_init_configs(base.replace(n_layers=4))
    assert L.full_config(base, 4, 0.0) == zero
    assert L.full_config(base, 4, 1.0) == kaiming
    assert L.cell_config(base, 4, 0.0) == zero.replace(evaluation="dev")  # what a cell shows
    assert L.cell_config(base, 4, 1.0) == kaiming.replace(evaluation="dev")
    other = L.cell_config(base, 4, 3.0)
    assert other.model.init == "kaiming" and other.model.init_gain == 3.0 * GAINS["sigmoid"]
    assert [L.gain(L.cell_config(base, 4, s)) for s in (0.0, 1.0, 0.5)] == [0.0, 1.0, 0.5]


def test_the_scales_of_one_depth_share_one_stack_and_depths_do_not():
    base = L.base_config()
    keys = {d: {stack_key(c) for c in L.depth_configs(base, d)} for d in L.DEPTHS}
    assert all(len(k) == 1 for k in keys.values())
    assert len(set().union(*keys.values())) == len(L.DEPTHS)


@pytest.mark.parametrize(
    "activation, batchnorm", [("tanh", False), ("tanh", True), ("relu", False), ("sigmoid", False)]
)
def test_at_init_matches_plain_autograd(small_ds, activation, batchnorm):
    base = L.base_config(activation, batchnorm, dtype="float64")
    cells = L.at_init(base, small_ds, depths=(1, 3), scales=CHECKED, rows=200)
    sp = data.make_splits(small_ds, 3)
    ix = torch.randperm(len(sp.Ytr), generator=torch.Generator().manual_seed(0))[:200]
    for cell in cells:
        cfg = L.cell_config(base, cell["depth"], cell["scale"])
        ref = reference_at_init(cfg, small_ds, sp.Xtr[ix], sp.Ytr[ix])
        sat = cell["dead" if activation == "relu" else "saturated"]
        assert close(cell["loss"], ref["loss"])
        assert all(close(a, b) for a, b in zip(cell["act_std"], ref["act_std"], strict=True))
        assert all(close(a, b) for a, b in zip(cell["grad_std"], ref["grad_std"], strict=True))
        assert sat == pytest.approx(ref["sat"], abs=1e-6)  # a unit in 25,600 is 4e-5
        assert close(cell["grad_ratio"], ref["ratio"], rel=1e-7)


def test_at_init_the_lectures_diagnostics_read_as_the_lecture_says(small_ds):
    cells = {(c["depth"], c["scale"]): c for c in L.at_init(L.base_config(), small_ds)}
    zero, kaiming, big = cells[(8, 0.0)], cells[(8, 1.0)], cells[(8, 10.0)]
    assert zero["act_std"] == [0.0] * 8 and zero["grad_ratio"] is None  # nothing flows
    assert min(kaiming["act_std"]) > 0.5 and max(kaiming["saturated"]) < 0.3
    assert min(big["saturated"]) > 0.8  # tanh at 10x: most units at +-1
    assert cells[(8, 0.1)]["act_std"][-1] < 1e-3 * cells[(1, 0.1)]["act_std"][0]  # vanishing


def test_trained_cells_match_plain_autograd_and_come_back_from_the_store(small_ds, tmp_path):
    base = L.base_config("tanh", steps=60, dtype="float64")
    store = RunStore(tmp_path)
    rows = list(L.sweep(base, small_ds, store, depths=(1, 2), scales=CHECKED))
    assert [[c["depth"] for c in row] for row in rows] == [[1] * 3, [2] * 3]
    for cell in rows[0] + rows[1]:
        ref = reference_train(L.cell_config(base, cell["depth"], cell["scale"]), small_ds)
        assert cell["status"] == "ok" and not cell["cached"]
        assert close(cell["val_loss"], ref, rel=1e-8)
        assert "train_loss" not in cell  # a cell evaluates what it shows: the dev split
    again = [
        c for row in L.sweep(base, small_ds, store, depths=(1, 2), scales=CHECKED) for c in row
    ]
    assert all(c["cached"] for c in again)
    assert [c["val_loss"] for c in again] == [c["val_loss"] for c in rows[0] + rows[1]]
    assert L.stored(base, small_ds, store, depths=(1, 2), scales=CHECKED) == again


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_the_zero_column_agrees_with_zero_inits_answer(small_ds, tmp_path, activation):
    base = L.base_config(activation, steps=300)
    store = RunStore(tmp_path)
    (row,) = L.sweep(base, small_ds, store, depths=(3,), scales=(0.0, 1.0))
    zero, kaiming = row
    cfgs = zero_init_configs(base.replace(n_layers=3))
    rep = run_experiment(cfgs, zero_init_report, small_ds, store)
    # the cells measure the dev split only; their training is Zero init's runs' arithmetic,
    # so the dev loss is the same to the rounding of the evaluation's sums (its chunks
    # follow the stack's size)
    assert zero["val_loss"] == pytest.approx(rep.val_loss["zero"], rel=1e-6)
    assert kaiming["val_loss"] == pytest.approx(rep.val_loss["compare"], rel=1e-6)
    f = rep.facts
    assert zero["exact"] == f["exact"] and zero["too_small"] == f["too_small"]
    assert zero["trains"] == [n for n in f["exact"] if n not in f["too_small"]]
    moved_roundoff = [n for n, g in f["gradients"].items() if g["kind"] != "exact" and g["moved"]]
    assert zero["roundoff"] == moved_roundoff
    if activation == "tanh":  # only the output bias trains: the net is a unigram model
        assert zero["trains"] == ["layers.6.bias"]
        assert zero["place"].endswith(f"the unigram model ({rep.baselines['dev_unigram']:.4f})")


@settings(
    max_examples=examples(12),
    derandomize=not LONG,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    activation=st.sampled_from(["tanh", "sigmoid", "relu"]),
    batchnorm=st.booleans(),
    depth=st.integers(1, 3),
    steps=st.sampled_from([1, 2, 3, 10, 37, 150]),
    seed=st.integers(0, 500),
    words=st.one_of(word_lists(max_words=80), st.just(None)),
)
def test_the_zero_columns_lists_say_what_its_tensors_did(
    small_ds, activation, batchnorm, depth, steps, seed, words
):
    """A zero cell's "trains", "too_small" and "roundoff" against its own weights (moved or
    not: the final tensor against the zero init's known start, compared exactly) and its
    "exact" against Zero init's answer on the same run."""
    ds = small_ds if words is None else data.dataset_from_words(words, "generated")
    base = L.base_config(activation, batchnorm, steps, seed)
    cfg = L.cell_config(base, depth, 0.0)
    try:
        validate(cfg, len(data.make_splits(ds, cfg.data.block_size).Ytr))
    except ConfigError:
        assume(False)  # the page refuses it: fewer training rows than a batch
    (o,) = get_or_train([cfg], ds)  # the cell's run, as sweep trains it
    cell = L.trained_cell(depth, 0.0, o, ds)  # and reads it
    start = init_run(cfg.model, ds.vocab_size, cfg.data.block_size, seed)["C"]
    moved = set()
    for name, t in o.state.items():
        if "running" in name:
            continue  # BatchNorm's statistics are not parameters
        was = start if name == "C" else torch.ones_like(t) if "gamma" in name else 0 * t
        if not torch.equal(t, was):
            moved.add(name)
    assert set(cell["trains"]) | set(cell["roundoff"]) == moved
    assert not set(cell["trains"]) & set(cell["roundoff"])
    assert set(cell["trains"]) | set(cell["too_small"]) == set(cell["exact"])
    assert not set(cell["too_small"]) & moved
    full = get_or_train(zero_init_configs(base.replace(n_layers=depth)), ds)
    assert cell["exact"] == zero_init_report(*full, ds).facts["exact"]


def test_a_cell_trains_as_its_run_with_every_measurement_does(small_ds):
    """The cell's evaluation leaves out the training split, the diagnostics and most curve
    points; its steps are the full run's, bit for bit, and so is its dev loss."""
    base = L.base_config("tanh", steps=400)
    cells = L.depth_configs(base, 3, scales=CHECKED)
    full = [L.full_config(base, 3, s) for s in CHECKED]
    got = train_stack(cells, small_ds, workers=1)
    want = train_stack(full, small_ds, workers=1)
    for g, w in zip(got, want, strict=True):
        assert g.metrics["val_loss"] == w.metrics["val_loss"]
        assert all(torch.equal(g.state[n], w.state[n]) for n in w.state)
        assert g.metrics["train_loss"] is None and g.metrics["diagnostics"] is None
        assert g.metrics["curve"]["step"] == list(range(200, 401, 40))  # what regime reads
    assert got[1].metrics["curve"]["val"] == want[1].metrics["curve"]["val"][20::4]
    split = train_stack(cells, small_ds, workers=2)  # both cores: the same training
    for g, o in zip(got, split, strict=True):
        assert all(torch.equal(g.state[n], o.state[n]) for n in o.state)
        assert o.metrics["val_loss"] == pytest.approx(g.metrics["val_loss"], rel=1e-6)


def test_a_stop_ends_the_sweep_after_the_stopped_stack(small_ds, tmp_path):
    base = L.base_config(steps=80)
    store = RunStore(tmp_path)
    rows = list(L.sweep(base, small_ds, store, depths=(1, 2, 3), on_progress=lambda d, p: d == 2))
    assert [row[0]["depth"] for row in rows] == [1, 2]
    assert {c["status"] for c in rows[1]} == {"stopped"}
    assert len(L.stored(base, small_ds, store, depths=(1, 2, 3))) == len(L.SCALES)


def test_cli_json_has_both_views(tmp_path, capsys):
    words = tmp_path / "names.txt"
    words.write_text("\n".join(data.default_words()[:2000]))
    argv = ["landscape", "--names", str(words), "--max-depth", "2", "--steps", "30"]
    assert cli.main(argv + ["--json", "--cache-dir", str(tmp_path / "c")]) == 0
    out = json.loads(capsys.readouterr().out)
    n = 2 * len(L.SCALES)
    assert len(out["at_init"]) == n and len(out["trained"]) == n
    assert out["depths"] == [1, 2] and out["scales"] == list(L.SCALES)
    assert all(c["val_loss"] is not None for c in out["trained"])
    assert cli.main(argv + ["--max-depth", "9"]) == 2
    assert cli.main(argv + ["--steps", "0"]) == 2
