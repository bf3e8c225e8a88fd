"""Home: what the board is for and what each page answers."""

import streamlit as st

import ui

ui.page_entry()
st.title("Practice Board")
st.markdown(
    """
Why do initialisation and BatchNorm matter? This board answers two questions from Karpathy's
*makemore part 3* by **measuring** a character-level MLP language model (3-character
context, 10-d embeddings, Linear + Tanh layers of 100, cross-entropy, SGD):

- **Dataset** — the words, the vocabulary, the splits, and the reference losses (uniform,
  unigram, bigram) every other page measures against.
- **Zero init** — set every weight and bias to zero and train: *which* parameters train, and
  why? For tanh, sigmoid and ReLU, with and without BatchNorm, against a proper init.
- **BatchNorm folding** — fold each BatchNorm into the Linear before it and prove that
  inference gives the same outputs, checked against PyTorch's own fusion.
- **Compare runs** — every run you trained in this session, side by side: curves, final
  losses and the settings that differ; train more right there, export them.

The data set in use is in the sidebar: the built-in US baby names of 2017, or your own word
list (it stays in your session). Every result is cached: a configuration computed once
shows at once. Each page keeps its settings in the address bar: copy it to share them.
"""
)
