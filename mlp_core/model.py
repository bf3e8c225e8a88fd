"""Build the lecture's MLP for K stacked runs, each with its own init, seed and activation.

Layer list as in the lecture (names follow it: ``layers.10.bias`` is the output bias of the
6-Linear net): [Linear, (BN), act] * n_layers + [Linear, (BN)]. The output BN is there
with ``batchnorm`` and ``output_bn`` (the lecture's deep net); without it (``output_bn``
False) BatchNorm sits on the hidden layers only, as in the lecture's 2-layer BN net.
Linears carry a bias only when no BatchNorm follows them (the BN's beta does that job).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .config import ModelConfig
from .layers import BatchNorm1d, Linear, make_activation

GAINS = {"tanh": 5 / 3, "sigmoid": 1.0, "relu": 2**0.5}  # torch.nn.init.calculate_gain
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def layer_index(name: str) -> int | None:
    """i of a parameter or buffer called "layers.i.<attr>"; None for the embedding C."""
    return int(name.split(".")[1]) if name.startswith("layers.") else None


def shape_key(cfg: ModelConfig) -> tuple:
    """Runs whose configs share this key can be stacked in one MLP."""
    return (
        cfg.n_embd,
        cfg.n_hidden,
        cfg.n_layers,
        cfg.batchnorm,
        cfg.output_bn,
        cfg.bn_eps,
        cfg.bn_momentum,
    )


def bn_after(cfg: ModelConfig, last: bool) -> bool:
    """Does a BatchNorm follow this Linear (the output one when ``last``)?"""
    return cfg.batchnorm and (cfg.output_bn or not last)


def linear_shapes(cfg: ModelConfig, vocab_size: int, block_size: int) -> list[tuple[int, int]]:
    dims = [cfg.n_embd * block_size] + [cfg.n_hidden] * cfg.n_layers + [vocab_size]
    return list(zip(dims[:-1], dims[1:]))


def _init_linear(cfg: ModelConfig, fan_in: int, fan_out: int, last: bool, g: torch.Generator):
    """One run's (W, b) in float32, following cfg.init."""
    if cfg.init == "zeros":
        return torch.zeros(fan_in, fan_out), torch.zeros(1, fan_out)
    if cfg.init == "torch-default":
        bound = fan_in**-0.5
        w = (torch.rand(fan_in, fan_out, generator=g) * 2 - 1) * bound
        return w, (torch.rand(1, fan_out, generator=g) * 2 - 1) * bound
    if cfg.init == "normal":
        return torch.randn(fan_in, fan_out, generator=g) * cfg.init_scale, torch.zeros(1, fan_out)
    w = torch.randn(fan_in, fan_out, generator=g) / fan_in**0.5  # kaiming, lecture style
    if last:  # make the output less confident at init: the output BN's gamma does it
        w = w if bn_after(cfg, last) else w * 0.1
    else:
        w = w * (GAINS[cfg.activation] if cfg.init_gain is None else cfg.init_gain)
    return w, torch.zeros(1, fan_out)


def init_run(
    cfg: ModelConfig, vocab_size: int, block_size: int, seed: int, g: torch.Generator | None = None
) -> dict:
    """One run's parameters (no K dim), float32, drawn from ``g`` when given, else from its
    own generator seeded with ``seed``."""
    g = torch.Generator().manual_seed(seed) if g is None else g
    C = torch.randn(vocab_size, cfg.n_embd, generator=g)
    params = {"C": torch.zeros_like(C) if cfg.zero_embedding and cfg.init == "zeros" else C}
    shapes = linear_shapes(cfg, vocab_size, block_size)
    for i, (fan_in, fan_out) in enumerate(shapes):
        last = i == len(shapes) - 1
        params[f"W{i}"], params[f"b{i}"] = _init_linear(cfg, fan_in, fan_out, last, g)
        if bn_after(cfg, last):
            gamma = torch.full((1, fan_out), 0.1 if last and cfg.init == "kaiming" else 1.0)
            params[f"gamma{i}"], params[f"beta{i}"] = gamma, torch.zeros(1, fan_out)
    return params


