"""A visitor's run list, kept on the server under a private session id, so that a reload
(F5) finds it again. No Streamlit here: ui/session_memory.py reads the id from the
browser's cookie and hands the list over.

The id is random (``secrets``, 144 bits) and lives in one cookie of the visitor's
browser; it is never put in a link, so a shared link carries settings, never someone's
runs. The file is named by the id's SHA-256, and holds only what the run list needs to
find each run again in the run store (key, label, page, config, data set's name and hash,
its reference losses); the runs themselves stay in the store, shared by content. Every
write replaces the file whole (a temp file, then ``os.replace``) and keeps the union with
what the file held (two tabs of one browser share a list), newest last, at most ``limit``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
from pathlib import Path

FOLDER = "sessions"  # under the run store's root, outside its versioned entries
ID = re.compile(r"[A-Za-z0-9_-]{24,64}")  # what new_id makes; anything else is ignored


def new_id() -> str:
    return secrets.token_urlsafe(18)  # 24 characters


def valid(sid: str | None) -> bool:
    return isinstance(sid, str) and ID.fullmatch(sid) is not None


def path(root: Path, sid: str) -> Path:
    return Path(root) / FOLDER / f"{hashlib.sha256(sid.encode()).hexdigest()}.json"


def load(root: Path, sid: str) -> list[dict]:
    """The session's saved entries, oldest first ([] for none, or a file unread)."""
    if not valid(sid):
        return []
    try:
        entries = json.loads(path(root, sid).read_text())
    except (OSError, ValueError):
        return []
    return [e for e in entries if isinstance(e, dict) and "key" in e and "config" in e]


def save(root: Path, sid: str, entries: list[dict], limit: int) -> bool:
    """Merge these entries (newest last) into the session's file; False if not written."""
    if not valid(sid):
        return False
    merged = {e["key"]: e for e in load(root, sid)}
    for e in entries:
        merged.pop(e["key"], None)
        merged[e["key"]] = e
    kept = list(merged.values())[-limit:]
    target = path(root, sid)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(kept, default=float))
        os.replace(tmp, target)
    except OSError:
        with contextlib.suppress(OSError):  # a file where the folder should be: no temp
            tmp.unlink(missing_ok=True)
        return False
    return True
