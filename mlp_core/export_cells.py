"""The cells every exported notebook shares, as text: the data, the layers, the run's init,
the training loop and the evaluation, written the way the lecture writes them and doing
what mlp_core/notebook.py does, op for op (the same draws in the same order, the same
expressions), so that the notebook prints the app's numbers. export.py assembles them.

Each function returns a list of (markdown, code) pairs: one short note above each cell.
"""

from __future__ import annotations

from string import Template

from .config import RunConfig
from .model import GAINS, bn_after

Cells = list[tuple]  # (markdown, code) or (markdown, code, tags)
ACT_CLASS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "ReLU"}


def code(template: str, **values) -> str:
    """A code cell's text: the template with $names filled in, without its margins."""
    return Template(template).substitute(values).strip("\n")


def data_cells(words_file: str, block_size: int) -> Cells:
    read = code(
        """
words = open("$file", encoding="utf-8").read().splitlines()
digest = hashlib.sha256("\\n".join(words).encode("utf-8")).hexdigest()
assert digest == SHA256, "$file is not the word list the app trained on"
print(len(words), "words, sha256", digest[:16])
print(words[:8])
""",
        file=words_file,
    )
    vocab = code(
        """
chars = sorted(list(set("".join(words))))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
vocab_size = len(itos)
print(itos)
print(vocab_size)
"""
    )
    build = code(
        """
block_size = $block_size  # context length: how many characters do we take to predict the next one?


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]  # crop and append
    X = torch.tensor(X)
    Y = torch.tensor(Y)
    print(X.shape, Y.shape)
    return X, Y


random.seed(42)
random.shuffle(words)
n1 = int(0.8 * len(words))
n2 = int(0.9 * len(words))
Xtr, Ytr = build_dataset(words[:n1])  # 80%
Xdev, Ydev = build_dataset(words[n1:n2])  # 10%
Xte, Yte = build_dataset(words[n2:])  # 10%
""",
        block_size=block_size,
    )
    return [
        (
            f"Read the words, one a line, from `{words_file}` (next to this notebook), and "
            "check that they are the app's: the same sha256.",
            read,
        ),
        ("The vocabulary: every character of the words, and `.` (0) to start and end one.", vocab),
        (
            "Every context of `block_size` characters and the character after it; the "
            "lecture's split: `random.seed(42)`, shuffle, 80% train, 10% dev, 10% test.",
            build,
        ),
    ]


LAYERS = '''
class Linear:
    """x @ W + b, W (fan_in, fan_out) as in the lecture; no bias where a BatchNorm follows."""

    def __init__(self, weight, bias=None):
        self.weight = weight  # (fan_in, fan_out)
        self.bias = bias  # (fan_out,) or None

    def __call__(self, x):
        self.out = x @ self.weight
        if self.bias is not None:
            self.out = self.out + self.bias
        return self.out

    def parameters(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])


class BatchNorm1d:
    def __init__(self, dim, eps=1e-5, momentum=0.1):
        self.eps = eps
        self.momentum = momentum
        self.training = True
        # parameters (trained with backprop)
        self.gamma = torch.ones(dim)
        self.beta = torch.zeros(dim)
        # buffers (trained with a running 'momentum update')
        self.running_mean = torch.zeros(dim)
        self.running_var = torch.ones(dim)

    def __call__(self, x):
        if self.training:
            xmean = x.mean(0)  # batch mean
            xvar = x.var(0, unbiased=False)  # batch variance (biased, as torch normalises)
            with torch.no_grad():  # running = (1 - momentum) * running + momentum * batch
                n = x.shape[0]
                self.running_mean.lerp_(xmean, self.momentum)
                self.running_var.lerp_(xvar * (n / (n - 1)), self.momentum)  # unbiased
        else:
            xmean = self.running_mean
            xvar = self.running_var
        self.out = self.gamma * (x - xmean) / torch.sqrt(xvar + self.eps) + self.beta
        return self.out

    def parameters(self):
        return [self.gamma, self.beta]


class $act:
    def __call__(self, x):
        self.out = torch.$fn(x)
        return self.out

    def parameters(self):
        return []


def named_parameters(C, layers):
    """Each parameter with the app's name: C, then layers.<i>.weight / bias / gamma / beta."""
    out = [("C", C)]
    for i, layer in enumerate(layers):
        names = ("weight", "bias") if isinstance(layer, Linear) else ("gamma", "beta")
        out += [(f"layers.{i}.{name}", p) for name, p in zip(names, layer.parameters())]
    return out
'''


def layer_cells(activation: str) -> Cells:
    note = (
        "The layers, written plainly, each with `__call__` and `parameters()`. BatchNorm "
        "normalises with the batch's biased variance and keeps the unbiased one in "
        "`running_var`, as `torch.nn.BatchNorm1d` does (the lecture used the unbiased one "
        "for both)."
    )
    return [(note, code(LAYERS, act=ACT_CLASS[activation], fn=activation))]


def _gain(cfg: RunConfig) -> str:
    """The hidden layers' kaiming gain as the lecture writes it ('' for a gain of 1)."""
    m = cfg.model
    gain = GAINS[m.activation] if m.init_gain is None else m.init_gain
    known = {5 / 3: " * (5/3)", 2**0.5: " * 2**0.5", 1.0: ""}
    return known.get(gain, f" * {gain!r}")


