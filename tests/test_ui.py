"""ui: URL parameters (junk falls back, values round-trip, a page switch keeps them), the
one bounds table and the demo-mode caps, training refused with a message rather than a
traceback, and the layout rules: every page enters through ui.page_entry, and only app.py,
pages/ and ui/ touch Streamlit or Altair."""

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui
from mlp_core.config import ConfigError, RunConfig

pytestmark = pytest.mark.usefixtures("fresh_app")


def params_script():
    import streamlit as st

    import ui

    ui.set_page("test")
    got = {
        "n_layers": ui.param("n_layers", 5),
        "lr": ui.param("lr", 0.1),
        "activation": ui.param("activation", "tanh"),
        "batchnorm": ui.param("batchnorm", False),
        "steps": ui.param("steps", 2000),
        "width": ui.param("width", 64, low=8, high=128),
    }
    ui.set_params(got)
    st.write(repr(got))


def run_params(**query) -> dict:
    at = AppTest.from_function(params_script, default_timeout=30)
    at.query_params.update(query)
    at.run()
    assert not at.exception
    return eval(at.markdown[0].value)


def test_good_values_are_read_with_their_types():
    got = run_params(n_layers="3", lr="0.05", activation="relu", batchnorm="1", steps="500")
    assert got == {
        "n_layers": 3,
        "lr": 0.05,
        "activation": "relu",
        "batchnorm": True,
        "steps": 500,
        "width": 64,
    }


@pytest.mark.parametrize(
    "query",
    [
        {"n_layers": "abc", "lr": "nan", "activation": "softmax", "batchnorm": "maybe"},
        {"n_layers": "999", "lr": "inf", "steps": "-5", "width": "4"},
        {"n_layers": "2.5", "lr": "", "activation": "", "steps": "1e9", "width": "1000"},
    ],
)
def test_junk_in_the_url_falls_back_to_the_defaults(query):
    got = run_params(**query)
    assert got == {
        "n_layers": 5,
        "lr": 0.1,
        "activation": "tanh",
        "batchnorm": False,
        "steps": 2000,
        "width": 64,
    }


def test_set_params_writes_the_config_and_the_seed_only():
    at = AppTest.from_function(params_script, default_timeout=30)
    at.query_params["n_layers"] = "3"
    at.run()
    assert at.query_params == {
        "n_layers": "3",
        "lr": "0.1",
        "activation": "tanh",
        "batchnorm": "0",
        "steps": "2000",
        "width": "64",
        "seed": "42",
    }


def test_a_page_keeps_its_settings_when_the_url_loses_them():
    at = AppTest.from_function(params_script, default_timeout=30)
    at.query_params["n_layers"] = "3"
    at.run()
    at.query_params.clear()  # what a page switch does to the URL
    at.run()
    assert eval(at.markdown[0].value)["n_layers"] == 3


def test_demo_mode_lowers_the_caps(monkeypatch):
    assert ui.cap("steps", 200_000) == 200_000
    monkeypatch.setenv(ui.DEMO_ENV, "1")
    assert ui.demo_mode()
    assert ui.cap("steps", 200_000) == ui.DEMO_CAPS["steps"]
    assert ui.cap("n_hidden", 100) == 100  # a bound already below the cap stays
    assert ui.upload_limit() == ui.DEMO_CAPS["upload_bytes"]


def test_one_bounds_table_for_widgets_links_and_demo_caps(monkeypatch):
    assert ui.bounds("n_layers") == ui.BOUNDS["n_layers"] == (1, 8)
    assert run_params(n_layers="8")["n_layers"] == 8
    assert run_params(n_layers="9")["n_layers"] == 5  # past the table's bound: junk
    monkeypatch.setenv(ui.DEMO_ENV, "1")
    assert ui.bounds("n_layers") == (1, ui.DEMO_CAPS["n_layers"])
    assert run_params(n_layers="7")["n_layers"] == 5  # past the demo cap: junk too
    assert ui.bounds("lr") == ui.BOUNDS["lr"]  # no demo cap on the learning rate


def test_demo_mode_refuses_configs_over_the_caps(monkeypatch):
    big = RunConfig().replace(steps=ui.DEMO_CAPS["steps"] + 1)
    ui.check_caps(big)  # not a demo: fine
    monkeypatch.setenv(ui.DEMO_ENV, "1")
    with pytest.raises(ConfigError, match="steps is at most"):
        ui.check_caps(big)
    ui.check_caps(RunConfig().replace(steps=100))


def test_a_url_cannot_ask_past_the_demo_caps(monkeypatch):
    monkeypatch.setenv(ui.DEMO_ENV, "1")
    assert run_params(steps="100000", n_layers="6")["steps"] == 2000
    assert run_params(steps="4000")["steps"] == 4000


def train_script():
    import ui
    from mlp_core.config import RunConfig

    cfg = RunConfig().replace(n_layers=1, n_hidden=8, steps=10_000)
    ui.train([cfg], ui.current_dataset(), ["too long"], page="test")


def test_training_over_a_cap_shows_an_error_not_a_traceback(monkeypatch):
    monkeypatch.setenv(ui.DEMO_ENV, "1")
    at = AppTest.from_function(train_script, default_timeout=60).run()
    assert not at.exception
    assert "steps is at most 5,000 in demo mode" in at.error[0].value
    assert "runs" not in at.session_state


ROOT = Path(__file__).resolve().parents[1]


def test_every_page_enters_through_ui_page_entry_first():
    """The legacy-pages fix (ui/navigation.py) works only as the page's first call."""
    for page in sorted((ROOT / "pages").glob("*.py")):
        tree = ast.parse(page.read_text())
        code = [n for n in tree.body[1:] if not isinstance(n, ast.Import | ast.ImportFrom)]
        assert ast.unparse(code[0]) == "ui.page_entry()", page.name


def test_only_the_app_pages_and_ui_import_streamlit_or_altair():
    app = {"app.py", "pages", "ui"}
    harness = {"tests", "app_latency.py", "ws_visitor.py"}  # they drive the app (AppTest,
    # Streamlit's websocket protocol)
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in app or harness & set(rel.parts) or rel.parts[0].startswith("."):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not {n.split(".")[0] for n in names} & {"streamlit", "altair"}, rel


def test_a_links_value_is_shown_as_text_never_as_markdown():
    from ui import settings

    assert settings._shown("**x**<b>") == "\\*\\*x\\*\\*\\<b\\>"
    assert len(settings._shown("9" * 500)) == settings.LINK_VALUE_CHARS
