"""The BatchNorm-folding page with BN on the hidden layers only (its output-BN toggle)."""

import pytest
from app_helpers import open_app

pytestmark = pytest.mark.usefixtures("fresh_app")


def test_the_fold_page_folds_the_lectures_hidden_only_layout():
    at = open_app("pages/batchnorm_fold.py", layers="1", n_hidden="16", steps="200")
    assert at.toggle(key="bf_output_bn").value is True  # the default: BN after every Linear
    at.toggle(key="bf_output_bn").set_value(False).run()
    assert at.query_params["output_bn"] == "0"
    at.button(key="run-batchnorm-fold").click().run()
    assert not at.exception, at.exception
    assert any("Same forward pass" in s.value for s in at.success)
    arch = at.table[0].value  # the network before and after
    before, after = (list(arch[c]) for c in arch.columns)
    assert before[-1] == after[-1] == "Linear(16→27, bias)"  # the output Linear, no BN after it


def test_a_link_with_output_bn_off_opens_with_the_toggle_off():
    at = open_app("pages/batchnorm_fold.py", output_bn="0")
    assert not at.exception and at.toggle(key="bf_output_bn").value is False
