"""Worker processes, so that a stack split in two trains on both cores.

A worker is a plain subprocess (``python -m mlp_core.workers``: nothing of the parent, the
Streamlit server or pytest, is re-imported), one torch thread, kept for later stacks once
started. It builds one object (a stack.Stack) and answers method calls on it; calls and
results travel as pickles over its stdin/stdout. Processes, not threads: threads in one
process share the GIL (ARCHITECTURE.md). A worker that cannot start or dies is
dropped, and its runs train in the parent process.
"""

from __future__ import annotations

import atexit
import os
import pickle
import subprocess
import sys
import threading
import traceback
from pathlib import Path

_POOL: list[Remote] = []
_LOCK = threading.Lock()  # one stack at a time uses the pool


class Local:
    """An object in this process behind the same send/receive calls as Remote: the call
    runs at receive, so remote calls sent before it run alongside."""

    def __init__(self, obj):
        self.obj, self._call = obj, None

    def send(self, name: str, *args) -> None:
        self._call = (name, args)

    def receive(self):
        name, args = self._call
        return getattr(self.obj, name)(*args)


class Remote:
    """An object in a worker process."""

    def __init__(self):
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlp_core.workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self.pending = 0

    def send(self, name: str, *args) -> None:
        pickle.dump((name, args), self.proc.stdin)
        self.proc.stdin.flush()
        self.pending += 1

    def receive(self):
        try:
            status, value = pickle.load(self.proc.stdout)
        except (EOFError, pickle.UnpicklingError, OSError) as e:
            raise RuntimeError(f"a training worker process ended unexpectedly ({e})") from e
        finally:
            self.pending -= 1
        if status == "error":
            raise RuntimeError(f"in a training worker process:\n{value}")
        return value

    def release(self) -> bool:
        """Drop the worker's object (draining unanswered calls); False if it is unusable."""
        try:
            while self.pending:
                self.receive()
            self.send("new", None)
            self.receive()
            return True
        except Exception:
            self.close()
            return False

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except Exception:
            self.proc.kill()


def acquire(n: int, cls, args_per_worker: list[tuple], threads: int) -> list[Remote]:
    """n workers, each holding cls(*args) (started if needed); [] if the pool is in use
    or workers cannot start."""
    if n < 1 or not _LOCK.acquire(blocking=False):
        return []
    try:
        while len(_POOL) < n:
            _POOL.append(Remote())
        for remote, args in zip(_POOL, args_per_worker):
            remote.send("new", (cls, args, threads))
        return _POOL[:n]
    except OSError:  # cannot start, or a worker is gone: start afresh next time
        for remote in _POOL:
            remote.close()
        _POOL.clear()
        _LOCK.release()
        return []


def ready(remotes: list[Remote]) -> bool:
    """Wait until each worker holds its object; if one fails, give them all back."""
    try:
        for remote in remotes:
            remote.receive()
        return True
    except RuntimeError:
        release(remotes)
        return False


def release(remotes: list[Remote]) -> None:
    for remote in remotes:
        if not remote.release():
            _POOL.remove(remote)
    if remotes:
        _LOCK.release()


@atexit.register
def _shutdown() -> None:
    for remote in _POOL:
        remote.close()


def serve() -> None:
    """The worker's loop: ("new", (cls, args, threads)) builds the object, ("new", None)
    drops it, any other (name, args) calls that method; every message gets one answer."""
    import torch

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to stderr, not into the answers
    obj = None
    while True:
        try:
            name, args = pickle.load(sys.stdin.buffer)
        except EOFError:
            return
        try:
            with torch.no_grad():
                if name == "new":
                    obj = None
                    if args[0] is not None:
                        cls, cargs, threads = args[0]
                        torch.set_num_threads(threads)
                        obj = cls(*cargs)
                    answer = ("ok", None)
                else:
                    answer = ("ok", getattr(obj, name)(*args))
        except Exception:
            answer = ("error", traceback.format_exc())
        pickle.dump(answer, out)
        out.flush()


if __name__ == "__main__":
    serve()
