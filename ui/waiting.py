"""What a visitor reads before and while their training waits: how long it takes on this
server now (hosting/cost.py's estimate, shared with the trainings open), and their place
in line with an estimate (hosting/places.py), memory waits included."""

from __future__ import annotations

from streamlit.runtime.scriptrunner import get_script_run_ctx

from hosting import cost
from hosting.schedule import SCHEDULER
from hosting.turns import Place
from mlp_core.config import RunConfig
from mlp_core.data import Dataset

from . import settings


def others_open(me: str | None = None) -> int:
    """The trainings open on this server now, this visitor's own apart: a training this
    visitor stopped can still be ending while the page is drawn again (Streamlit starts
    the new run at once), and a new request of theirs replaces an older one anyway."""
    if me is None:
        ctx = get_script_run_ctx()
        me = ctx.session_id if ctx else None
    turns = SCHEDULER.turns
    return sum(1 for v in (turns.holder(), *turns.queue()) if v is not None and v != me)


def estimate_text(cfgs: list[RunConfig], ds: Dataset | None = None) -> str:
    """How long these runs take here on this data set, shared with the trainings open now
    (hosting/cost.py)."""
    wall = cost.wall_seconds(cfgs, others_open(), cost.data_sizes(ds))
    if wall < 0.5:  # "about 0 s" is no time at all
        return "under a second on this server now"
    return f"about {_seconds(wall)} on this server now"


def form_estimate(cfgs: list[RunConfig], ds: Dataset | None = None, stored: int = 0) -> str:
    """A form's line before it trains: the estimate of its runs not stored yet (``cfgs``;
    ``stored``: how many others it has, shown at once), and in demo mode whether they are
    over the budget per submission (a press is then refused, saying so)."""
    if not cfgs:
        return "Trained already: shows at once."
    text = f"Training: {estimate_text(cfgs, ds)}."
    if stored:
        n = len(cfgs) + stored
        text += f" {stored:,} of these {n:,} runs {'is' if stored == 1 else 'are'} stored already."
    need = cost.cpu_seconds(cfgs, cost.data_sizes(ds))
    if settings.demo_mode() and need > settings.DEMO_BUDGET_S:
        text += (
            f" Over this demo's {settings.DEMO_BUDGET_S} s of computing per submission "
            f"(about {need:,.0f} s): fewer runs, steps or layers fit."
        )
    return text


class Bar:
    """A progress bar in a placeholder that keeps the fraction done while the training
    waits for a turn: a wait between slices takes nothing done back."""

    def __init__(self, slot):
        self.slot, self.done = slot, 0.0

    def progress(self, done: float, text: str) -> None:
        self.done = min(1.0, done)
        self.slot.progress(self.done, text=text)

    def wait(self, place: Place) -> None:
        """The visitor's place in line (waiting_text), over the fraction done so far."""
        self.slot.progress(self.done, text=waiting_text(place))


def _seconds(s: float) -> str:
    return f"{s:,.0f} s" if s < 120 else f"{s / 60:,.0f} min"


WARM_UP = "The server is training these runs already (its warm-up)"


def warm_up_text(step: int | None = None, steps: int | None = None) -> str:
    """What a visitor reads while the server's warm-up trains the runs they asked for:
    how far it is (None before its first curve point: it is starting)."""
    done = "their result shows here when they are done."
    if step is None:
        return f"{WARM_UP}: it is starting; {done}"
    return f"{WARM_UP}: step {step:,} of {steps:,}; {done}"


def waiting_text(place: Place) -> str:
    """What a waiting visitor reads: their place in line and, when known, an estimate."""
    if place.sharing:
        return (
            "These runs are training already (for another visitor, or the server's "
            "warm-up): their result shows here when they are done."
        )
    others = place.active - 1
    who = f"{others} other training{'s' if others != 1 else ''} on this server"
    eta = f" in ~{_seconds(place.wait_s)}" if place.wait_s is not None else ""
    if not place.admitted:
        eta = f",{eta}" if eta else ""
        where = f"(place {place.position})"
        return f"Waiting for memory: {who}; yours starts when one ends{eta} {where}."
    eta = f", your next turn{eta}" if eta else ""
    return f"Taking turns with {who}: place {place.position} in line{eta}."
