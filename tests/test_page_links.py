"""Links: a link the app wrote opens what it names without a note; a note for every value
or parameter it does not follow, each said once; a link made on an upload says its data
is not in it."""

import pytest
from app_helpers import open_app

from mlp_core import data

pytestmark = pytest.mark.usefixtures("fresh_app")

SMALL_ZERO_INIT = {"layers": "1", "n_hidden": "8", "steps": "40"}


def notes(at) -> list[str]:
    return [w.value for w in at.warning if w.value.startswith("This link's")]


def test_a_zero_init_link_the_app_wrote_opens_without_a_note():
    at = open_app("pages/zero_init.py", **SMALL_ZERO_INIT)
    written = dict(at.query_params)
    assert written["compare_gain"] == "0.0"  # 0: the activation's own gain
    again = open_app("pages/zero_init.py", **written)
    assert not again.exception
    assert notes(again) == []
    assert again.number_input(key="zi_compare_gain").value == 0.0
    assert again.number_input(key="zi_steps").value == 40


def test_a_kaiming_gain_in_a_link_is_followed():
    at = open_app("pages/zero_init.py", compare_gain="2.5", **SMALL_ZERO_INIT)
    assert notes(at) == []
    assert at.number_input(key="zi_compare_gain").value == 2.5


def test_each_note_is_said_once_and_junk_in_a_list_is_named():
    at = open_app("pages/compare.py", n_layers="99", activations="tanh,foo", bogus="3")
    said = notes(at)
    assert len([n for n in said if "n_layers" in n]) == 1
    assert "This link's activations = … foo is not one of the choices; using tanh." in said
    assert "This link's bogus = 3 is not a setting of this page; ignored." in said
    assert len(said) == 3


def test_a_parameter_of_another_page_is_not_dropped_silently():
    at = open_app("pages/dataset.py", n_layers="4")
    assert notes(at) == ["This link's n_layers = 4 is not a setting of this page; ignored."]
    assert "n_layers" not in at.query_params


def test_a_link_made_on_an_upload_says_so_and_opening_it_says_the_data_is_not_in_it():
    words = ["anna", "bob", "carla", "dave", "emma"] * 40
    upload = data.dataset_from_words(words, "upload: five.txt")
    at = open_app("pages/dataset.py", session={"dataset": upload})
    assert at.query_params["data"] == "upload"
    opened = open_app("pages/dataset.py", data="upload", block_size="3")
    (said,) = notes(opened)
    assert "made on an uploaded word list, which a link never carries" in said
    assert "upload the same list there" in said
