"""ui/upload_requests.py: the runtime's upload-URL requests tell a replacement's "no file"
from a visitor's Remove (the browser side: tests/test_browser_hosting.py)."""

from __future__ import annotations

import pytest

from ui import upload_requests as ur


class Manager:
    """The one method of Streamlit's UploadedFileManager that the watch wraps."""

    def __init__(self):
        self.calls = []

    def get_upload_urls(self, session_id, file_names):
        self.calls.append((session_id, list(file_names)))
        return [f"url-{n}" for n in file_names]


@pytest.fixture(autouse=True)
def empty_table():
    ur._ASKED.clear()
    yield
    ur._ASKED.clear()


def test_a_request_for_a_file_marks_its_session_uploading_until_the_file_arrives():
    m = Manager()
    assert ur.watch(m) and ur.watch(m)  # wrapped once: a second watch changes nothing
    assert m.get_upload_urls("s1", ["a.txt"]) == ["url-a.txt"]
    assert m.calls == [("s1", ["a.txt"])]
    assert ur.uploading("s1") and not ur.uploading("s2") and not ur.uploading(None)
    ur.arrived("s1")
    assert not ur.uploading("s1")


def test_a_request_for_no_file_is_no_upload():
    m = Manager()
    ur.watch(m)
    assert m.get_upload_urls("s1", []) == []
    assert not ur.uploading("s1")


def test_a_request_whose_file_never_came_expires_and_leaves_the_table():
    ur.note("old", now=100.0)
    assert ur.uploading("old", now=100.0 + ur.WINDOW_S)
    assert not ur.uploading("old", now=100.0 + ur.WINDOW_S + 0.1)
    ur.note("new", now=100.0 + ur.WINDOW_S + 0.1)
    assert set(ur._ASKED) == {"new"}  # older notes go as new ones come


def test_without_the_method_nothing_is_watched():
    assert not ur.watch(object())
