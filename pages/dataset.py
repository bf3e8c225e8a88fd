"""The data: how many words, which characters, how long, which pairs follow which; the
lecture's split and contexts; and the reference losses every other page measures against."""

import streamlit as st

import ui

ui.page_entry()  # before the page's heavy imports: see ui/navigation.py

import pandas as pd

from mlp_core import data
from mlp_core.run_text import plural
from ui.text import visible

COUNT_COLUMNS = {
    name: st.column_config.NumberColumn(format="localized") for name in ("words", "rows (contexts)")
}
YARDSTICKS = {
    "uniform": (
        "Uniform",
        "ln(vocab): every character equally likely — what a model that learned nothing scores.",
    ),
    "unigram_entropy": (
        "Unigram",
        "Entropy of the next-character frequencies of the training split ('.', a word's end, "
        "included): knows how common each character is, ignores the context (where a tanh "
        "net at zero init gets stuck).",
    ),
    "bigram": (
        "Bigram",
        "The best any model can do on the training split seeing only the previous character: "
        "a model that sees more of the context can go below it.",
    ),
}


def settings() -> tuple[int, int]:
    """block_size and the number of example words, from the URL on a first visit."""
    if "ds_block_size" not in st.session_state:
        st.session_state["ds_block_size"] = ui.param("block_size", 3)
        st.session_state["ds_examples"] = ui.param("examples", 3)
    a, b = st.columns(2)
    a.number_input("block_size (context length)", *ui.bounds("block_size"), key="ds_block_size")
    b.number_input("Example words", *ui.bounds("examples"), key="ds_examples")
    block_size, examples = st.session_state["ds_block_size"], st.session_state["ds_examples"]
    ui.set_params({"block_size": block_size, "examples": examples})
    return block_size, examples


def overview(ds: data.Dataset, lengths: list[tuple[int, int]]) -> None:
    mean = sum(n * w for n, w in lengths) / sum(w for _, w in lengths)
    c = st.columns(4)
    c[0].metric("Words", f"{len(ds.words):,}")
    c[1].metric(
        "Vocabulary", ds.vocab_size, help="Distinct characters plus '.', the start/end token"
    )
    c[2].metric("Mean length", f"{mean:.2f}")
    c[3].metric("Shortest / longest", f"{lengths[0][0]} / {lengths[-1][0]}")
    space = " ␣ is a space." if " " in ds.chars else ""
    st.caption(f"Characters:{space}")
    st.text(visible("".join(ds.chars)))  # uploaded text: never Markdown


def yardsticks(ds: data.Dataset, block_size: int) -> None:
    st.subheader("Reference losses")
    st.caption(
        "The uniform guess, and two models' entropies on the training split (nats per character)."
    )
    base = ui.baselines(ds, ds.sha256, block_size)
    for col, (key, (name, why)) in zip(st.columns(3), YARDSTICKS.items()):
        col.metric(name, f"{base[key]:.4f}")
        col.caption(why)
    st.caption(
        "The loss charts on this board draw the uniform guess and these two models fitted on "
        "the training split (add-one smoothed) and scored on the dev split, as a net's dev "
        f"loss is: unigram {base['dev_unigram']:.4f}, bigram {base['dev_bigram']:.4f}."
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
    lines = data.context_lines(ds, block_size, n_words, show=visible)
    st.subheader("Contexts → target")
    shown = plural(min(n_words, len(ds.words)), "word")
    st.caption(f"The first {shown}, block_size {block_size}:")
    st.text(", ".join(ui.cut(w, 40) for w in ds.words[:n_words]))
    st.code("\n".join(lines), language=None)  # at most data.MAX_CONTEXT_LINES lines


ds = ui.current_dataset()
st.text(ds.source)  # an upload's name: text, never Markdown
st.caption(f"sha256 `{ds.sha256[:16]}`")
block_size, n_words = settings()
for note in data.warnings(ds, block_size):
    st.info(note)
stats = ui.data_stats(ds, ds.sha256)
overview(ds, stats["lengths"])
yardsticks(ds, block_size)
left, right = st.columns(2)
left.altair_chart(ui.data_charts.word_lengths(stats["lengths"]), width="stretch")
chars = [(visible(c), n) for c, n in stats["chars"]]  # a space shows as ␣
right.altair_chart(ui.data_charts.char_counts(chars), width="stretch")
order = [visible(c) for c in (data.BOUNDARY, *ds.chars)]
pairs = [(visible(a), visible(b), n) for a, b, n in stats["bigrams"]]
heat, note = st.columns(2)  # on a phone the columns stack: the map fits the screen
heat.altair_chart(ui.data_charts.bigram_heatmap(pairs, order), width="stretch")
note.caption(
    "'.' starts and ends every word. White: a pair that never occurs (log colour scale)."
    + (" ␣: a space." if " " in ds.chars else "")
)
left, right = st.columns(2)
with left:
    splits(ds, block_size)
with right:
    contexts(ds, block_size, n_words)
