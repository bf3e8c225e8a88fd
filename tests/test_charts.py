"""ui.charts: the loss curves tell runs apart and keep only finite points; the live curve
of a training colours its runs as the final curves do."""

import pytest

from ui import charts, data_charts, layer_charts


def _curves():
    c = {"step": [1, 2, 3], "train": [3.0, 2.5, float("nan")], "val": [3.1, None, 2.6]}
    return {"#1 tanh": c, "#2 relu": c}


def test_twenty_runs_get_twenty_colours_in_the_order_given():
    names = [f"#{i} run" for i in range(1, 21)]
    curves = {n: _curves()["#1 tanh"] for n in names}
    color = charts.loss_curves(curves, {}).to_dict()["layer"][0]["encoding"]["color"]
    assert color["field"] == "run"
    assert color["scale"]["domain"] == names == color["sort"]  # the legend: #1, #2, ..., #20
    assert len(set(color["scale"]["range"])) == 20 == charts.MAX_RUNS


def test_layers_sort_by_their_numbers_not_as_text():
    names = ["layers.10.weight", "layers.2.weight", "C", "layers.0.weight", "layers.10.bias"]
    assert layer_charts.in_layer_order(names) == [
        "C",
        "layers.0.weight",
        "layers.2.weight",
        "layers.10.bias",
        "layers.10.weight",
    ]


def _hist(lo=-1.0, hi=1.0):
    return {"lo": lo, "hi": hi, "counts": [1, 2, 3, 4], "nonfinite": 0}


def test_histogram_legends_in_layer_order_with_the_figures_whole_in_the_tooltip():
    hists = {"layers.9 (tanh)": _hist(), "layers.1 (tanh)": _hist(), "layers.11 (tanh)": _hist()}
    extra = {n: "mean +0.01, std 0.65, saturated 12%" for n in hists}
    spec = layer_charts.histograms(hists, "Activations", extra).to_dict()
    assert spec["encoding"]["color"]["sort"] == [
        "layers.1 (tanh)",
        "layers.9 (tanh)",
        "layers.11 (tanh)",
    ]
    rows = spec["datasets"][spec["data"]["name"]]
    assert {r["layer"] for r in rows} == set(hists)  # legend labels: the names alone
    assert {r["stats"] for r in rows} == {"mean +0.01, std 0.65, saturated 12%"}
    assert "stats" in [t if isinstance(t, str) else t["field"] for t in spec["encoding"]["tooltip"]]
    assert spec["encoding"]["x"]["axis"]["format"] == "~g"


def test_a_histogram_of_exact_zeros_says_so():
    zero = {"layers.1 (tanh)": _hist(-1e-12, 1e-12)}
    spec = layer_charts.histograms(zero, "Activations").to_dict()
    assert "every value exactly 0" in spec["title"]
    assert spec["encoding"]["x"]["scale"]["domain"] == [-1, 1]
    assert (
        "exactly" not in layer_charts.histograms({"x": _hist()}, "Activations").to_dict()["title"]
    )


def test_update_ratio_drops_undefined_weights_and_names_them_with_the_reason():
    steps = [0, 10, 20]
    ratios = {
        "layers.0.weight": [None, None, None],  # a zero weight that never moves
        "layers.10.weight": [-3.1, -2.9, -3.0],
        "layers.2.weight": [None, None, None],
        "layers.10.bias": [None, None, None],  # not a weight: never drawn, never named
    }
    chart, note = layer_charts.update_ratio(steps, ratios)
    spec = chart.to_dict()
    rows = spec["datasets"][spec["layer"][0]["data"]["name"]]
    assert {r["name"] for r in rows} == {"layers.10.weight"}
    assert note.startswith("No ratio for layers.0.weight, layers.2.weight (2 of 3 weights)")
    assert "all equal" in note and "never moves" in note
    everything = {"layers.0.weight": [None, None, None]}
    chart, note = layer_charts.update_ratio(steps, everything)
    assert chart.to_dict()["mark"]["type"] == "text" and "layers.0.weight" in note
    assert layer_charts.update_ratio(steps, {"layers.0.weight": [-3.0, None, -2.0]})[1] is None


