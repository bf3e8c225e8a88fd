"""The session's run records (made by ui.training.record_run) as plain tables for the compare page:
display names, config summaries, curves, final metrics, the settings that differ, exports.
No streamlit here, so all of it is tested directly."""

from __future__ import annotations

import json

import pandas as pd

from mlp_core import data
from mlp_core.config import RunConfig

from .charts import layer_key

UPLOAD_PREFIX = "upload: "  # ui.datasets names an uploaded data set "upload: <file name>"
METRICS = ("status", "steps", "train_loss", "val_loss", "seconds", "steps_per_second")


def short_label(cfg: RunConfig) -> str:
    """A legend-sized name: activation, BN, init, shape, seed."""
    m = cfg.model
    bn = "" if not m.batchnorm else "+BN" if m.output_bn else "+hidden BN"
    return f"{m.activation}{bn} {m.init} {m.n_layers}×{m.n_hidden} s{cfg.train.seed}"


def summary(cfg: RunConfig) -> str:
    m, t = cfg.model, cfg.train
    bn = "" if not m.batchnorm else " + BatchNorm" + ("" if m.output_bn else " (hidden layers)")
    return (
        f"{m.n_layers}×{m.n_hidden} {m.activation}{bn}, {m.init} init, block {cfg.data.block_size}"
        f", {t.steps:,} steps of {t.batch_size}, lr {t.lr:g}, seed {t.seed}"
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


def flat_config(run: dict) -> dict:
    """Every setting by its field name (unique across data/model/train) plus the data."""
    parts = run["config"].to_dict()
    return {"data": run["data"], **parts["data"], **parts["model"], **parts["train"]}


def config_diff(runs: list[dict], shown: list[str]) -> pd.DataFrame:
    """One row per setting whose value is not the same in every run; text, for display.
    The setting's name is a column (first), not the index, so a table shows it whole."""
    table = pd.DataFrame({n: flat_config(r) for n, r in zip(shown, runs)}).astype(str)
    table = table[table.nunique(axis=1) > 1]
    return table.rename_axis("setting").reset_index()


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
            "saturated": f"{100 * a['saturation'][j]:.0f}%",
        }
        for name, a in diag["activations"].items()
    ]
    rows.sort(key=lambda r: layer_key(r["layer"]))
    return pd.DataFrame(rows, columns=["layer", "mean", "std", "saturated"])


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
