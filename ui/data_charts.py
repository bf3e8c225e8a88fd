"""The charts of a data set (pages/dataset.py): word lengths, character frequencies and
the bigram counts, from data.stats's plain lists."""

from __future__ import annotations

import altair as alt
import pandas as pd

LETTER_AXIS = {"labelAngle": 0, "labelOverlap": False, "labelFontSize": 12}  # every letter


def word_lengths(lengths: list[tuple[int, int]]) -> alt.Chart:
    """Bars of (length, words), as data.stats gives them."""
    df = pd.DataFrame(lengths, columns=["length", "words"])
    return (
        alt.Chart(df, title="Word lengths")
        .mark_bar()
        .encode(
            x=alt.X("length:O", title="characters", axis=alt.Axis(labelAngle=0)),
            y="words:Q",
            tooltip=["length", "words"],
        )
        .properties(height=260)
    )


def char_counts(chars: list[tuple[str, int]]) -> alt.Chart:
    df = pd.DataFrame(chars, columns=["char", "count"])
    return (
        alt.Chart(df, title="Character frequencies")
        .mark_bar()
        .encode(
            x=alt.X("char:N", sort="-y", axis=alt.Axis(labelAngle=0, labelOverlap=False)),
            y="count:Q",
            tooltip=["char", "count"],
        )
        .properties(height=260)
    )


def bigram_heatmap(bigrams: list[tuple[str, str, int]], order: list[str]) -> alt.Chart:
    """Counts of (first, next) pairs; order: the axis order ('.' first, then the chars)."""
    df = pd.DataFrame(bigrams, columns=["first", "next", "count"])
    return (
        alt.Chart(df, title=["Bigram counts", "row: a character · column: the one after it"])
        .mark_rect()
        .encode(
            x=alt.X("next:N", sort=order, axis=alt.Axis(orient="top", **LETTER_AXIS)),
            y=alt.Y("first:N", sort=order, axis=alt.Axis(**LETTER_AXIS)),
            color=alt.Color(
                "count:Q",
                scale=alt.Scale(type="log", scheme="blues"),
                legend=alt.Legend(orient="bottom"),  # below: the map keeps a phone's width
            ),
            tooltip=["first", "next", "count"],
        )
        .properties(height=620)  # as wide as its column: a phone's screen holds it
    )
