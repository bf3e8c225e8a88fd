"""The run store's file-system pieces (store.py uses them): a lock per run key that every
process sharing the store folder honours, temp folders named by the key they build,
strict JSON, sizes, and the note a failed write leaves, in words.

Locks are ``fcntl.flock`` on ``.lock-<key>`` beside the entry: the kernel drops a lock
when its process ends, a ``kill -9`` included, so a dead writer never blocks the others,
and a temp folder whose key nobody holds is an orphan (store.py sweeps those at open).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

LOCK_POLL_S = 0.1  # how often a waiter tries a held lock again
TMP_PREFIX = ".tmp-"
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def lock_path(entry: Path) -> Path:
    return entry.parent / f".lock-{entry.name}"


def try_lock(entry: Path) -> int | None:
    """An open descriptor holding entry's lock, or None when another process holds it."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(entry), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def locked(entries: list[Path], on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the locks of these entries (taken in name order, so two holders never wait on
    each other); while another process holds one, on_wait() is called between tries."""
    fds = []
    try:
        for entry in sorted(set(entries)):
            fds.append(_wait_lock(entry, on_wait))
        yield
    finally:
        for fd in fds:
            if fd is not None:
                os.close(fd)  # closing the descriptor releases its flock


def _wait_lock(entry: Path, on_wait) -> int | None:
    """entry's lock, once free; None where no lock can be made (a store that cannot be
    written is shared with nobody: the run trains and its write fails with a note)."""
    while True:
        try:
            fd = try_lock(entry)
        except OSError:
            return None
        if fd is not None:
            return fd
        if on_wait:
            on_wait()  # it may raise (a visitor's Stop): the locks taken so far are freed
        time.sleep(LOCK_POLL_S)


def tmp_prefix(entry: Path) -> str:
    return f"{TMP_PREFIX}{entry.name}-"


def sweep_orphans(root: Path) -> int:
    """Remove every temp folder under root whose run key no process holds (its writer
    died); returns how many went."""
    gone = 0
    for tmp in root.glob(f"v*/*/{TMP_PREFIX}*"):
        entry = tmp.parent / tmp.name[len(TMP_PREFIX) :].rsplit("-", 1)[0]
        with contextlib.suppress(OSError):
            fd = try_lock(entry)
            if fd is None:
                continue  # a live writer builds it now
            try:
                shutil.rmtree(tmp)
                gone += 1
            finally:
                os.close(fd)
    return gone


def temp_folders(root: Path) -> list[Path]:
    return list(root.glob(f"v*/*/{TMP_PREFIX}*"))


def write_json(path: Path, value, indent: int | None = None) -> None:
    """Strict JSON (RFC 8259): a NaN or an infinity raises ValueError, never a token."""
    path.write_text(json.dumps(value, indent=indent, allow_nan=False))


def size(folder: Path) -> int:
    total = 0
    with contextlib.suppress(OSError):
        for f in folder.iterdir():
            with contextlib.suppress(OSError):
                total += f.stat().st_size
    return total


def remove_non_folder(path: Path) -> None:
    """Remove a file or a link at path, if any (a real folder is left to the caller)."""
    with contextlib.suppress(OSError):
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            path.unlink()


def free_bytes(root: Path) -> int | None:
    for folder in (root, *root.parents):
        with contextlib.suppress(OSError):
            return shutil.disk_usage(folder).free
    return None


def write_note(e: Exception, root: Path) -> str:
    """Why a write failed, in words and without the server's folders: a full disk (an
    ENOSPC, or torch.save's own RuntimeError, which it raises when a write falls short)
    says so with the bytes left."""
    if isinstance(e, RuntimeError) or getattr(e, "errno", None) in FULL_ERRNOS:
        free = free_bytes(root)
        left = f" ({free:,} bytes free)" if free is not None else ""
        return f"not cached: the disk is full{left}"
    why = getattr(e, "strerror", None) or type(e).__name__
    return f"not cached: the run store cannot be written ({why[:120]})"
