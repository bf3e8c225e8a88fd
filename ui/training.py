"""Training with live progress, the results already computed, result_or_button (what
every training page calls), and this session's run list (what the compare page reads),
plus the loss charts' reference lines.

Between a widget and a number sit these caches, each for a reason:
- the core's run store (``mlp_core.store``, on disk, content-addressed, shared by every
  session): the truth, so a configuration computed once shows at once for anyone;
- this session's ``results`` (run key -> outcome, at most MAX_REMEMBERED): a rerun needs
  no disk read, and results survive where the store cannot be written;
- each page's last shown outcomes (``last``): a run that did not finish (diverged,
  stopped) is stored nowhere else, and a widget's rerun must not lose it;
- ``st.cache_data`` on what a page derives from a run or a data set that costs a pass over
  the data (baselines here, data statistics, the fold report), keyed by content hashes.
"""

from __future__ import annotations

import json
import time
from typing import NoReturn

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from hosting import warm
from hosting.schedule import SCHEDULER
from hosting.turns import Place
from mlp_core import data
from mlp_core.bn_fold import FOLD_DEFAULT, fold_configs
from mlp_core.config import ConfigError, RunConfig
from mlp_core.runs import get_or_train
from mlp_core.store import RunStore, run_key
from mlp_core.train import Progress, RunOutcome
from mlp_core.zero_init import ZERO_INIT_DEFAULT, zero_init_configs

from . import charts, session_memory
from .datasets import default_dataset
from .settings import check_caps, check_cost
from .waiting import estimate_text, waiting_text, warm_up_text

MAX_REMEMBERED = 30  # results kept in a session when the cache cannot be written


@st.cache_resource
def run_store() -> RunStore:
    return RunStore()


def outcome_hash(o: RunOutcome) -> str:
    """A run's identity for st.cache_data (hash_funcs): its config and how it ended; with
    the data set's content hash beside it, a stored run's content hash."""
    return json.dumps(o.config.to_dict(), sort_keys=True) + o.status


HASH_FUNCS = {RunOutcome: outcome_hash, data.Dataset: lambda ds: ds.sha256}


def _remember(key: str, outcome: RunOutcome) -> None:
    mem = st.session_state.setdefault("results", {})
    mem[key] = outcome
    while len(mem) > MAX_REMEMBERED:
        mem.pop(next(iter(mem)))


def lookup(cfgs: list[RunConfig], ds: data.Dataset) -> list[RunOutcome] | None:
    """The runs' results if all are already computed (store or this session), else None."""
    mem = st.session_state.get("results", {})
    out = []
    for c in cfgs:
        key = run_key(c, ds.sha256)
        hit = mem.get(key)
        if hit is None:
            hit = run_store().get(c, ds.sha256)
            if hit is None:
                return None
            _remember(key, hit)  # the next rerun needs no disk read
        out.append(hit)
    return out


def _refuse(error: Exception) -> NoReturn:
    """An expected error (bad config, bad data) ends the page's run with a message, not a
    traceback."""
    st.error(str(error))
    st.stop()


def train(
    cfgs: list[RunConfig], ds: data.Dataset, labels: list[str], page: str
) -> list[RunOutcome]:
    """Train (or fetch) the runs with a progress bar, a live loss chart and a stop button;
    every run lands in this session's run list. A config refused by the core or by the demo
    caps shows an error and stops the page's run."""
    try:
        for c in cfgs:
            check_caps(c)
        check_cost(cfgs)
        outcomes = _train_with_progress(cfgs, ds, labels, page)
    except (ConfigError, data.DataError) as e:
        _refuse(e)
    if note := cache_note(outcomes):  # every time: the next visit trains it again
        st.warning(note)
    for c, o, label in zip(cfgs, outcomes, labels):
        if o.status == "ok":
            _remember(run_key(c, ds.sha256), o)
            record_run(o, label, page, ds)
    return outcomes


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


def _train_with_progress(cfgs, ds, labels, page) -> list[RunOutcome]:
    """One Stop button (the app's: Streamlit's own is hidden, ui.style says why), a
    progress bar and the live chart, in the colours the final chart gives the same labels."""
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
    bar, chart = st.empty(), st.empty()
    bar.progress(0.0, text=f"Starting: {estimate_text(cfgs)}.")
    keys = {run_key(c, ds.sha256) for c in cfgs}
    last = {"t": 0.0}
    st.session_state["progress"] = {"step": 0, "steps": cfgs[0].train.steps}

    def on_progress(p: Progress) -> None:
        text, which = progress_text(p, labels)
        st.session_state["progress"] = {"step": p.step, "steps": p.steps, "which": which}
        bar.progress(min(1.0, p.fraction), text=text)
        if time.monotonic() - last["t"] > 0.4 and p.curve["step"]:
            chart.altair_chart(charts.live_curve(p.curve, labels), width="stretch")
            last["t"] = time.monotonic()

    def on_wait(place: Place) -> None:  # other visitors' turns (hosting/turns.py)
        if place.sharing:
            show_sharing(bar, place, warm.progress_of(keys))
        else:
            bar.progress(0.0, text=waiting_text(place))

    outcomes = get_or_train(
        cfgs,
        ds,
        run_store(),
        on_progress,
        scheduler=SCHEDULER,
        on_wait=on_wait,
        visitor=visitor(),
    )
    for placeholder in (stop, bar, chart):
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


