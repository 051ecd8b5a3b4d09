"""Every statement for a symbolic batch size speaks of the same m."""

from bn.symbolic import backward_general, scale_invariance
from bn.symbolic.batch import BATCH_SIZE


def test_one_symbolic_batch_size():
    assert BATCH_SIZE.is_integer and BATCH_SIZE.is_positive
    assert backward_general.general_batch().m == BATCH_SIZE
    assert scale_invariance.general_feature()[0] == BATCH_SIZE
    assert scale_invariance.general_input_gradient(0)["m"] == BATCH_SIZE
