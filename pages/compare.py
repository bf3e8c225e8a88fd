"""Compare runs: every run of this session side by side (curves overlaid, final metrics,
the settings that differ), a form to train more without leaving the page, and an export.
The form: ui/compare_form.py; the comparison: ui/compare.py."""

import streamlit as st

import ui

ui.page_entry()  # before the page's heavy imports: see ui/navigation.py

from ui import presets, tables
from ui.compare import PAGE, compare, pick, select_also
from ui.compare_form import TO_TRAIN, form_configs, init_form, new_run_form, train_new
from ui.text import md_frame

opened_by_link = "cmp_n_layers" not in st.session_state and "n_layers" in st.query_params
init_form()
if opened_by_link:  # a link whose runs are computed shows them at once; it never trains
    linked = form_configs(write_link=False)
    labels = [tables.short_label(c) for c in linked]
    ui.result_or_button(linked, ui.current_dataset(), labels, PAGE, button_label=None)
runs = ui.session_runs()
if not runs:
    st.info(
        "No runs yet in this session. Every run you train on any page (zero init, BatchNorm "
        "folding, or the form below) appears here, to overlay curves, compare final losses "
        "and see which settings differ. Runs are yours alone: another visitor never sees them."
    )
new_run_form(expanded=not runs)
if TO_TRAIN in st.session_state:
    train_new(st.session_state.pop(TO_TRAIN))
runs = ui.session_runs()
if runs:
    shown = tables.names(runs)
    idx = pick(runs, shown)
    if note := ui.runs_note():
        st.caption(note)
    with st.expander(f"All {len(runs)} runs of this session", expanded=not idx):
        st.table(
            md_frame(tables.run_list(runs, shown))
            .style.format({"val loss": "{:.4f}"}, na_rep="—")
            .hide()
        )
    if idx:
        compare([runs[i] for i in idx], [shown[i] for i in idx])
presets.lecture_runs(ui.current_dataset(), PAGE, on_trained=select_also)
