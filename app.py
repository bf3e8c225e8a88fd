"""Practice Board: the entry. Routes the pages (ui.navigation) and draws the shared
sidebar around the page."""

import streamlit as st

import ui

st.set_page_config(page_title="Practice Board", page_icon=":material/school:", layout="wide")
page = ui.route()
ui.sidebar()
ui.style.apply()
ui.data_error()
ui.stopped_note()
page.run()
