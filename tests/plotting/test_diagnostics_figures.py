"""The histogram grid of the chapter on watching a network train: arms in columns, first and last
evaluation in rows."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from bn.experiments.training_diagnostics import WatchRun  # noqa: E402
from bn.plotting.diagnostics import histogram_grid  # noqa: E402
from bn.training import History, TrainConfig  # noqa: E402


def _snapshot(scale):
    edges = list(np.linspace(-1, 1, 5))
    row = {"act_hist": {"edges": edges, "counts": [1, 2 * scale, 3, 4]},
           "grad_hist": {"edges": edges, "counts": [4, 3, 2, scale]}}
    return {"layers": [row, row]}


def _run(first, last):
    history = History([0, 300], [], [], [], [], [_snapshot(first), _snapshot(last)], [], False, None, None, 300, None)
    return WatchRun("bn", 0, {"kind": "plain"}, TrainConfig(steps=300), 0.0, history, ["a", "b"], {})


def test_histogram_grid_puts_arms_in_columns_and_time_in_rows():
    runs = {"bn": _run(1, 2), "no_bn": _run(3, 4)}
    fig = histogram_grid(runs, {"bn": "BN", "no_bn": "no BN"}, "act")
    axes = np.array(fig.axes).reshape(2, 2)
    titles = [[ax.get_title() for ax in row] for row in axes]
    assert titles == [["BN, step 0", "no BN, step 0"], ["BN, step 300", "no BN, step 300"]]
    # The second bin's density is 2 * scale / (total * width): the no-BN end panel has scale 4.
    y = axes[1, 1].get_lines()[0].get_ydata()
    assert y[1] == 8 / (16 * 0.5)
    assert len(axes[0, 0].get_lines()) == 2 and axes[0, 0].get_legend() is not None
    matplotlib.pyplot.close(fig)


def test_eval_mode_figure_draws_each_batch_size_and_the_eval_band():
    import statistics

    import matplotlib.pyplot as plt

    from bn.experiments.base import load_experiment_result
    from bn.experiments.pitfalls import pitfalls_seeds
    from bn.plotting.diagnostics import eval_mode_figure

    per_seed = pitfalls_seeds(load_experiment_result("pitfalls"))
    fig = eval_mode_figure(per_seed)
    ax = fig.axes[0]
    sizes = sorted(int(b) for b in per_seed[0].acc_train_mode)
    line = ax.containers[0].lines[0]  # the error bar's data line (its caps are lines too)
    assert list(line.get_xdata()) == sizes
    # the points are the mean over seeds in per cent (not one seed's value)
    means = [100 * statistics.fmean(s.acc_train_mode[str(b)] for s in per_seed) for b in sizes]
    assert all(abs(a - b) < 1e-9 for a, b in zip(line.get_ydata(), means))
    (band_line,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("model.eval()")]
    assert abs(band_line.get_ydata()[0] - 100 * statistics.fmean(s.acc_eval for s in per_seed)) < 1e-9
    plt.close(fig)


def test_population_figures_draw_each_seed_from_its_records():
    import matplotlib.pyplot as plt

    from bn.experiments.base import load_experiment_result
    from bn.experiments.plain_cnn import plain_runs
    from bn.experiments.population_statistics import after_training
    from bn.plotting.diagnostics import calibration_figure, population_training_figure

    res = load_experiment_result("population_statistics")
    runs, after = plain_runs(res), after_training(res)
    fig = population_training_figure(runs, [0.9**t for t in range(11)])
    acc, gap = fig.axes
    # three accuracies per seed, in per cent of the recorded fractions; two gaps per seed and the 0.9^t line
    assert len(acc.get_lines()) == 3 * len(runs[:2]) and len(gap.get_lines()) == 2 * len(runs[:2]) + 1
    first = acc.get_lines()[0]
    assert list(first.get_xdata()) == runs[0].history.eval_step
    assert list(first.get_ydata()) == [100 * m["acc_ema"] for m in runs[0].history.measures]
    assert list(gap.get_lines()[-1].get_ydata()) == [0.9**t for t in range(11)]
    plt.close(fig)
    fig = calibration_figure(after, res.measures["calibration_batch_size"])
    ax = fig.axes[0]
    ks = sorted(int(k) for k in after[0].calibration_batches)
    recomputed, ema = ax.get_lines()[0], ax.get_lines()[1]
    assert list(recomputed.get_xdata()) == ks
    assert list(recomputed.get_ydata()) == [100 * after[0].calibration_batches[str(k)] for k in ks]
    assert ema.get_ydata()[0] == 100 * after[0].acc_ema
    plt.close(fig)
