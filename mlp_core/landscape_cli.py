"""``python -m mlp_core landscape``: the init landscape of one activation (landscape.py) on
the command line: every cell at init, then every cell after --steps, trained depth by depth
(one stack per depth) through the run store."""

from __future__ import annotations

import argparse
import sys
import time

from .config import ACTIVATIONS, LIMITS, ConfigError, validate
from .data import baselines
from .landscape import DEPTHS, SCALES, STEPS, at_init, base_config, cell_config, sweep
from .run_text import plural


def register(sub) -> None:
    """Add the landscape command to cli.py's subparsers."""
    from . import cli

    p = sub.add_parser(
        "landscape",
        help="the init landscape: every init scale (0, then 0.01x to 10x the activation's "
        "kaiming gain) at every depth (1-8 hidden layers), at init and after --steps",
    )
    cli.add_data_args(p)
    p.add_argument(
        "--activation", choices=ACTIVATIONS, default="tanh", help="nonlinearity (default tanh)"
    )
    p.add_argument("--batchnorm", action="store_true", help="BatchNorm1d after every Linear")
    p.add_argument(
        "--steps", type=cli.whole, default=STEPS, help=f"SGD steps per cell (default {STEPS})"
    )
    p.add_argument(
        "--max-depth",
        type=cli.whole,
        default=DEPTHS[-1],
        help=f"the deepest row, 1-{DEPTHS[-1]} hidden layers (default {DEPTHS[-1]})",
    )
    p.add_argument("--seed", type=cli.whole, default=42, help="seed of every cell (default 42)")
    p.add_argument("--at-init-only", action="store_true", help="the at-init view only: no training")
    cli.add_device_and_store_args(p)
    p.set_defaults(func=cmd_landscape)


def _depths(a: argparse.Namespace) -> tuple[int, ...]:
    if not DEPTHS[0] <= a.max_depth <= DEPTHS[-1]:
        raise ConfigError(f"max-depth must be between 1 and {DEPTHS[-1]} (got {a.max_depth:,})")
    return DEPTHS[: a.max_depth]


def cmd_landscape(a: argparse.Namespace) -> dict:
    from . import cli

    ds = cli.load_data(a)
    depths = _depths(a)
    if not LIMITS["steps"][0] <= a.steps <= LIMITS["steps"][1]:
        raise ConfigError(f"steps must be between 1 and {LIMITS['steps'][1]:,} (got {a.steps:,})")
    base = base_config(a.activation, a.batchnorm, a.steps, a.seed, device=a.device)
    base = base.replace(block_size=a.block_size)
    for scale in SCALES:  # every setting checked before anything trains
        validate(cell_config(base, depths[-1], scale))
    t0 = time.perf_counter()
    init = at_init(base, ds, depths)
    t1 = time.perf_counter()
    trained = [] if a.at_init_only else _trained(base, ds, cli.store_from_args(a), depths, a.json)
    t2 = time.perf_counter()
    out = {
        "activation": a.activation,
        "batchnorm": a.batchnorm,
        "steps": a.steps,
        "seed": a.seed,
        "scales": list(SCALES),
        "depths": list(depths),
        "baselines": baselines(ds, a.block_size),
        "seconds": {"at_init": t1 - t0, "trained": None if a.at_init_only else t2 - t1},
    }
    if not a.json:
        return (
            out
            | {"at init: last hidden layer's activation std": _grid(init, _last_std)}
            | (
                {}
                if a.at_init_only
                else {f"dev loss after {plural(a.steps, 'step')}": _grid(trained, _val)}
            )
        )
    return out | {"at_init": init, "trained": trained}


def _trained(base, ds, store, depths, quiet: bool) -> list[dict]:
    """Every trained cell; a line per depth as its stack is done (stderr under --json)."""
    cells, t0 = [], time.perf_counter()
    for row in sweep(base, ds, store, depths):
        cells += row
        where = "stored" if all(c["cached"] for c in row) else "trained"
        line = (
            f"depth {row[0]['depth']}: {len(row)} cells {where} ({time.perf_counter() - t0:.1f} s)"
        )
        print(line, file=sys.stderr if quiet else sys.stdout)
    return cells


def _last_std(cell: dict) -> str:
    return f"{cell['act_std'][-1]:.3g}"


def _val(cell: dict) -> str:
    return cell["status"] if cell["val_loss"] is None else f"{cell['val_loss']:.4f}"


def _grid(cells: list[dict], shown) -> str:
    """A text table: a row per depth, a column per scale."""
    head = "depth " + "".join(f"{s:>10g}x" for s in SCALES)
    rows = {}
    for c in cells:
        rows.setdefault(c["depth"], []).append(f"{shown(c):>11}")
    return "\n" + "\n".join([head] + [f"{d:>5} " + "".join(r) for d, r in rows.items()])
