"""Take it home: a run, the zero-init pair or the fold proof as a Jupyter notebook in the
lecture's style, zipped with its word list, that reproduces the app's numbers.

The notebook's loop is the app's notebook arithmetic (notebook.py) written out op for op,
so the numbers to expect come from the app's run of the same settings in that arithmetic:
``export_configs`` says which runs, ``build_zip`` writes the notebook from their outcomes
(the cells are in export_cells.py, export_loop.py and export_questions.py).
"""

from __future__ import annotations

import io
import math
import pprint
import zipfile

import nbformat

from . import export_loop as loop
from .config import ConfigError, RunConfig
from .data import DEFAULT_SOURCE, Dataset, make_splits
from .export_cells import Cells, data_cells, init_code, init_note, layer_cells
from .export_questions import fold_cells, gradient_table_cell, zero_init_cells
from .export_text import SETTINGS, header
from .run_rules import GRAD_TRACK_FIRST
from .runs import get_or_train
from .store import RunStore, run_key
from .train import ProgressFn, RunOutcome

KINDS = ("run", "zero-init", "fold")
FILE_NAMES = {"run": "run.ipynb", "zero-init": "zero-init.ipynb", "fold": "batchnorm-fold.ipynb"}
PAIR = ("zero", "compare")  # the zero-init notebook's two nets, as the app's report names them


class ExportError(ConfigError):
    """A run that cannot be exported as a notebook; the message says why."""


def export_configs(kind: str, cfg: RunConfig, compare: dict | None = None) -> list[RunConfig]:
    """The runs a notebook of this kind reproduces: cfg (the pair from it for zero-init) in
    the notebook arithmetic, on the CPU, where the exported notebook runs."""
    from .bn_fold import fold_configs
    from .zero_init import zero_init_configs

    if kind not in KINDS:
        raise ExportError(f"kind must be one of {', '.join(KINDS)}")
    if cfg.train.dtype != "float32":
        raise ExportError("the notebook trains in float32, as the lecture does")
    nb = cfg.replace(arithmetic="notebook", device="cpu")
    if kind == "zero-init":
        return zero_init_configs(nb, **(compare or {}))
    return fold_configs(nb) if kind == "fold" else [nb]


def export(
    kind: str,
    cfg: RunConfig,
    ds: Dataset,
    store: RunStore | None = None,
    on_progress: ProgressFn | None = None,
    compare: dict | None = None,
) -> bytes:
    """The zip of a notebook of this kind: its runs fetched from the store or trained."""
    outcomes = get_or_train(export_configs(kind, cfg, compare), ds, store, on_progress)
    return build_zip(kind, outcomes, ds)


def words_file(ds: Dataset) -> str:
    return "names.txt" if ds.source == DEFAULT_SOURCE else "words.txt"


def folder(kind: str, outcomes: list[RunOutcome], ds: Dataset) -> str:
    """The zip's one folder, named by the kind and the first run's content hash."""
    return f"{kind}-{run_key(outcomes[0].config, ds.sha256)[:12]}"


def build_zip(kind: str, outcomes: list[RunOutcome], ds: Dataset) -> bytes:
    """The notebook and the word list it reads, in one folder of a zip."""
    nb = nbformat.writes(notebook(kind, outcomes, ds))
    top = folder(kind, outcomes, ds)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{top}/{FILE_NAMES[kind]}", nb)
        z.writestr(f"{top}/{words_file(ds)}", "\n".join(ds.words) + "\n")
    return buf.getvalue()


def _finite(x: float | None) -> float | None:
    return x if isinstance(x, float) and math.isfinite(x) else None


def numbers(o: RunOutcome) -> dict:
    """A run's numbers the notebook prints: steps run, split losses, the loss curve's
    points after step 0 (each the mean minibatch loss since the last point)."""
    if o.status not in ("ok", "diverged"):
        raise ExportError(f"the run {o.status}: there are no numbers to reproduce")
    m = o.metrics
    curve = m.get("curve") or {"step": [0], "train": [None]}
    return {
        "status": o.status,
        "steps": m["steps"],
        "diverged_at": m.get("diverged_at"),
        "train_loss": _finite(m.get("train_loss")),
        "dev_loss": _finite(m.get("val_loss")),
        "curve_steps": curve["step"][1:],
        "curve": curve["train"][1:],
    }


def gradients(o: RunOutcome, ds: Dataset) -> dict:
    """The zero-init run's gradient table: per tensor, the first tracked step with a
    nonzero gradient and the largest norm (the run's own float32), and the verdict of
    exact arithmetic (zero_init_exact, as the app's report decides it)."""
    from .zero_init_exact import analyse
    from .zero_init_facts import gradient_facts

    cfg, m = o.config, o.metrics
    sp = make_splits(ds, cfg.data.block_size)
    first = m.get("grad_norms_first") or {}
    facts = gradient_facts(
        analyse(cfg, sp.Xtr, sp.Ytr, ds.vocab_size), m["params"], first, cfg.train.steps
    )
    return {
        name: {
            "onset": next((i for i, v in enumerate(norms) if v > 0), None),
            "largest": max(norms, default=0.0),
            "exact": _exact_text(facts[name]),
        }
        for name, norms in first.items()
    }


