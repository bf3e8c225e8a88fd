"""Home: what the board is for, and a link to each page with what it answers."""

import streamlit as st

import ui

ui.page_entry()  # before the page's heavy imports: see ui/navigation.py

from ui.navigation import PAGES

ANSWERS = {  # page file: what it answers (the links' order and icons: ui.navigation.PAGES)
    "pages/dataset.py": "the words, the vocabulary, the splits, and the reference losses "
    "(uniform, unigram, bigram) every other page measures against.",
    "pages/zero_init.py": "set every weight and bias to zero and train: *which* parameters "
    "train, and why? For tanh, sigmoid and ReLU, with and without BatchNorm, against a "
    "proper init.",
    "pages/batchnorm_fold.py": "fold each BatchNorm into the Linear before it and prove that "
    "inference gives the same outputs, checked against PyTorch's own fusion.",
    "pages/compare.py": "every run you trained in this session, side by side: curves, final "
    "losses, the settings that differ and the lecture's diagnostics; train more, export.",
    "pages/landscape.py": "every init scale (zero, then 0.01× to 10× the kaiming gain) at "
    "every depth (1 to 8 hidden layers): the lecture's diagnostics at init, and the dev loss "
    "after N steps, for tanh, sigmoid and ReLU, with and without BatchNorm.",
}

st.markdown(
    "Why do initialisation and BatchNorm matter? This board answers two questions from "
    "Karpathy's *makemore part 3* by **measuring** a character-level MLP language model "
    "(3-character context, 10-d embeddings, Linear + Tanh layers of 100, cross-entropy, SGD)."
)
for path, title, icon in PAGES:
    if path in ANSWERS:
        st.page_link(path, label=title, icon=icon)
        st.caption(ANSWERS[path])
st.markdown(
    "The data set in use is in the sidebar: the built-in US baby names of 2017, or your own "
    "word list (it stays in your session). Every result is cached: a configuration computed "
    "once shows at once. Each page keeps its settings in the address bar: copy it to share "
    "them."
)
