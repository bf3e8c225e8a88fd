"""Exported notebooks (mlp_core/export.py), run in a real Jupyter kernel with nbclient: what
they print must be the app's notebook-arithmetic run of the same settings, the losses to
the last bit, the gradient table tensor by tensor, the fold's proof within the app's
tolerances. The cells' init and loop are also run in this process over more settings."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import nbformat
import pytest
import torch

from mlp_core import data, export
from mlp_core.cli import main
from mlp_core.config import RunConfig
from mlp_core.export_cells import ACT_CLASS, LAYERS, code, init_code
from mlp_core.model import init_and_generator
from mlp_core.notebook import NotebookNet
from mlp_core.runs import get_or_train

pytest.importorskip("nbclient", reason="nbclient runs the exported notebooks (requirements-dev)")
SMALL = RunConfig().replace(n_layers=2, n_hidden=32, steps=150)
LECTURE_BN = RunConfig().replace(
    n_layers=1,
    n_hidden=200,
    batchnorm=True,
    output_bn=False,
    bn_momentum=0.001,
    rng="lecture",
    seed=2147483647,
    steps=200,
)


def app_runs(kind: str, cfg: RunConfig, ds: data.Dataset, compare=None):
    """The app's notebook-arithmetic runs that the notebook must reproduce."""
    return get_or_train(export.export_configs(kind, cfg, compare), ds)


def execute(raw: bytes, where: Path) -> nbformat.NotebookNode:
    """Unzip the download and run its notebook top to bottom in a fresh kernel."""
    from nbclient import NotebookClient

    zipfile.ZipFile(io.BytesIO(raw)).extractall(where)
    (path,) = where.glob("*/*.ipynb")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": path.parent}}
    ).execute()
    return nb


def printed(nb: nbformat.NotebookNode, tag: str) -> str:
    (cell,) = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def losses(text: str) -> dict:
    """The numbers a net's losses cell prints, as floats."""
    split = re.search(r"train loss (\S+), dev loss (\S+)", text)
    curve = re.findall(r"step +(\d+): mean minibatch loss (\S+)", text)
    return {
        "train_loss": float(split[1]),
        "val_loss": float(split[2]),
        "curve_steps": [int(s) for s, _ in curve],
        "curve": [float(v) for _, v in curve],
    }


def assert_same_numbers(text: str, run) -> None:
    """Every loss printed is the app's run's to the last bit."""
    got, m = losses(text), run.metrics
    assert got["train_loss"] == m["train_loss"] and got["val_loss"] == m["val_loss"]
    assert got["curve_steps"] == m["curve"]["step"][1:]
    assert got["curve"] == m["curve"]["train"][1:]


def assert_checks_pass(nb, tag: str) -> None:
    text = printed(nb, tag)
    assert "NOT within" not in text and "the same bits" in text, text


def test_tanh_default_on_the_built_in_names(tmp_path):
    ds = data.default_dataset()
    cfg = RunConfig().replace(steps=200)  # the lecture's 6-Linear tanh net
    (run,) = app_runs("run", cfg, ds)
    raw = export.build_zip("run", [run], ds)
    assert sorted(n.split("/")[1] for n in zipfile.ZipFile(io.BytesIO(raw)).namelist()) == [
        "names.txt",
        "run.ipynb",
    ]
    nb = execute(raw, tmp_path)
    assert_same_numbers(printed(nb, "numbers-run"), run)
    assert_checks_pass(nb, "check-run")


GRADIENT_ROW = re.compile(r"^(C|layers\.\d+\.\w+) .*?\| +(never|step \d+) +(\S+) \|", re.M)


