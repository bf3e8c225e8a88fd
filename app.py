"""Practice Board: the entry. Routes the pages (ui.navigation), draws the page's title,
then the shared sidebar around the page.

The title comes first and costs no heavy import (ui loads its submodules when first used):
on a fresh server a visitor sees the page while torch, pandas and altair load
(ARCHITECTURE.md "The first render")."""

import streamlit as st

import ui

st.set_page_config(page_title="Practice Board", page_icon=":material/school:", layout="wide")
page = ui.route()
ui.style.apply()
ui.heading(page)
with st.spinner("Loading PyTorch and the data…"):  # shown only if it takes over 0.5 s
    ui.sidebar()
ui.data_error()
ui.stopped_note()
page.run()
ui.warm_up()  # once per process: the other pages' first answers, in the background
