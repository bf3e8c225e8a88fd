"""The recorder's capture steps: the histograms end where the run ends."""

from mlp_core.train import train_stack


def test_histograms_include_the_last_step(small_ds, tiny_cfg):
    cfg = tiny_cfg.replace(steps=250)  # 250 // 50 = 5: captures at 0, 5, ..., 245, hist every 50
    (out,) = train_stack([cfg], small_ds)
    diag = out.metrics["diagnostics"]
    assert diag["hist_steps"][:-1] == [0, 50, 100, 150, 200]
    assert diag["hist_steps"][-1] == 249 == diag["steps"][-1]
    assert len(diag["act_hist"]) == len(diag["grad_hist"]) == len(diag["hist_steps"])
    assert len(diag["wgrad_hist"]) == len(diag["hist_steps"])
    for series in diag["update_ratio"].values():
        assert len(series) == len(diag["steps"])
