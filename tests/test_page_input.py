"""Odd input in the app: word lists, divergence, a broken cache. Never a traceback, never a
lost data set."""

import pytest
from app_helpers import answer_of, open_app
from streamlit.testing.v1 import AppTest

from mlp_core import words

GOOD = b"\n".join([b"emma", b"olivia", b"ava", b"isabella", b"sophia"] * 3)
SMALL = {"layers": "1", "n_hidden": "8", "steps": "100"}


pytestmark = pytest.mark.usefixtures("fresh_app")


def upload(at: AppTest, name: str, raw: bytes) -> AppTest:
    return at.sidebar.file_uploader[0].set_value((name, raw, "text/plain")).run()


def in_use(at: AppTest) -> str:
    """The sidebar's "In use" lines: captions, and the data set's name as plain text."""
    return " ".join([c.value for c in at.sidebar.caption] + [t.value for t in at.sidebar.text])


def refusal(at: AppTest) -> str:
    """The refused upload's message: the error, and the names and reason as plain text."""
    return " ".join([e.value for e in at.error] + [t.value for t in at.main.text])


REFUSED = {
    "empty file": (b"", "no words"),
    "only blank lines": (b"\n \n\n", "no words"),
    "a png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    "a single 1-letter name": (b"a\n", "needs at least 10"),
    "control characters": (b"emma\nav\x07a\n" * 6, "control character"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_word_lists_keep_the_previous_upload(case):
    at = upload(open_app(), "good.txt", GOOD)
    raw, why = REFUSED[case]
    at = upload(at, "bad.txt", raw)
    assert not at.exception
    assert why in refusal(at) and "bad.txt" in refusal(at)
    assert "upload: good.txt" in in_use(at) and "15 words" in in_use(at)


def test_a_file_over_the_size_cap_is_refused(monkeypatch):
    monkeypatch.setattr(words, "MAX_BYTES", 1_000)
    at = upload(open_app(), "big.txt", b"emma\n" * 500)
    assert not at.exception and "limit" in refusal(at)


@pytest.mark.parametrize(
    ("raw", "vocab"),
    [
        ("\n".join(["Zoë", "José", "Anne-Marie", "O'Neil", "Mary Ann", "R2D2"] * 3).encode(), 20),
        ("\n".join(["ANNA", "BOB"] * 6).encode("utf-16"), 5),
    ],
)
def test_accepted_odd_word_lists_are_normalised(raw, vocab):
    at = upload(open_app(), "odd.txt", raw)
    assert not at.exception and not at.error
    assert f"vocab {vocab}" in in_use(at)


def test_a_diverging_run_says_so_and_at_which_step():
    at = open_app("pages/zero_init.py", **SMALL, lr="100")
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("run diverged at step" in e for e in errors), errors


def test_an_unusable_cache_folder_is_said_with_each_result_and_the_app_works_on(
    tmp_path, monkeypatch
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("PRACTICE_BOARD_CACHE", str(blocker))
    at = open_app("pages/zero_init.py", **SMALL)
    assert not at.exception and at.success  # the answer is there
    assert "not cached" in at.warning[0].value
    next(b for b in at.button if b.label == "ReLU").click().run()
    assert not at.exception and "relu(0) = 0" in answer_of(at)
    assert [w for w in at.warning if "not cached" in w.value]  # this result neither


@pytest.mark.parametrize(
    ("name", "junk", "default"),
    [
        ("lr", "-1", 0.1),
        ("lr", "1e9", 0.1),
        ("steps", "0", 3000),
        ("layers", "99", 5),
        ("n_hidden", "abc", 100),
        ("bn_eps", "nan", 1e-5),
    ],
)
def test_out_of_range_settings_in_a_link_fall_back_to_defaults(name, junk, default):
    at = open_app("pages/zero_init.py", **{**SMALL, name: junk})
    assert not at.exception
    assert at.session_state[f"zi_{name}"] == default


def test_a_block_size_longer_than_every_word_gets_a_note():
    at = upload(open_app(), "short.txt", b"\n".join([b"ab", b"ba", b"abb"] * 5))
    at.switch_page("pages/dataset.py").run()
    at.number_input(key="ds_block_size").set_value(8).run()
    assert not at.exception and not at.error
    assert "longer than every word" in at.info[0].value