def test_reference_labels_of_two_data_sets_sit_apart():
    base = {"unigram · a.txt": 2.82, "unigram · built-in": 2.83, "uniform · a.txt": 3.29}
    chart = charts.loss_curves(_curves(), base)
    labels = chart.layer[2].data
    x = dict(zip(labels["baseline"], labels["step"]))
    assert x["unigram · a.txt"] == x["uniform · a.txt"] != x["unigram · built-in"]


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
    assert spec["encoding"]["color"]["scale"] == final["scale"]  # run i: colour i in both
    assert final["scale"]["domain"] == ["#1 tanh", "#2 relu"]
    assert sorted(spec["datasets"][spec["data"]["name"]][0]) == ["loss", "run", "step"]


def test_the_dataset_and_fold_charts_take_the_cores_plain_lists():
    lengths = data_charts.word_lengths([(2, 5), (3, 7)]).to_dict()
    assert lengths["mark"]["type"] == "bar"
    heat = data_charts.bigram_heatmap([(".", "a", 3), ("a", ".", 2)], [".", "a"]).to_dict()
    assert heat["encoding"]["x"]["sort"] == [".", "a"]
    scatter = charts.fold_scatter({"bn": [0.0, 1.5], "folded": [0.0, 1.5]}).to_dict()
    assert len(scatter["layer"]) == 2  # the y = x diagonal under the points


