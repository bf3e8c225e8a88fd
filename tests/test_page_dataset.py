"""The dataset page: counts, charts, splits, contexts and the reference losses, for the
built-in names and an upload; its settings round-trip through the URL."""

import json

import pytest
from app_helpers import APP, open_app
from streamlit.testing.v1 import AppTest

import ui
from mlp_core import data
from ui.text import visible

pytestmark = pytest.mark.usefixtures("fresh_app")


def open_page(**query) -> AppTest:
    return open_app("pages/dataset.py", **query)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def contexts(at: AppTest) -> list[str]:
    return at.code[0].value.splitlines()


def test_default_load_shows_counts_charts_splits_and_yardsticks():
    at = open_page()
    assert not at.exception
    m = metrics(at)
    assert m["Words"] == "29,910" and m["Vocabulary"] == "27"
    base = data.baselines(ui.default_dataset(), 3)
    assert m["Uniform"] == f"{base['uniform']:.4f}" == "3.2958"
    assert m["Unigram"] == f"{base['unigram_entropy']:.4f}"
    assert m["Bigram"] == f"{base['bigram']:.4f}"
    assert len(at.get("vega_lite_chart")) == 3  # lengths, characters, bigram heatmap
    table = at.dataframe[0].value
    assert list(table.index) == ["train", "dev", "test"]
    assert table["words"].sum() == 29_910
    assert contexts(at)[0] == f"... ---> {ui.default_dataset().words[0][0]}"


def test_contexts_follow_the_lecture_for_the_chosen_block_size():
    at = open_page(block_size="4", examples="1")
    first = ui.default_dataset().words[0]
    lines = contexts(at)
    assert len(lines) == len(first) + 1  # one per character, and the closing '.'
    assert lines[0] == f".... ---> {first[0]}"
    assert lines[-1] == f"{first[-4:]} ---> ."


def test_the_settings_round_trip_through_the_url():
    at = open_page(block_size="5", examples="2")
    assert at.number_input(key="ds_block_size").value == 5
    assert at.query_params["block_size"] == "5" and at.query_params["examples"] == "2"
    at.number_input(key="ds_block_size").set_value(2).run()
    assert at.query_params["block_size"] == "2"
    again = open_page(**at.query_params)  # the copied link, in a new session
    assert again.number_input(key="ds_block_size").value == 2
    assert contexts(again) == contexts(at)


@pytest.mark.parametrize("junk", ["abc", "99", "-1", "2.5", ""])
def test_junk_block_size_in_the_url_falls_back_to_3(junk):
    at = open_page(block_size=junk, examples=junk)
    assert not at.exception
    assert at.number_input(key="ds_block_size").value == 3
    assert contexts(at)[0].startswith("... ---> ")


def test_an_upload_is_described_instead_of_the_built_in_names():
    at = AppTest.from_file(APP, default_timeout=60).run()
    words = b"\n".join([b"anna", b"bob", b"cecil", b"dede", b"eve"] * 4)  # 20 words
    at.sidebar.file_uploader[0].set_value(("mine.txt", words, "text/plain")).run()
    at.switch_page("pages/dataset.py").run()
    assert not at.exception
    m = metrics(at)
    assert m["Words"] == "20" and m["Vocabulary"] == str(len(set("annabobcecildedeeve")) + 1)
    assert contexts(at)[0] == "... ---> a"


def test_a_space_among_the_characters_is_shown_as_a_visible_mark():
    words = [f"{a} {b}" for a in ("ann", "bo", "cy", "di") for b in ("lee", "may", "rae")]
    ds = data.dataset_from_words(words, "upload: spaced.txt")
    at = open_app("pages/dataset.py", session={"dataset": ds}, examples="1")
    assert not at.exception
    assert "Characters: ␣ is a space." in [c.value for c in at.caption]
    chars = next(t.value for t in at.text if "␣" in t.value)
    assert " " not in chars and sorted(chars) == sorted(visible("".join(ds.chars)))
    assert "... ---> a" in contexts(at) and "ann ---> ␣" in contexts(at)  # a space visible
    assert ".an ---> n" in contexts(at) and "nn␣ ---> l" in contexts(at)
    counts, heat = at.get("vega_lite_chart")[1:]
    for chart in (counts, heat):  # the bars' and the cells' characters (Arrow: UTF-8)
        assert any("␣".encode() in d.data.data for d in chart.proto.datasets)
    order = json.loads(heat.proto.spec)["encoding"]["x"]["sort"]
    assert "␣" in order and " " not in order
    assert any("␣: a space." in c.value for c in at.caption)


def test_a_list_without_a_space_has_no_space_note():
    at = open_page()
    assert not any("␣" in c.value for c in at.caption)
