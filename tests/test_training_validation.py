"""The second edition's additions to the loop: a validation split, stopping a run at chance, layer health."""

import numpy as np
import pytest
import torch

from bn.models import SmallCNN
from bn.training import TrainConfig, evaluate_accuracy, train
from bn.training.loop import CHANCE_MARGIN
from bn.training.tensordata import tensor_data_from_arrays


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    labels = np.arange(300) % 10  # every class equally often: a constant guess scores exactly 10 %
    images = np.clip(rng.normal(100, 40, (300, 3, 16, 16)) + 10 * labels[:, None, None, None], 0, 255)
    return tensor_data_from_arrays(images[:250].astype(np.uint8), labels[:250], images[250:].astype(np.uint8),
                                   labels[250:])


def test_hold_out_takes_the_last_training_images(data):
    split = data.hold_out(50)
    assert len(split.train_labels) == 200 and len(split.val_labels) == 50
    assert torch.equal(split.val_images, data.train_images[200:])
    assert torch.equal(split.mean, data.mean)  # the normalization does not change
    assert split.subset(100).val_images is split.val_images
    with pytest.raises(ValueError, match="already has a validation split"):
        split.hold_out(10)
    with pytest.raises(ValueError, match="n_val must be"):
        data.hold_out(250)
    with pytest.raises(ValueError, match="no validation split"):
        evaluate_accuracy(torch.nn.Linear(3, 10), data, split="val")


def _model(bn=True):
    torch.manual_seed(0)
    return SmallCNN((4, 8), norm="torch" if bn else "none", convs_per_block=2)


def test_validation_curve_and_test_accuracy_once(data):
    split = data.hold_out(50)
    cfg = TrainConfig(steps=8, batch_size=32, peak_lr=0.05, eval_every=4, eval_examples=40, diagnostics=True)
    h = train(_model(), split, cfg, seed=0, progress=False)
    assert h.test_acc == [] and len(h.val_acc) == 3 and h.eval_step == [0, 4, 8]
    assert h.final_test_acc is not None and h.final_val_acc is not None
    model = _model()
    assert h.val_acc[0] == evaluate_accuracy(model, split, 40, split="val")
    # layer health: one norm per conv/linear weight (4 convs + classifier), one fraction per ReLU (4)
    assert [len(e["weight_norm"]) for e in h.health] == [5, 5, 5]
    assert [len(e["saturated"]) for e in h.health] == [4, 4, 4]
    assert h.health[0]["grad_norm"] == [None] * 5 and all(g > 0 for g in h.health[1]["grad_norm"])


def test_a_run_at_chance_is_stopped_and_counted_as_stalled(data):
    split = data.hold_out(50)
    model = _model(bn=False)
    with torch.no_grad():  # a classifier that always says "class 0": exactly 10 %, forever (rate 0)
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.arange(10, 0, -1, dtype=torch.float32))
    cfg = TrainConfig(steps=40, batch_size=32, peak_lr=0.0, eval_every=2, eval_examples=50, stall_window=3)
    h = train(model, split, cfg, seed=0, progress=False)
    assert h.stalled and h.stalled_at_step == 6 and h.steps_done == 6
    assert h.val_acc == [0.1] * 4 and 0.1 <= 0.1 + CHANCE_MARGIN
    assert h.final_test_acc is None and not h.diverged


def test_channels_last_trains_the_same_run_up_to_rounding(data):
    cfg = TrainConfig(steps=4, batch_size=32, peak_lr=0.05, eval_every=2, eval_examples=40)
    a = train(_model(), data, cfg, seed=0, progress=False)
    b = train(_model(), data, TrainConfig(**{**cfg.to_dict(), "channels_last": True}), seed=0, progress=False)
    # NHWC convolutions sum in another order: float32 roundings (~1e-7 relative per operation), grown by
    # four SGD steps through 5 layers, stay far below 1e-4; a wrong layout would change the loss at once
    np.testing.assert_allclose(a.first_losses, b.first_losses, rtol=1e-4)
