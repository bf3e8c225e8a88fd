"""Compare's texts at the edges: a run not added says where it diverged (its own step),
a histogram reads "every value exactly 0" only when every value is, and the form's line
says when its runs are stored already (nothing trains) and estimates only the others."""

import torch
from compare_helpers import open_page, train_two
from hypothesis import given
from hypothesis import strategies as st

from mlp_core.diagnostics import histogram
from mlp_core.train import RunOutcome
from ui.compare_form import not_added
from ui.layer_charts import all_zero


def test_a_run_not_added_says_where_it_diverged_or_stopped(tiny_cfg):
    diverged = RunOutcome(tiny_cfg, "diverged", {"steps": 300, "diverged_at": 37}, {})
    stopped = RunOutcome(tiny_cfg, "stopped", {"steps": 12, "diverged_at": None}, {})
    assert not_added(diverged).endswith(": diverged at step 37, not added")
    assert not_added(stopped).endswith(": stopped at step 12, not added")


values = st.one_of(
    st.just(0.0), st.floats(-1e-12, 1e-12), st.floats(width=32), st.just(float("nan"))
)


@given(st.lists(st.lists(values, min_size=1, max_size=20), min_size=1, max_size=4))
def test_every_value_exactly_zero_only_when_it_is(layers):
    tensors = [torch.tensor(v, dtype=torch.float32) for v in layers]
    hists = {f"layer {i}": histogram(t) for i, t in enumerate(tensors)}
    assert all_zero(hists) == all(bool((t == 0).all()) for t in tensors)


def test_the_forms_line_says_stored_runs_show_at_once(small_ds):
    at = train_two(open_page(small_ds))
    assert not at.exception
    assert any(c.value == "Trained already: shows at once." for c in at.caption)
    at.multiselect(key="cmp_activations").set_value(["tanh", "relu", "sigmoid"]).run()
    line = next(c.value for c in at.caption if c.value.startswith("Training: "))
    assert line.endswith("2 of these 3 runs are stored already.")
