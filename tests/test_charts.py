"""ui.charts: the loss curves tell runs apart and keep only finite points; the live curve
of a training colours its runs as the final curves do."""

from ui import charts


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


def test_the_live_curve_colours_runs_as_the_final_curves_do():
    live = {"step": [1, 2], "train": [[3.3, 3.2], [3.1, 3.0]]}  # two runs, as Progress.curve
    spec = charts.live_curve(live, ["#1 tanh", "#2 relu"]).to_dict()
    final = charts.loss_curves(_curves(), {"uniform": 3.3}).to_dict()["layer"][0]["encoding"][
        "color"
    ]
    assert spec["encoding"]["color"]["field"] == "run"
    assert spec["encoding"]["color"]["scale"] == final["scale"] == {"scheme": "tableau10"}
    assert sorted(spec["datasets"][spec["data"]["name"]][0]) == ["loss", "run", "step"]


def test_the_dataset_and_fold_charts_take_the_cores_plain_lists():
    lengths = charts.word_lengths([(2, 5), (3, 7)]).to_dict()
    assert lengths["mark"]["type"] == "bar"
    heat = charts.bigram_heatmap([(".", "a", 3), ("a", ".", 2)], [".", "a"]).to_dict()
    assert heat["encoding"]["x"]["sort"] == [".", "a"]
    scatter = charts.fold_scatter({"bn": [0.0, 1.5], "folded": [0.0, 1.5]}).to_dict()
    assert len(scatter["layer"]) == 2  # the y = x diagonal under the points
