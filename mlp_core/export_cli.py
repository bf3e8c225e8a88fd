"""python -m mlp_core export-notebook: a run, the zero-init pair or the fold proof as a
Jupyter notebook that reproduces the app's numbers (export.py). ``register`` adds the
command to the CLI's parser (cli.build_parser calls it).
"""

from __future__ import annotations

import argparse
import zipfile
from io import BytesIO
from pathlib import Path

from .config import RunConfig

QUESTIONS = ("zero-init", "fold")


def register(sub) -> None:
    """Add export-notebook to the subparsers of cli.build_parser."""
    from .cli_args import add_data_args, add_model_args, option

    p = sub.add_parser(
        "export-notebook",
        help="write a run (or --question zero-init / fold) as a Jupyter notebook in the "
        "lecture's style that reproduces the app's numbers, zipped with its word list",
    )
    add_data_args(p)
    add_model_args(p)
    option(p, "init", RunConfig(), "--init", "weight init")
    option(p, "init_scale", RunConfig(), "--init-scale", "std of --init normal")
    p.add_argument(
        "--question",
        choices=QUESTIONS,
        help="zero-init: the zero-init net and its comparison (--compare-*), with the "
        "gradient table and histograms; fold: a BatchNorm net (BatchNorm is on), folded, "
        "with the proof (default: one run)",
    )
    _compare_args(p)
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        required=True,
        help="FILE.zip: the notebook and its word list in one folder; FILE.ipynb: the "
        "notebook, with the word list written next to it",
    )
    p.set_defaults(func=cmd_export)


def _compare_args(p: argparse.ArgumentParser) -> None:
    from .cli_args import number
    from .zero_init import COMPARE_INITS

    p.add_argument(
        "--compare-init",
        choices=COMPARE_INITS,
        default="kaiming",
        help="with --question zero-init: the comparison net's init (default kaiming)",
    )
    p.add_argument(
        "--compare-gain",
        type=number,
        help="kaiming gain of the comparison (default: the activation's)",
    )
    p.add_argument(
        "--compare-scale", type=number, default=0.01, help="std of --compare-init normal"
    )


def cmd_export(a: argparse.Namespace) -> dict:
    from .cli_args import (
        check_compare,
        config_from_args,
        load_data,
        progress_printer,
        store_from_args,
    )
    from .export import export

    out = Path(a.output)
    if not out.parent.is_dir():  # said before anything trains
        raise FileNotFoundError(f"no such folder: {out.parent} (for -o {a.output})")
    ds = load_data(a)
    a.batchnorm = a.batchnorm or a.question == "fold"  # a fold needs its BatchNorms
    cfg = config_from_args(a)
    compare = None
    if a.question == "zero-init":
        check_compare(cfg, a)
        compare = {"compare": a.compare_init, "gain": a.compare_gain, "scale": a.compare_scale}
    kind = a.question or "run"
    raw = export(kind, cfg, ds, store_from_args(a), progress_printer(a.json), compare)
    files = write(raw, out)
    return {"kind": kind, "output": a.output, "files": files, "data_sha256": ds.sha256}


def write(raw: bytes, out: Path) -> list[str]:
    """The zip as it is, or for a .ipynb its two files (the notebook at out, the word list
    beside it; a different file of that name already there is never overwritten)."""
    if out.suffix != ".ipynb":
        out.write_bytes(raw)
        return [str(out)]
    z = zipfile.ZipFile(BytesIO(raw))
    notebook, words = sorted(z.namelist(), key=lambda n: not n.endswith(".ipynb"))
    beside = out.parent / Path(words).name
    content = z.read(words)
    if beside.exists() and beside.read_bytes() != content:
        raise FileExistsError(
            f"{beside} exists and is another word list; the notebook reads its words from "
            "that file: write to another folder, or a .zip"
        )
    beside.write_bytes(content)
    out.write_bytes(z.read(notebook))
    return [str(out), str(beside)]
