"""The server's start: what a process loads once, before it answers its first visitor.

`streamlit run app.py` finds the ``st.App`` that app.py makes when it is imported rather
than run as a page (Streamlit looks for one in the file and then serves it with uvicorn),
and the App runs ``lifespan`` once per process before the server answers. ``preload``
imports what the pages import (torch, pandas, altair, every ui module), opens the run
store, reads the built-in names into the data cache and starts the warm-up
(hosting/warm.py), which
then trains the pages' default experiments in the background while the server answers.
A fresh server so takes 2-3 s longer to answer its health check, and its first visitor
waits neither for the imports nor for runs the warm-up is already training
(ARCHITECTURE.md "The server's start").

Nothing here can stop a server from starting: a failure is logged, and each page loads
what it needs as it would without a preload. Served as an App, `streamlit run` no longer
opens the browser itself (only its classic path did), so the lifespan does, as that path
did: not when headless, once the server takes connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from contextlib import asynccontextmanager
from importlib import import_module

from streamlit.logger import get_logger

LOG = get_logger(__name__)  # Streamlit's handler: shown in the server's log

# the pages' own heavy imports (ui's submodules import the rest)
PAGE_IMPORTS = ("pandas", "mlp_core.bn_fold", "mlp_core.sample", "mlp_core.zero_init")
# Streamlit's caches warn "missing ScriptRunContext" once per call outside a page's run
NO_CONTEXT_LOGGER = "streamlit.runtime.scriptrunner_utils.script_run_context"


@asynccontextmanager
async def lifespan(_app):
    await asyncio.to_thread(preload)
    opening = asyncio.create_task(open_browser())
    yield
    opening.cancel()


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
