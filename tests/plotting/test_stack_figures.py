"""The training-stack figures draw from the committed result, through the study's readers."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from bn.experiments import training_stack as ts  # noqa: E402
from bn.plotting import stack  # noqa: E402
from bn.experiments.base import load_experiment_result  # noqa: E402


def test_each_figure_draws_every_arm_and_variant():
    res = load_experiment_result("training_stack")
    arms = ts.accumulation_arms(res)
    assert [a[2] for a in arms] == ["bn_k1", "bn_k4", "bn_k16", "no_bn_k1", "no_bn_k16"]
    fig = stack.accumulation_figure(res, arms)
    assert len(fig.axes[0].lines) >= len(arms)
    plt.close(fig)
    fig = stack.averaging_figure(ts.averaging_accuracies(res), ts.AVERAGE_LABELS)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [
        ts.AVERAGE_LABELS[v].replace(", ", ",\n") for v in ts.AVERAGE_VARIANTS]
    plt.close(fig)
    inf = ts.inference_record(res)
    fig = stack.inference_figure(inf)
    assert len(fig.axes[0].patches) == len(inf["timings"])
    plt.close(fig)
    plt.close(stack.drift_figure(res))
