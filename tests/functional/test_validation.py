"""Every validation error of bn.functional: one clear TypeError/ValueError per case."""

import re

import numpy as np
import pytest

from bn.functional import (batch_norm_backward, batch_norm_backward_staged, batch_norm_forward,
                           batch_norm_inference, fold_batch_norm, update_running_stats)

C = 3
RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, C, 2))
ONES, ZEROS = np.ones(C), np.zeros(C)


def forward(x=X, gamma=ONES, beta=ZEROS, eps=1e-5):
    return batch_norm_forward(x, gamma, beta, eps)


def inference(x=X, gamma=ONES, beta=ZEROS, rm=ZEROS, rv=ONES, eps=1e-5):
    return batch_norm_inference(x, gamma, beta, rm, rv, eps)


def running(rm=ZEROS, rv=ONES, x=X, momentum=0.1, **kw):
    return update_running_stats(rm, rv, x, momentum, **kw)


def fold(w=np.ones((C, 2)), b=None, gamma=ONES, beta=ZEROS, rm=ZEROS, rv=ONES, eps=1e-5):
    return fold_batch_norm(w, b, gamma, beta, rm, rv, eps)


ALL_X_TAKERS = {"forward": lambda x: forward(x=x), "inference": lambda x: inference(x=x),
                "running": lambda x: running(x=x)}


@pytest.mark.parametrize("call", ALL_X_TAKERS.values(), ids=ALL_X_TAKERS.keys())
@pytest.mark.parametrize("x", [np.ones(5), np.float64(1.0)], ids=["rank1", "rank0"])
def test_wrong_rank(call, x):
    with pytest.raises(ValueError, match=r"shape \(N, C\)"):
        call(x)


@pytest.mark.parametrize("call", ALL_X_TAKERS.values(), ids=ALL_X_TAKERS.keys())
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.uint8, object])
def test_non_floating_input(call, dtype):
    with pytest.raises(TypeError, match="floating dtype"):
        call(np.ones((4, C), dtype=dtype))


@pytest.mark.parametrize("call", ALL_X_TAKERS.values(), ids=ALL_X_TAKERS.keys())
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input(call, bad):
    x = X.copy()
    x[1, 2, 0] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        call(x)


PARAM_CASES = {
    "forward-gamma": lambda v: forward(gamma=v),
    "forward-beta": lambda v: forward(beta=v),
    "inference-gamma": lambda v: inference(gamma=v),
    "inference-beta": lambda v: inference(beta=v),
    "inference-running_mean": lambda v: inference(rm=v),
    "inference-running_var": lambda v: inference(rv=v),
    "running-running_mean": lambda v: running(rm=v),
    "running-running_var": lambda v: running(rv=v),
    "fold-gamma": lambda v: fold(gamma=v),
    "fold-beta": lambda v: fold(beta=v),
    "fold-running_mean": lambda v: fold(rm=v),
    "fold-running_var": lambda v: fold(rv=v),
    "fold-bias": lambda v: fold(b=v),
}


@pytest.mark.parametrize("case", PARAM_CASES)
@pytest.mark.parametrize("shape", [(C + 1,), (C - 1,), (1, C), (C, 1), ()])
def test_per_channel_vector_wrong_shape(case, shape):
    name = case.split("-")[1]
    with pytest.raises(ValueError, match=rf"{name} must have shape \({C},\)"):
        PARAM_CASES[case](np.ones(shape))


@pytest.mark.parametrize("case", PARAM_CASES)
def test_per_channel_vector_wrong_dtype(case):
    with pytest.raises(TypeError, match="floating dtype"):
        PARAM_CASES[case](np.ones(C, dtype=np.int64))


