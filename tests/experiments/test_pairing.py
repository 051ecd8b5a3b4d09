"""What a pair of runs with one seed shares, replayed: a case where everything is shared, one where the
initial weights differ (biases drawn), and one where dropping the crops changes the data stream."""

from bn.experiments import RunSpec
from bn.experiments.pairing import shared_streams

TRAIN = {"steps": 30, "batch_size": 8, "peak_lr": 0.1, "flip": True, "crop_pad": 4, "eval_every": 10}
MODEL = {"kind": "cnn", "widths": [4, 8], "bn": True, "activation": "relu", "dropout": 0.0}


def spec(seed: int = 0, bn: bool = True, crop_pad: int = 4, lr: float = 0.1) -> RunSpec:
    return RunSpec(arm="a", label="a", seed=seed, model={**MODEL, "bn": bn},
                   train={**TRAIN, "crop_pad": crop_pad, "peak_lr": lr})


def test_only_the_rate_differs_so_everything_is_shared():
    s = shared_streams(spec(lr=0.1), spec(lr=0.5), n_train=64)
    assert (s.weights_equal, s.order_until, s.augmentation_until) == (s.weights_compared, None, None)
    assert "same for all 30 steps" in s.text()


def test_bn_or_not_shares_the_data_stream_but_not_the_weights():
    s = shared_streams(spec(bn=True), spec(bn=False), n_train=64)
    # the net without BN draws a bias after each conv weight: every later draw shifts
    assert s.weights_equal < s.weights_compared and s.order_until is None and s.augmentation_until is None


def test_dropping_the_crops_keeps_only_the_first_epochs_order():
    s = shared_streams(spec(crop_pad=4), spec(crop_pad=0), n_train=64)
    # 64 images in batches of 8: the first permutation serves 8 steps, then a new one is drawn
    assert s.augmentation_until == 0 and s.order_until == 8
    assert s.weights_equal == s.weights_compared


def test_runs_of_different_seeds_are_not_a_pair():
    import pytest

    with pytest.raises(ValueError, match="not a pair"):
        shared_streams(spec(seed=0), spec(seed=1), n_train=64)
