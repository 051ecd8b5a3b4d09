"""The speed chapter's bandwidth figure, on a hand-made result (arithmetic only)."""

import matplotlib

matplotlib.use("Agg")

from bn.plotting.speed import bandwidth_figure  # noqa: E402


def _rec(impl, threads, t, elements=1 << 20):
    return {"impl": impl, "threads": threads, "elements": elements, "median_s": t,
            "q25_s": 0.9 * t, "q75_s": 1.2 * t, "gb_s": 5 * 4 * elements / t / 1e9}


def test_one_line_per_implementation_present_and_the_copy():
    res = {"traffic_convention": {"fwd_bwd_arrays": 5}, "torch_threads": 2,
           "config": {"elements": [1 << 20]},
           "copy": [{"elements": 1 << 20, "gb_s": 10.0}],
           "fwd_bwd": [_rec("numpy", 1, 0.02), _rec("torch_native", 1, 0.01),
                       _rec("torch_native", 2, 0.008)]}
    fig = bandwidth_figure(res)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["copy (read + write)", "readable NumPy, 1 thread",
                      "torch native, 1 thread", "torch native, default threads"]
    fig.canvas.draw()