def _linear(cfg: RunConfig, fan_in: str, fan_out: str, last: bool) -> str:
    """One Linear of the layer list, drawn as model.init_run draws it."""
    m = cfg.model
    bn = bn_after(m, last)
    bias = "" if bn else f", torch.zeros({fan_out})"
    if m.init == "torch-default":
        return f"linear({fan_in}, {fan_out}{', bias=False' if bn else ''})"
    if m.init == "zeros":
        weight = f"torch.zeros(({fan_in}, {fan_out}))"
    elif m.init == "normal":
        weight = f"torch.randn(({fan_in}, {fan_out}), generator=g) * {m.init_scale!r}"
    else:
        scale = (" * 0.1" if not bn else "") if last else _gain(cfg)
        weight = f"kaiming({fan_in}, {fan_out}){scale}"
    return f"Linear({weight}{bias})"


def _bn(cfg: RunConfig, dim: str) -> str:
    m = cfg.model
    args = "" if m.bn_eps == 1e-5 else f", eps={m.bn_eps!r}"
    args += "" if m.bn_momentum == 0.1 else f", momentum={m.bn_momentum!r}"
    return f"BatchNorm1d({dim}{args})"


HELPERS = {
    "kaiming": '''
def kaiming(fan_in, fan_out):
    """The lecture's Linear init: randn / sqrt(fan_in), drawn from g."""
    return torch.randn((fan_in, fan_out), generator=g) / fan_in**0.5
''',
    "torch-default": '''
def linear(fan_in, fan_out, bias=True):
    """torch.nn.Linear's default init: W and b uniform in +-1/sqrt(fan_in), drawn from g.
    The bias is drawn even where a BatchNorm follows (its beta does the bias's job), so
    that every later layer draws the numbers the app drew."""
    bound = fan_in**-0.5
    W = (torch.rand((fan_in, fan_out), generator=g) * 2 - 1) * bound
    b = (torch.rand(fan_out, generator=g) * 2 - 1) * bound
    return Linear(W, b if bias else None)
''',
}


def layer_list(cfg: RunConfig) -> str:
    """The layer list, one line per Linear(+BN)(+activation), in init_run's draw order."""
    m = cfg.model
    dims = ["n_embd * block_size"] + ["n_hidden"] * m.n_layers + ["vocab_size"]
    lines = []
    for i in range(m.n_layers + 1):
        last = i == m.n_layers
        parts = [_linear(cfg, dims[i], dims[i + 1], last)]
        parts += [_bn(cfg, dims[i + 1])] if bn_after(m, last) else []
        parts += [] if last else [f"{ACT_CLASS[m.activation]}()"]
        lines.append("    " + ", ".join(parts) + ",")
    out = "layers = [\n" + "\n".join(lines) + "\n]"
    if m.init == "kaiming" and bn_after(m, last=True):
        out += "\nlayers[-1].gamma *= 0.1  # the output less confident at the start"
    return out


def init_code(cfg: RunConfig) -> str:
    """The init cell: C and the layers, the app's draws in the app's order."""
    m, t = cfg.model, cfg.train
    if t.rng == "lecture" and m.n_layers == 1:
        return _lecture_init(cfg)
    head = f"g = torch.Generator().manual_seed({t.seed})  # draws the init\n"
    head += f"n_embd, n_hidden = {m.n_embd}, {m.n_hidden}\n"
    head += "C = torch.randn((vocab_size, n_embd), generator=g)\n"
    if m.init == "zeros" and m.zero_embedding:
        head += "C = torch.zeros((vocab_size, n_embd))  # the embedding zero too\n"
    helper = HELPERS.get(m.init, "").strip("\n")
    return head + (f"\n\n{helper}\n\n\n" if helper else "") + layer_list(cfg)


def _lecture_init(cfg: RunConfig) -> str:
    """The lecture's 2-layer cells (model.init_lecture): one generator, its order."""
    m = cfg.model
    gain = _gain(cfg).removeprefix(" * ") or "1.0"
    lines = [
        f"g = torch.Generator().manual_seed({cfg.train.seed})  # the init, then the minibatches",
        f"n_embd, n_hidden = {m.n_embd}, {m.n_hidden}",
        "C = torch.randn((vocab_size, n_embd), generator=g)",
        "W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * "
        f"{gain} / (n_embd * block_size)**0.5",
    ]
    if not m.batchnorm:
        lines.append("b1 = torch.randn(n_hidden, generator=g) * 0.01")
    lines += [
        "W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.01",
        "b2 = torch.randn(vocab_size, generator=g) * 0",
    ]
    hidden = f"Linear(W1), {_bn(cfg, 'n_hidden')}" if m.batchnorm else "Linear(W1, b1)"
    act = ACT_CLASS[m.activation]
    return "\n".join(lines) + f"\nlayers = [{hidden}, {act}(), Linear(W2, b2)]"


def init_note(cfg: RunConfig) -> str:
    m, t = cfg.model, cfg.train
    if t.rng == "lecture":
        return (
            f"The run's init, drawn as the lecture's notebook draws it: one generator seeded "
            f"with {t.seed} draws C and the weights in the lecture's order, and then goes on "
            "to draw the minibatches (the app's rng “lecture”)."
        )
    what = {
        "kaiming": "kaiming: `randn / sqrt(fan_in)` times the activation's gain in the "
        "hidden layers; the output layer made less confident at the start",
        "zeros": "every Linear weight and bias zero (C stays random)",
        "normal": f"every weight `randn × {m.init_scale:g}`, every bias zero",
        "torch-default": "torch.nn.Linear's default: uniform in ±1/√fan_in",
    }[m.init]
    return (
        f"The run's init: {what}. A generator seeded with {t.seed} draws C and then every "
        "layer in this order; the minibatches get a generator of their own with the same "
        "seed (the app's rng “own”)."
    )
