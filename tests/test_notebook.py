"""The notebook arithmetic (the lecture's loop: x @ W + b, autograd) trains the same model
as the engine: in float64 the two agree to rounding, so any difference a learner sees in
float32 is the arithmetic's, not a different model."""

import pytest

from mlp_core.config import RunConfig
from mlp_core.train import train_stack


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("init", ["kaiming", "zeros"])
def test_notebook_matches_the_engine_in_float64(small_ds, activation, batchnorm, init):
    cfg = RunConfig().replace(
        n_layers=2, n_hidden=16, steps=60, dtype="float64", activation=activation,
        batchnorm=batchnorm, init=init, lr_decay_step=40,
    )  # fmt: skip
    (eng,) = train_stack([cfg], small_ds)
    (nb,) = train_stack([cfg.replace(arithmetic="notebook")], small_ds)
    assert nb.status == eng.status == "ok"
    assert set(nb.state) == set(eng.state)
    for name, t in eng.state.items():
        assert nb.state[name].shape == t.shape, name
        assert (nb.state[name] - t).abs().max() <= 1e-9 * max(1.0, float(t.abs().max())), name
    for key in ("train", "val"):
        assert nb.metrics["curve"][key] == pytest.approx(eng.metrics["curve"][key], abs=1e-10)
    assert nb.metrics["curve"]["step"] == eng.metrics["curve"]["step"]
    a, b = nb.metrics["grad_norms_first"], eng.metrics["grad_norms_first"]
    assert list(a) == list(b)
    top = max(max(v) for v in b.values())
    for name in a:  # round-off far below the largest gradient differs, as it should
        assert a[name] == pytest.approx(b[name], rel=1e-7, abs=1e-12 * top), name
    trained = {p["name"]: p["trained"] for p in eng.metrics["params"]}
    assert {p["name"]: p["trained"] for p in nb.metrics["params"]} == trained
    assert nb.metrics["diagnostics"]["steps"] == eng.metrics["diagnostics"]["steps"]


def test_notebook_run_stops_and_diverges_like_the_engine(small_ds):
    cfg = RunConfig().replace(n_layers=1, n_hidden=8, steps=80, arithmetic="notebook")
    (stopped,) = train_stack([cfg], small_ds, on_progress=lambda p: p.step >= 20)
    assert stopped.status == "stopped" and stopped.metrics["steps"] == 20
    (bad,) = train_stack([cfg.replace(lr=1e6)], small_ds)
    assert bad.status == "diverged" and bad.metrics["diverged_at"] is not None


def test_notebook_matches_the_engine_in_the_lectures_bn_layout(small_ds):
    """BatchNorm on the hidden layer only, momentum 0.001, the output Linear with its bias."""
    cfg = RunConfig().replace(
        n_layers=1, n_hidden=16, steps=50, dtype="float64", batchnorm=True, output_bn=False,
        bn_momentum=0.001,
    )  # fmt: skip
    (eng,) = train_stack([cfg], small_ds)
    (nb,) = train_stack([cfg.replace(arithmetic="notebook")], small_ds)
    assert set(nb.state) == set(eng.state) and "layers.3.bias" in nb.state
    for name, t in eng.state.items():
        assert (nb.state[name] - t).abs().max() <= 1e-9 * max(1.0, float(t.abs().max())), name


def test_notebook_runs_count_their_own_steps_one_after_another(small_ds):
    cfg = RunConfig().replace(n_layers=1, n_hidden=8, steps=200, arithmetic="notebook")
    seen = []
    runs = train_stack([cfg, cfg.replace(seed=7)], small_ds, on_progress=seen.append)
    assert {p.steps for p in seen} == {200}  # each run's own steps, never both added
    assert max(p.step for p in seen) == 200
    assert [p.run for p in seen if p.step == 200] == [0, 1] and seen[-1].runs == 2
    assert seen[-1].fraction == 1.0 and seen[0].fraction < 0.5
    for o in runs:  # the histograms end at the run's last step, as the engine's do
        assert o.metrics["diagnostics"]["hist_steps"][-1] == 199
