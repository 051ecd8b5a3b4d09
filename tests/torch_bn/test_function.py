"""The book's autograd.Function and module against PyTorch's own batch norm."""

import pytest
import torch
import torch.nn.functional as F

from bn.torch_bn import BookBatchNorm, book_batch_norm


def _args(device, shape=(6, 3, 2, 2), dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(*shape, dtype=dtype, generator=g) * 2 + 1).to(device).requires_grad_()
    gamma = torch.randn(shape[1], dtype=dtype, generator=g).to(device).requires_grad_()
    beta = torch.randn(shape[1], dtype=dtype, generator=g).to(device).requires_grad_()
    return x, gamma, beta


@pytest.mark.parametrize("shape", [(5, 3), (6, 3, 2, 2), (3, 2, 2, 2, 2)])
def test_gradcheck_and_gradgradcheck_float64(device, shape):
    # gradcheck's own default tolerances (atol 1e-5, rtol 1e-3) compare against
    # float64 central differences with h = 1e-6: truncation ~ h^2, round-off ~ u/h ~ 1e-10.
    args = _args(device, shape)

    def f(x, g, b):
        return book_batch_norm(x, g, b, 1e-3)

    assert torch.autograd.gradcheck(f, args)
    assert torch.autograd.gradgradcheck(f, args)


def test_second_derivative_matches_native_double_backward(device):
    # gradgradcheck compares against finite differences; here the Hessian-vector
    # product through our backward must also equal the one through PyTorch's
    # native batch_norm double backward (float64: 1e-12 stated bound).
    x, g, b = _args(device)
    dy = torch.randn_like(x)
    v = torch.randn_like(x)

    def hvp(bn_fn):
        xx, gg, bb = (t.detach().clone().requires_grad_() for t in (x, g, b))
        (dx,) = torch.autograd.grad(bn_fn(xx, gg, bb), xx, dy, create_graph=True)
        return torch.autograd.grad((dx * v).sum(), (xx, gg))

    ours = hvp(lambda a, c, d: book_batch_norm(a, c, d, 1e-5))
    ref = hvp(lambda a, c, d: F.batch_norm(a, None, None, c, d, training=True, eps=1e-5))
    for a, r in zip(ours, ref):
        assert r.abs().max() > 1e-3  # a genuinely non-zero second derivative
        assert (a - r).abs().max() <= 1e-12 * r.abs().max()


@pytest.mark.parametrize("dtype,tol", [
    # float64: u = 1.1e-16, sums over m = 24 values per channel; 1e-12 is the book's stated bound.
    (torch.float64, 1e-12),
    # float32: u = 6e-8 times sqrt(m)-ish growth of the sums; 1e-5 is the stated bound.
    (torch.float32, 1e-5),
])
def test_function_matches_native_forward_and_backward(device, dtype, tol):
    x, g, b = _args(device, dtype=dtype)
    dy = torch.randn_like(x)
    ours = book_batch_norm(x, g, b, 1e-5)
    grads = torch.autograd.grad(ours, (x, g, b), dy)
    x2, g2, b2 = (t.detach().clone().requires_grad_() for t in (x, g, b))
    ref = F.batch_norm(x2, None, None, g2, b2, training=True, eps=1e-5)
    ref_grads = torch.autograd.grad(ref, (x2, g2, b2), dy)
    for a, r in zip((ours, *grads), (ref, *ref_grads)):
        assert (a - r).abs().max() <= tol * r.abs().max()


def test_function_rejects_one_value_per_channel(device):
    x = torch.randn(1, 3, device=device)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        book_batch_norm(x, torch.ones(3, device=device), torch.zeros(3, device=device))


@pytest.mark.parametrize("momentum", [0.1, None])
def test_module_tracks_running_stats_like_batchnorm2d(device, momentum):
    torch.manual_seed(0)
    ours = BookBatchNorm(4, momentum=momentum, device=device, dtype=torch.float64)
    ref = torch.nn.BatchNorm2d(4, momentum=momentum, device=device, dtype=torch.float64)
    for _ in range(4):
        batch = torch.randn(8, 4, 3, 3, dtype=torch.float64, device=device) * 3 + 2
        y, y_ref = ours(batch), ref(batch)
        # float64 bound of the book (see bn.gradcheck.tolerances.PARITY_TOLERANCES).
        assert (y - y_ref).abs().max() <= 1e-12 * y_ref.abs().max()
    assert int(ours.num_batches_tracked) == int(ref.num_batches_tracked) == 4
    torch.testing.assert_close(ours.running_mean, ref.running_mean, rtol=1e-12, atol=0)
    torch.testing.assert_close(ours.running_var, ref.running_var, rtol=1e-12, atol=0)
    ours.eval(), ref.eval()
    x = torch.randn(2, 4, 3, 3, dtype=torch.float64, device=device)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-12, atol=1e-14)


def test_module_rejects_wrong_channel_count(device):
    with pytest.raises(ValueError, match=r"expected \(N, 4"):
        BookBatchNorm(4, device=device)(torch.randn(3, 5, device=device))


from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 12), c=st.integers(1, 5), spatial=st.lists(st.integers(1, 4), max_size=2),
       mean=st.sampled_from([0.0, 3.0, -50.0]), std=st.sampled_from([0.1, 1.0, 20.0]),
       eps=st.sampled_from([1e-5, 1e-3]), seed=st.integers(0, 2**16))
def test_function_matches_native_on_a_property_grid(n, c, spatial, mean, std, eps, seed):
    # float64 on the CPU. Errors are measured against the scale of the terms each result is
    # summed from (the sum of absolute values of the rounding-error bound, Higham Lemma 3.1), not
    # against the result itself: with m = 2 values per channel dx vanishes identically (up to eps),
    # so max|dx| is no scale at all. With m <= 192 the bound is ~m*u*scale ~ 2e-14*scale;
    # 1e-12 is the book's stated float64 bound. CUDA is covered by the fixed-shape tests above.
    g = torch.Generator().manual_seed(seed)
    shape = (n, c, *spatial)
    x = (mean + std * torch.randn(*shape, dtype=torch.float64, generator=g)).requires_grad_()
    gamma = torch.randn(c, dtype=torch.float64, generator=g).requires_grad_()
    beta = torch.randn(c, dtype=torch.float64, generator=g).requires_grad_()
    dy = torch.randn(*shape, dtype=torch.float64, generator=g)
    ours = book_batch_norm(x, gamma, beta, eps)
    grads = torch.autograd.grad(ours, (x, gamma, beta), dy)
    ref = F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
    ref_grads = torch.autograd.grad(ref, (x, gamma, beta), dy)
    with torch.no_grad():
        dims = [0, *range(2, x.dim())]
        var = x.var(dim=dims, correction=0, keepdim=True)
        xhat = (x - x.mean(dim=dims, keepdim=True)) / torch.sqrt(var + eps)
        bshape = [1, c] + [1] * len(spatial)
        scales = [ref.abs().max(),
                  (gamma.abs().reshape(bshape) / torch.sqrt(var + eps)).max() * dy.abs().max(),
                  (dy * xhat).abs().sum(dim=dims).max(),
                  dy.abs().sum(dim=dims).max()]
    for a, r, scale in zip((ours, *grads), (ref, *ref_grads), scales):
        assert (a - r).abs().max() <= 1e-12 * scale
