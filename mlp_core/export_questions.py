"""The cells only the two questions' notebooks have: for zero init, the gradient table and
the lecture's histograms; for BatchNorm folding, the fold written out, the proof on the dev
split and torch's own fusion as the reference. export.py assembles them.
"""

from __future__ import annotations

from .export_cells import ACT_CLASS, Cells, code
from .run_text import plural

GRADIENT_TABLE = '''
def onset(norms):
    """The first step whose gradient is not exactly zero; None: zero at every step."""
    return next((i for i, n in enumerate(norms) if n > 0), None)


def when(step):
    return "never" if step is None else f"step {step}"


APP = EXPECTED["zero"]["gradients"]
print(f"{'tensor':<18}{'shape':>10} | {'nonzero from':>12}{'largest':>10} | app: "
      f"{'nonzero from':>12}{'largest':>10} | app, exact arithmetic")
same = 0
for name, p in named_parameters(zero_C, zero_layers):
    norms, app = zero_grads[name], APP[name]
    here = (onset(norms), max(norms, default=0.0))
    same += here == (app["onset"], app["largest"])
    print(f"{name:<18}{' x '.join(map(str, p.shape)):>10} | {when(here[0]):>12}{here[1]:10.2e} | "
          f"     {when(app['onset']):>12}{app['largest']:10.2e} | {app['exact']}")
print(f"gradient table: {same} of {len(APP)} tensors the same first step and largest norm "
      f"as the app's, over the first {len(norms)} steps")
'''

HISTOGRAMS = '''
def draw(ax, t, label):
    """One histogram line (the lecture's torch.histogram), over the finite values only."""
    t = None if t is None else t.detach().flatten()
    t = None if t is None else t[torch.isfinite(t)]
    if t is None or t.numel() == 0:
        print(f"{label}: no finite value")
        return
    print(f"{label}: mean {t.mean().item():+.2e}, std {t.std().item():.2e}")
    hy, hx = torch.histogram(t, density=True)
    ax.plot(hx[:-1], hy, label=label)


def histograms(layers, title):
    """The last training step, as the lecture plots it: the hidden activations, their
    gradients, and the weights' gradients, layer by layer."""
    fig, axes = plt.subplots(1, 3, figsize=(20, 4))
    hidden = [(i, layer) for i, layer in enumerate(layers[:-1]) if isinstance(layer, $act)]
    for i, layer in hidden:
        draw(axes[0], layer.out, f"layer {i} ($act)")
    for i, layer in hidden:
        draw(axes[1], layer.out.grad, f"layer {i} ($act) gradient")
    for i, layer in enumerate(layers):
        if isinstance(layer, Linear):
            draw(axes[2], layer.weight.grad, f"layers.{i}.weight {tuple(layer.weight.shape)}")
    for ax, what in zip(axes, ("activation", "gradient", "weights gradient")):
        ax.set_title(f"{title}: {what} distribution")
        if ax.lines:
            ax.legend(fontsize=7)
    plt.show()
'''


def zero_init_cells(activation: str) -> Cells:
    """The histogram helper (before the runs) and the gradient table (after them)."""
    return [
        (
            "The lecture's histograms, drawn after a net's last training step: activations, "
            "their gradients, the weights' gradients. A line is a histogram; a tall spike is "
            "a layer whose values are all the same (all zero at zero init with tanh or ReLU).",
            code(HISTOGRAMS, act=ACT_CLASS[activation]),
        )
    ]


def gradient_table_cell(tracked: int) -> Cells:
    return [
        (
            "Which tensors got a gradient, and from which step: over each run's first "
            f"{plural(tracked, 'step')} (a run that diverged: until it did), the first step "
            "whose gradient is not exactly zero in this notebook's float32, and its largest "
            "norm; beside them the app's (the same arithmetic: the same bits), and the app's "
            "verdict in exact arithmetic, which tells a real gradient from round-off: a "
            "BatchNorm blows round-off up to float32 size, and a deep sigmoid net's real "
            "gradient can be too small for float32.",
            code(GRADIENT_TABLE),
            ["gradient-table"],
        )
    ]


