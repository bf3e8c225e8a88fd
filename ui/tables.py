"""The session's run records (made by ui.training.record_run) as plain tables for the compare page:
display names, config summaries, curves, final metrics, the settings that differ, exports.
No streamlit here, so all of it is tested directly."""

from __future__ import annotations

import json

import pandas as pd

from mlp_core import data
from mlp_core.config import RunConfig
from mlp_core.model import GAINS
from mlp_core.run_text import share

from .layer_charts import layer_key

UPLOAD_PREFIX = "upload: "  # ui.datasets names an uploaded data set "upload: <file name>"
METRICS = ("status", "steps", "train_loss", "val_loss", "seconds", "steps_per_second")


def short_label(cfg: RunConfig) -> str:
    """A legend-sized name: activation, BN, init (with its gain where it is not the
    activation's own), shape, seed, and the notebook's arithmetic where a run used it (the
    engine's is the default)."""
    m = cfg.model
    bn = "" if not m.batchnorm else "+BN" if m.output_bn else "+hidden BN"
    init = (
        m.init if m.init_gain is None or m.init != "kaiming" else f"kaiming gain {m.init_gain:.4g}"
    )
    nb = " notebook" if cfg.train.arithmetic == "notebook" else ""
    return f"{m.activation}{bn} {init} {m.n_layers}×{m.n_hidden} s{cfg.train.seed}{nb}"


def summary(cfg: RunConfig) -> str:
    m, t = cfg.model, cfg.train
    bn = "" if not m.batchnorm else " + BatchNorm" + ("" if m.output_bn else " (hidden layers)")
    return (
        f"{m.n_layers}×{m.n_hidden} {m.activation}{bn}, {m.init} init, block {cfg.data.block_size}"
        f", {t.steps:,} steps of {t.batch_size}, lr {t.lr:g}, seed {t.seed}, "
        f"{t.arithmetic} arithmetic"
    )


DATA_LABEL_CHARS = 24  # an uploaded file's name is cut to this in a run's name


def data_label(source: str) -> str:
    """A short name of a run's data set: "built-in", or the uploaded file's name (any
    other source as it is), cut to DATA_LABEL_CHARS."""
    if source == data.DEFAULT_SOURCE:
        return "built-in"
    name = source.removeprefix(UPLOAD_PREFIX)
    return name if len(name) <= DATA_LABEL_CHARS else name[: DATA_LABEL_CHARS - 1] + "…"


def names(runs: list[dict]) -> list[str]:
    """Unique display names, numbered in the order the runs were trained, that say what a
    run is (activation, BN, init, shape, seed) and on which data: "#3 tanh+BN kaiming 5×100
    s42 · built-in". A page's own label ("zero init") is in the run list's page column."""
    return [
        f"#{i} {short_label(r['config'])} · {data_label(r['data'])}"
        for i, r in enumerate(runs, start=1)
    ]


def form_caption(activations: int, inits: int, seeds: int, most: int) -> str:
    """What a press of the compare form's Train would do, counted from what is ticked:
    every activation x init x seed; at most `most` runs a press."""
    n = activations * inits * seeds
    if n == 0:
        return "Tick at least one activation and one init."
    count = f"{activations} activation(s) × {inits} init(s) × {seeds} seed(s) = {n} run(s)"
    if n > most:
        return f"{count}: at most {most} a press, untick some."
    return f"{count}; data and seed as in the sidebar."


def run_list(runs: list[dict], shown: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run": shown,
            "page": [r["page"] for r in runs],
            "config": [summary(r["config"]) for r in runs],
            "data": [r["data"] for r in runs],
            "val loss": [r["metrics"]["val_loss"] for r in runs],
        }
    )


def curves(runs: list[dict], shown: list[str]) -> dict[str, dict]:
    """name -> {"step", "train", "val"}, the shape ui.charts.loss_curves takes."""
    return {n: r["metrics"]["curve"] for n, r in zip(shown, runs)}


def metrics(runs: list[dict], shown: list[str]) -> pd.DataFrame:
    rows = [{m: r["metrics"].get(m) for m in METRICS} for r in runs]
    return pd.DataFrame(rows, index=pd.Index(shown, name="run"))


SETTING_WORDS = {  # a setting's field name -> the words of the widget that sets it
    "data": "Data set",
    "block_size": "Context length",
    "n_embd": "Embedding size",
    "n_hidden": "Width",
    "n_layers": "Hidden layers",
    "activation": "Activation",
    "batchnorm": "BatchNorm",
    "output_bn": "BatchNorm after the output",
    "init": "Init",
    "init_scale": "Normal init std",
    "init_gain": "Kaiming gain",
    "zero_embedding": "Embedding zeroed",
    "bn_eps": "BatchNorm eps",
    "bn_momentum": "BatchNorm momentum",
    "steps": "Steps",
    "batch_size": "Batch",
    "lr": "Learning rate",
    "lr_decay_step": "lr / 10 from step",
    "seed": "Seed",
    "device": "Device",
    "dtype": "Precision",
    "arithmetic": "Arithmetic",
    "rng": "Random stream",
}


