"""Practice Board: the entry. Run as a page, it routes the pages (ui.navigation), draws the
page's title, then the shared sidebar around the page. Imported by the server (`streamlit
run app.py` looks for an ``st.App`` here), it makes the App whose start preloads the
imports and the data and starts the warm-up (ui/server.py).

The title comes first and costs no heavy import (ui loads its submodules when first used):
where the server has not preloaded torch, pandas and altair, a visitor sees the page
while they load (ARCHITECTURE.md "The first render")."""

import streamlit as st

import ui

if __name__ == "__main__":  # a visitor's run of the page
    st.set_page_config(page_title="Practice Board", page_icon=":material/school:", layout="wide")
    page = ui.route()
    ui.style.apply()
    ui.heading(page)
    if ui.server.getting_ready():  # a fresh server: its preload runs (ui/server.py)
        with st.spinner("The server is getting ready: loading PyTorch and the data…"):
            ui.server.wait_ready()
    with st.spinner("Loading PyTorch and the data…"):  # shown only if it takes over 0.5 s
        ui.session_memory.restore()  # a reload finds the session's runs again
        ui.sidebar()
    ui.data_error()
    ui.stopped_note()
    page.run()
    ui.warm_up()  # where no server started it (AppTest): the pages' first answers, ahead
else:  # the server imports app.py once: `streamlit run app.py` serves this App
    app = st.App(__file__, lifespan=ui.server.lifespan)
