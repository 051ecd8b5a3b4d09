"""The causal character model (bn.models.sequence) and its training loop (bn.training.sequence)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bn.data.text import pad_windows, text_data
from bn.models import build_model
from bn.models.sequence import NORMS, CharCausalConv
from bn.training.sequence import (SequenceTrainConfig, batches_loss, eval_batches, frozen_statistics, learning_rate,
                                  train_sequence_model)

V, T = 12, 20


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: reruns are bitwise equal only at a fixed count, and the tests share the machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _model(norm, seed=0, **kw):
    torch.manual_seed(seed)
    return CharCausalConv(V, norm, width=16, depth=3, kernel=3, **kw)


def _ids(seed=0, batch=4):
    return torch.randint(1, V, (batch, T), generator=torch.Generator().manual_seed(seed))


def test_unknown_norm_names_the_choices():
    with pytest.raises(ValueError, match="unknown norm 'layer' .*bn, bn_masked, ln, rms"):
        CharCausalConv(V, "layer")
    with pytest.raises(ValueError, match="unknown model kind"):
        build_model("char_rnn")


@pytest.mark.parametrize("norm", NORMS)
def test_outputs_depend_on_later_positions_and_other_examples_only_through_bn(norm):
    model = _model(norm).train()
    ids = _ids()
    changed = ids.clone()
    changed[0, 12:] = (changed[0, 12:] % (V - 1)) + 1   # later positions of example 0
    changed[1:] = _ids(1)[1:]                           # every other example
    with torch.no_grad():
        a, b = model(ids)[0, :12], model(changed)[0, :12]
    if norm in ("ln", "rms"):
        assert torch.equal(a, b)  # per position and causal: bit for bit the same
    else:
        assert (a - b).abs().max() > 1e-4  # the batch statistics carry the change back
    with torch.no_grad():
        model.eval()
        assert torch.equal(model(ids)[0, :12], model(changed)[0, :12])  # running statistics: causal again


def test_the_receptive_field_is_what_the_dilations_give():
    model = _model("ln").eval()
    assert model.receptive_field == 1 + 2 * (1 + 2 + 4)
    ids = _ids()
    changed = ids.clone()
    changed[:, 19 - model.receptive_field] = (changed[:, 19 - model.receptive_field] % (V - 1)) + 1
    with torch.no_grad():
        assert torch.equal(model(ids)[:, 19], model(changed)[:, 19])
        changed[:, 20 - model.receptive_field] = (changed[:, 20 - model.receptive_field] % (V - 1)) + 1
        assert not torch.equal(model(ids)[:, 19], model(changed)[:, 19])


def test_one_seed_gives_every_arm_the_same_weights_outside_the_norms():
    models = {n: _model(n, seed=3) for n in NORMS}
    ref = {k: v for k, v in models["ln"].state_dict().items() if "norm" not in k}
    for n, m in models.items():
        mine = {k: v for k, v in m.state_dict().items() if "norm" not in k}
        assert mine.keys() == ref.keys() and all(torch.equal(mine[k], ref[k]) for k in ref)


def test_schedule_warms_up_then_decays_to_zero():
    cfg = SequenceTrainConfig(steps=100, lr=1.0, warmup_steps=10)
    assert learning_rate(cfg, 0) == pytest.approx(0.1) and learning_rate(cfg, 9) == pytest.approx(1.0)
    assert learning_rate(cfg, 10) == pytest.approx(1.0) and learning_rate(cfg, 55) == pytest.approx(0.5)
    assert learning_rate(cfg, 100) == pytest.approx(0.0, abs=1e-12)


def test_config_is_strict():
    with pytest.raises(ValueError):
        SequenceTrainConfig.from_dict({"steps": 10, "lr_peak": 1.0})
    with pytest.raises(ValueError, match="must be positive"):
        SequenceTrainConfig.from_dict({"steps": 0})


@pytest.fixture(scope="module")
def data():
    return text_data()


def test_batch_mode_loss_leaves_running_statistics_alone(data):
    cfg = SequenceTrainConfig(steps=1, eval_batches=2)
    torch.manual_seed(0)
    model = CharCausalConv(data.vocab.size, "bn", width=16, depth=2)
    before = {k: v.clone() for k, v in model.named_buffers()}
    batches = eval_batches(data, "val", cfg)
    lb, le = batches_loss(model, batches, "batch"), batches_loss(model, batches, "eval")
    assert lb != le
    assert all(torch.equal(v, before[k]) for k, v in model.named_buffers())
    with frozen_statistics(model):
        model.train()(torch.from_numpy(batches[0].inputs))
        assert not torch.equal(model.blocks[0].norm.layer.running_mean, before["blocks.0.norm.layer.running_mean"])
    assert all(torch.equal(v, before[k]) for k, v in model.named_buffers())
    with pytest.raises(ValueError, match="unknown mode"):
        batches_loss(model, batches, "train")


def test_training_lowers_the_loss_and_reruns_bit_for_bit(data):
    cfg = SequenceTrainConfig(steps=30, eval_every=15, eval_batches=1, batch_size=4, max_len=24, warmup_steps=5)
    hists = []
    for _ in range(2):
        torch.manual_seed(0)
        model = CharCausalConv(data.vocab.size, "rms", width=16, depth=2)
        hists.append(train_sequence_model(model, data, cfg, seed=0))
    h = hists[0]
    assert h.eval_step == [0, 15, 30] and not h.diverged
    assert h.val_loss_eval[-1] < h.val_loss_eval[0] - 0.3  # from ~log(104) = 4.6 down, in 30 steps
    assert h.val_loss_eval == h.val_loss_batch  # RMSNorm has no modes
    assert hists[1].first_losses == h.first_losses and hists[1].val_loss_eval == h.val_loss_eval
