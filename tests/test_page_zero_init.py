import ast
from pathlib import Path

import pytest
from app_helpers import answer_of, open_app
from streamlit.testing.v1 import AppTest

SMALL = {"layers": "2", "n_hidden": "16", "steps": "300"}


pytestmark = pytest.mark.usefixtures("fresh_app")


def open_page(**query) -> AppTest:
    return open_app("pages/zero_init.py", **query)


def table_names(at: AppTest, i: int) -> list[str]:
    df = at.table[i].value
    df = getattr(df, "data", df)  # a Styler comes back as such
    return list(df["name"])


def test_defaults_show_the_table_and_the_answer():
    at = open_page()
    assert not at.exception
    answer = answer_of(at)
    assert "`layers.10.bias`" in answer and "unigram model" in answer
    params = table_names(at, 0)
    assert params[0] == "layers.10.bias"  # the one trained tensor leads the table
    assert len(at.get("vega_lite_chart")) >= 5
    assert any(m.label == "Unigram (dev)" for m in at.metric)
    facts = {m.label: m.value for m in at.metric}
    assert facts["Tensors with a gradient"] == "1 of 13"
    assert facts["Output varies with context"] == "no (exact)"
    verdicts = " ".join(m.value for m in at.markdown)
    assert "✘ contradicted** — With tanh, the gradient is zero" in verdicts


def test_try_sigmoid_changes_the_answer_with_the_facts():
    at = open_page(**SMALL)
    assert "tanh(0) = 0" in answer_of(at)
    next(b for b in at.button if b.label == "Sigmoid").click().run()
    assert not at.exception
    assert "sigmoid(0) = 0.5" in answer_of(at)
    assert at.query_params["activation"] in ("sigmoid", ["sigmoid"])
    note = next(c.value for c in at.caption if c.value.startswith("Preset “Sigmoid”"))
    assert note.startswith("Preset “Sigmoid”: Activation sigmoid; every other setting")


def test_a_presets_note_says_the_widgets_words_never_code_names():
    from ui.settings import in_words

    words = {"layers": "Hidden layers", "n_hidden": "Width", "steps": "Steps"}
    words |= {"batchnorm": "BatchNorm", "bn_eps": "BatchNorm eps", "arithmetic": "Arithmetic"}
    said = in_words({"layers": 1, "n_hidden": 200, "steps": 20_000, "batchnorm": True}, words)
    assert said == "Hidden layers 1, Width 200, Steps 20,000, BatchNorm on"
    assert in_words({"bn_eps": 0.0, "arithmetic": "notebook"}, words) == (
        "BatchNorm eps 0, Arithmetic notebook"
    )
    page = ast.parse((Path(__file__).parents[1] / "pages" / "zero_init.py").read_text())
    named = {
        t.id: ast.literal_eval(n.value)
        for n in page.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name) and t.id in ("TRY", "WORDS")
    }
    used = {k for preset in named["TRY"].values() for k in preset}
    assert used <= set(named["WORDS"])  # every preset's setting said in its widget's word


def test_cached_result_shows_at_once_from_a_link():
    at = open_page(**SMALL, activation="relu")
    assert "relu(0) = 0" in answer_of(at)
    again = open_page(**SMALL, activation="relu")  # a new session, same link
    assert not again.exception and "relu(0) = 0" in answer_of(again)
    assert not any(e.type == "progress" for e in again.main)
    assert again.button(key="run-zero-init").disabled  # in its place: the page does not jump
    again.number_input(key="zi_steps").set_value(301).run()  # not computed yet
    assert not again.button(key="run-zero-init").disabled


def test_batchnorm_without_eps_reports_the_divergence():
    at = open_page(**SMALL, batchnorm="1", bn_eps="0")
    assert not at.exception
    assert any("diverged at step 0" in e.value for e in at.error)
    assert any(m.value == "diverged" for m in at.metric)


def test_notebook_arithmetic_and_another_comparison_init():
    at = open_page(**SMALL, arithmetic="notebook", compare_init="normal", compare_scale="0.2")
    assert not at.exception
    answer = answer_of(at)
    assert "your notebook's float32 arithmetic" in answer and "normal init (std 0.2)" in answer
