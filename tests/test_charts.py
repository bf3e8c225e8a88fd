"""charts: the loss curves tell runs apart and keep only finite points."""

import charts


def _curves():
    c = {"step": [1, 2, 3], "train": [3.0, 2.5, float("nan")], "val": [3.1, None, 2.6]}
    return {"#1 tanh": c, "#2 relu": c}


def test_runs_get_tableau10_colours_not_the_themes_two_blues():
    spec = charts.loss_curves(_curves(), {"unigram_entropy": 2.8}).to_dict()
    color = spec["layer"][0]["encoding"]["color"]
    assert color["field"] == "run"
    assert color["scale"]["scheme"] == "tableau10"


def test_nan_and_missing_points_are_left_out():
    chart = charts.loss_curves(_curves(), {})
    data = chart.layer[0].data
    assert len(data) == 2 * 4  # per run: 3 train + 3 val, less one NaN and one None
    assert data["loss"].notna().all()
