"""Practice Board: the entry. Routes the pages and draws the shared sidebar."""

import streamlit as st

import ui

st.set_page_config(page_title="Practice Board", page_icon="🧮", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/dataset.py", title="Dataset", icon="🔤"),
    st.Page("pages/zero_init.py", title="Zero init", icon="0️⃣"),
    st.Page("pages/batchnorm_fold.py", title="BatchNorm folding", icon="🧷"),
    st.Page("pages/compare.py", title="Compare runs", icon="📊"),
]

page = st.navigation(PAGES)
ui.set_page(page.url_path)
ui.sidebar()
ui.data_error()
page.run()
