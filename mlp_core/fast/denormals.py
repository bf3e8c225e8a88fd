"""Denormal floats flushed to zero while training (ARCHITECTURE.md "The fast path"):
round-off gradients below float32's normal range cost the CPU ~100x more per op."""

from __future__ import annotations

from contextlib import contextmanager

import torch


def flushing_denormals() -> bool:
    """Does this thread flush denormal floats to zero?"""
    return bool((torch.tensor([1e-39]) * 2.0).item() == 0.0)


@contextmanager
def denormals_flushed():
    """Flush denormals to zero in this thread for the block, then put the mode back."""
    before = flushing_denormals()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)