@pytest.mark.parametrize("case", PARAM_CASES)
def test_per_channel_vector_non_finite(case):
    v = np.ones(C)
    v[1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        PARAM_CASES[case](v)


EPS_TAKERS = {"forward": lambda e: forward(eps=e), "inference": lambda e: inference(eps=e),
              "fold": lambda e: fold(eps=e)}


@pytest.mark.parametrize("call", EPS_TAKERS.values(), ids=EPS_TAKERS.keys())
@pytest.mark.parametrize("eps", [0.0, -1e-5, np.nan, np.inf])
def test_eps_not_positive(call, eps):
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        call(eps)


@pytest.mark.parametrize("call", EPS_TAKERS.values(), ids=EPS_TAKERS.keys())
@pytest.mark.parametrize("eps", ["1e-5", None, True, 1e-5j])
def test_eps_not_a_number(call, eps):
    with pytest.raises(TypeError, match="eps must be a real number"):
        call(eps)


@pytest.mark.parametrize("shape", [(1, C), (1, C, 1), (1, C, 1, 1)])
@pytest.mark.parametrize("call", [lambda x: forward(x=x), lambda x: running(x=x)],
                         ids=["forward", "running"])
def test_one_value_per_channel_in_training(call, shape):
    # PyTorch's exact wording, so that a reader who met it there recognises it.
    expected = f"Expected more than 1 value per channel when training, got input size {shape}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        call(np.ones(shape))


def test_one_value_per_channel_is_fine_in_eval_mode():
    y = inference(x=np.ones((1, C)))
    assert y.shape == (1, C)


@pytest.mark.parametrize("shape", [(2, C), (1, C, 2)])
def test_two_values_per_channel_are_enough(shape):
    y, _ = forward(x=RNG.standard_normal(shape))
    assert y.shape == shape


@pytest.mark.parametrize("backward", [batch_norm_backward, batch_norm_backward_staged])
def test_backward_rejects_bad_upstream_gradient(backward):
    _, cache = forward()
    with pytest.raises(ValueError, match="dy must have the shape"):
        backward(np.ones((4, C)), cache)
    with pytest.raises(TypeError, match="floating dtype"):
        backward(np.ones(X.shape, dtype=np.int64), cache)
    bad = np.ones(X.shape)
    bad[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        backward(bad, cache)


@pytest.mark.parametrize("call", [lambda: inference(rv=-np.ones(C)), lambda: fold(rv=-np.ones(C))],
                         ids=["inference", "fold"])
def test_negative_running_var(call):
    with pytest.raises(ValueError, match="running_var \\+ eps must be > 0"):
        call()


@pytest.mark.parametrize("momentum", [-0.1, 1.5, np.nan])
def test_momentum_out_of_range(momentum):
    with pytest.raises(ValueError, match="momentum must lie in"):
        running(momentum=momentum)


@pytest.mark.parametrize("momentum", ["0.1", True])
def test_momentum_not_a_number(momentum):
    with pytest.raises(TypeError, match="momentum must be a real number or None"):
        running(momentum=momentum)


@pytest.mark.parametrize("count", [None, 1.0, "3", True])
def test_cumulative_average_needs_integer_count(count):
    with pytest.raises(TypeError, match="needs num_batches_tracked"):
        running(momentum=None, num_batches_tracked=count)


def test_cumulative_average_count_not_negative():
    with pytest.raises(ValueError, match="num_batches_tracked must be >= 0"):
        running(momentum=None, num_batches_tracked=-1)


@pytest.mark.parametrize("w", [np.ones(C), np.float64(1.0)])
def test_fold_weight_rank(w):
    with pytest.raises(ValueError, match="weight must have shape"):
        fold(w=w)


def test_fold_weight_dtype_and_finite():
    with pytest.raises(TypeError, match="floating dtype"):
        fold(w=np.ones((C, 2), dtype=np.int32))
    w = np.ones((C, 2))
    w[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        fold(w=w)


def test_fold_weight_output_channels_must_match():
    with pytest.raises(ValueError, match=rf"gamma must have shape \({C + 1},\)"):
        fold(w=np.ones((C + 1, 2)))


@pytest.mark.parametrize("backward", [batch_norm_backward, batch_norm_backward_staged])
def test_backward_rejects_something_else_than_a_cache(backward):
    y, cache = forward()
    with pytest.raises(TypeError, match="cache must be the BatchNormCache"):
        backward(np.ones(X.shape), (y, cache.x_hat))
