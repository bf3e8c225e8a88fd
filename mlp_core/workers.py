"""Worker processes, so that a stack split in two trains on both cores.

A worker is a plain subprocess (``python -m mlp_core.workers``: nothing of the parent, the
Streamlit server or pytest, is re-imported), one torch thread, kept for later stacks once
started. It builds one object (a stack.StackTrainer) and answers method calls on it; calls and
results travel as pickles over its stdin/stdout. Processes, not threads: threads in one
process share the GIL (ARCHITECTURE.md). A worker that cannot start or dies is
dropped, and its runs train in the parent process; one that dies in the middle of a
training (killed, out of memory) is replaced by the same object rebuilt in the parent,
its calls replayed (Revivable): the numbers do not depend on where a group trains. A
worker ignores Ctrl-C: the parent handles it and closes the pipes, which ends the worker.
``warm_in_background`` starts the pool's workers ahead of the first stack that needs them
(a page that trains big stacks calls it as it opens), so that stack does not wait for a
worker's torch import.
"""

from __future__ import annotations

import atexit
import os
import pickle
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path

_POOL: list[Remote] = []
_LOCK = threading.Lock()  # one stack at a time uses the pool
_WARMING = threading.Lock()  # held by the one warm_in_background thread running


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


class WorkerDied(RuntimeError):
    """A worker process ended (killed, crashed) with calls unanswered."""


class Revivable:
    """A Remote whose calls are logged; if its worker dies, the object is rebuilt here as
    a Local from the same class and arguments, the logged calls replayed, and the
    training carries on."""

    def __init__(self, remote: Remote, cls, args: tuple):
        self.part, self.cls, self.args = remote, cls, args
        self.log: list[tuple[str, tuple]] = []
        self.call: tuple[str, tuple] | None = None

    def send(self, name: str, *args) -> None:
        self.call = (name, args)
        try:
            self.part.send(name, *args)
        except OSError:  # the pipe is broken: the worker is gone
            self._revive()

    def receive(self):
        try:
            value = self.part.receive()
        except WorkerDied:
            self._revive()
            value = self.part.receive()
        self.log.append(self.call)
        return value

    def _revive(self) -> None:
        local = Local(self.cls(*self.args))
        for name, args in self.log:
            getattr(local.obj, name)(*args)
        local.send(self.call[0], *self.call[1])
        self.part = local


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
            raise WorkerDied(f"a training worker process ended unexpectedly ({e})") from e
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


def warm_in_background(n: int = 1) -> threading.Thread | None:
    """Start workers in a daemon thread until the pool holds n, so that the next stack split
    over processes finds them started (a worker imports torch as it starts: seconds). The
    thread starts the processes and returns; it never waits for them, and the caller never
    waits for the thread. A pool in use is left alone (its stack starts what it needs).
    Idempotent and thread-safe: one such thread at a time, and nothing to do once the pool
    holds n. Never raises: a worker that cannot start leaves acquire to start one as it
    does without this. Returns the thread, or None where there was nothing to start."""
    if n < 1 or len(_POOL) >= n or _LOCK.locked() or not _WARMING.acquire(blocking=False):
        return None
    try:
        thread = threading.Thread(target=_warm, args=(n,), name="workers-warm", daemon=True)
        thread.start()
        return thread
    except Exception:  # no thread to be had: acquire starts the workers when needed
        _WARMING.release()
        return None


def _warm(n: int) -> None:
    try:
        if _LOCK.acquire(blocking=False):
            try:
                while len(_POOL) < n:
                    _POOL.append(Remote())
            finally:
                _LOCK.release()
    except Exception:  # cannot start: acquire tries again when a stack needs a worker
        pass
    finally:
        _WARMING.release()


@atexit.register
def _shutdown() -> None:
    for remote in _POOL:
        remote.close()


def serve() -> None:
    """The worker's loop: ("new", (cls, args, threads)) builds the object, ("new", None)
    drops it, any other (name, args) calls that method; every message gets one answer."""
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
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
