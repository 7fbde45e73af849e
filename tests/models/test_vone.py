"""VOne front end: V1 parameter distributions, Gabor filters, simple/complex cells."""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import pytest
import torch
from scipy import stats
from torch.nn import functional as F

import advgeom.models.vone as vone
from advgeom.models import NeuronalNoise, VOneBlock, gabor_kernel, sample_v1_parameters
from advgeom.models.vone import ORIENTATION_COUNTS, SF_COUNTS, SF_EDGES, filter_bank_conv, sf_histogram


def test_v1_parameters_follow_the_histograms() -> None:
    n = 20_000
    p = sample_v1_parameters(n, seed=0, sf_max=11.2)
    ori_bins = np.histogram((p["theta"] + 22.5) % 180, bins=[0, 45, 90, 135, 180])[0]
    assert stats.chisquare(ori_bins, ORIENTATION_COUNTS / ORIENTATION_COUNTS.sum() * n).pvalue > 1e-3
    sf_bins = np.histogram(p["sf"], bins=SF_EDGES)[0]
    assert stats.chisquare(sf_bins, SF_COUNTS / SF_COUNTS.sum() * n).pvalue > 1e-3
    rho = stats.spearmanr(p["nx"], p["sf"]).statistic
    assert 0.6 < rho < 0.85  # Gaussian-copula correlation 0.75 (Spearman ~ 0.73)
    assert (p["phase"] >= 0).all() and (p["phase"] < 360).all()
    assert (p["nx"] >= 0.1).all() and (p["ny"] <= 10**0.2 + 1e-9).all()


def test_v1_parameters_are_seeded_and_sf_limited() -> None:
    a, b = sample_v1_parameters(50, seed=1), sample_v1_parameters(50, seed=1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["sf"], sample_v1_parameters(50, seed=2)["sf"])
    assert a["sf"].max() <= 4.0 + 1e-9  # sf_max = 5 c/deg keeps bins up to 4 c/deg
    with pytest.raises(ValueError, match="sf range"):
        sample_v1_parameters(5, sf_max=0.6)


def test_sf_histogram_keeps_the_bins_inside_the_range() -> None:
    edges, counts = sf_histogram(sf_max=5.0)
    assert edges.tolist() == [0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0] and counts.tolist() == SF_COUNTS[:6].tolist()
    edges, counts = sf_histogram(sf_min=1.0, sf_max=11.2)
    assert edges[0] == 1.0 and edges[-1] == 11.2 and len(counts) == len(edges) - 1 == 7
    # the sampler draws from exactly these bins
    draws = sample_v1_parameters(4000, seed=3, sf_max=5.0)["sf"]
    assert np.histogram(draws, bins=sf_histogram(sf_max=5.0)[0])[0].sum() == 4000


def test_gabor_kernel_orientation_and_frequency() -> None:
    k = gabor_kernel(sf=0.25, theta=0.0, sigma_x=3.0, sigma_y=3.0, phase=0.0, ksize=15)
    assert k.shape == (15, 15) and torch.allclose(k, k.flip(0)) and torch.allclose(k, k.flip(1))
    spectrum = torch.fft.fft2(gabor_kernel(0.25, 0.0, 4.0, 4.0, 0.0, 33)).abs()
    peak = np.unravel_index(spectrum.argmax().item(), spectrum.shape)
    assert peak[0] == 0 and min(peak[1], 33 - peak[1]) in (8, 9)  # 0.25 cycles/px along x, none along y
    rotated = gabor_kernel(0.25, math.pi / 2, 3.0, 3.0, 0.0, 15)
    assert torch.allclose(rotated, k.T, atol=1e-6)


def test_vone_block_cells() -> None:
    block = VOneBlock(1, 4, 4, ksize=15, stride=2, image_size=28).eval()
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    r = block.gabor_responses(x)
    assert r.shape == (3, 8, 14, 14) and (r >= 0).all()
    w = torch.cat([block.q0, block.q1[4:]])
    lin = torch.nn.functional.conv2d(x, w, stride=2, padding=7)
    assert torch.allclose(r[:, :4], 25 * lin[:, :4].clamp_min(0), atol=1e-4)  # simple: rectified phase 0
    energy = 25 * torch.sqrt(lin[:, 4:8] ** 2 + lin[:, 8:] ** 2) / math.sqrt(2)
    assert torch.allclose(r[:, 4:], energy, atol=1e-3)  # complex: quadrature energy
    assert not block.q0.requires_grad and len(list(block.parameters())) == 0  # fixed filter bank
    assert torch.equal(block(x), block(x))  # no noise stage given: deterministic
    noisy = VOneBlock(1, 4, 4, noise=NeuronalNoise(1.0)).eval()
    assert not torch.equal(noisy(x), noisy(x))  # noise on in eval


@pytest.mark.parametrize("channels, ksize, stride", [(1, 5, 2), (2, 3, 1), (3, 4, 3)])
def test_filter_bank_gradient_is_the_convolutions(channels: int, ksize: int, stride: int) -> None:
    """The fold backward pass against finite differences (float64) and against conv2d's own gradient."""
    gen = torch.Generator().manual_seed(channels)
    w = torch.randn(4, channels, ksize, ksize, generator=gen, dtype=torch.float64)
    x = torch.rand(2, channels, 9, 9, generator=gen, dtype=torch.float64, requires_grad=True)
    pad = ksize // 2
    assert torch.autograd.gradcheck(lambda a: filter_bank_conv(a, w, stride, pad), (x,))
    out = filter_bank_conv(x, w, stride, pad)
    assert out.grad_fn is not None and "FilterBankConv" in type(out.grad_fn).__name__
    assert torch.equal(out, F.conv2d(x, w, stride=stride, padding=pad))  # the forward pass is conv2d itself
    g = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    mine = torch.autograd.grad(out, x, g)[0]
    theirs = torch.autograd.grad(F.conv2d(x, w, stride=stride, padding=pad), x, g)[0]
    torch.testing.assert_close(mine, theirs, rtol=1e-12, atol=1e-12)


def test_filter_bank_falls_back_to_conv2d_and_refuses_weight_gradients() -> None:
    x, w = torch.rand(2, 1, 8, 8), torch.randn(3, 1, 3, 3)
    plain = filter_bank_conv(x, w, 1, 1)  # no input gradient needed: conv2d, no custom node
    assert plain.grad_fn is None and torch.equal(plain, F.conv2d(x, w, padding=1))
    trainable = w.clone().requires_grad_(True)  # a trainable bank takes conv2d's own path
    out = filter_bank_conv(x.requires_grad_(True), trainable, 1, 1)
    assert "FilterBankConv" not in type(out.grad_fn).__name__
    out.sum().backward()
    assert trainable.grad is not None


def test_vone_block_attack_gradient_matches_conv2d() -> None:
    """A whole VOne block (noise off): the input gradient an attack uses equals conv2d's to float rounding."""
    torch.manual_seed(0)
    block = VOneBlock(in_channels=1, simple_channels=8, complex_channels=8, ksize=15, stride=2, image_size=28)
    x = torch.rand(6, 1, 28, 28)

    def grad() -> torch.Tensor:
        xi = x.clone().requires_grad_(True)
        return torch.autograd.grad(block(xi).square().sum(), xi)[0]

    fast = grad()
    with mock.patch.object(vone, "filter_bank_conv", lambda a, w, s, p: F.conv2d(a, w, stride=s, padding=p)):
        reference = grad()
    torch.testing.assert_close(fast, reference, rtol=1e-5, atol=1e-5 * reference.abs().max().item())
