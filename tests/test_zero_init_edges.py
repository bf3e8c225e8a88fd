"""Zero init's texts at the edges: a float64 spread within float64's own rounding is not
given as the net's; the draft's evidence names each later tensor's own onset; a diverged
run's dev loss reads "diverged"."""

from mlp_core.runs import get_or_train
from mlp_core.zero_init import zero_init_configs, zero_init_report
from mlp_core.zero_init_draft import assess_draft
from ui.zero_init_report import _fmt


def report(cfg, ds):
    return zero_init_report(*get_or_train(zero_init_configs(cfg), ds), ds)


def trained(cfg, ds):
    """The pair's runs and Zero init's report of them, each run trained once."""
    outcomes = get_or_train(zero_init_configs(cfg), ds)
    return outcomes, zero_init_report(*outcomes, ds)


def test_a_spread_within_float64s_rounding_is_not_given_as_the_nets(small_ds, tiny_cfg):
    """Sigmoid, 5 layers: in exact arithmetic the output depends on the context, but the
    first layer's weights stay below 1e-20, so every difference float64 computes between
    two contexts' predictions is its own rounding."""
    cfg = tiny_cfg.replace(activation="sigmoid", n_layers=5, n_hidden=100, steps=300)
    (zero, _), rep = trained(cfg, small_ds)
    f = rep.facts
    assert f["exact_context"] and zero.state["layers.0.weight"].abs().max() < 1e-20
    assert f["context_spread"]["zero"] <= f["context_resolution"]["zero"]
    assert "too little for float64 to measure" in rep.answer
    assert f"spread by {f['context_spread']['zero']:.2e}" not in rep.answer


def test_the_drafts_evidence_gives_each_later_tensor_its_onset(small_ds, tiny_cfg):
    cfg = tiny_cfg.replace(activation="sigmoid", n_layers=3, steps=1)
    f = report(cfg, small_ds).facts
    claim = next(c for c in assess_draft(f) if c["claim"].startswith("Only the output layer"))
    later = [n for n in f["later"] if n not in f["output_params"]]
    assert later
    for n in later:
        assert f"{n} from step {f['gradients'][n]['onset']:,}" in claim["evidence"]


def test_a_diverged_runs_dev_loss_reads_diverged():
    assert _fmt(31.9963, "diverged") == "diverged"
    assert _fmt(float("nan")) == "diverged" and _fmt(2.5, "ok") == "2.5000"


def test_with_batchnorm_and_eps_0_no_tensor_reads_as_having_no_gradient(small_ds, tiny_cfg):
    """eps = 0: BatchNorm divides 0 by 0 at zero init; the exact computation has no value,
    so no tensor's gradient is "none" (exactly zero), each is undefined."""
    cfg = tiny_cfg.replace(batchnorm=True, bn_eps=0.0, steps=20)
    rep = report(cfg, small_ds)
    assert rep.facts["exact_undefined"]
    kinds = {p["gradient_kind"] for p in rep.params}
    assert kinds == {"undefined"}, kinds
    assert {p["verdict"] for p in rep.params} == {"undefined in exact arithmetic (0/0)"}
    assert rep.facts["no_gradient"] == []