def _applies(name: str, cfg: RunConfig) -> bool:
    """Does this setting change anything in this run? (BatchNorm's numbers without
    BatchNorm, a decay step past the run's last step, a std of another init do not.)"""
    m, t = cfg.model, cfg.train
    if name in ("output_bn", "bn_eps", "bn_momentum"):
        return m.batchnorm
    if name == "lr_decay_step":
        return 0 < t.lr_decay_step < t.steps
    if name == "init_scale":
        return m.init == "normal"
    if name == "init_gain":
        return m.init == "kaiming"
    return name != "zero_embedding" or m.init == "zeros"


def flat_config(run: dict) -> dict:
    """Every setting by its field name (unique across data/model/train) plus the data: its
    name and the start of its sha256 (two uploads of one file name are two data sets)."""
    parts = run["config"].to_dict()
    sha = run.get("data_sha256")
    data_set = run["data"] if not sha else f"{run['data']} · sha256 {sha[:8]}"
    return {"data": data_set, **parts["data"], **parts["model"], **parts["train"]}


def _said(name: str, value, cfg: RunConfig) -> str:
    """A setting's value as text (a gain left to the activation's own: that gain)."""
    if name == "init_gain" and value is None:
        act = cfg.model.activation
        return f"{GAINS[act]:.4g} ({act}'s own)"
    return str(value)


def _shown_config(run: dict) -> dict:
    """The settings that apply to a run, in its widgets' words; "—" where one does not."""
    cfg = run["config"]
    return {
        SETTING_WORDS.get(k, k): (_said(k, v, cfg) if _applies(k, cfg) else "—")
        for k, v in flat_config(run).items()
    }


def _effect(run: dict, shown: dict) -> dict:
    """Each setting as set, for telling runs apart (``shown``: the run's _shown_config):
    its value where it applies, "—" where it does not; a kaiming gain left to the
    activation's own is one setting whatever the activation (the activation's row shows
    that difference), and an embedding not zeroed by an init that never zeroes it is the
    same as one not zeroed."""
    shown = dict(shown)
    cfg = run["config"]
    if cfg.model.init == "kaiming" and cfg.model.init_gain is None:
        shown[SETTING_WORDS["init_gain"]] = "the activation's own"
    if shown[SETTING_WORDS["zero_embedding"]] == "—":
        shown[SETTING_WORDS["zero_embedding"]] = "False"
    return shown


def config_diff(runs: list[dict], shown: list[str]) -> pd.DataFrame:
    """One row per setting that does not do the same in every run (_effect), shown as it
    applies to each run ("—" where it does not), in the widgets' words; one column per run,
    headed by its number (#3) so the headers stay short. The setting is a column (first),
    not the index, so a table shows it whole."""
    heads = [n.split(" ", 1)[0] for n in shown]
    shown_configs = [_shown_config(r) for r in runs]
    table = pd.DataFrame(dict(zip(heads, shown_configs)), dtype=str)
    effects = [_effect(r, s) for r, s in zip(runs, shown_configs)]
    effect = pd.DataFrame(dict(zip(heads, effects)), dtype=str)
    table = table[effect.nunique(axis=1) > 1]
    return table.rename_axis("setting").reset_index()


SATURATED_WORD = {"tanh": "saturated", "sigmoid": "saturated", "relu": "dead"}


def saturation(diag: dict, step: int) -> pd.DataFrame:
    """Per activation layer at a captured step of a run's diagnostics (the core's
    Recorder.result): mean, std and the share of saturated outputs, the figures of the
    lecture's activation plot, in layer order."""
    j = diag["steps"].index(step)
    rows = [
        {
            "layer": name,
            "mean": f"{a['mean'][j]:+.2f}",
            "std": f"{a['std'][j]:.2f}",
            "saturated (ReLU: dead)": share(a["saturation"][j]),
        }
        for name, a in diag["activations"].items()
    ]
    rows.sort(key=lambda r: layer_key(r["layer"]))
    return pd.DataFrame(rows, columns=["layer", "mean", "std", "saturated (ReLU: dead)"])


def curves_csv(runs: list[dict], shown: list[str]) -> str:
    rows = [
        {"run": n, "split": split, "step": s, "loss": v}
        for n, c in curves(runs, shown).items()
        for split in ("train", "val")
        for s, v in zip(c["step"], c[split])
    ]
    return pd.DataFrame(rows, columns=["run", "split", "step", "loss"]).to_csv(index=False)


def metrics_csv(runs: list[dict], shown: list[str]) -> str:
    return metrics(runs, shown).to_csv()


def export_json(runs: list[dict], shown: list[str]) -> str:
    """Config, data identity, final metrics and curves of each run (no weights)."""
    out = [
        {
            "run": n,
            "page": r["page"],
            "data": r["data"],
            "data_sha256": r["data_sha256"],
            "config": r["config"].to_dict(),
            "metrics": {m: r["metrics"].get(m) for m in METRICS},
            "curve": r["metrics"]["curve"],
            "baselines": r.get("baselines"),
        }
        for n, r in zip(shown, runs)
    ]
    return json.dumps(out, indent=1)
