"""A training as it runs: its Stop button and the note after a Stop, the progress bar and
the live loss chart, and the wait while other visitors' trainings take their turns."""

from __future__ import annotations

import time

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from hosting import warm
from hosting.schedule import SCHEDULER
from hosting.turns import Place
from mlp_core.runs import get_or_train
from mlp_core.store import run_key
from mlp_core.train import Progress, RunOutcome

from . import charts
from .run_cache import run_store
from .waiting import Bar, estimate_text, waiting_text, warm_up_text

STOPPED = "stopped"  # session key: {"page", "step", "steps"} of the training a visitor stopped


def _stop_clicked(page_path: str) -> None:
    """The Stop button's callback, run at the start of the rerun its click causes (that
    rerun is what ends the training: Streamlit interrupts the running script at its next
    call). It keeps where the training got to, for stopped_note."""
    seen = st.session_state.get("progress", {})
    st.session_state[STOPPED] = {"page": page_path, **seen}


def stopped_note() -> None:
    """On the page whose training was stopped, once: where it stopped, which run (the
    notebook's arithmetic trains its runs one after another), and that nothing of it was
    stored (a stopped run is never a result). app.py calls this before the page, into a
    slot drawn at every run, so the note coming and going moves nothing below it: an
    expander the visitor opened stays open (Streamlit draws an element anew, shut, where
    the elements before it change)."""
    slot = st.empty()
    note = st.session_state.get(STOPPED)
    if note and note["page"] == st.session_state.get("page"):
        del st.session_state[STOPPED]
        slot.warning(
            f"Stopped at step {note['step']:,} of {note['steps']:,}{note.get('which', '')}: "
            "nothing stored. Press the button to train again."
        )


def progress_text(p: Progress, labels: list[str]) -> tuple[str, str]:
    """The bar's text and the run it names (for the note after Stop): the notebook's
    arithmetic trains its runs one after another, each counted in its own steps."""
    if p.run is None:
        which = f" ({labels[0]})" if len(labels) == 1 else f" (all {len(labels)} runs, together)"
    else:
        which = f" in run {p.run + 1} of {p.runs} ({labels[p.run]})"
    return f"Step {p.step:,} of {p.steps:,}{which} · {p.seconds:.1f} s", which


# A training starts where its button's press draws it: a preset's press low on the page,
# or a button in a result that trains the settings above it, would draw the Stop button and
# the progress bar outside the window, leaving only Streamlit's running icon in sight. As
# they appear, this script scrolls them to the window's middle when they are not within it
# (the room of the bar below the Stop button included); in view, nothing moves.
SHOW_PROGRESS = """<script>
(() => {
  const BAR_PX = 120, end = Date.now() + 5000;
  const show = () => {
    const stop = document.querySelector(".st-key-KEY");
    if (!stop) {
      if (Date.now() < end) setTimeout(show, 50);
      return;
    }
    const r = stop.getBoundingClientRect();
    if (r.top < 0 || r.bottom + BAR_PX > window.innerHeight) {
      stop.scrollIntoView({block: "center", behavior: "smooth"});
    }
  };
  show();
})();
</script>"""


def train_with_progress(cfgs, ds, labels, page, todo=None) -> list[RunOutcome]:
    """One Stop button (the app's: Streamlit's own is hidden, ui.style says why), a
    progress bar and the live chart, in the colours the final chart gives the same labels.
    ``todo``: the runs not stored yet (default: all), the ones the first line's estimate
    counts."""
    stop = st.empty()  # a placeholder, so the button goes when the training is over
    with stop.container():
        st.button(
            "Stop",
            key=f"stop-{page}",
            help="Stops the training; nothing is stored",
            on_click=_stop_clicked,
            args=(st.session_state.get("page"),),
        )
        st.html(SHOW_PROGRESS.replace("KEY", f"stop-{page}"), unsafe_allow_javascript=True)
    bar, chart = Bar(st.empty()), st.empty()
    bar.progress(0.0, text=f"Starting: {estimate_text(cfgs if todo is None else todo, ds)}.")
    keys = {run_key(c, ds.sha256) for c in cfgs}
    last = {"t": 0.0}
    st.session_state["progress"] = {"step": 0, "steps": cfgs[0].train.steps}

    def on_progress(p: Progress) -> None:
        text, which = progress_text(p, labels)
        st.session_state["progress"] = {"step": p.step, "steps": p.steps, "which": which}
        bar.progress(p.fraction, text=text)
        if time.monotonic() - last["t"] > 0.4 and p.curve["step"]:
            chart.altair_chart(charts.live_curve(p.curve, labels), width="stretch")
            last["t"] = time.monotonic()

    def on_wait(place: Place) -> None:  # other visitors' turns (hosting/turns.py)
        if place.sharing:
            show_sharing(bar.slot, place, warm.progress_of(keys))
        else:
            bar.wait(place)

    outcomes = get_or_train(
        cfgs,
        ds,
        run_store(),
        on_progress,
        scheduler=SCHEDULER,
        on_wait=on_wait,
        visitor=visitor(),
    )
    for placeholder in (stop, bar.slot, chart):
        placeholder.empty()
    return outcomes


def show_sharing(slot, place: Place, warming: Progress | bool) -> None:
    """While these runs train for another (hosting/reservations.py): with the server's
    warm-up (hosting/warm.progress_of), how far it is; else a running state that says
    what is happening (how far another visitor's training is, this page cannot see)."""
    if isinstance(warming, Progress):
        text = warm_up_text(warming.step, warming.steps)
        slot.progress(min(1.0, warming.fraction), text=text)
    else:
        slot.status(warm_up_text() if warming else waiting_text(place), state="running")


def visitor() -> str:
    """This session's id: its trainings take turns with other visitors' (a newer request
    of the same session replaces its older one). Stop and leaving end the wait at once:
    Streamlit raises in the next on_wait, which frees the place."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else "no-session"