def warm_up() -> None:
    """Once per process (the server's start, ui/server.py; app.py after a page's run where
    no server started it), the pages' default experiments train in the background on the
    built-in names, so a page a visitor opens answers at once (hosting/warm.py; off with
    PRACTICE_BOARD_WARM=0)."""
    try:
        ds = default_dataset()
    except data.DataError:  # no built-in names here: nothing to warm
        return
    warm.warm_up(ds, run_store(), default_experiments())


def default_experiments() -> list[list[RunConfig]]:
    """The configs of each page's first answer, from the questions' own defaults: the
    zero-init page's pair, the fold page's BN run (tests/test_warm.py holds them to the
    pages' first answers)."""
    return [zero_init_configs(ZERO_INIT_DEFAULT), fold_configs(FOLD_DEFAULT)]


def cache_note(outcomes: list[RunOutcome]) -> str | None:
    """One line when a result could not be cached (a full disk, a read-only store)."""
    note = next((o.cache_note for o in outcomes if o.cache_note), None)
    return f"Shown, but {note}: it is trained again next time." if note else None


def request_run(page: str) -> None:
    """A widget callback: the next result_or_button of page trains at once (a "try this"
    button sets the page's settings and asks for their result)."""
    st.session_state[f"autorun:{page}"] = True


def result_or_button(
    cfgs: list[RunConfig],
    ds: data.Dataset,
    labels: list[str],
    page: str,
    button_label: str | None,
    autorun_first_visit: bool = False,
) -> list[RunOutcome] | None:
    """The runs' outcomes if already computed (this session, the store), else the page's
    last outcomes for these configs (a run that did not finish), else None; above those
    last outcomes, or instead of None, a button that trains them (none if button_label is
    None: show what is computed, never train). The button is there at every run, so the
    page does not jump as settings change: disabled, saying so, while the result shown is
    these settings' own. It trains at once, without a press, after request_run(page), or
    on the page's first visit in the session if autorun_first_visit. Every finished run
    shown lands in this session's run list."""
    keys = [run_key(c, ds.sha256) for c in cfgs]
    autorun = st.session_state.pop(f"autorun:{page}", False)
    first_visit = autorun_first_visit and not st.session_state.get(f"seen:{page}")
    st.session_state[f"seen:{page}"] = True
    outcomes = lookup(cfgs, ds)
    if outcomes is not None and button_label is not None:
        st.button(
            button_label,
            type="primary",
            key=f"run-{page}",
            disabled=True,
            help="Trained already: the result below is these settings' own",
        )
    if outcomes is None:
        last = st.session_state.setdefault("last", {}).get(page)
        outcomes = last[1] if last and last[0] == keys else None
        if button_label is not None:
            pressed = st.button(button_label, type="primary", key=f"run-{page}")
            if pressed or (outcomes is None and (autorun or first_visit)):
                outcomes = train(cfgs, ds, labels, page)
                st.session_state["last"][page] = (keys, outcomes)
    for o, label in zip(outcomes or [], labels):
        if o.status == "ok":
            record_run(o, label, page, ds)
    return outcomes


MAX_SESSION_RUNS = 40  # a session's run list: ~0.6 MB a run (curves, diagnostics) in memory


def record_run(o: RunOutcome, label: str, page: str, ds: data.Dataset) -> None:
    """Add a run to this session's run list (the compare page reads it), with the reference
    losses of its data so any page can draw them. Past MAX_SESSION_RUNS the oldest leave
    the list (they stay in the run store); runs_note says how many."""
    runs = st.session_state.setdefault("runs", {})
    key = run_key(o.config, ds.sha256)
    runs[key] = {
        "key": key,
        "label": label,
        "page": page,
        "config": o.config,
        "data": ds.source,
        "data_sha256": ds.sha256,
        "metrics": o.metrics,
        "baselines": baselines(ds, ds.sha256, o.config.data.block_size),
    }
    while len(runs) > MAX_SESSION_RUNS:
        del runs[next(iter(runs))]
        st.session_state["runs_left"] = st.session_state.get("runs_left", 0) + 1
    session_memory.save(runs)  # a reload finds the list again


def runs_note() -> str | None:
    """What the run list left out, in words (None: nothing)."""
    if not (n := st.session_state.get("runs_left", 0)):
        return None
    return (
        f"This list keeps your {MAX_SESSION_RUNS} newest runs: the {n:,} oldest left it. They "
        "are still stored: training the same settings again shows them at once."
    )


def session_runs() -> list[dict]:
    return list(st.session_state.get("runs", {}).values())


@st.cache_data(show_spinner=False)
def baselines(_ds: data.Dataset, sha256: str, block_size: int) -> dict[str, float]:
    return data.baselines(_ds, block_size)
