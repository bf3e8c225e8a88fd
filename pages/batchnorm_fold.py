"""Question 2: train an MLP with BatchNorm, fold every BN into the Linear before it, and prove
that the inference forward pass is unchanged (and equal to torch's own fusion)."""

import streamlit as st

import ui

ui.page_entry()  # before the page's heavy imports: see ui/navigation.py

from itertools import zip_longest

import pandas as pd

from mlp_core import bn_fold
from mlp_core.bn_fold import FoldError, FoldReport, fold_report
from mlp_core.config import RunConfig
from mlp_core.model import bn_after
from mlp_core.run_text import plural
from mlp_core.store import run_key
from ui import take_home

PAGE = "batchnorm-fold"
_F = bn_fold.FOLD_DEFAULT  # the question's own defaults
DEFAULTS = {"layers": _F.model.n_layers, "n_hidden": _F.model.n_hidden, "steps": _F.train.steps}
WIDGETS = {  # URL name: label, its ui.BOUNDS entry, help
    "layers": (
        "Hidden layers",
        "n_layers",
        "Linear→BN→tanh blocks, then the output Linear (→BN): 2 gives the 3-layer MLP",
    ),
    "n_hidden": ("Width", "n_hidden", "neurons per hidden layer"),
    "steps": ("Steps", "steps", "SGD steps, batch 32"),
}
OUTPUT_BN_LABEL = "BatchNorm after the output Linear too"
OUTPUT_BN_HELP = (
    "On: the lecture's deep net (a BN after every Linear). Off: its 2-layer BN net, BN on the "
    "hidden layers only and the output Linear keeping its bias"
)


def controls() -> RunConfig:
    with st.container(border=True):
        for col, (name, (label, bound, help_)) in zip(st.columns(3), WIDGETS.items()):
            key = f"bf_{name}"
            if key not in st.session_state:  # first visit: from the URL, else the default
                st.session_state[key] = ui.param(name, DEFAULTS[name], bound=bound)
            step = 500 if name == "steps" else 1
            col.number_input(label, *ui.bounds(bound), step=step, key=key, help=help_)
        if "bf_output_bn" not in st.session_state:
            st.session_state["bf_output_bn"] = ui.param("output_bn", True)
        st.toggle(OUTPUT_BN_LABEL, key="bf_output_bn", help=OUTPUT_BN_HELP)
    values = {n: int(st.session_state[f"bf_{n}"]) for n in DEFAULTS}
    output_bn = bool(st.session_state["bf_output_bn"])
    ui.set_params(values | {"output_bn": output_bn})
    return RunConfig().replace(
        n_layers=values["layers"],
        n_hidden=values["n_hidden"],
        steps=values["steps"],
        batchnorm=True,
        output_bn=output_bn,
        seed=ui.seed(),
    )


@st.cache_data(
    max_entries=16, show_spinner="Folding, and checking on the dev split…", hash_funcs=ui.HASH_FUNCS
)
def cached_report(outcome, ds) -> FoldReport:
    return fold_report(outcome, ds)


def _blocks(arch: list[str]) -> list[str]:
    """A layer list as one 'Linear → … ' string per Linear."""
    out: list[list[str]] = []
    for name in arch:
        if name.startswith("Linear") or not out:
            out.append([])
        out[-1].append(name)
    return [" → ".join(b) for b in out]


def show_answer(rep: FoldReport) -> None:
    """The verdict and its text, both the core's (the CLI prints the same)."""
    (st.success if rep.same else st.warning)(rep.text)  # opens with "Same forward pass."
    for note in rep.metrics["not_folded"]:
        st.warning(f"Not folded — {note}")


def show_architecture(m: dict) -> None:
    st.subheader("The network, before and after")
    rows = zip_longest(_blocks(m["architecture_before"]), _blocks(m["architecture_after"]))
    df = pd.DataFrame(rows, columns=["with BatchNorm", "folded (W', b')"]).fillna("")
    st.table(df.style.hide())  # wraps: no layer list is ever cut
    c = st.columns(2)
    c[0].metric("Parameters with BN", f"{m['params_before']:,}")
    delta = f"{m['params_after'] - m['params_before']:,}"
    c[1].metric("Parameters folded", f"{m['params_after']:,}", delta, delta_color="off")
    st.caption(
        "' marks a Linear that absorbed a BN: the weights keep their shape, and each BN's γ, β "
        f"and running mean, var ({m['buffers_before']:,} running-statistic values with BN, "
        f"{m['buffers_after']:,} folded) become one bias b' per neuron. Not foldable: a BN in "
        "training mode, or a BN with a nonlinearity on both sides (no Linear to absorb it); a "
        "BN after an activation folds forward into the next Linear's rows."
    )


