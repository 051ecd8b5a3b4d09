"""bn.training.set_trainable: each arm trains exactly the parameters it names, and counts them."""

import pytest
import torch
import torch.nn.functional as F

from bn.models import PlainCNN
from bn.training import FREEZE_ARMS, make_optimizer, set_trainable

WIDTHS = (4, 6, 8)


def small_cnn(norm="torch"):
    torch.manual_seed(0)
    return PlainCNN(widths=WIDTHS, pool_after=(0,), norm=norm)


def one_step(model, lr=0.5):
    """One SGD step (momentum, no weight decay) on a random batch; returns the parameters before it."""
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(8, 3, 8, 8, generator=g), torch.arange(8) % 10
    opt = make_optimizer(model, lr, weight_decay=0.0)
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return before


def kind(name):
    if name.startswith("classifier"):
        return "classifier"
    return "bn" if ".norm." in name else "conv"


BN = 2 * sum(WIDTHS)
HEAD = WIDTHS[-1] * 10 + 10
CONV = sum(c_in * c_out * 9 for c_in, c_out in zip((3,) + WIDTHS[:-1], WIDTHS))
EXPECTED = {"all": ({"bn", "classifier", "conv"}, BN + HEAD + CONV),
            "bn_only": ({"bn"}, BN), "bn_and_linear": ({"bn", "classifier"}, BN + HEAD),
            "linear_only": ({"classifier"}, HEAD), "random_params": ({"conv"}, BN)}


@pytest.mark.parametrize("norm", ["torch", "book"])
@pytest.mark.parametrize("arm", FREEZE_ARMS)
def test_a_step_changes_exactly_the_parameters_the_arm_trains(arm, norm):
    model = small_cnn(norm)
    counts = set_trainable(model, arm, torch.Generator().manual_seed(0))
    kinds, n_trained = EXPECTED[arm]
    assert counts.trainable == n_trained and counts.total == BN + HEAD + CONV
    before = one_step(model)
    changed = 0
    for name, p in model.named_parameters():
        moved = p.detach() != before[name]
        changed += int(moved.sum())
        if kind(name) not in kinds:
            assert not moved.any(), name
        elif name in counts.masks:
            # Only the chosen entries move; every chosen entry gets a nonzero gradient here.
            assert torch.equal(moved, counts.masks[name].bool()), name
        else:
            assert moved.all(), name
    assert changed == n_trained


def test_linear_only_keeps_bn_normalizing_with_gamma_one_and_beta_zero():
    model = small_cnn()
    set_trainable(model, "linear_only")
    one_step(model)
    norm = model.units[0].norm
    assert torch.equal(norm.weight, torch.ones(WIDTHS[0])) and torch.equal(norm.bias, torch.zeros(WIDTHS[0]))
    assert norm.training and norm.num_batches_tracked == 1  # batch statistics still used and tracked


def test_random_params_picks_two_weights_per_output_channel_reproducibly():
    a, b, c = small_cnn(), small_cnn(), small_cnn()
    ma = set_trainable(a, "random_params", torch.Generator().manual_seed(3)).masks
    mb = set_trainable(b, "random_params", torch.Generator().manual_seed(3)).masks
    mc = set_trainable(c, "random_params", torch.Generator().manual_seed(4)).masks
    assert len(ma) == len(WIDTHS)
    for name, mask in ma.items():
        assert torch.equal(mask.flatten(1).sum(1), torch.full((mask.shape[0],), 2.0)), name
        assert torch.equal(mask, mb[name])
    assert any(not torch.equal(ma[n], mc[n]) for n in ma)


def test_unknown_arm_and_unsuitable_models_are_errors():
    with pytest.raises(ValueError, match="unknown arm"):
        set_trainable(small_cnn(), "gamma_only")
    with pytest.raises(ValueError, match="no BN layer"):
        set_trainable(small_cnn("none"), "bn_only")
    with pytest.raises(ValueError, match="classifier"):
        set_trainable(torch.nn.Sequential(torch.nn.Linear(2, 2)), "all")
    with pytest.raises(ValueError, match="per_channel"):
        set_trainable(small_cnn(), "random_params", per_channel=28)
