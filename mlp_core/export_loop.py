"""The training loop, the evaluation and the comparison with the app's numbers, as the
exported notebook's cells (export_cells.py has the data, the layers and the init). The loop
is notebook.py's, op for op: the same minibatch draws, the same update, the same divergence
rule, the same chunked evaluation, so the notebook prints the app's numbers.
"""

from __future__ import annotations

from .config import RunConfig
from .export_cells import code
from .run_rules import CURVE_POINTS, DIVERGED_FACTOR

CHUNK = 8192  # rows per evaluation chunk: notebook.NotebookNet.loss's default

IMPORTS = """import hashlib
import math
import random

import matplotlib.pyplot as plt  # for making figures
import torch
import torch.nn.functional as F

%matplotlib inline"""

TRAIN_NOTE = (
    "The training loop, the lecture's: a minibatch of random rows, the forward pass, "
    "`loss.backward()`, `p.data += -lr * p.grad`, the lr a tenth from the decay step on. "
    "It stops where the app stops a run: at a minibatch loss that is not finite or above "
    f"{DIVERGED_FACTOR:g} × ln(vocab size), far worse than guessing."
)


def params_code() -> str:
    return code(
        """
parameters = [C] + [p for layer in layers for p in layer.parameters()]
print(sum(p.nelement() for p in parameters))  # number of parameters in total
"""
    )


def batches_code(cfg: RunConfig) -> str:
    """The minibatches' generator: its own (rng own) or the init's, going on (lecture)."""
    if cfg.train.rng == "lecture":
        return "# the minibatches come from g, which drew the init: the lecture's one stream"
    return f"g = torch.Generator().manual_seed({cfg.train.seed})  # the minibatches' own generator"


TRAIN = '''
max_steps = $steps
batch_size = $batch_size
print_every = $print_every


def train(C, layers, g, track=0):
    """The lecture's loop: a minibatch from g, forward, backward, p.data += -lr * p.grad.
    Returns the minibatch losses and, for the first `track` steps, each parameter's
    gradient norm (in float64: a round-off gradient of 1e-22 squares below float32)."""
    parameters = [C] + [p for layer in layers for p in layer.parameters()]
    for p in parameters:
        p.requires_grad = True
    lossi, grads = [], {name: [] for name, _ in named_parameters(C, layers)}
    for i in range(max_steps):
        # minibatch construct
        ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
        Xb, Yb = Xtr[ix], Ytr[ix]  # batch X,Y
        # forward pass
        emb = C[Xb]  # embed the characters into vectors
        x = emb.view(emb.shape[0], -1)  # concatenate the vectors
        for layer in layers:
            x = layer(x)
        loss = F.cross_entropy(x, Yb)  # loss function
        # backward pass
        for layer in layers:
            layer.out.retain_grad()  # to look at the activations' gradients afterwards
        for p in parameters:
            p.grad = None
        loss.backward()
        if not loss.item() < $factor * math.log(vocab_size):  # NaN, inf, or far worse than guessing
            print(f"diverged at step {i}: loss {loss.item()}")
            break
        lossi.append(loss.item())
        if i < track:
            for name, p in named_parameters(C, layers):
                grads[name].append(torch.linalg.vector_norm(p.grad, dtype=torch.float64).item())
        # update
        lr = $lr  # step learning rate decay
        for p in parameters:
            p.data += -lr * p.grad
        # track stats
        if i % print_every == 0:
            print(f"{i:7d}/{max_steps:7d}: {loss.item():.4f}")
    return lossi, grads
'''