def show_proof(m: dict, rep: FoldReport) -> None:
    st.subheader("The proof, on the dev split (eval mode)")
    c = st.columns(4)
    c[0].metric("Max |logit difference|", f"{m['max_abs_diff_logits']:.2e}")
    c[1].metric("Argmax agreement", f"{100 * m['argmax_agreement']:.2f}%")
    c[2].metric("Dev loss with BN", f"{m['val_loss_bn']:.6f}")
    c[3].metric(
        "Dev loss folded",
        f"{m['val_loss_folded']:.6f}",
        delta=f"{m['val_loss_folded'] - m['val_loss_bn']:+.1e}",
        delta_color="off",
    )
    st.caption(
        f"Round-off allows {m['logits_tolerance']:.1e} here: it grows with the terms every "
        f"sum adds up (round-off scale {m['round_off_scale']:,.3g}; logits "
        f"±{m['max_abs_logit']:,.1f}), and with the BN net's own round-off, its float32 "
        f"logits against its float64 ones ({m['round_off_floor']:.1e}). In float64 the two "
        f"nets differ by {m['max_abs_diff_logits_float64']:.1e}."
    )
    left, right = st.columns([3, 2])
    left.altair_chart(ui.charts.fold_scatter(rep.scatter), width="stretch")
    ref = m["max_abs_diff_vs_torch_reference"]
    shown = "n/a" if ref is None else "0 (bit-identical)" if ref == 0 else f"{ref:.1e}"
    right.metric("Ours vs torch's fuse_linear_bn_eval", shown)
    right.caption(
        "Max |W', b' difference| against `torch.nn.utils.fusion.fuse_linear_bn_eval` on the "
        "same weights. torch stores W as (out, in), we as (in, out): we compare W' with the "
        "transpose of torch's."
    )
    right.metric("If the BN were left in training mode", f"{m['train_mode_diff']:.2f}")
    right.caption(
        f"Max |logit difference| when the BN model runs in training mode (minibatches of "
        f"{m['train_mode_batch_size']}): it normalises with each batch's own mean and "
        "variance, so its output depends on the other rows. Only the eval-mode BN — a fixed "
        "affine map — can be folded; fold_model refuses a BN in training mode."
    )


def _tex(x: float) -> str:
    """A small number as LaTeX, 1e-05 -> 1 \\times 10^{-5}."""
    mantissa, exponent = f"{x:.2e}".split("e")
    return rf"{float(mantissa):g} \times 10^{{{int(exponent)}}}"


def show_math(ex: dict | None) -> None:
    st.subheader("The math, on one real neuron")
    if ex is None:
        st.info("No Linear→BN pair to show.")
        return
    st.latex(  # one short line each: a phone's screen holds every line
        r"\begin{aligned} s &= \frac{\gamma}{\sqrt{\mathrm{var} + \varepsilon}} \\"
        r" W' &= W \cdot s \\ b' &= (b - \mu)\, s + \beta \end{aligned}"
    )
    w = ", ".join(f"{x:+.4f}" for x in ex["w"])
    wf = ", ".join(f"{x:+.4f}" for x in ex["w_folded"])
    j, b = ex["neuron"], f"{ex['b']:+.4f}" if ex["has_bias"] else "0"
    st.markdown(
        f"Neuron {j} of `{ex['linear']}` (fan-in {ex['fan_in']}) and its BN `{ex['bn']}`: "
        f"γ = {ex['gamma']:.4f}, β = {ex['beta']:+.4f}, μ = {ex['running_mean']:+.4f}, "
        f"var = {ex['running_var']:.4f}, ε = {ex['eps']:g}, b = {b}"
        + ("." if ex["has_bias"] else " (the Linear has no bias: β does its job).")
    )
    st.latex(
        rf"s = \frac{{{ex['gamma']:.4f}}}{{\sqrt{{{ex['running_var']:.4f} + {_tex(ex['eps'])}}}}}"
        rf" = {ex['s']:.4f}"
    )
    st.latex(
        rf"\begin{{aligned}} W_{{:, {j}}} &= [{w}, \dots] \\"
        rf" W'_{{:, {j}}} &= W_{{:, {j}}} \times {ex['s']:.4f} \\ &= [{wf}, \dots] \end{{aligned}}"
    )
    st.latex(
        rf"\begin{{aligned}} b'_{{{j}}} &= ({b} - ({ex['running_mean']:+.4f})) \times {ex['s']:.4f}"
        rf" \\ &\quad + ({ex['beta']:+.4f}) \\ &= {ex['b_folded']:+.4f} \end{{aligned}}"
    )
    st.caption(
        "Why it works: in eval mode BN(h) = γ (h − μ)/√(var + ε) + β uses fixed μ and "
        "var, so it is h·s + (β − μ s), and h = xW + b makes that x(W s) + (b − μ)s + β."
    )


