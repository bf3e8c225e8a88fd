"""Each run's colour, the same in every chart of runs: the live curve while a stack trains
and the final curves after it, and a legend that fits below the chart."""

from __future__ import annotations

import re

import altair as alt

# Runs side by side: tableau10's hues, then ten darker or stronger ones, chosen so that no
# two of the 20 are closer than 21 in CIELAB (tableau20's light pairs are ~10 apart); the
# compare page lets a visitor pick at most MAX_RUNS. Not Streamlit's theme.
RUN_PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1",
    "#9c755f", "#edc948", "#76b7b2", "#ff9da7", "#7f7f7f",
    "#000000", "#1f1f8f", "#8b0000", "#00c8e6", "#a6d608",
    "#e03cc8", "#1e5a32", "#00897b", "#6a3d9a", "#ff5500",
]  # fmt: skip
MAX_RUNS = len(RUN_PALETTE)

# runs' legends go below the chart, one entry a line: 20 names fit, and the chart keeps
# the page's width (beside it, a phone's plot would shrink to a sliver)
RUN_LEGEND = alt.Legend(orient="bottom", direction="vertical", columns=1, labelLimit=360)
NUMBERED = re.compile(r"^#(\d+) ")  # ui.tables.names: "#3 tanh kaiming ..."


def palette_of(names: list[str]) -> list[str]:
    """A colour per name. A numbered name (#n, the session's run number) keeps colour n in
    every chart, the live curve while it trains included, as long as the names shown do
    not share one; otherwise (and for other names) the i-th name gets RUN_PALETTE[i]."""
    numbers = [m and int(m.group(1)) - 1 for m in map(NUMBERED.match, names)]
    if None not in numbers and len({n % MAX_RUNS for n in numbers}) == len(names):
        return [RUN_PALETTE[n % MAX_RUNS] for n in numbers]
    return [RUN_PALETTE[i % MAX_RUNS] for i in range(len(names))]


def run_color(names: list[str], field: str = "run") -> alt.Color:
    """The colour of each run (palette_of), in the order given (the legend's order too)."""
    return alt.Color(
        f"{field}:N",
        scale=alt.Scale(domain=list(names), range=palette_of(list(names))),
        sort=list(names),
        legend=RUN_LEGEND,
    )