def init_lecture(cfg: ModelConfig, vocab_size: int, block_size: int, g: torch.Generator) -> dict:
    """One run's parameters drawn from ``g`` in makemore_part3_bn.ipynb's order and recipe
    (config._check_lecture_layout says which nets): g then goes on to draw the minibatches.

    1 hidden layer: the "MLP revisited" cells. ``C = randn(vocab, n_embd)``, ``W1 =
    randn(fan_in, n_hidden) * gain / fan_in**0.5``, then without BatchNorm ``b1 =
    randn(n_hidden) * 0.01`` (the BatchNorm cell comments b1 out: no draw), ``W2 =
    randn(n_hidden, vocab) * 0.01`` and ``b2 = randn(vocab) * 0`` (drawn, then zeroed).
    2+ hidden layers: the deep-net cell, whose Linear class draws ``randn(fan_in, fan_out) /
    fan_in**0.5`` layer by layer and scales it as ``init_run`` does, from the same generator.
    """
    if cfg.n_layers > 1:
        return init_run(cfg, vocab_size, block_size, 0, g)
    gain = GAINS[cfg.activation] if cfg.init_gain is None else cfg.init_gain
    (fan_in, n_hidden), _ = linear_shapes(cfg, vocab_size, block_size)
    p = {"C": torch.randn(vocab_size, cfg.n_embd, generator=g)}
    p["W0"] = torch.randn(fan_in, n_hidden, generator=g) * gain / fan_in**0.5
    p["b0"] = torch.zeros(1, n_hidden)
    if cfg.batchnorm:
        p["gamma0"], p["beta0"] = torch.ones(1, n_hidden), torch.zeros(1, n_hidden)
    else:
        p["b0"] = torch.randn(n_hidden, generator=g).view(1, -1) * 0.01
    p["W1"] = torch.randn(n_hidden, vocab_size, generator=g) * 0.01
    p["b1"] = torch.randn(vocab_size, generator=g).view(1, -1) * 0
    return p


def init_and_generator(
    cfg: ModelConfig, vocab_size: int, block_size: int, seed: int, rng: str = "own"
) -> tuple[dict, torch.Generator]:
    """One run's parameters and the generator its minibatches come from: rng "own", a fresh
    one seeded with ``seed`` (the init drew from another); "lecture", the one that drew the
    init, continuing (config.TrainConfig.rng)."""
    g = torch.Generator().manual_seed(seed)
    if rng == "lecture":
        return init_lecture(cfg, vocab_size, block_size, g), g
    return init_run(cfg, vocab_size, block_size, seed), g


class BaseMLP:
    """An embedding table C and a layer list: the forward pass and the parameter names that
    the trainable MLP and the folded net (folding.py) share."""

    C: torch.Tensor  # (K, vocab_size, n_embd)
    layers: list

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        """X (K, B, block_size) context indices -> logits (K, B, vocab_size)."""
        K, B, T = X.shape
        self.X = X  # the embedding's backward needs it
        emb = self.C[torch.arange(K, device=X.device)[:, None, None], X]  # (K, B, T, n_embd)
        x = emb.reshape(K, B, -1)  # (K, B, block_size * n_embd)
        for layer in self.layers:
            x = layer(x)
        return x

    def owner(self, name: str):
        """The layer holding the parameter or buffer called ``name``; None for C."""
        i = layer_index(name)
        return None if i is None else self.layers[i]

    def named_parameters(self) -> list[tuple[str, torch.Tensor]]:
        out = [("C", self.C)]
        for i, layer in enumerate(self.layers):
            out += [(f"layers.{i}.{n}", p) for n, p in layer.named_parameters()]
        return out

    def parameters(self) -> list[torch.Tensor]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> list[tuple[str, torch.Tensor]]:
        return [
            (f"layers.{i}.{n}", b)
            for i, layer in enumerate(self.layers)
            if isinstance(layer, BatchNorm1d)
            for n, b in layer.buffers()
        ]

    def state_dict(self, k: int = 0) -> dict[str, torch.Tensor]:
        """Run k's parameters and buffers, without the K dim, on the CPU."""
        items = self.named_parameters() + self.named_buffers()
        return {name: t[k].detach().cpu().clone() for name, t in items}


