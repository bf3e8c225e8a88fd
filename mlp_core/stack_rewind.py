"""Divergence in a chunk of a stack's steps (stack.StackTrainer.chunk): which runs went
bad first, and the rewind: the state at the chunk's start is kept, and a chunk in which
runs diverged runs again from it, each diverged run frozen at its bad step, so every
number is the same wherever chunks and slices end."""

from __future__ import annotations

import torch

from .diagnostics import Recorder
from .run_rules import divergence


class Rewind:
    """StackTrainer's divergence: the first bad steps, the save/restore of a chunk's start
    and the frozen states of diverged runs (needs the StackTrainer's model, step, recorder,
    losses, alive, diverged_at, diverged_above, grad_max, grad_first, saved and frozen)."""

    def mutable(self) -> list[torch.Tensor]:
        """What a step changes but the losses (written over): the parameters, the BN
        running statistics, the gradient norms kept."""
        buffers = [b for _, b in self.model.named_buffers()]
        return [self.step.flat, *buffers, self.grad_max, self.grad_first]

    def save(self) -> None:
        """Keep the state at a chunk's start (the recorder: how many captures it holds)."""
        for kept, t in zip(self.saved, self.mutable()):
            kept.copy_(t)
        self.saved_captures = len(self.recorder.steps), len(self.recorder.hist_steps)

    def restore(self) -> None:
        """Back to the state save() kept."""
        for kept, t in zip(self.saved, self.mutable()):
            t.copy_(kept)
        forget_captures(self.recorder, *self.saved_captures)

    def freeze(self, runs: list[int], after: bool) -> None:
        """Keep each run's state as it measured the loss of its divergent step: its
        parameters before the step (after=False), its BN running statistics after the
        step's forward (after=True)."""
        for k in runs:
            if after:
                self.frozen[k] |= {n: b[k].cpu().clone() for n, b in self.model.named_buffers()}
            else:
                self.frozen[k] = self.model.state_dict(k)

    def thaw(self) -> None:
        """Put each diverged run's frozen state back into its place in the stack."""
        for k, state in self.frozen.items():
            for name, t in self.model.named_parameters() + self.model.named_buffers():
                t[k].copy_(state[name])

    def first_bad(self, a: int, n: int, known: dict[int, int]) -> dict[int, int]:
        """{run: step} of the alive runs not in known whose loss went bad in steps
        a .. a+n-1, only those at the earliest such step."""
        loss = self.losses[a : a + n].cpu()
        bad = ~(torch.isfinite(loss) & (loss < self.diverged_above)) & self.alive
        first = {
            k: a + int(bad[:, k].nonzero()[0])
            for k in bad.any(0).nonzero().flatten().tolist()
            if k not in known
        }
        low = min(first.values(), default=None)
        return {k: d for k, d in first.items() if d == low}

    def divergence(self, k: int) -> dict:
        """Run k's divergence fields (divergence())."""
        d = self.diverged_at[k]
        return divergence(d, None if d is None else float(self.losses[d, k]), self.diverged_above)


def forget_captures(recorder: Recorder, n: int, n_hist: int) -> None:
    """Drop the recorder's captures after its first n, and its histograms after n_hist
    (a chunk that runs again captures its steps again)."""
    del recorder.steps[n:], recorder.hist_steps[n_hist:]
    for st in recorder.stats:
        for key in ("act_hist", "grad_hist", "wgrad_hist"):
            del st[key][n_hist:]
        for rows in (st["update_ratio"], st["neuron_spread"], *st["activations"].values()):
            for values in rows.values():
                del values[n:]
