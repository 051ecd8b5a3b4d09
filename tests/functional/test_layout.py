"""Where the channel axis is (bn.functional.layout): the twin of the hand-written ``channel_axes`` of
the chapter on building a BN layer."""

import numpy as np
import pytest

from bn.functional.layout import as_channel_column, channel_shape, reduction_axes


@pytest.mark.parametrize("shape", [(5, 3), (5, 3, 7), (5, 3, 4, 2), (2, 3, 2, 2, 2)])
def test_reduction_axes_leave_one_value_per_channel(shape):
    x = np.arange(np.prod(shape), dtype=float).reshape(shape)
    axes = reduction_axes(x.ndim)
    assert 1 not in axes and len(axes) == x.ndim - 1
    # Reducing over them keeps exactly the channel axis, as a per-channel loop does.
    per_channel = [x[:, c].sum() for c in range(shape[1])]
    np.testing.assert_array_equal(x.sum(axis=axes), per_channel)


def test_channel_column_broadcasts_a_vector_along_axis_one():
    v = np.array([1.0, 2.0, 3.0])
    assert channel_shape(4, 3) == (1, 3, 1, 1)
    y = np.zeros((2, 3, 4, 4)) + as_channel_column(v, 4)
    assert all((y[:, c] == v[c]).all() for c in range(3))