def _lab(colour: str) -> tuple[float, float, float]:
    """CIELAB of an sRGB hex colour (D65)."""
    lin = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [((c + 0.055) / 1.055) ** 2.4 if c > 0.04045 else c / 12.92 for c in lin]
    x = (r * 0.4124 + g * 0.3576 + b * 0.1805) / 0.95047
    y = r * 0.2126 + g * 0.7152 + b * 0.0722
    z = (r * 0.0193 + g * 0.1192 + b * 0.9505) / 1.08883
    f = [c ** (1 / 3) if c > 0.008856 else 7.787 * c + 16 / 116 for c in (x, y, z)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def test_no_two_of_the_twenty_colours_look_alike():
    import itertools
    import math

    labs = [_lab(c) for c in charts.RUN_PALETTE]
    assert min(math.dist(a, b) for a, b in itertools.combinations(labs, 2)) > 20


def test_a_numbered_run_keeps_its_colour_live_and_final():
    live = charts.palette_of(["#14 relu", "#15 tanh"])  # while they train, alone
    final = charts.palette_of(["#2 tanh", "#14 relu", "#15 tanh"])  # picked with another
    assert final[1:] == live == [charts.RUN_PALETTE[13], charts.RUN_PALETTE[14]]


def test_a_long_run_among_short_ones_can_have_a_log_step_axis():
    chart = charts.loss_curves(_curves(), {}, log_steps=True).to_dict()
    assert chart["layer"][0]["encoding"]["x"]["scale"]["type"] == "symlog"
    legend = chart["layer"][0]["encoding"]["color"]["legend"]
    assert legend["orient"] == "bottom" and legend["columns"] == 1


def test_step_ticks_read_as_numbers_with_k_only_from_a_thousand():
    live = charts.live_curve({"step": [0, 50], "train": [[3.0], [2.9]]}, ["#1 tanh"]).to_dict()
    final = charts.loss_curves(_curves(), {}).to_dict()["layer"][0]["encoding"]["x"]
    over = layer_charts.over_time([0, 500, 1000], {"w": [1.0, 2.0, 3.0]}, "t", "y").to_dict()
    for axis in (live["encoding"]["x"]["axis"], final["axis"], over["encoding"]["x"]["axis"]):
        assert axis["labelExpr"] == charts.STEP_LABELS and "format" not in axis
    # the expression's three cases: below 1,000 as written, then k, then M
    assert "abs(datum.value) >= 1000 ? format(datum.value / 1000, '~g') + 'k'" in charts.STEP_LABELS
    assert charts.STEP_LABELS.endswith(": format(datum.value, '~g')")


def test_a_chart_of_runs_keeps_its_plot_tall_at_any_number_of_runs():
    live = charts.live_curve({"step": [0, 50], "train": [[3.0] * 20, [2.9] * 20]}, NAMES)
    final = charts.loss_curves({n: _curves()["#1 tanh"] for n in NAMES}, {})
    for chart in (live, final):
        height = chart.to_dict()["height"]
        assert height - charts.LEGEND_LINE_PX * 20 == charts.RUNS_PLOT_PX
    assert charts.runs_height(2) < charts.runs_height(20)


NAMES = [f"#{i} run" for i in range(1, 21)]


def test_a_step_range_keeps_only_its_points_and_fits_the_axis_to_them():
    curves = {"#1 long": {"step": [0, 10, 100, 1000], "train": [3.3, 2.8, 2.4, 2.1],
                          "val": [3.3, 2.9, 2.5, 2.2]}}  # fmt: skip
    chart = charts.loss_curves(curves, {"uniform": 3.3}, steps=(10, 100)).to_dict()
    lines = chart["layer"][0]
    rows = chart["datasets"][lines["data"]["name"]]
    assert sorted({r["step"] for r in rows}) == [10, 100]
    assert lines["encoding"]["x"]["scale"]["domain"] == [10, 100]
    low, high = lines["encoding"]["y"]["scale"]["domain"]  # 2.4 to 2.9 in range, padded
    assert (low, high) == pytest.approx((2.375, 2.925))
    assert all(layer["mark"]["clip"] for layer in chart["layer"])  # 3.3 is not drawn
    labels = chart["datasets"][chart["layer"][2]["data"]["name"]]
    assert [r["step"] for r in labels] == [100]  # the yardstick's label inside the range
    log = charts.loss_curves(curves, {}, log_steps=True, steps=(10, 100)).to_dict()
    assert log["layer"][0]["encoding"]["x"]["scale"]["type"] == "symlog"
    empty = charts.loss_curves(curves, {}, steps=(200, 300)).to_dict()  # no point: no error
    assert empty["layer"][0]["encoding"]["x"]["scale"]["domain"] == [200, 300]


def _pick(spec: dict, field: str) -> dict:
    """The chart's legend-bound selection of field, asserting there is exactly one."""
    (param,) = [p for p in spec["params"] if p["select"].get("fields") == [field]]
    assert param["bind"] == "legend" and param["select"]["type"] == "point"
    return param


def test_a_click_in_the_legend_picks_a_layer_out_and_fades_the_others():
    hists = {f"layers.{i} (tanh)": _hist() for i in range(4)}
    spec = layer_charts.histograms(hists, "Activations").to_dict()
    pick = _pick(spec, "layer")
    assert spec["encoding"]["opacity"] == {
        "condition": {"param": pick["name"], "value": charts.SHOWN},
        "value": charts.FADED,
    }
    assert charts.FADED < 0.5 < charts.SHOWN < 1  # overlapping lines show through a little


def test_lines_over_time_and_runs_loss_curves_pick_by_their_legend_too():
    over = layer_charts.over_time(
        [0, 10], {"w1": [1.0, 2.0], "w2": [1.0, 2.1]}, "t", "y", rule=-3.0
    )
    spec = over.to_dict()
    pick = _pick(spec, "name")
    lines, rule = spec["layer"]
    assert lines["encoding"]["opacity"]["condition"]["param"] == pick["name"]
    assert "opacity" not in rule.get("encoding", {})  # the dashed reference never fades
    spec = charts.loss_curves(_curves(), {"uniform": 3.3}).to_dict()
    pick = _pick(spec, "run")
    assert spec["layer"][0]["encoding"]["opacity"]["condition"]["param"] == pick["name"]
    assert spec["layer"][0]["encoding"]["opacity"]["value"] == charts.FADED
    assert all("opacity" not in layer["encoding"] for layer in spec["layer"][1:])


def test_the_pick_note_says_how_to_pick_and_how_to_see_every_line_again():
    assert "click a name in a chart's legend" in charts.PICK_NOTE
    assert "shift-click" in charts.PICK_NOTE and "double-click" in charts.PICK_NOTE
