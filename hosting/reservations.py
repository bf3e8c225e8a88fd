"""Reservations: which runs are in training in this process right now, so that the same runs are
never trained twice at once (runs.get_or_train reserves a caller's missing runs before it
takes turns; ARCHITECTURE.md "Sharing one server")."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from .turns import Place, Turns

__all__ = ["Reservations"]


class Reservations:
    """Run keys in training in this process (runs.get_or_train). A caller reserves its
    missing runs' keys before it takes turns; one who finds a key reserved waits until it is
    free (the other caller has stored that run by then, or failed), so two visitors asking
    for the same runs on a fresh server, or a visitor and the warm-up, train them once.
    A visitor who waits for runs a background job reserved raises that job to a visitor's
    rank (``turns.promote``): it then takes its fair turns instead of waiting behind every
    other training, and so does the visitor who waits for it."""

    def __init__(self, turns: Turns, poll: float = 0.5):
        self.turns, self.poll = turns, poll
        self._cond = threading.Condition()
        self._owners: dict[str, str] = {}  # reserved key -> the visitor who reserved it

    @contextlib.contextmanager
    def reserve(
        self,
        keys: set[str],
        visitor: str,
        on_wait: Callable[[Place], None] | None = None,
        background: bool = False,
    ):
        """Wait until none of these keys is reserved (calling on_wait with a sharing place
        at once, then each poll), reserve them for the block, free them after it."""
        while True:
            with self._cond:
                owners = {self._owners[k] for k in keys if k in self._owners}
                if not owners:
                    self._owners |= dict.fromkeys(keys, visitor)
                    break
            if not background:
                for owner in owners:
                    self.turns.promote(owner)
            if on_wait:  # outside the lock: it may draw, or raise to leave
                on_wait(Place(1, 0, 1, None, True, sharing=True))
            with self._cond:
                if any(k in self._owners for k in keys):
                    self._cond.wait(self.poll)
        try:
            yield
        finally:
            with self._cond:
                for k in keys:
                    self._owners.pop(k, None)
                self._cond.notify_all()

    def busy(self) -> set[str]:
        with self._cond:
            return set(self._owners)