def train_code(cfg: RunConfig) -> str:
    t = cfg.train
    lr = repr(t.lr)
    if t.lr_decay_step:
        lr = f"{lr} if i < {t.lr_decay_step} else {lr} / 10"
    return code(
        TRAIN,
        steps=t.steps,
        batch_size=t.batch_size,
        print_every=max(1, t.steps // 10),
        factor=repr(DIVERGED_FACTOR),
        lr=lr,
    )


EVAL = '''
@torch.no_grad()  # this decorator disables gradient tracking
def split_loss(C, layers, split):
    """The mean loss over a whole split in eval mode, $chunk rows at a time (as the app:
    the memory stays small), the chunks' sums added in float64."""
    X, Y = {"train": (Xtr, Ytr), "val": (Xdev, Ydev), "test": (Xte, Yte)}[split]
    for layer in layers:
        layer.training = False  # BatchNorm: the running statistics from now on
    total = 0.0
    for i in range(0, len(Y), $chunk):
        emb = C[X[i : i + $chunk]]
        x = emb.view(emb.shape[0], -1)
        for layer in layers:
            x = layer(x)
        total += F.cross_entropy(x.double(), Y[i : i + $chunk], reduction="sum").item()
    return total / len(Y)


def curve_points(lossi):
    """The app's loss curve: every max_steps // $points steps, the mean minibatch loss of
    the steps since the last point (in float64)."""
    every = max(1, max_steps // $points)
    losses = torch.tensor(lossi, dtype=torch.float64)
    steps = [s for s in range(1, len(lossi) + 1) if s % every == 0 or s == max_steps]
    starts = [max(0, steps[0] - every)] + steps[:-1] if steps else []
    return steps, [losses[a:s].mean().item() for a, s in zip(starts, steps)]


def how_close(what, ours, app, tol=0.0):
    """How far this notebook's numbers are from the app's."""
    if None in app:
        return f"{what}: the app has none (its run diverged)"
    if len(ours) != len(app):
        return f"{what}: {len(ours)} numbers here, {len(app)} in the app"
    if not ours:
        return f"{what}: none here and none in the app"
    worst = max(abs(a - b) for a, b in zip(ours, app))
    if worst == 0 and len(ours) == 1:
        same = "the same bits" if isinstance(ours[0], float) else "the same"
        return f"{what}: {ours[0]!r} here and in the app, {same}"
    if worst == 0:
        return f"{what}: {len(ours)} of {len(app)} the same bits"
    within = "within" if worst <= tol else "NOT within"
    return f"{what}: largest |difference| {worst:.1e}, {within} {tol:g}"
'''


def eval_code() -> str:
    return code(EVAL, chunk=CHUNK, points=CURVE_POINTS)


LOSSES = """
app = $app
train_loss = split_loss(${p}C, ${p}layers, "train")
dev_loss = split_loss(${p}C, ${p}layers, "val")
steps, points = curve_points(${p}lossi)
print(f"train loss {train_loss!r}, dev loss {dev_loss!r}")
for s, v in zip(steps, points):
    print(f"step {s:7d}: mean minibatch loss {v!r}")
plt.plot(steps, points, label="this notebook")
plt.plot(app["curve_steps"], app["curve"], "--", label="the app")
plt.legend()
plt.show()
"""

CHECK = """
print(how_close("steps run", [len(${p}lossi)], [app["steps"]]))
print(how_close("loss curve", points, app["curve"]))
print(how_close("train loss", [train_loss], [app["train_loss"]]))
print(how_close("dev loss", [dev_loss], [app["dev_loss"]]))
"""


def check_cells(prefix: str, app: str) -> list[tuple]:
    """A net's losses on train and dev and its loss curve, then the same numbers against
    the app's; tagged numbers-<net> (run, zero, compare) for the tests to read."""
    name = prefix.rstrip("_") or "run"
    which = "" if name == "run" else f"The {'zero-init' if name == 'zero' else 'comparison'} net: "
    return [
        (
            f"{which}the mean loss over the whole train and dev splits (eval mode), and the "
            "loss curve the app draws: at each point, the mean minibatch loss since the last.",
            code(LOSSES, app=app, p=prefix),
            [f"numbers-{name}"],
        ),
        (
            "Against the app's numbers (the next-to-first cell): the same bits means the same "
            "float to the last digit.",
            code(CHECK, p=prefix),
            [f"check-{name}"],
        ),
    ]
