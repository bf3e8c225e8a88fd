"""Serve one class from N app replicas behind nginx (README "Replicas behind a proxy").

    python deploy/replicas.py --replicas 2 --listen 0.0.0.0:8080 --cache /srv/practice-board

starts, from the repository root:

1. N replicas: ``streamlit run app.py --server.headless true --server.address 127.0.0.1
   --server.port P`` for P = --first-port, --first-port + 1, ..., each with
   ``PRACTICE_BOARD_CACHE=<--cache>`` (one run store folder for all: a run trained through
   one is served by the others, store_disk.py's lock per run key) and one
   ``STREAMLIT_SERVER_COOKIE_SECRET`` (so a replica accepts the others' cookies); the rest
   of the environment passes through (``PRACTICE_BOARD_DEMO=1`` for a demo class). Each
   one's output goes to ``<run folder>/replica-P.log``. It waits until every replica's
   health check answers.
2. nginx with deploy/nginx.conf, its ``@LISTEN@`` and ``@SERVERS@`` filled in and written
   to ``<run folder>/nginx.conf``: ``nginx -p <run folder> -c nginx.conf -e stderr -g
   "daemon off;"`` (sticky sessions by a cookie, websockets upgraded; the access log,
   ``<run folder>/access.log``, says which replica served each request). It waits until
   the app's health check answers through the proxy.

Then it prints ``ready: http://HOST:PORT`` and runs until it gets SIGINT or SIGTERM, or one
of its processes ends; then it stops them all (SIGTERM, SIGKILL after STOP_S) and exits.
``--no-proxy`` starts the replicas alone; ``--print-conf`` prints the filled-in nginx
configuration (for an nginx you run yourself) and exits.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("nginx.conf")
READY_S = 120.0  # the longest a replica or the proxy may take to answer its health check
STOP_S = 20.0  # how long a process may take to stop before it is killed


def parse_listen(listen: str) -> tuple[str, int]:
    """'HOST:PORT' or 'PORT' (all addresses)."""
    host, _, port = listen.rpartition(":")
    return host or "0.0.0.0", int(port)


def render_conf(listen: str, ports: list[int], template: Path = TEMPLATE) -> str:
    """deploy/nginx.conf with its listen address and one upstream server per replica."""
    host, port = parse_listen(listen)
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in ports)
    return template.read_text().replace("@LISTEN@", f"{host}:{port}").replace("@SERVERS@", servers)


def replica_command(port: int) -> list[str]:
    """One replica: the app as README "Set up and run" starts it, on a loopback port."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
    ]


def nginx_command(nginx: str, run_dir: Path) -> list[str]:
    return [nginx, "-p", str(run_dir), "-c", "nginx.conf", "-e", "stderr", "-g", "daemon off;"]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def wait_healthy(url: str, proc: subprocess.Popen, what: str) -> None:
    """Return once url's health check answers; raise if proc ends or READY_S passes."""
    end = time.monotonic() + READY_S
    while not healthy(url):
        if proc.poll() is not None:
            raise RuntimeError(f"{what} ended with exit code {proc.returncode}")
        if time.monotonic() > end:
            raise TimeoutError(f"{what} did not answer {url}/_stcore/health in {READY_S:.0f} s")
        time.sleep(0.2)


def stop_all(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    end = time.monotonic() + STOP_S
    for p in procs:
        try:
            p.wait(timeout=max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicas", type=int, default=2, help="app processes (default 2)")
    ap.add_argument("--listen", default="0.0.0.0:8080", help="HOST:PORT the class opens")
    ap.add_argument("--first-port", type=int, default=8501, help="the first replica's port")
    ap.add_argument("--cache", required=True, help="the run store folder the replicas share")
    ap.add_argument("--run-dir", help="nginx's folder and the logs (default: a new temp one)")
    ap.add_argument("--no-proxy", action="store_true", help="the replicas alone, no nginx")
    ap.add_argument("--print-conf", action="store_true", help="print nginx.conf and exit")
    a = ap.parse_args(argv)
    if a.replicas < 1:
        ap.error("--replicas is at least 1")
    ports = [a.first_port + i for i in range(a.replicas)]
    if a.print_conf:
        print(render_conf(a.listen, ports), end="")
        return 0
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    if not a.no_proxy and nginx is None:
        print(
            "nginx is not installed (apt-get install nginx-light), or pass --no-proxy",
            file=sys.stderr,
        )
        return 2
    run_dir = Path(a.run_dir or tempfile.mkdtemp(prefix="practice-board-replicas-")).resolve()
    (run_dir / "tmp").mkdir(parents=True, exist_ok=True)
    Path(a.cache).mkdir(parents=True, exist_ok=True)
    env = os.environ | {"PRACTICE_BOARD_CACHE": str(Path(a.cache).resolve())}
    env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", secrets.token_hex(32))

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    procs: list[subprocess.Popen] = []
    try:
        for port in ports:
            log = open(run_dir / f"replica-{port}.log", "ab")  # noqa: SIM115 - the child's
            procs.append(
                subprocess.Popen(replica_command(port), cwd=ROOT, env=env, stdout=log, stderr=log)
            )
        for port, proc in zip(ports, procs):
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, proc, f"the replica on port {port}")
            print(f"replica: {url}", flush=True)
        host, port = parse_listen(a.listen)
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '*') else host}:{port}"
        if not a.no_proxy:
            (run_dir / "nginx.conf").write_text(render_conf(a.listen, ports))
            log = open(run_dir / "nginx.log", "ab")  # noqa: SIM115 - the child's
            proxy = subprocess.Popen(nginx_command(nginx, run_dir), stdout=log, stderr=log)
            procs.append(proxy)
            wait_healthy(url, proxy, "nginx")
            print(f"proxy: {url} (nginx, {run_dir / 'nginx.conf'})", flush=True)
        print(f"ready: {url if not a.no_proxy else 'the replicas above'}", flush=True)
        while not stopping:
            if any(p.poll() is not None for p in procs):
                print("a process ended: stopping the others", file=sys.stderr, flush=True)
                return 1
            time.sleep(0.5)
        return 0
    except (RuntimeError, TimeoutError) as e:
        print(e, file=sys.stderr, flush=True)
        return 1
    finally:
        stop_all(procs)


if __name__ == "__main__":
    sys.exit(main())
