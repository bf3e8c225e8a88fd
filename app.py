"""Practice Board: the entry. Routes the pages and draws the shared sidebar.

Icons are Material Symbols, not emoji: they ship with Streamlit's frontend, so they draw
the same on a machine without an emoji font."""

import streamlit as st

import ui

st.set_page_config(page_title="Practice Board", page_icon=":material/school:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/dataset.py", title="Dataset", icon=":material/text_fields:"),
    st.Page("pages/zero_init.py", title="Zero init", icon=":material/exposure_zero:"),
    st.Page("pages/batchnorm_fold.py", title="BatchNorm folding", icon=":material/compress:"),
    st.Page("pages/compare.py", title="Compare runs", icon=":material/stacked_line_chart:"),
]

page = st.navigation(PAGES)
ui.set_page(page.url_path)
ui.sidebar()
ui.data_error()
page.run()
