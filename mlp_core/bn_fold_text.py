"""The BatchNorm-folding answer in plain English, and the verdict it rests on.

Round-off grows with what a logit adds up, so "the same forward pass" is judged against the
BN net's own round-off, measured on the same rows: the round-off floor is the largest
difference between its float32 logits and its float64 logits (the same weights cast to
float64). A tolerance in a precision is MULTIPLE times that floor plus REL_TOL times the
folded net's round-off scale (folding.round_off_scale: a first-order bound that rounds
every sum and activation once, carried through the layers), both scaled by the
precision's epsilon over float32's. The floor is a maximum over the rows measured, small
by chance on a few rows; the scale follows the terms each sum adds up, however few the
rows, and a fold's large terms that cancel (a BN of tiny variance) count at their size.
Over the whole dev split in eval mode, the verdict needs all three checks:
- logits: in the run's precision, the folded net's logits within the tolerance of the BN
  net's;
- float64: both nets rebuilt in float64 (the fold redone there) within the float64
  tolerance: the fold's algebra is exact up to round-off. A fold that forgets eps, uses a
  batch's statistics or drops beta misses it by a factor of 1e6 or more in every trained
  net measured, at any logits scale (float32 alone cannot see a forgotten eps of 1e-5 next
  to running variances near 1: the logits move about as much as round-off moves them);
- loss: the dev losses within twice the logits tolerance (softmax minus one-hot sums to at
  most 2 in absolute value, so no mean cross-entropy moves by more than twice the largest
  change of a logit).
"""

from __future__ import annotations

from .run_text import plural

EPS = {"float32": 2.0**-23, "float64": 2.0**-52}  # torch.finfo(dtype).eps
# times the floor. The folded net rounds as much as the BN net, differently: over ~50
# trained nets its difference was at most 2x the floor in float32. float64 gets more
# headroom: its floor is estimated (the float32 one times the epsilons' ratio), not measured
MULTIPLE = {"float32": 4, "float64": 16}
REL_TOL = EPS["float32"]  # per unit of the round-off scale (one rounding per operation)
FAILED = {
    "logits": "the logits differ by more than round-off allows",
    "float64": "in float64 the fold is not exact: the folded weights compute another function",
    "loss": "the dev loss moved more than the logits allow",
}


def tolerance(m: dict, precision: str) -> float:
    """What round-off allows a logit to move in this precision, from a fold's metrics."""
    floor, scale = m["round_off_floor"], EPS[precision] / EPS["float32"]
    return scale * (MULTIPLE[precision] * floor + REL_TOL * m["round_off_scale"])


def tolerances(m: dict) -> dict[str, float]:
    logits_tol = tolerance(m, m["dtype"])
    return {
        "logits_tolerance": logits_tol,
        "float64_tolerance": tolerance(m, "float64"),
        "loss_tolerance": 2 * logits_tol,
    }


def checks(m: dict) -> dict[str, bool]:
    """Each check of the verdict (a NaN fails them all)."""
    t = tolerances(m)
    loss_diff = abs(m["val_loss_bn"] - m["val_loss_folded"])
    return {
        "logits": m["max_abs_diff_logits"] <= t["logits_tolerance"],
        "float64": m["max_abs_diff_logits_float64"] <= t["float64_tolerance"],
        "loss": loss_diff <= t["loss_tolerance"],
    }


def same_forward_pass(m: dict) -> bool:
    """The verdict, from a fold report's metrics."""
    return all(checks(m).values())


def _round_off(m: dict, t: dict) -> str:
    scaled = "" if m["dtype"] == "float32" else ", scaled by float64's epsilon over float32's"
    return (
        f"round-off alone allows {t['logits_tolerance']:.1e} ({MULTIPLE[m['dtype']]}× the BN "
        f"net's own round-off, {m['round_off_floor']:.1e} between its float32 and float64 "
        f"logits, plus {REL_TOL:.1e} × the folded net's round-off scale, "
        f"{m['round_off_scale']:,.3g}: what one rounding per sum and activation can add up "
        f"to{scaled})"
    )


def answer(m: dict) -> str:
    """The result in words, from a fold report's metrics; opens with "Same forward pass."
    when the verdict holds, else with "Not the same forward pass:" and the checks missed."""
    t, failed = tolerances(m), [FAILED[k] for k, ok in checks(m).items() if not ok]
    head = f"Not the same forward pass: {'; '.join(failed)}. " if failed else "Same forward pass. "
    return head + (
        f"Folding erased {plural(m['layers_folded'], 'BatchNorm layer')}. Over all "
        f"{m['dev_rows']:,} dev rows in eval mode, the logits differ by at most "
        f"{m['max_abs_diff_logits']:.1e} (logits reach ±{m['max_abs_logit']:,.1f}); "
        f"{_round_off(m, t)}. Rebuilt in float64, the folded net differs by "
        f"{m['max_abs_diff_logits_float64']:.1e} (allowed {t['float64_tolerance']:.1e}). The "
        f"predicted character agrees on {100 * m['argmax_agreement']:.2f}% of rows, and the "
        f"dev loss is {m['val_loss_bn']:.6f} with BN vs {m['val_loss_folded']:.6f} folded."
    )
