"""Typed, frozen configuration of a run: data, model, training.

A run is a pure function of its ``RunConfig`` and the data set's content hash; ``to_dict``
gives the canonical JSON form the run store hashes.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

ACTIVATIONS = ("tanh", "sigmoid", "relu")
ARITHMETICS = ("engine", "notebook")
INITS = ("kaiming", "zeros", "normal", "torch-default")
RNGS = ("own", "lecture")
EVALUATIONS = ("full", "dev")

# Valid ranges, shared by the CLI, the pages and validation (name: (low, high), inclusive).
LIMITS = {
    "block_size": (1, 16),
    "n_embd": (1, 256),
    "n_hidden": (1, 2048),
    "n_layers": (1, 16),
    "steps": (1, 1_000_000),
    "batch_size": (1, 65_536),
    "lr_decay_step": (0, 1_000_000),
}


MAX_SEED = 2**63 - 1  # torch's generators take a signed 64-bit seed


class ConfigError(ValueError):
    """A configuration value outside its valid range; the message names the field."""


@dataclass(frozen=True)
class DataConfig:
    block_size: int = 3  # context length: how many characters predict the next one


@dataclass(frozen=True)
class ModelConfig:
    n_embd: int = 10  # dimensionality of the character embedding vectors
    n_hidden: int = 100  # neurons in each hidden layer
    n_layers: int = 5  # hidden Linear(+BN)+activation blocks, before the output Linear
    activation: str = "tanh"  # one of ACTIVATIONS
    batchnorm: bool = False  # BatchNorm1d after every hidden Linear (lecture)
    output_bn: bool = True  # with batchnorm, one after the output Linear too (the lecture's
    # deep net); False: the output Linear keeps its bias (the lecture's 2-layer BN net)
    init: str = "kaiming"  # one of INITS; "zeros" sets every Linear weight and bias to zero
    init_scale: float = 0.01  # std of the "normal" init
    init_gain: float | None = None  # kaiming gain of hidden layers; None: the activation's
    zero_embedding: bool = False  # also zero the embedding table C (zero init only)
    bn_eps: float = 1e-5  # BatchNorm epsilon; 0 shows the 0/0 of a zero-init BN
    bn_momentum: float = 0.1  # BatchNorm running-statistics momentum (2-layer lecture: 0.001)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000  # optimisation steps (minibatches)
    batch_size: int = 32  # examples per minibatch
    lr: float = 0.1  # SGD learning rate before the decay step
    lr_decay_step: int = 150_000  # from this step on the lr is lr / 10 (lecture); 0 = never
    seed: int = 42  # seeds the init and the minibatch order of this run
    device: str = "cpu"  # "cpu" or "cuda"
    dtype: str = "float32"  # "float32" or "float64"
    # "engine": the planned engine (mlp_core/fast); "notebook": the lecture's loop as the
    # user's notebook computes it, x @ W + b with autograd (mlp_core/notebook.py)
    arithmetic: str = "engine"
    # "own": the init and the minibatches each draw from a generator seeded with ``seed``;
    # "lecture": one generator draws the init in the lecture notebook's order and recipe,
    # then the minibatches (model.init_lecture; ARCHITECTURE.md, "The lecture's random stream")
    rng: str = "own"
    # what a run measures beside its training (the training's arithmetic is the same):
    # "full": a live curve of run_rules.CURVE_POINTS points, the diagnostics, the losses of
    # the whole training and dev splits at the end (every page's runs); "dev": the curve's
    # points in the run's last half only (run_rules.curve_from) and the whole dev split's
    # loss at the end, no diagnostics and no training-split loss (the init landscape's
    # cells: what a cell shows)
    evaluation: str = "full"


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        return cls(
            data=DataConfig(**d.get("data", {})),
            model=ModelConfig(**d.get("model", {})),
            train=TrainConfig(**d.get("train", {})),
        )

    def replace(self, **changes) -> RunConfig:
        """Copy with fields changed by name, whichever part they live in."""
        parts = {"data": self.data, "model": self.model, "train": self.train}
        for key, value in changes.items():
            part = next((p for p, obj in parts.items() if hasattr(obj, key)), None)
            if part is None:
                raise ConfigError(f"unknown setting {key!r}")
            parts[part] = dataclasses.replace(parts[part], **{key: value})
        return RunConfig(**parts)


def _check_range(name: str, value: float) -> None:
    low, high = LIMITS[name]
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:,} and {high:,} (got {value:,})")


def _check_finite(cfg: RunConfig) -> None:
    """Every real-valued setting is a finite number (NaN and infinity are refused)."""
    m = cfg.model
    values = {
        "lr": cfg.train.lr,
        "bn_eps": m.bn_eps,
        "bn_momentum": m.bn_momentum,
        "init_scale": m.init_scale,
        "init_gain": 1.0 if m.init_gain is None else m.init_gain,
    }
    for name, value in values.items():
        if not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number (got {value})")


def validate(cfg: RunConfig, n_train_rows: int | None = None) -> None:
    """Raise ConfigError naming the first out-of-range setting."""
    _check_finite(cfg)
    _check_range("block_size", cfg.data.block_size)
    for name in ("n_embd", "n_hidden", "n_layers"):
        _check_range(name, getattr(cfg.model, name))
    _check_range("steps", cfg.train.steps)
    _check_range("batch_size", cfg.train.batch_size)
    _check_range("lr_decay_step", cfg.train.lr_decay_step)
    if cfg.model.activation not in ACTIVATIONS:
        raise ConfigError(f"activation must be one of {', '.join(ACTIVATIONS)}")
    if cfg.model.init not in INITS:
        raise ConfigError(f"init must be one of {', '.join(INITS)}")
    if not cfg.train.lr > 0:
        raise ConfigError(f"lr must be greater than 0 (got {cfg.train.lr})")
    if not cfg.model.bn_eps >= 0 or not 0 <= cfg.model.bn_momentum <= 1:
        raise ConfigError("bn_eps must be >= 0 and bn_momentum between 0 and 1")
    if cfg.model.batchnorm and cfg.train.batch_size < 2:
        raise ConfigError(
            "BatchNorm needs batch_size 2 or more: the variance of a batch of one row is "
            "0 in training and undefined (0/0, NaN) in its running estimate"
        )
    if not 0 <= cfg.train.seed <= MAX_SEED:
        raise ConfigError(f"seed must be between 0 and {MAX_SEED:,} (got {cfg.train.seed:,})")
    if cfg.train.arithmetic not in ARITHMETICS:
        raise ConfigError(f"arithmetic must be one of {', '.join(ARITHMETICS)}")
    if cfg.model.init_gain is not None and not 0 < cfg.model.init_gain <= 100:
        raise ConfigError(f"init_gain must be in (0, 100] (got {cfg.model.init_gain})")
    if not 0 < cfg.model.init_scale <= 100:
        raise ConfigError(f"init_scale must be in (0, 100] (got {cfg.model.init_scale})")
    if not cfg.model.output_bn and not cfg.model.batchnorm:
        raise ConfigError("output_bn=False (BatchNorm on hidden layers only) needs batchnorm")
    if cfg.train.evaluation not in EVALUATIONS:
        raise ConfigError(f"evaluation must be one of {', '.join(EVALUATIONS)}")
    if cfg.train.evaluation == "dev" and cfg.train.arithmetic != "engine":
        raise ConfigError("evaluation dev is the engine's (arithmetic engine)")
    if cfg.train.rng not in RNGS:
        raise ConfigError(f"rng must be one of {', '.join(RNGS)}")
    if cfg.train.rng == "lecture":
        _check_lecture_layout(cfg.model)
    if cfg.train.dtype not in ("float32", "float64"):
        raise ConfigError("dtype must be float32 or float64")
    if n_train_rows is not None and cfg.train.batch_size > n_train_rows:
        raise ConfigError(
            f"batch_size must be between 1 and {n_train_rows:,}, the training split's rows "
            f"(got {cfg.train.batch_size:,})"
        )


def _check_lecture_layout(m: ModelConfig) -> None:
    """rng "lecture" replays the notebook's draws, so the net must be one the notebook builds:
    kaiming init; 1 hidden layer without BatchNorm or with it on the hidden layer only (the
    2-layer cells), or 2+ hidden layers without BatchNorm or with it after every Linear (the
    deep-net cell)."""
    if m.init != "kaiming":
        raise ConfigError(
            f"rng lecture replays the lecture's kaiming init; init {m.init} has no lecture "
            "draws to replay (use rng own)"
        )
    if m.batchnorm and m.n_layers == 1 and m.output_bn:
        raise ConfigError(
            "rng lecture: the lecture's 1-hidden-layer BatchNorm net has BatchNorm on the "
            "hidden layer only (output_bn off, --no-output-bn); use rng own for this layout"
        )
    if m.batchnorm and m.n_layers > 1 and not m.output_bn:
        raise ConfigError(
            "rng lecture: the lecture's deep BatchNorm net has BatchNorm after every Linear, "
            "the output one too (output_bn on); use rng own for this layout"
        )
