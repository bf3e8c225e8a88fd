"""Which sessions' browsers are uploading a file right now: a replacement or a removal.

A browser's uploader (Streamlit 1.67) that replaces its file first asks the server for
upload URLs (a ``file_urls_request`` message), then reports "no file" (the old one
removed) and, once the new file is uploaded, the new file. A visitor's Remove reports "no
file" with no request before it. Messages of one session arrive in order, so when the
"no file" is handled, a request not yet followed by a file tells the two apart, however
long the page's run or the upload takes. The runtime's upload manager is wrapped once to
note each request (session id -> time); a file that arrives clears its session's note,
and a note older than WINDOW_S counts for nothing (an upload that never arrived), so the
table holds only the sessions uploading in the last WINDOW_S seconds.
"""

from __future__ import annotations

import threading
import time

WINDOW_S = 30.0  # a request this old without its file: the upload failed

_LOCK = threading.Lock()
_ASKED: dict[str, float] = {}  # session id -> when its browser last asked for upload URLs
_MARK = "_practice_board_noted"


def note(session_id: str, now: float | None = None) -> None:
    """A browser asked for upload URLs: a file is on its way."""
    now = time.monotonic() if now is None else now
    with _LOCK:
        for sid in [s for s, t in _ASKED.items() if now - t > WINDOW_S]:
            del _ASKED[sid]
        _ASKED[session_id] = now


def uploading(session_id: str | None, now: float | None = None) -> bool:
    """Has this session's browser asked for upload URLs, within WINDOW_S, with no file
    arrived since?"""
    now = time.monotonic() if now is None else now
    with _LOCK:
        t = _ASKED.get(session_id)
    return t is not None and now - t <= WINDOW_S


def arrived(session_id: str | None) -> None:
    """A file reached the session's uploader: its upload is over."""
    with _LOCK:
        _ASKED.pop(session_id, None)


def watch(manager) -> bool:
    """Wrap ``manager.get_upload_urls`` (a runtime's UploadedFileManager) so that each
    request is noted; once per manager. False where the manager has no such method (the
    uploader's "no file" is then always a removal)."""
    original = getattr(manager, "get_upload_urls", None)
    if original is None:
        return False
    if getattr(original, _MARK, False):
        return True

    def get_upload_urls(session_id, file_names):
        if file_names:  # a drop of refused files only asks for none, and removes nothing
            note(session_id)
        return original(session_id, file_names)

    setattr(get_upload_urls, _MARK, True)
    manager.get_upload_urls = get_upload_urls
    return True


def watch_runtime() -> bool:
    """watch() the running server's upload manager; False without a server (AppTest)."""
    from streamlit import runtime

    if not runtime.exists():
        return False
    return watch(runtime.get_instance().uploaded_file_mgr)
