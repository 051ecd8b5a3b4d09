"""bn.models: the book's BN and torch's BN give the same network; options do what they say."""

import pytest
import torch

from bn.models import PlainCNN, SmallResNet, build_model, is_batch_norm, make_norm
from bn.torch_bn import BookBatchNorm


def test_book_and_torch_norms_build_the_same_network():
    x = torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    out = {}
    for norm in ("torch", "book"):
        torch.manual_seed(3)
        out[norm] = build_model("plain", norm=norm, widths=[4, 8], pool_after=[0])(x)
    # Same weights, same formula; float32 rounding differs by the order of the sums.
    assert torch.allclose(out["book"], out["torch"], rtol=1e-4, atol=1e-5)


def test_norm_choices_and_errors():
    assert isinstance(make_norm("book", 3), BookBatchNorm) and is_batch_norm(make_norm("book", 3))
    assert is_batch_norm(make_norm("torch", 3)) and not is_batch_norm(make_norm("none", 3))
    assert PlainCNN(norm="none").units[0].conv.bias is not None
    assert PlainCNN(norm="torch").units[0].conv.bias is None
    with pytest.raises(ValueError, match="unknown norm"):
        make_norm("instance", 3)
    with pytest.raises(ValueError, match="order"):
        PlainCNN(order="sideways")
    with pytest.raises(ValueError, match="unknown model kind"):
        build_model("vgg")


def test_relu_bn_order_normalizes_after_the_nonlinearity():
    torch.manual_seed(0)
    model = PlainCNN(widths=(4,), pool_after=(), order="relu_bn").train()
    h = model.features(torch.randn(16, 3, 8, 8))
    # A training-mode BN output has zero mean per channel; after a ReLU it could not.
    assert torch.allclose(h.mean(dim=(0, 2, 3)), torch.zeros(4), atol=1e-5)


def test_zero_gamma_makes_every_residual_block_start_as_the_identity_plus_relu():
    torch.manual_seed(0)
    net = SmallResNet(width=4, blocks=2, zero_gamma=True)
    x = torch.randn(4, 4, 8, 8)
    for block in net.blocks:
        assert torch.equal(block.bn2.weight, torch.zeros(4))
        assert torch.allclose(block(x), torch.relu(x))
    with pytest.raises(ValueError):
        SmallResNet(norm="none")
