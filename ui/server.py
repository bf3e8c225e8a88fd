"""The server's start: what a process loads once, in the background while it answers.

`streamlit run app.py` finds the ``st.App`` that app.py makes when it is imported rather
than run as a page (Streamlit looks for one in the file and then serves it with uvicorn),
and the App runs ``lifespan`` once per process as the server starts. ``lifespan`` starts
``preload`` in a thread and lets the server answer at once: ``preload`` imports what the
pages import (torch, pandas, altair, every ui module), opens the run store, reads the
built-in names into the data cache and starts the warm-up (hosting/warm.py), which then
trains the pages' default experiments in the background. A visitor who comes meanwhile
sees the page's title and a "getting ready" spinner (app.py calls ``wait_ready``), never
a blank page; the page goes on once the preload is done, so a page and the preload never
import the same modules at once (ARCHITECTURE.md "The server's start").

Nothing here can stop a server from starting: a failure is logged, and each page loads
what it needs as it would without a preload. Served as an App, `streamlit run` does not
open the browser itself (only its classic path does), so the lifespan does, as that path
does: not when headless, once the server takes connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from contextlib import asynccontextmanager
from importlib import import_module

from streamlit.logger import get_logger

LOG = get_logger(__name__)  # Streamlit's handler: shown in the server's log

# the pages' own heavy imports (ui's submodules import the rest)
PAGE_IMPORTS = ("pandas", "mlp_core.bn_fold", "mlp_core.sample", "mlp_core.zero_init")
# Streamlit's caches warn "missing ScriptRunContext" once per call outside a page's run
NO_CONTEXT_LOGGER = "streamlit.runtime.scriptrunner_utils.script_run_context"


STARTED, DONE = threading.Event(), threading.Event()  # the preload's, in this process
WAIT_S = 600.0  # a preload that takes longer is stuck: the page goes on without it
HOLD_ENV = "PRACTICE_BOARD_PRELOAD_HOLD"  # a file: the preload waits while it exists


@asynccontextmanager
async def lifespan(_app):
    STARTED.set()
    threading.Thread(target=_preload_then_done, name="preload", daemon=True).start()
    opening = asyncio.create_task(open_browser())
    yield
    opening.cancel()


def _preload_then_done() -> None:
    try:
        _held()
        preload()
    finally:
        DONE.set()


def _held() -> None:
    """Wait while the file HOLD_ENV names exists: tests/test_browser_cold.py holds the
    preload there to see what a visitor sees meanwhile, whatever this machine's speed."""
    hold = os.environ.get(HOLD_ENV)
    end = time.monotonic() + WAIT_S
    while hold and os.path.exists(hold) and time.monotonic() < end:
        time.sleep(0.05)


def getting_ready() -> bool:
    """Whether this process's preload is still running (False where none started)."""
    return STARTED.is_set() and not DONE.is_set()


def wait_ready() -> None:
    """Wait until the preload is done (at once where none runs)."""
    if getting_ready():
        DONE.wait(WAIT_S)


async def open_browser(wait_s: float = 30.0) -> None:
    """Open the app in the local browser once the server takes connections, unless
    headless (what `streamlit run` does on its classic path, bootstrap._on_server_start)."""
    try:
        from streamlit import cli_util, config
        from streamlit.web.server import server_util

        if config.get_option("server.headless"):
            return
        address = "localhost"
        if config.is_manually_set("browser.serverAddress"):
            address = config.get_option("browser.serverAddress")
        elif config.is_manually_set("server.address"):
            address = server_util.get_display_address(config.get_option("server.address"))
        end = time.monotonic() + wait_s
        while time.monotonic() < end:
            port = int(config.get_option("server.port"))  # the port in use, once bound
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            cli_util.open_browser(server_util.get_url(address))
            return
    except Exception:  # noqa: BLE001 - a browser that cannot open is no server failure
        LOG.warning("could not open the browser", exc_info=True)


def preload() -> float:
    """Load once what every page needs and start the warm-up; the seconds it took."""
    t0 = time.perf_counter()
    with _quiet(NO_CONTEXT_LOGGER):
        try:
            _preload()
        except Exception:  # noqa: BLE001 - a preload must never stop a server
            LOG.exception("preload failed; each page loads what it needs")
    seconds = time.perf_counter() - t0
    LOG.info("preloaded in %.1f s", seconds)
    return seconds


def _preload() -> None:
    import ui
    from mlp_core import data

    for name in PAGE_IMPORTS:
        import_module(name)
    for home in sorted({home or name for name, home in ui._HOME.items()}):
        import_module(f"ui.{home}")
    ui.run_store()
    try:
        ui.default_dataset()
    except data.DataError:  # no built-in names here: the pages say so, nothing to warm
        LOG.warning("preload: the built-in names could not be read", exc_info=True)
        return
    ui.warm_up()


@contextlib.contextmanager
def _quiet(logger: str):
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)
