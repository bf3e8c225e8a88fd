"""A visitor without a browser: Streamlit's own websocket protocol, spoken as its frontend
speaks it, for benches that measure the server alone (bench/visitors.py --client ws).

A browser tab holds one websocket to ``/_stcore/stream`` and sends protobuf BackMsgs: a
``rerun_script`` with the page, the URL's query string and the widgets' states; the
server answers with ForwardMsgs, one script run at a time: ``new_session`` as a run
starts, ``delta``s (the elements), ``page_info_changed`` (the URL the app set) and
``script_finished``. A page is "answered" when a run ends with FINISHED_SUCCESSFULLY and
its elements carry the answer's text, which is what the browser benches wait for too.
A button press is the button's ``trigger_value`` sent in a rerun of the fragment that
drew it. Nothing is drawn, so the visitor costs the bench machine almost nothing: the
class's browsers run on the learners' own machines, and the server's cores are measured.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

DONE = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY


def _strings(msg) -> list[str]:
    """The text fields of a message's set sub-message (an element's body, label, text)."""
    kind = msg.WhichOneof("type") if "type" in msg.DESCRIPTOR.oneofs_by_name else None
    if kind is None:
        return []
    return [v for _, v in getattr(msg, kind).ListFields() if isinstance(v, str)]


class Visitor:
    """One tab's websocket to a Streamlit server at url (http://host:port)."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.url = f"ws://{parts.netloc}/_stcore/stream"
        self.ws = None
        self.page = self.page_hash = ""
        self.query = ""
        self.buttons: dict[str, tuple[str, str]] = {}  # label -> (widget id, fragment id)
        self.exception = ""
        self.texts: list[str] = []  # every text drawn since the last rerun sent, all runs

    async def __aenter__(self):
        self.ws = await websockets.connect(
            self.url, subprotocols=["streamlit"], max_size=None, ping_interval=None
        )
        return self

    async def __aexit__(self, *exc):
        await self.ws.close()

    async def _send(self, widgets=(), fragment: str = "") -> None:
        """A rerun of this tab's page, as its frontend asks for one."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_name = self.page
        state.page_script_hash = self.page_hash  # the page's, as its last finished run said
        state.fragment_id = fragment
        for w in widgets:
            state.widget_states.widgets.append(w)
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        self.texts = []
        await self.ws.send(msg.SerializeToString())

    async def _until_answer(self, text: str, timeout_s: float) -> bool:
        """Read runs until one ends successfully having drawn text; False past timeout."""
        end = time.monotonic() + timeout_s
        seen, run_hash = False, ""
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return False
            try:
                raw = await asyncio.wait_for(self.ws.recv(), left)
            except TimeoutError:
                return False
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "new_session":
                seen, self.buttons, run_hash = False, {}, fwd.new_session.page_script_hash
            elif kind == "navigation":  # st.navigation's page: a rerun names it by this hash
                run_hash = fwd.navigation.page_script_hash
            elif kind == "page_info_changed":
                self.query = fwd.page_info_changed.query_string
            elif kind == "delta":
                d = fwd.delta
                block = d.WhichOneof("type")
                part = getattr(d, block)
                if block == "new_element":
                    el_kind = part.WhichOneof("type")
                    if el_kind == "button":
                        self.buttons[part.button.label] = (part.button.id, d.fragment_id)
                    elif el_kind == "exception":
                        self.exception = part.exception.message[:200]
                strings = _strings(part)
                self.texts += strings
                seen = seen or any(text in s for s in strings)
            elif kind == "script_finished" and fwd.script_finished == DONE:
                self.page_hash = run_hash
                if seen:
                    return True

    async def open(self, path: str, text: str, timeout_s: float) -> float | None:
        """Open a page (path with its query string) as a fresh tab does; seconds to its
        answer's text drawn and the run done, None past timeout_s."""
        page, _, query = path.partition("?")
        self.page, self.query, self.page_hash = page, query, ""
        return await self._timed(text, timeout_s, f"on {path}")

    async def press(self, label: str, text: str, timeout_s: float) -> float | None:
        """Press the button labelled label (drawn by the last run); seconds to text drawn
        by a run that ended successfully, None past timeout_s."""
        widget_id, fragment = self.buttons[label]
        press = WidgetState(id=widget_id, trigger_value=True)
        return await self._timed(text, timeout_s, f"after pressing {label}", [press], fragment)

    async def _timed(self, text: str, timeout_s: float, where: str, *rerun) -> float | None:
        """Seconds from a rerun (_send's arguments) to text drawn by a run that ended
        successfully, None past timeout_s; an exception drawn on the way is raised."""
        t0 = time.perf_counter()
        await self._send(*rerun)
        ok = await self._until_answer(text, timeout_s)
        if self.exception:
            raise RuntimeError(f"exception {where}: {self.exception}")
        return time.perf_counter() - t0 if ok else None
