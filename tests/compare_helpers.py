"""Opening the compare page and training two runs through its form, for its tests
(tests/test_page_compare*.py)."""

import pandas as pd
from app_helpers import open_app
from streamlit.testing.v1 import AppTest

TINY = {"cmp_n_layers": 1, "cmp_n_hidden": 8, "cmp_steps": 60}


def open_page(ds=None, **query) -> AppTest:
    return open_app("pages/compare.py", session={"dataset": ds} if ds else None, **query)


def train_two(at: AppTest) -> AppTest:
    """tanh and relu, one stacked training, through the form."""
    for key, value in TINY.items():
        at.number_input(key=key).set_value(value)
    at.multiselect(key="cmp_activations").set_value(["tanh", "relu"]).run()
    return at.button(key="cmp_train").click().run()


def shown(at: AppTest) -> dict[str, pd.DataFrame]:
    """The page's tables by their first column: run list, metrics, diff, saturation."""
    return {t.value.columns[0] if len(t.value.columns) else "": t.value for t in at.table}
