"""The speed bench's report (bench/train_speed.py): the machine it ran on, the table of
rows (the engine against the seed loop, their ratio, the speed target) and its Markdown."""

from __future__ import annotations

import os
import platform
import statistics
from pathlib import Path

import torch

FULL_STEPS = 200_000  # the lecture's schedule: row (d) is scaled to it
TARGETS = {"w": 3.5, "a": 4.5, "b": 6.0, "c": 10.0, "d": 15.0, "e": 10.0}  # the speed targets


def ratio(rates: dict, a: str, b: str) -> float:
    return statistics.median(x / y for x, y in zip(rates[a], rates[b]))


def machine() -> dict:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    names = [line.split(":", 1)[1].strip() for line in info.splitlines() if "model name" in line]
    cpu = names[0] if names else platform.processor()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def table(rates: dict, w: dict, d: dict, e: dict) -> list[dict]:
    seed = statistics.median(rates["seed tanh"])
    seed_d = statistics.median(rates["seed 2-layer BN"])
    whole = {
        "row": "w",
        "what": f"whole run: 6-layer net, {w['steps'] // 1000}k steps, everything a user gets",
        "unit": "s",
        "seed": statistics.median(w["seed_s"]),
        "engine": statistics.median(w["whole_s"]),
        "ratio": w["ratio"],
        "target": TARGETS["w"],
    }
    rows = [
        ("a", "6-layer tanh, batch 32", "engine tanh", "seed tanh", "steps/s"),
        ("b", "6-layer tanh + BN", "engine BN", "seed BN", "steps/s"),
        (
            "a'",
            "(a) with the app's diagnostics",
            "engine tanh, diagnostics",
            "seed tanh",
            "steps/s",
        ),
        ("b'", "(b) with the app's diagnostics", "engine BN, diagnostics", "seed BN", "steps/s"),
        ("c", "K=8 runs at once", "engine K=8, 2 workers", "seed tanh", "model-steps/s"),
        ("c'", "K=8, one worker (one core)", "engine K=8, 1 worker", "seed tanh", "model-steps/s"),
    ]
    out = [whole] + [
        {
            "row": key,
            "what": what,
            "unit": unit,
            "seed": statistics.median(rates[b]),
            "engine": statistics.median(rates[a]),
            "ratio": ratio(rates, a, b),
            "target": TARGETS.get(key),
        }
        for key, what, a, b, unit in rows
    ]
    out.append(
        {
            "row": "d",
            "what": "2-layer BN net, 200k steps, wall"
            + (" (20k measured, x10)" if d["steps"] < FULL_STEPS else "")
            + "; seed: its step time x 200k",
            "unit": "s",
            "seed": FULL_STEPS / seed_d,
            "engine": d["wall_s"],
            "ratio": FULL_STEPS / seed_d / d["wall_s"],
            "target": TARGETS["d"],
        }
    )
    out.append(
        {
            "row": "e",
            "what": "first result: zero-init CLI, fresh process",
            "unit": "s",
            "seed": None,
            "engine": e["seconds"],
            "ratio": None,
            "target": TARGETS["e"],
        }
    )
    assert seed > 0
    return out


def met(row: dict) -> str:
    if row["row"] in ("d", "e"):
        return "yes" if row["engine"] <= row["target"] else "no"
    return "" if row["target"] is None else ("yes" if row["ratio"] >= row["target"] else "no")


def fmt(x, unit: str) -> str:
    if x is None:
        return "-"
    return f"{x:,.1f} {unit}" if unit == "s" else f"{x:,.0f}"


def print_table(rows: list[dict]) -> None:
    print("| row | what | seed loop | engine | ratio | target | met |")
    print("|---|---|---:|---:|---:|---:|---|")
    for r in rows:
        ratio_s = "-" if r["ratio"] is None else f"{r['ratio']:.1f}x"
        target = {"d": "<= 15 s", "e": "< 10 s"}.get(r["row"])
        target = target or (f">= {r['target']:g}x" if r["target"] else "-")
        unit = r["unit"]
        print(
            f"| ({r['row']}) | {r['what']} ({unit}) | {fmt(r['seed'], unit)} | "
            f"{fmt(r['engine'], unit)} | {ratio_s} | {target} | {met(r)} |"
        )
