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