class MLP(BaseMLP):
    """K stacked character-level MLPs: embedding C, then the layer list."""

    def __init__(
        self,
        cfgs: list[ModelConfig],
        vocab_size: int,
        block_size: int,
        seeds: list[int],
        device: str = "cpu",
        dtype: str = "float32",
        rngs: list[str] | None = None,
    ):
        assert len({shape_key(c) for c in cfgs}) == 1, "stacked runs must share shapes"
        cfg = cfgs[0]
        tk = {"device": device, "dtype": TORCH_DTYPES[dtype]}
        rngs = rngs or ["own"] * len(cfgs)
        drawn = [
            init_and_generator(c, vocab_size, block_size, s, r)
            for c, s, r in zip(cfgs, seeds, rngs)
        ]
        runs = [params for params, _ in drawn]
        self.gens = [g for _, g in drawn]  # each run's minibatch generator (stack.StackTrainer)
        stack = {name: torch.stack([r[name] for r in runs]).to(**tk) for name in runs[0]}
        self.K, self.block_size, self.vocab_size = len(cfgs), block_size, vocab_size
        self.activations = [c.activation for c in cfgs]
        self.C = stack["C"]  # (K, vocab_size, n_embd)
        self.layers = []
        n_linear = cfg.n_layers + 1
        for i in range(n_linear):
            has_bn = bn_after(cfg, last=i == n_linear - 1)
            self.layers.append(Linear(stack[f"W{i}"], None if has_bn else stack[f"b{i}"]))
            if has_bn:
                bn = BatchNorm1d(self.K, stack[f"W{i}"].shape[2], cfg.bn_eps, cfg.bn_momentum, **tk)
                bn.gamma, bn.beta = stack[f"gamma{i}"], stack[f"beta{i}"]
                self.layers.append(bn)
            if i < n_linear - 1:
                self.layers.append(make_activation(self.activations))

    def backward(self, dlogits: torch.Tensor) -> None:
        """Reference backward (used by tests, never by training, which runs mlp_core.fast):
        every layer's readable backward, then the embedding's gradient into C.grad."""
        dx = dlogits
        for layer in reversed(self.layers):
            dx = layer.backward(dx)
        K, V, E = self.C.shape
        flat = (self.X + torch.arange(K, device=dx.device)[:, None, None] * V).reshape(-1)
        dC = torch.zeros(K * V, E, device=dx.device, dtype=dx.dtype)
        self.C.grad = dC.index_add_(0, flat, dx.reshape(-1, E)).view(K, V, E)

    def set_training(self, training: bool) -> None:
        for layer in self.layers:
            if isinstance(layer, BatchNorm1d):
                layer.training = training

    def load_state(self, k: int, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for name, t in self.named_parameters() + self.named_buffers():
                t[k].copy_(state[name])


def from_state(cfg: ModelConfig, state: dict, vocab_size: int, block_size: int) -> MLP:
    """A K=1 model holding a stored run's weights, in eval mode."""
    model = MLP([cfg], vocab_size, block_size, [0], dtype=_dtype_name(state["C"].dtype))
    model.load_state(0, state)
    model.set_training(False)
    return model


def _dtype_name(dtype: torch.dtype) -> str:
    return {v: k for k, v in TORCH_DTYPES.items()}[dtype]


def cross_entropy(logits: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Per-run mean loss (K,) of logits (K, B, V) against Y (K, B)."""
    K, B, V = logits.shape
    return (
        F.cross_entropy(logits.reshape(K * B, V), Y.reshape(-1), reduction="none")
        .view(K, B)
        .mean(1)
    )


def cross_entropy_backward(logits: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """d(sum_k loss_k)/dlogits: (softmax - onehot) / B. Reference for tests; training uses
    the fused form in mlp_core.fast.step."""
    d = torch.softmax(logits, dim=-1)
    d.scatter_add_(2, Y.unsqueeze(2), torch.full_like(Y, -1, dtype=d.dtype).unsqueeze(2))
    return d / logits.shape[1]