def show_timing(m: dict, outcome, ds, key: str) -> None:
    st.subheader("Inference time, with and without BN")
    if st.button("Measure again", key="bf_time"):
        st.session_state[f"bf_timing_{key}"] = bn_fold.timing(outcome, ds)
    t = st.session_state.get(f"bf_timing_{key}") or {
        "bn": m["eval_seconds_bn"],
        "folded": m["eval_seconds_folded"],
    }
    c = st.columns(3)
    c[0].metric("With BN", _ms(t["bn"]))
    c[1].metric("Folded", _ms(t["folded"]))
    c[2].metric("Speed-up", f"{t['bn'] / t['folded']:.2f}×")
    st.caption(
        f"One eval pass over the {m['dev_rows']:,} dev rows on this server, one thread, best of 5, "
        "the two models taking turns."
    )


def _ms(seconds: float) -> str:
    """Milliseconds to a tenth, or to two significant digits below 1 ms (a tiny dev split's
    pass is never shown as 0.0 ms beside a finite speed-up)."""
    ms = 1000 * seconds
    return f"{ms:.1f} ms" if ms >= 1 else f"{ms:.2g} ms"


def show_download(cfg: RunConfig, rep: FoldReport, key: str) -> None:
    st.download_button(
        "Download the folded weights (.pt)",
        bn_fold.checkpoint_bytes(cfg, rep),
        file_name=f"folded-{key[:12]}.pt",
        mime="application/octet-stream",
    )
    st.caption(
        "`torch.load(f)['state_dict']`: C, then layers.i.weight (fan_in, fan_out) and "
        "layers.i.bias (1, fan_out); forward x @ W + b, tanh between, no BatchNorm."
    )


def intro(cfg: RunConfig) -> str:
    """The question, and the net it is asked of: the one the widgets set."""
    m = cfg.model
    pairs = sum(bn_after(m, last=i == m.n_layers) for i in range(m.n_layers + 1))
    each = "after it" if m.n_layers == 1 else "after each"
    output = (
        "the output Linear→BatchNorm"
        if bn_after(m, last=True)
        else "the output Linear, with its bias and no BatchNorm"
    )
    return (
        "*Set up a small MLP with batchnorms, train it, then fold each BatchNorm's γ/β into "
        "the preceding Linear's W, b (a new W', b') and erase the BatchNorm. Does inference "
        f"give the same forward pass?* Here: {plural(pairs, 'Linear→BatchNorm layer')} to "
        f"fold ({plural(m.n_layers, 'hidden layer')} of {m.n_hidden} with {m.activation} "
        f"{each}, then {output}), trained {cfg.train.steps:,} steps; measured on the dev "
        "split of the data in use."
    )


question = st.empty()  # written once the widgets are read: it names their net
dataset = ui.current_dataset()
config = controls()
question.markdown(intro(config))
found = ui.result_or_button(
    [config], dataset, ["with BatchNorm"], PAGE, "Train and fold", autorun_first_visit=True
)
outcome = found[0] if found else None
if outcome is None:
    st.info("Press **Train and fold** (a few seconds at the defaults).")
    st.stop()
if outcome.status != "ok":
    at = outcome.metrics.get("diverged_at") or outcome.metrics.get("steps")
    st.error(
        f"The run {outcome.status} at step {at}: nothing to fold. Train it again, or "
        "try fewer steps or a smaller net."
    )
    st.stop()
run = run_key(config, dataset.sha256)
try:
    report = cached_report(outcome, dataset)
except (FoldError, RuntimeError) as e:
    st.error(f"Could not fold this run: {e}")
    st.stop()
show_answer(report)
show_architecture(report.metrics)
show_proof(report.metrics, report)
show_math(report.metrics["neuron_example"])
show_timing(report.metrics, outcome, dataset, run)
show_download(config, report, run)
take_home.notebook("fold", config, dataset, PAGE)
