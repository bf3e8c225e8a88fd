"""What a session keeps: a removed upload stays removed, and the run list is bounded (the
oldest runs leave it with a note and stay in the store)."""

import ast

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("fresh_app")


def upload_script():
    import streamlit as st

    from ui import datasets

    good = "\n".join(f"{a}{b}" for a in ("ann", "bob", "cleo", "dina") for b in "aoy").encode()
    act = st.session_state.pop("act", None)
    if act == "good":
        datasets.take_upload("good.txt", good)
    elif act in ("remove", "replace"):  # a replacement's "no file": a file is on its way
        datasets.use_default(replacing=act == "replace")
    elif act == "refused":
        datasets.take_upload("bad.bin", b"\x00" * 64)
    st.text(datasets.current_dataset().source)


def _steps(*acts: str) -> str:
    at = AppTest.from_function(upload_script, default_timeout=60)
    for act in acts:
        at.session_state["act"] = act
        at.run()
        assert not at.exception
    return at.text[0].value


def test_a_removed_upload_does_not_come_back_with_a_refused_file():
    assert "good.txt" not in _steps("good", "remove", "refused")
    assert "good.txt" not in _steps("good", "replace", "remove", "refused")


def test_a_refused_replacement_still_keeps_the_upload_it_replaced():
    assert _steps("good", "replace", "refused") == "upload: good.txt"
    # the "no file" run ended before the new file came (a slow upload, a busy server)
    assert _steps("good", "replace", None, "refused") == "upload: good.txt"


def runs_script():
    import streamlit as st

    import ui
    from mlp_core.config import RunConfig
    from mlp_core.train import RunOutcome

    ds = ui.current_dataset()
    for seed in range(st.session_state.pop("n", 0)):
        cfg = RunConfig().replace(seed=seed)
        ui.record_run(RunOutcome(cfg, "ok", {"val_loss": 2.0}, {}), "x", "test", ds)
    st.text(str([r["config"].train.seed for r in ui.session_runs()]))
    st.text(ui.runs_note() or "")


def test_a_sessions_run_list_is_bounded_and_says_what_left_it():
    from ui.training import MAX_SESSION_RUNS

    at = AppTest.from_function(runs_script, default_timeout=60)
    at.session_state["n"] = MAX_SESSION_RUNS + 5
    at.run()
    assert not at.exception
    seeds = ast.literal_eval(at.text[0].value)
    assert seeds == list(range(5, MAX_SESSION_RUNS + 5))  # the oldest left
    assert "the 5 oldest left it" in at.text[1].value and "still stored" in at.text[1].value