FOLD = '''
def fold(linear, bn):
    """The Linear equal to bn(linear(x)) in eval mode: s = gamma / sqrt(running_var + eps),
    W' = W * s (column j times s_j), b' = (b - running_mean) * s + beta (b = 0 without a
    bias). Written as torch's fuse_linear_bn_weights writes it, so both round alike."""
    s = bn.gamma * torch.rsqrt(bn.running_var + bn.eps)
    b = linear.bias if linear.bias is not None else torch.zeros_like(bn.running_mean)
    return Linear(linear.weight * s, (b - bn.running_mean) * s + bn.beta)


with torch.no_grad():
    folded = []
    for layer in layers:
        if isinstance(layer, BatchNorm1d):
            folded[-1] = fold(folded[-1], layer)  # the Linear before it absorbs it
        else:
            folded.append(layer)
print("with BatchNorm:", " -> ".join(type(layer).__name__ for layer in layers))
print("folded:        ", " -> ".join(type(layer).__name__ for layer in folded))

linear, bn, j = layers[0], layers[1], 0  # one neuron of the first Linear -> BatchNorm
s = (bn.gamma / torch.sqrt(bn.running_var + bn.eps))[j].item()
print(f"neuron {j}: gamma {bn.gamma[j].item():.4f}, beta {bn.beta[j].item():+.4f}, "
      f"running mean {bn.running_mean[j].item():+.4f}, var {bn.running_var[j].item():.4f}, "
      f"eps {bn.eps:g}: s = {s:.4f}")
print("W[:3, j] =", [round(w, 4) for w in linear.weight[:3, j].tolist()],
      "-> W'[:3, j] =", [round(w, 4) for w in folded[0].weight[:3, j].tolist()])
print(f"b'[j] = (b - mean) * s + beta = {folded[0].bias[j].item():+.4f}")
'''

PROOF = """
@torch.no_grad()
def logits(C, layers, X):
    x = C[X].view(X.shape[0], -1)
    for layer in layers:
        x = layer(x)
    return x


for layer in layers:
    layer.training = False  # only the eval-mode BatchNorm is a fixed map that folds
bn_logits, folded_logits = logits(C, layers, Xdev), logits(C, folded, Xdev)
max_diff = (bn_logits - folded_logits).abs().max().item()
agree = (bn_logits.argmax(1) == folded_logits.argmax(1)).double().mean().item()
loss_bn = F.cross_entropy(bn_logits.double(), Ydev).item()
loss_folded = F.cross_entropy(folded_logits.double(), Ydev).item()
print(f"max |logits difference| {max_diff:.2e} over {len(Ydev)} dev rows (logits up to "
      f"{bn_logits.abs().max().item():.1f}); argmax agreement {100 * agree:.2f}%")
print(f"dev loss with BatchNorm {loss_bn!r}, folded {loss_folded!r}")
"""

REFERENCE = """
from torch.nn.utils.fusion import fuse_linear_bn_eval

worst = 0.0
with torch.no_grad():
    for linear, bn in zip(layers, layers[1:]):
        if isinstance(linear, Linear) and isinstance(bn, BatchNorm1d):
            fan_in, fan_out = linear.weight.shape
            lin = torch.nn.Linear(fan_in, fan_out, bias=linear.bias is not None).eval()
            ref = torch.nn.BatchNorm1d(fan_out, eps=bn.eps).eval()
            lin.weight.copy_(linear.weight.T)  # torch keeps W as (out, in)
            if linear.bias is not None:
                lin.bias.copy_(linear.bias)
            ref.weight.copy_(bn.gamma)
            ref.bias.copy_(bn.beta)
            ref.running_mean.copy_(bn.running_mean)
            ref.running_var.copy_(bn.running_var)
            fused, ours = fuse_linear_bn_eval(lin, ref), fold(linear, bn)
            worst = max(worst, (ours.weight - fused.weight.T).abs().max().item())
            worst = max(worst, (ours.bias - fused.bias).abs().max().item())
print("largest |our W', b' - fuse_linear_bn_eval's|:", worst)
"""

FOLD_CHECK = """
app = EXPECTED["fold"]
print(how_close("dev loss with BatchNorm", [loss_bn], [app["val_loss_bn"]], 1e-6))
print(how_close("dev loss folded", [loss_folded], [app["val_loss_folded"]], 1e-6))
print(how_close("ours vs torch's fusion", [worst], [app["max_abs_diff_vs_torch_reference"]]))
verdict = "within" if max_diff <= app["logits_tolerance"] else "NOT within"
print(f"max |logits difference| {max_diff:.2e} here, {app['max_abs_diff_logits']:.2e} in the "
      f"app: {verdict} the round-off the app allows ({app['logits_tolerance']:.1e})")
"""


def fold_cells() -> Cells:
    return [
        (
            "Fold each BatchNorm into the Linear before it: in eval mode a BatchNorm is the "
            "fixed map `x * s + (beta - running_mean * s)`, so `W' = W * s` and "
            "`b' = (b - running_mean) * s + beta` do its work, and it can go. One neuron, "
            "written out:",
            code(FOLD),
        ),
        (
            "The proof on the whole dev split: the folded net's logits against the "
            "BatchNorm net's (eval mode), their argmax, and the dev loss of each.",
            code(PROOF),
            ["numbers-fold"],
        ),
        (
            "The reference: `torch.nn.utils.fusion.fuse_linear_bn_eval` folds the same "
            "weights; ours should be the same to the last bit.",
            code(REFERENCE),
        ),
        (
            "Against the app's numbers for this run. The app evaluates the BatchNorm net in "
            "its own layer code, chunk by chunk, so its dev losses agree within 1e-6, not to "
            "the bit; the logits difference is round-off either way, judged against the "
            "round-off the app allows.",
            code(FOLD_CHECK),
            ["check-fold"],
        ),
    ]
