"""ui/waiting.py: a form's estimate counts the trainings open on this server, the visitor's
own apart (a training they stopped can still be ending while the page is drawn again)."""

from hosting import cost
from mlp_core.config import RunConfig
from ui import waiting


class Open:
    """This visitor's stopped training still ending, and another visitor's training."""

    def holder(self):
        return "me"

    def queue(self):
        return ["someone"]


def test_an_estimate_leaves_out_the_visitors_own_training_still_ending(monkeypatch):
    monkeypatch.setattr(waiting.SCHEDULER, "turns", Open())
    assert waiting.others_open("me") == 1 and waiting.others_open("a third") == 2
    cfgs = [RunConfig().replace(steps=200_000)]
    beside_one = waiting._seconds(cost.wall_seconds(cfgs, 1))
    me = type("Ctx", (), {"session_id": "me"})
    monkeypatch.setattr(waiting, "get_script_run_ctx", lambda: me)
    assert waiting.estimate_text(cfgs) == f"about {beside_one} on this server now"


def test_an_estimate_below_half_a_second_says_so():
    tiny = [RunConfig().replace(steps=1, n_layers=1, n_hidden=1)]
    assert waiting.estimate_text(tiny) == "under a second on this server now"


def test_a_wait_for_the_warm_up_says_so_and_how_far_it_is():
    assert waiting.warm_up_text() == (
        "The server is training these runs already (its warm-up): it is starting; "
        "their result shows here when they are done."
    )
    assert waiting.warm_up_text(1500, 3000).startswith(
        "The server is training these runs already (its warm-up): step 1,500 of 3,000; "
    )


class Slot:
    """A placeholder that keeps every bar drawn in it."""

    def __init__(self):
        self.drawn = []

    def progress(self, value, text):
        self.drawn.append((value, text))


def test_a_wait_for_a_turn_keeps_what_is_done_on_the_bar():
    bar = waiting.Bar(Slot())
    bar.progress(0.0, "Starting")
    line = waiting.Place(position=1, waiting=1, active=2, wait_s=None, admitted=True)
    bar.wait(line)  # before the first slice: nothing done yet
    bar.progress(0.375, "3 hidden layers (3 of 8): step 1,000 of 1,000")
    bar.wait(line)  # between slices, behind another visitor
    assert bar.slot.drawn[1] == (0.0, waiting.waiting_text(line))
    assert bar.slot.drawn[-1] == (0.375, waiting.waiting_text(line))
    assert "Taking turns with 1 other training on this server" in bar.slot.drawn[-1][1]
    bar.progress(1.2, "a fraction past the end is drawn full")
    assert bar.slot.drawn[-1][0] == 1.0