def _exact_text(f: dict) -> str:
    return {
        "exact": f"from step {f['onset']}, size {f['size']}",
        "later": f"from step {f['onset']}, after this run's steps",
        "round-off": "none: round-off only",
        "none": "none",
    }[f["kind"]]


def expected(kind: str, outcomes: list[RunOutcome], ds: Dataset) -> dict:
    """The app's numbers the notebook is checked against."""
    if kind == "zero-init":
        out = {k: numbers(o) for k, o in zip(PAIR, outcomes)}
        out["zero"]["gradients"] = gradients(outcomes[0], ds)
        return out
    out = numbers(outcomes[0])
    if kind == "fold":
        from .bn_fold import fold_report

        m = fold_report(outcomes[0], ds).metrics
        keys = ("val_loss_bn", "val_loss_folded", "max_abs_diff_logits", "logits_tolerance")
        keys += ("argmax_agreement", "max_abs_diff_vs_torch_reference")
        out["fold"] = {k: m[k] for k in keys}
    return out


def settings_code(kind: str, outcomes: list[RunOutcome], ds: Dataset, numbers: dict) -> str:
    cfgs = {k: o.config.to_dict() for k, o in zip(PAIR, outcomes)}
    config = cfgs if kind == "zero-init" else cfgs["zero"]
    lines = [
        f"CONFIG = {_literal(config)}",
        f"WORDS_FILE = {words_file(ds)!r}",
        f"SOURCE = {ds.source!r}",
        f"SHA256 = {ds.sha256!r}",
        f"EXPECTED = {_literal(numbers)}",
    ]
    return "\n".join(lines)


def _literal(value: dict) -> str:
    return pprint.pformat(value, sort_dicts=False, width=88, compact=True)


def net_cells(o: RunOutcome, prefix: str, kind: str) -> Cells:
    """One net: its init, its training (and for zero init, its histograms)."""
    cfg = o.config
    track = f", track={min(cfg.train.steps, GRAD_TRACK_FIRST)}" if prefix == "zero_" else ""
    run = f"{loop.params_code()}\n{loop.batches_code(cfg)}\n"
    run += f"{prefix}lossi, {prefix}grads = train(C, layers, g{track})"
    run += f"\n{prefix}C, {prefix}layers = C, layers" if prefix else ""
    note = "Train it with the loop above"
    if track:
        note += " (each gradient's norm kept over the first steps, for the gradient table)"
    if kind != "zero-init":
        return [(init_note(cfg), init_code(cfg)), (f"{note}.", run)]
    title = "zero init" if prefix == "zero_" else "comparison"
    heading = "## The zero-init net" if prefix == "zero_" else "## The comparison net"
    return [
        (f"{heading}\n\n{init_note(cfg)}", init_code(cfg)),
        (f"{note}.", run),
        ("Its histograms.", f'histograms({prefix}layers, "{title}")'),
    ]


def notebook(kind: str, outcomes: list[RunOutcome], ds: Dataset) -> nbformat.NotebookNode:
    """The whole notebook: where it came from, the data, the layers, each net trained,
    the losses against the app's, and the question's own cells."""
    cfg, numbers = outcomes[0].config, expected(kind, outcomes, ds)
    cells: Cells = [
        (header(kind, outcomes, ds, words_file(ds), numbers), ""),
        (SETTINGS, settings_code(kind, outcomes, ds, numbers)),
        ("Imports.", loop.IMPORTS),
        *data_cells(words_file(ds), cfg.data.block_size),
        *layer_cells(cfg.model.activation),
        (loop.TRAIN_NOTE, loop.train_code(cfg)),
        ("Helpers for the losses, and for comparing them with the app's.", loop.eval_code()),
    ]
    if kind == "zero-init":
        cells += zero_init_cells(cfg.model.activation)
        for key, o in zip(PAIR, outcomes):
            cells += net_cells(o, f"{key}_", kind)
        cells += gradient_table_cell(min(cfg.train.steps, GRAD_TRACK_FIRST))
        for key in PAIR:
            cells += loop.check_cells(f"{key}_", f'EXPECTED["{key}"]')
    else:
        cells += net_cells(outcomes[0], "", kind)
        cells += loop.check_cells("", "EXPECTED")
        cells += fold_cells() if kind == "fold" else []
    return _assemble(cells)


def _assemble(cells: Cells) -> nbformat.NotebookNode:
    """A markdown cell above each code cell; a third item, where given, tags the code cell."""
    out = []
    for note, source, *tags in cells:
        out.append(nbformat.v4.new_markdown_cell(note))
        if source:
            meta = {"tags": tags[0]} if tags else {}
            out.append(nbformat.v4.new_code_cell(source, metadata=meta))
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = nbformat.v4.new_notebook(cells=out, metadata={"kernelspec": kernel})
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    return nb
