"""A class on one link: two app replicas (real `streamlit run app.py` processes) sharing one
run store folder, behind nginx with sticky sessions, started as README "Replicas behind a
proxy" says: `python deploy/replicas.py` with deploy/nginx.conf.

A run trained through one replica is served from the store by the other (its answer
drawn, the store's entries and their files unchanged); a browser session through the proxy
renders its pages and every request of it, the websocket included, reaches one replica
(nginx's access log says which). Skips, saying why, without chromium and playwright; the
proxy's test skips without nginx (the replicas then start alone, --no-proxy)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser_helpers import ROOT, chromium, chromium_page, skip_without_browser

from mlp_core.store import RunStore

pytestmark = pytest.mark.slow

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
ANSWER = "What trained, and why"  # Zero init's answer heading
VIEW = {"width": 1200, "height": 900}
WAIT_MS = 300_000  # the longest any one wait may take on a busy 2-core machine


def free_ports(n: int) -> int:
    """The first of n consecutive free loopback ports."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            first = s.getsockname()[1]
        if first + n < 65536 and all(_free(first + i) for i in range(n)):
            return first
    raise RuntimeError("no free consecutive ports")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Class:
    """deploy/replicas.py running: its replicas' URLs, the proxy's, the store and logs."""

    def __init__(self, proc, replicas: list[str], proxy: str | None, store: Path, run: Path):
        self.proc, self.replicas, self.proxy, self.store, self.run = (
            proc,
            replicas,
            proxy,
            store,
            run,
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    skip_without_browser()
    tmp = tmp_path_factory.mktemp("class")
    store, run = tmp / "store", tmp / "run"
    first = free_ports(3)  # the proxy, then the replicas
    cmd = [sys.executable, "deploy/replicas.py", "--replicas", "2", "--first-port", str(first + 1)]
    cmd += ["--listen", f"127.0.0.1:{first}", "--cache", str(store), "--run-dir", str(run)]
    cmd += [] if NGINX else ["--no-proxy"]
    env = os.environ | {"PRACTICE_BOARD_WARM": "0"}  # nothing trains but what a test asks
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        replicas, proxy = [], None
        for line in proc.stdout:  # it prints each URL once it answers, then "ready"
            if line.startswith("replica: "):
                replicas.append(line.split()[1])
            elif line.startswith("proxy: "):
                proxy = line.split()[1]
            elif line.startswith("ready: "):
                break
        assert proc.poll() is None and len(replicas) == 2, "deploy/replicas.py did not start"
        yield Class(proc, replicas, proxy, store, run)
    finally:
        proc.send_signal(signal.SIGTERM)  # it stops its replicas and nginx
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def entries(store: Path) -> dict[Path, tuple[int, int]]:
    """Every entry in the store, with its metrics file's inode and modification time."""
    out = {}
    for e in RunStore(store).entries():
        st = (e / "metrics.json").stat()
        out[e] = (st.st_ino, st.st_mtime_ns)
    return out


def open_answer(browser, url: str) -> None:
    """Open Zero init at seed 5 in a new session, wait for its answer, check no traceback."""
    page = chromium_page(browser, VIEW)
    try:
        page.goto(f"{url}/zero_init?seed=5")
        page.get_by_text(ANSWER, exact=False).first.wait_for(timeout=WAIT_MS)
        page.wait_for_selector(
            "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=WAIT_MS
        )
        assert not page.locator("[data-testid='stException']").count()
    finally:
        page.context.close()


def test_a_run_trained_through_one_replica_is_served_by_the_other(served):
    with chromium() as browser:
        open_answer(browser, served.replicas[0])  # trains the pair there
        trained = entries(served.store)
        assert len(trained) == 2  # the zero-init run and its comparison
        open_answer(browser, served.replicas[1])
    assert entries(served.store) == trained  # read, not trained again: the same two files


LOG = re.compile(
    r'"(?P<method>\S+) (?P<path>\S+) [^"]*" (?P<status>\d+) key=(?P<key>\S+) upstream=(?P<up>\S+)'
)


def log_lines(run: Path) -> list[dict]:
    path = run / "access.log"
    text = path.read_text() if path.exists() else ""
    return [m.groupdict() for m in LOG.finditer(text)]


def test_a_session_through_the_proxy_stays_on_one_replica(served):
    if served.proxy is None:
        pytest.skip("nginx is not installed here (apt-get install nginx-light)")
    with chromium() as browser:
        page = chromium_page(browser, VIEW)
        page.goto(f"{served.proxy}/zero_init?seed=5")
        page.get_by_text(ANSWER, exact=False).first.wait_for(timeout=WAIT_MS)
        page.get_by_role("link", name="BatchNorm folding").first.click()  # more messages
        page.get_by_text("The network, before and after", exact=False).first.wait_for(
            timeout=WAIT_MS
        )
        assert not page.locator("[data-testid='stException']").count()
        (key,) = [
            c["value"] for c in page.context.cookies() if c["name"] == "practice_board_replica"
        ]
        page.context.close()  # the websocket closes: nginx logs it now
    deadline = time.monotonic() + WAIT_MS / 1000
    while not any(
        r["key"] == key and r["path"] == "/_stcore/stream" for r in log_lines(served.run)
    ):
        assert time.monotonic() < deadline, "nginx never logged the session's websocket"
        time.sleep(0.2)
    mine = [r for r in log_lines(served.run) if r["key"] == key]
    stream = [r for r in mine if r["path"] == "/_stcore/stream"]
    assert [r["status"] for r in stream] == ["101"]  # one websocket, upgraded, never reopened
    assert len({r["up"] for r in mine}) == 1  # the page, its files and its websocket: one replica
    assert {r["up"] for r in mine} <= {u.removeprefix("http://") for u in served.replicas}
