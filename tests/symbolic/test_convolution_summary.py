"""summarize_convolution: the convolution chapter's numbers, against a recomputation by other code."""

import dataclasses

import numpy as np
import pytest
import torch

from bn.symbolic import convolution as conv
from bn.symbolic.convolution import ConvolutionSummary, summarize_convolution


def check(s: ConvolutionSummary) -> None:
    # m' = N*H*W of the (2, 2, 2, 2) map, and one residual per entry N*C*H*W
    assert s.mprime == 2 * 2 * 2
    assert s.n_resid == 2 * 2 * 2 * 2
    # The batch of one through torch's BatchNorm2d (train mode, eps = 1e-5), not bn.functional:
    # float64 over 64 values of order 1, the two agree to ~1e-15, far inside the 6 decimals glued.
    img = torch.from_numpy(conv.batch_of_one_image())
    out = torch.nn.BatchNorm2d(1).double().train()(img).detach().numpy()
    assert s.one_mean == abs(round(float(out.mean()), 6)) == 0.0
    assert s.one_std == round(float(out.std()), 6)
    # the standard deviation is sqrt(var / (var + eps)), just below 1: the chapter's "(not 1:
    # eps)" reading needs it strictly below 1 at 6 decimals
    var = float(img.numpy().var())
    assert s.one_std == round(np.sqrt(var / (var + 1e-5)), 6) < 1.0
    assert s.one_mprime == 64
    assert (s.ex_n, s.ex_p, s.ex_mprime) == (32, 14, 32 * 14 ** 2)


def test_summary_matches_an_independent_recomputation():
    # Protects "m' = 2*2*2", the count of zero residuals, the batch of one's mean 0.00 and
    # standard deviation 1.000 over 64 values, and the exercise's m' = 6272.
    check(summarize_convolution())


def test_the_image_is_the_chapters_fifth_draw():
    # the chapter draws a (4, 3, 5, 6) map and two parameter vectors before the image; a summary
    # that drew the image first would normalize other values
    first = 5 + 2 * np.random.default_rng(0).standard_normal((1, 1, 8, 8))
    assert not np.allclose(first, conv.batch_of_one_image())
    assert abs(conv.batch_of_one_image().mean() - 5) < 1.0


@pytest.mark.parametrize("wrong", [
    {"mprime": 2},                 # N only, not N*H*W
    {"one_std": 1.0},              # eps forgotten
    {"one_mprime": 1},             # H*W ignored
    {"ex_mprime": 32 * 14},        # p, not p^2
])
def test_a_wrong_summary_fails(wrong):
    with pytest.raises(AssertionError):
        check(dataclasses.replace(summarize_convolution(), **wrong))
