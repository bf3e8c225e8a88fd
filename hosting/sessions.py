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

The folder is bounded: a file unused (neither written nor read) for ``MAX_AGE_S`` (the
cookie's own lifetime) is removed, and past ``MAX_FILES`` files the least recently used
go first. The sweep runs when a write makes a new file (only a new session adds one); a
file it cannot remove, or one another process removed first, is passed over: a visitor's
write never fails for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import time
from pathlib import Path

FOLDER = "sessions"  # under the run store's root, outside its versioned entries
MAX_FILES = 2_000  # sessions kept: at most ~40 KB each (40 runs' keys and settings)
MAX_AGE_S = 30 * 24 * 3600  # a month unused: the cookie that named it has expired
TMP_AGE_S = 3600  # a temp file this old was left by a write that died
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
    file = path(root, sid)
    try:
        entries = json.loads(file.read_text())
    except (OSError, ValueError):
        return []
    with contextlib.suppress(OSError):  # read: used, so the sweep keeps it
        os.utime(file)
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
    new = not target.exists()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(kept, default=float))
        os.replace(tmp, target)
    except OSError:
        with contextlib.suppress(OSError):  # a file where the folder should be: no temp
            tmp.unlink(missing_ok=True)
        return False
    if new:
        sweep(Path(root) / FOLDER, keep=target)
    return True


def sweep(folder: Path, keep: Path | None = None, now: float | None = None) -> int:
    """Remove the session files unused for MAX_AGE_S, then the least recently used past
    MAX_FILES, and temp files older than TMP_AGE_S; never ``keep``. Returns how many went.
    What cannot be listed, read or removed is passed over."""
    now = time.time() if now is None else now
    files, gone = [], 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for e in entries:
        try:
            used = e.stat(follow_symlinks=False).st_mtime
        except OSError:  # removed meanwhile
            continue
        old = now - used > (TMP_AGE_S if e.name.endswith(".tmp") else MAX_AGE_S)
        if e.name.endswith(".json") and not old:
            files.append((used, e.path))
        elif (e.name.endswith(".json") or e.name.endswith(".tmp")) and old:
            gone += _remove(e.path, keep)
    files.sort()  # least recently used first
    for _, p in files[: max(0, len(files) - MAX_FILES)]:
        gone += _remove(p, keep)
    return gone


def _remove(p: str, keep: Path | None) -> int:
    if keep is not None and Path(p) == keep:
        return 0
    try:
        os.unlink(p)
    except OSError:  # gone already, a folder, or not ours to remove
        return 0
    return 1
