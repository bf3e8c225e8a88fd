"""The data: how many words, which characters, how long, which pairs follow which; the
lecture's split and contexts; and the reference losses every other page measures against."""

from collections import Counter

import altair as alt
import pandas as pd
import streamlit as st

import ui
from mlp_core import data

MAX_BLOCK = 8  # contexts longer than this are unreadable in the examples
MAX_EXAMPLE_WORDS = 20
COUNT_COLUMNS = {
    name: st.column_config.NumberColumn(format="localized") for name in ("words", "rows (contexts)")
}
LETTER_AXIS = {"labelAngle": 0, "labelOverlap": False, "labelFontSize": 12}  # every letter
YARDSTICKS = {
    "uniform": (
        "Uniform",
        "ln(vocab): every character equally likely — what a model that learned nothing scores.",
    ),
    "unigram_entropy": (
        "Unigram",
        "Entropy of the character frequencies: knows how common each character is, ignores "
        "the context (where a zero-init net gets stuck).",
    ),
    "bigram": (
        "Bigram",
        "The best any model can do seeing only the previous character, counted on train: "
        "an MLP with a longer context should beat it.",
    ),
}


@st.cache_data(show_spinner=False)
def counts(_ds: data.Dataset, sha256: str) -> dict[str, pd.DataFrame]:
    """Word lengths, character and bigram counts ('.' marks start and end, as in the
    lecture); keyed by the data's hash, so each data set is counted once."""
    lengths = Counter(len(w) for w in _ds.words)
    chars = Counter("".join(_ds.words))
    pairs = Counter(p for w in _ds.words for p in zip("." + w, w + "."))
    return {
        "lengths": pd.DataFrame(sorted(lengths.items()), columns=["length", "words"]),
        "chars": pd.DataFrame(chars.most_common(), columns=["char", "count"]),
        "bigrams": pd.DataFrame(
            [(a, b, n) for (a, b), n in pairs.items()], columns=["first", "next", "count"]
        ),
    }


def settings() -> tuple[int, int]:
    """block_size and the number of example words, from the URL on a first visit."""
    if "ds_block_size" not in st.session_state:
        st.session_state["ds_block_size"] = ui.param("block_size", 3, high=MAX_BLOCK)
        st.session_state["ds_examples"] = ui.param("examples", 3, low=1, high=MAX_EXAMPLE_WORDS)
    a, b = st.columns(2)
    a.number_input("block_size (context length)", 1, MAX_BLOCK, key="ds_block_size")
    b.number_input("Example words", 1, MAX_EXAMPLE_WORDS, key="ds_examples")
    block_size, examples = st.session_state["ds_block_size"], st.session_state["ds_examples"]
    ui.set_params({"block_size": block_size, "examples": examples})
    return block_size, examples


def overview(ds: data.Dataset, lengths: pd.DataFrame) -> None:
    mean = (lengths["length"] * lengths["words"]).sum() / lengths["words"].sum()
    c = st.columns(4)
    c[0].metric("Words", f"{len(ds.words):,}")
    c[1].metric(
        "Vocabulary", ds.vocab_size, help="Distinct characters plus '.', the start/end token"
    )
    c[2].metric("Mean length", f"{mean:.2f}")
    c[3].metric("Shortest / longest", f"{lengths['length'].min()} / {lengths['length'].max()}")
    st.caption(f"Characters: `{''.join(ds.chars)}`")


def yardsticks(ds: data.Dataset, block_size: int) -> None:
    st.subheader("Reference losses")
    st.caption("The yardsticks every loss chart on this board draws (nats per character).")
    base = ui.baselines(ds, ds.sha256, block_size)
    for col, (key, (name, why)) in zip(st.columns(3), YARDSTICKS.items()):
        col.metric(name, f"{base[key]:.4f}")
        col.caption(why)


def length_chart(df: pd.DataFrame) -> alt.Chart:
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


def char_chart(df: pd.DataFrame) -> alt.Chart:
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


def bigram_chart(df: pd.DataFrame, chars: list[str]) -> alt.Chart:
    order = [data.BOUNDARY, *chars]
    return (
        alt.Chart(df, title="Bigram counts: row = a character, column = the one after it")
        .mark_rect()
        .encode(
            x=alt.X("next:N", sort=order, axis=alt.Axis(orient="top", **LETTER_AXIS)),
            y=alt.Y("first:N", sort=order, axis=alt.Axis(**LETTER_AXIS)),
            color=alt.Color("count:Q", scale=alt.Scale(type="log", scheme="blues")),
            tooltip=["first", "next", "count"],
        )
        .properties(width=620, height=620)
    )


def splits(ds: data.Dataset, block_size: int) -> None:
    sp = data.make_splits(ds, block_size)
    rows = sp.rows()
    table = pd.DataFrame(
        {
            "words": sp.words,
            "rows (contexts)": rows,
            "share of rows": {k: f"{v / sum(rows.values()):.1%}" for k, v in rows.items()},
        }
    )
    st.subheader("Splits")
    st.caption(
        "`random.seed(42); random.shuffle(words)`, then 80 / 10 / 10 of the words; one row "
        "per character, the closing '.' included."
    )
    st.dataframe(table, column_config=COUNT_COLUMNS, width="content")
    n, bs = sp.Xtr.shape
    st.caption(f"Xtr ({n:,}, {bs}) · Ytr ({n:,},): the model's inputs and targets")


def contexts(ds: data.Dataset, block_size: int, n_words: int) -> None:
    """The lecture's print loop: each context of block_size characters and its target."""
    words = ds.words[:n_words]
    X, Y = data.build_contexts(words, ds.stoi, block_size)
    itos = ds.itos
    lines = ["".join(itos[i] for i in x) + " ---> " + itos[int(y)] for x, y in zip(X.tolist(), Y)]
    st.subheader("Contexts → target")
    st.caption(f"The first {n_words} words ({', '.join(words)}), block_size {block_size}:")
    st.code("\n".join(lines), language=None)


ds = ui.current_dataset()
st.title("Dataset")
st.caption(f"{ds.source} · sha256 `{ds.sha256[:16]}`")
block_size, n_words = settings()
for note in data.warnings(ds, block_size):
    st.info(note)
c = counts(ds, ds.sha256)
overview(ds, c["lengths"])
yardsticks(ds, block_size)
left, right = st.columns(2)
left.altair_chart(length_chart(c["lengths"]), width="stretch")
right.altair_chart(char_chart(c["chars"]), width="stretch")
st.altair_chart(bigram_chart(c["bigrams"], ds.chars), width="content")
st.caption("'.' starts and ends every word. White: a pair that never occurs (log colour scale).")
left, right = st.columns(2)
with left:
    splits(ds, block_size)
with right:
    contexts(ds, block_size, n_words)