def test_sigmoid_zero_init_pair_and_its_gradient_table(tmp_path, small_ds):
    zero, other = app_runs("zero-init", SMALL.replace(activation="sigmoid"), small_ds)
    nb = execute(export.build_zip("zero-init", [zero, other], small_ds), tmp_path)
    assert_same_numbers(printed(nb, "numbers-zero"), zero)
    assert_same_numbers(printed(nb, "numbers-compare"), other)
    table = dict((n, (w, g)) for n, w, g in GRADIENT_ROW.findall(printed(nb, "gradient-table")))
    first = zero.metrics["grad_norms_first"]
    assert set(table) == set(first)
    for name, norms in first.items():
        onset = next((f"step {i}" for i, v in enumerate(norms) if v > 0), "never")
        assert table[name] == (onset, f"{max(norms):.2e}"), name
    assert table["layers.4.bias"][0] == "step 0" and table["C"][0] != "step 0"  # it flows down
    assert "7 of 7 tensors the same" in printed(nb, "gradient-table")
    histograms = [
        o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(histograms) >= 2 + 2  # one figure per net, and the loss curves


def test_relu_with_batchnorm(tmp_path, small_ds):
    cfg = SMALL.replace(activation="relu", batchnorm=True)
    (run,) = app_runs("run", cfg, small_ds)
    nb = execute(export.build_zip("run", [run], small_ds), tmp_path)
    assert_same_numbers(printed(nb, "numbers-run"), run)
    assert_checks_pass(nb, "check-run")


@pytest.mark.slow
def test_the_lectures_2_layer_batchnorm_net_on_its_own_stream(tmp_path):
    ds = data.default_dataset()
    (run,) = app_runs("run", LECTURE_BN, ds)
    raw = export.build_zip("run", [run], ds)
    nb = execute(raw, tmp_path)
    init = next(c.source for c in nb.cells if c.source.startswith("g = torch.Generator"))
    assert "BatchNorm1d(n_hidden, momentum=0.001)" in init and "2147483647" in init
    assert_same_numbers(printed(nb, "numbers-run"), run)


HOSTILE = "list ![x](http://example.invalid/y).txt"


def test_an_uploaded_50_word_list_travels_in_the_zip(tmp_path, small_ds):
    words = list(small_ds.words[:50])
    ds = data.from_bytes("\n".join(w.upper() for w in words).encode(), f"upload: {HOSTILE}")
    cfg = SMALL.replace(steps=60, batch_size=16)
    (run,) = app_runs("run", cfg, ds)
    raw = export.build_zip("run", [run], ds)
    z = zipfile.ZipFile(io.BytesIO(raw))
    (listed,) = [n for n in z.namelist() if n.endswith("words.txt")]
    assert z.read(listed).decode().split() == words  # the normalised words, in order
    nb = execute(raw, tmp_path)
    notes = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "example.invalid" not in notes  # the file's name is never Markdown
    assert HOSTILE in nb.cells[1 + 1].source  # it is a string in the settings cell
    assert_same_numbers(printed(nb, "numbers-run"), run)


def test_the_fold_proof(tmp_path, small_ds):
    from mlp_core.bn_fold import fold_report

    (run,) = app_runs("fold", SMALL.replace(batchnorm=True), small_ds)
    nb = execute(export.build_zip("fold", [run], small_ds), tmp_path)
    assert_same_numbers(printed(nb, "numbers-run"), run)
    proof, app = printed(nb, "numbers-fold"), fold_report(run, small_ds).metrics
    bn, folded = map(float, re.search(r"with BatchNorm (\S+), folded (\S+)", proof).groups())
    assert abs(bn - app["val_loss_bn"]) <= 1e-6 and abs(folded - app["val_loss_folded"]) <= 1e-6
    diff = float(re.search(r"max \|logits difference\| (\S+) over", proof)[1])
    assert diff <= app["logits_tolerance"]
    check = printed(nb, "check-fold")
    assert "ours vs torch's fusion: 0.0 here and in the app" in check and "NOT" not in check


INITS = [
    SMALL,
    SMALL.replace(activation="relu", init_gain=1.3),
    SMALL.replace(init="zeros", activation="sigmoid", batchnorm=True),
    SMALL.replace(init="zeros", zero_embedding=True),
    SMALL.replace(init="normal", init_scale=0.2, batchnorm=True, output_bn=False),
    SMALL.replace(init="torch-default", batchnorm=True),
    SMALL.replace(n_layers=3, batchnorm=True, rng="lecture"),
    LECTURE_BN,
    LECTURE_BN.replace(batchnorm=False, activation="relu"),
]


@pytest.mark.parametrize("cfg", INITS, ids=lambda c: f"{c.model.init}-{c.model.activation}")
def test_the_init_cell_draws_the_apps_numbers(cfg):
    """The init cell, run here, gives the app's parameters bit for bit, and leaves the
    minibatch generator where the app's is."""
    V, T = 27, cfg.data.block_size
    ns = {"torch": torch, "vocab_size": V, "block_size": T}
    act = cfg.model.activation
    exec(code(LAYERS, act=ACT_CLASS[act], fn=act), ns)
    exec(init_code(cfg), ns)
    ours = dict(ns["named_parameters"](ns["C"], ns["layers"]))
    net = NotebookNet(cfg, V)
    theirs = {net.state_names()[k]: p.detach() for k, p in net.P.items()}
    assert ours.keys() == theirs.keys()
    for name, p in theirs.items():
        assert torch.equal(ours[name].view_as(p), p), name
    _, gen = init_and_generator(cfg.model, V, T, cfg.train.seed, cfg.train.rng)
    g = ns["g"] if cfg.train.rng == "lecture" else torch.Generator().manual_seed(cfg.train.seed)
    assert torch.equal(
        torch.randint(0, 99, (8,), generator=g), torch.randint(0, 99, (8,), generator=gen)
    )


def test_every_code_cell_has_a_note_and_the_first_says_where_it_came_from(small_ds):
    (run,) = app_runs("run", SMALL.replace(steps=30), small_ds)
    nb = export.notebook("run", [run], small_ds)
    first = nb.cells[0].source
    assert small_ds.sha256 in first and "`words.txt`" in first
    assert f"dev loss {run.metrics['val_loss']:.7f}" in first and "to the last bit" in first
    for above, cell in zip(nb.cells, nb.cells[1:]):
        assert cell.cell_type == "markdown" or above.cell_type == "markdown"


def test_a_float64_run_is_refused():
    with pytest.raises(export.ExportError, match="float32"):
        export.export_configs("run", SMALL.replace(dtype="float64"))


def test_the_command_line(tmp_path, small_ds, capsys):
    names = tmp_path / "my names.txt"
    names.write_text("\n".join(small_ds.words[:300]))
    args = ["export-notebook", "--names", str(names), "--layers", "1", "--n-hidden", "8"]
    args += ["--steps", "20", "--no-cache"]
    assert main(args + ["-o", str(tmp_path / "run.zip")]) == 0
    assert sorted(zipfile.ZipFile(tmp_path / "run.zip").namelist())[0].endswith("run.ipynb")
    (tmp_path / "out").mkdir()
    assert main(args + ["--question", "fold", "-o", str(tmp_path / "out" / "fold.ipynb")]) == 0
    nb = nbformat.read(tmp_path / "out" / "fold.ipynb", as_version=4)
    assert "BatchNorm1d" in next(c.source for c in nb.cells if c.source.startswith("g = "))
    assert (tmp_path / "out" / "words.txt").read_text().split() == list(small_ds.words[:300])
    other = tmp_path / "other"
    other.mkdir()
    (other / "words.txt").write_text("not these words")
    assert main(args + ["-o", str(other / "run.ipynb")]) == 2
    assert "another word list" in capsys.readouterr().err
    assert main(args + ["-o", str(tmp_path / "nowhere" / "run.zip")]) == 2
    assert "no such folder" in capsys.readouterr().err
