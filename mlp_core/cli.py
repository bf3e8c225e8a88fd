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
from .bn_fold import FOLD_DEFAULT
from .cli_args import (  # noqa: F401 - the commands in their own modules use them as cli.*
    EXIT_BAD_INPUT,
    Parser,
    add_data_args,
    add_device_and_store_args,
    add_model_args,
    check_compare,
    config_from_args,
    load_data,
    megabytes,
    number,
    option,
    progress_printer,
    store_from_args,
    whole,
)
from .config import ConfigError, RunConfig
from .export_cli import register as add_export_notebook
from .folding import FoldError
from .landscape_cli import register as add_landscape
from .run_rules import DIVERGED_FACTOR
from .runs import get_or_train, run_experiment
from .sample import sample_names
from .train import Diverged, RunOutcome
from .zero_init import COMPARE_DEFAULT, COMPARE_INITS, ZERO_INIT_DEFAULT

EXIT_DIVERGED = 3


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


def cmd_zero_init(a: argparse.Namespace) -> dict:
    """The report of both runs; a run that diverged is named in a.diverged (exit 3 after
    the report)."""
    from .zero_init import zero_init_configs, zero_init_report

    ds = load_data(a)
    cfg = config_from_args(a, ZERO_INIT_DEFAULT)
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
    cfg = config_from_args(a, FOLD_DEFAULT)

    def report(run: RunOutcome, ds: data.Dataset):
        if run.status == "diverged":
            name = "the BatchNorm run"
            raise Diverged(f"{divergence_text(run, ds.vocab_size, name)}; try a smaller --lr")
        return fold_report(run, ds)

    store = store_from_args(a)
    return run_experiment(fold_configs(cfg), report, ds, store, progress_printer(a.json)).metrics


def add_zero_init_args(p: argparse.ArgumentParser) -> None:
    option(
        p,
        "arithmetic",
        ZERO_INIT_DEFAULT,
        "--arithmetic",
        "engine: the planned engine (bias inside the matmul); notebook: the lecture's loop as "
        "your notebook computes it (x @ W + b, autograd), slower",
    )
    p.add_argument(
        "--compare-init",
        choices=COMPARE_INITS,
        default=COMPARE_DEFAULT["compare"],
        help=f"the init the zero-init run is compared with (default {COMPARE_DEFAULT['compare']})",
    )
    p.add_argument(
        "--compare-gain",
        type=number,
        help="kaiming gain of the comparison run's hidden layers (default: the activation's, "
        "5/3 for tanh)",
    )
    p.add_argument(
        "--compare-scale",
        type=number,
        default=COMPARE_DEFAULT["scale"],
        help="std of --compare-init normal",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m mlp_core", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("data", help="describe a word list: words, vocab, split sizes, baselines")
    add_data_args(p)
    p.set_defaults(func=cmd_data)
    p = sub.add_parser("train", help="train one MLP (the lecture's deep net by default)")
    add_data_args(p)
    add_model_args(p)
    option(p, "init", RunConfig(), "--init", "weight init")
    option(p, "init_scale", RunConfig(), "--init-scale", "std of --init normal")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser(
        "zero-init",
        help="question 1: train with every weight and bias zero "
        "vs a comparison init (kaiming by default), and report what trained and why",
    )
    add_data_args(p, ZERO_INIT_DEFAULT)
    add_model_args(p, ZERO_INIT_DEFAULT, skip=("rng",))  # zero init has no lecture draws
    add_zero_init_args(p)
    p.set_defaults(func=cmd_zero_init)
    p = sub.add_parser(
        "fold",
        help="question 2: train a BatchNorm MLP, fold every BN into the "
        "Linear before it, and prove the inference outputs are the same",
    )
    add_data_args(p, FOLD_DEFAULT)
    add_model_args(p, FOLD_DEFAULT, skip=("batchnorm",))  # BatchNorm is always on
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
