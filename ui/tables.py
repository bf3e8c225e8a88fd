"""The session's run records (made by ui.training.record_run) as plain tables for the compare page:
display names, config summaries, curves, final metrics, the settings that differ, exports.
No streamlit here, so all of it is tested directly."""

from __future__ import annotations

import json

import pandas as pd

from mlp_core.config import RunConfig

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


def names(runs: list[dict]) -> list[str]:
    """Unique display names: pages reuse labels ("zero init"), so number them in the order
    they were trained."""
    return [f"#{i} {r['label']}" for i, r in enumerate(runs, start=1)]


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
    """One row per setting whose value is not the same in every run; text, for display."""
    table = pd.DataFrame({n: flat_config(r) for n, r in zip(shown, runs)}).astype(str)
    table.index.name = "setting"
    return table[table.nunique(axis=1) > 1]


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
