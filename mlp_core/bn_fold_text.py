"""The BatchNorm-folding answer in plain English, and the verdict it rests on.

"The same forward pass" means, over the whole dev split in eval mode, logits within
LOGITS_TOL of each other and dev losses within LOSS_TOL (float32 rounding, not a model
change).
"""

from __future__ import annotations

LOGITS_TOL, LOSS_TOL = 1e-4, 1e-5  # what "the same forward pass" has to meet (float32)


def same_forward_pass(m: dict) -> bool:
    """The verdict, from a fold report's metrics."""
    loss_diff = abs(m["val_loss_bn"] - m["val_loss_folded"])
    return m["max_abs_diff_logits"] < LOGITS_TOL and loss_diff < LOSS_TOL


def answer(m: dict) -> str:
    """The result in words, from a fold report's metrics; opens with "Same forward pass."
    when the verdict holds."""
    text = (
        f"Folding erased {m['layers_folded']} BatchNorm layers. Over all "
        f"{m['dev_rows']:,} dev rows in eval mode, the logits differ by at most "
        f"{m['max_abs_diff_logits']:.1e} (logits reach ±{m['max_abs_logit']:.1f}), the "
        f"predicted character agrees on {100 * m['argmax_agreement']:.2f}% of rows, and the "
        f"dev loss is {m['val_loss_bn']:.6f} with BN vs {m['val_loss_folded']:.6f} folded."
    )
    return ("Same forward pass. " if same_forward_pass(m) else "") + text
