import pytest
from app_helpers import open_app
from streamlit.testing.v1 import AppTest

PROOF = (
    "Max |logit difference|",
    "Argmax agreement",
    "Dev loss with BN",
    "Dev loss folded",
    "Ours vs torch's fuse_linear_bn_eval",
    "If the BN were left in training mode",
)


pytestmark = pytest.mark.usefixtures("fresh_app")


def open_page(**query) -> AppTest:
    return open_app("pages/batchnorm_fold.py", **query)


def settings(at: AppTest) -> list[int]:
    return [at.number_input(key=f"bf_{n}").value for n in ("layers", "n_hidden", "steps")]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_defaults_train_fold_and_show_the_proof():
    at = open_page()
    assert not at.exception
    assert settings(at) == [2, 100, 2000]
    at.button(key="run-batchnorm-fold").click().run()
    assert not at.exception, at.exception
    shown = metrics(at)
    for label in PROOF:
        assert label in shown, label
    assert float(shown["Max |logit difference|"]) < 1e-4
    assert shown["Argmax agreement"] == "100.00%"
    assert any("Same forward pass" in s.value for s in at.success)
    assert len(at.get("vega_lite_chart")) >= 1 and len(at.latex) >= 3


def test_url_settings_and_a_cached_run_render_without_training():
    at = open_page(layers="1", n_hidden="16", steps="200")
    assert settings(at) == [1, 16, 200]
    at.button(key="run-batchnorm-fold").click().run()
    assert not at.exception
    at.run()  # a rerun finds the run stored: no button press, no training
    assert not at.exception
    run = at.button(key="run-batchnorm-fold")  # in its place, the page does not jump
    assert run.disabled and "Trained already" in run.help
    assert "Max |logit difference|" in metrics(at)
    at.button(key="bf_time").click().run()
    assert not at.exception and "Speed-up" in metrics(at)


def test_the_first_visit_trains_at_once_and_the_intro_names_the_widgets_net():
    at = open_page(layers="1", n_hidden="16", steps="200")
    assert not at.exception
    assert "Max |logit difference|" in metrics(at)  # no press: trained on the first visit
    intro = at.markdown[0].value
    assert "2 Linear→BatchNorm layers to fold (1 hidden layer of 16 with tanh after it" in intro
    assert "200 steps" in intro and "3-layer" not in intro
    at.number_input(key="bf_layers").set_value(3).run()
    assert "4 Linear→BatchNorm layers to fold (3 hidden layers of 16" in at.markdown[0].value
    assert not [m for m in at.metric if m.label == "Max |logit difference|"]  # not trained
    assert any("Press **Train and fold**" in i.value for i in at.info)


OUTPUT_BN = "then the output Linear→BatchNorm)"
NO_OUTPUT_BN = "then the output Linear, with its bias and no BatchNorm)"


@pytest.mark.parametrize(
    "layers, output_bn, pairs, output, erased",
    [
        (2, "true", "3 Linear→BatchNorm layers", OUTPUT_BN, "3 BatchNorm layers"),
        (2, "false", "2 Linear→BatchNorm layers", NO_OUTPUT_BN, "2 BatchNorm layers"),
        (1, "false", "1 Linear→BatchNorm layer to", NO_OUTPUT_BN, "1 BatchNorm layer."),
    ],
)
def test_fold_intro_describes_the_net_built(layers, output_bn, pairs, output, erased):
    """The intro counts the Linear→BN pairs of the net the widgets build, as many as the
    answer says were folded, and says whether the output Linear has a BatchNorm."""
    at = open_page(layers=str(layers), n_hidden="16", steps="200", output_bn=output_bn)
    assert not at.exception, at.exception
    intro = at.markdown[0].value
    assert pairs in intro and output in intro, intro
    (answer,) = [s.value for s in at.success]
    assert answer.startswith(f"Same forward pass. Folding erased {erased}"), answer
