"""The compare page's form: its count of runs, the most one press trains, a link's junk
and the demo caps, and the form kept as the visitor left it through a training and a Stop."""

import pytest
from compare_helpers import open_page, train_two
from streamlit.testing.v1 import AppTest

import ui

pytestmark = pytest.mark.usefixtures("fresh_app")


def test_the_forms_count_follows_every_tick():
    at = open_page()
    assert "1 activation(s) × 1 init(s) × 1 seed(s) = 1 run(s)" in at.caption[0].value
    at.multiselect(key="cmp_activations").set_value(["tanh", "relu"])
    at.multiselect(key="cmp_inits").set_value(["kaiming", "normal", "zeros"]).run()
    assert "2 activation(s) × 3 init(s) × 1 seed(s) = 6 run(s)" in at.caption[0].value
    at.number_input(key="cmp_seeds").set_value(2).run()
    assert "= 12 run(s): at most 8 a press" in at.caption[0].value
    assert at.button(key="cmp_train").disabled


def test_more_runs_than_one_press_allows_cannot_be_trained(small_ds):
    at = open_page(small_ds)
    at.multiselect(key="cmp_activations").set_value(["tanh", "relu", "sigmoid"])
    at.multiselect(key="cmp_inits").set_value(["kaiming", "normal"])
    at.number_input(key="cmp_seeds").set_value(2).run()
    assert not at.exception
    assert at.button(key="cmp_train").disabled
    assert "at most 8 a press" in at.caption[0].value


def test_junk_in_a_link_falls_back_to_the_form_defaults_and_says_so():
    at = open_page(n_layers="12", lr="100", steps="0", activations="softmax,relu", seeds="x")
    assert not at.exception
    assert at.number_input(key="cmp_n_layers").value == 2
    assert at.number_input(key="cmp_lr").value == 0.1
    assert at.number_input(key="cmp_steps").value == 1000
    assert at.multiselect(key="cmp_activations").value == ["relu"]
    assert at.number_input(key="cmp_seeds").value == 1
    notes = " ".join(w.value for w in at.warning)
    assert "n_layers = 12 is more than allowed (at most 8); using 2." in notes
    assert "steps = 0 is less than allowed (at least 1)" in notes
    assert "seeds = x is not a valid value here" in notes
    at.number_input(key="cmp_n_layers").set_value(3).run()  # changed: its note goes
    assert "n_layers" not in " ".join(w.value for w in at.warning)


def test_demo_caps_hold_for_links_too_and_say_so(monkeypatch):
    monkeypatch.setenv(ui.DEMO_ENV, "1")
    at = open_page(steps="100000", n_hidden="4096")
    assert not at.exception
    assert at.number_input(key="cmp_steps").value == 1000
    assert at.number_input(key="cmp_n_hidden").value == 64
    assert "Demo mode" in at.sidebar.info[0].value
    notes = " ".join(w.value for w in at.warning)
    assert "steps = 100000 is more than this demo server allows (at most 5,000)" in notes
    assert "n_hidden = 4096 is more than allowed (at most 200)" in notes


def _form(at: AppTest):
    return next(e for e in at.expander if e.label == "Train new runs here")


def test_the_form_stays_as_the_visitor_left_it_through_a_training_and_a_stop(small_ds):
    at = open_page(small_ds)
    assert _form(at).proto.expanded  # no runs yet: open
    at = train_two(at)
    assert _form(at).proto.expanded and at.button(key="cmp_train").label == "Train"
    at.session_state["stopped"] = {"page": at.session_state["page"], "step": 7, "steps": 60}
    at.run()  # the run a Stop causes: its note above the page
    assert any("Stopped at step 7 of 60" in w.value for w in at.warning)
    assert _form(at).proto.expanded and not at.button(key="cmp_train").disabled
    assert at.number_input(key="cmp_steps").value == 60  # the settings as they were
    fresh = open_page(small_ds, **at.query_params)  # a new session with runs: shut
    fresh.session_state["runs"] = at.session_state["runs"]
    fresh.run()
    assert not _form(fresh).proto.expanded


def test_a_stop_note_takes_a_slot_drawn_at_every_run(small_ds):
    at = open_page(small_ds)
    before = [type(e).__name__ for e in at.main]
    at.session_state["stopped"] = {"page": at.session_state["page"], "step": 7, "steps": 60}
    at.run()
    after = [type(e).__name__ for e in at.main]
    note = after.index("Warning")
    assert before[note] == "UnknownElement"  # st.empty, as AppTest reads it
    assert after[:note] + after[note + 1 :] == before[:note] + before[note + 1 :]
