"""VOne front end: a fixed Gabor filter bank sampled from primate V1, simple and complex cells, and noise.

Dapello, Marques, Schrimpf, Geiger, Cox & DiCarlo, "Simulating a primary visual cortex at the
front of CNNs improves robustness to image perturbations", NeurIPS 2020 (VOneNet).
Parameter distributions: orientation histogram from De Valois, Yund & Hepler (1982);
spatial frequency histogram from De Valois, Albrecht & Thorell (1982); receptive-field
shape (n_x, n_y = size x spatial frequency) from Ringach (2002); size and spatial frequency
correlated (rho = 0.75) through a Gaussian copula, as in VOneNet. Simple cells are the
rectified response of one Gabor phase; complex cells the quadrature-pair energy / sqrt(2).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from scipy import stats
from torch import nn
from torch.nn import functional as F

from advgeom.checks import check_float, check_int
from advgeom.models.noise import StochasticNoise

# De Valois, Yund & Hepler 1982: preferred orientation counts in 45-degree bins centred on 0, 45, 90, 135 deg.
ORIENTATION_EDGES = np.array([-22.5, 22.5, 67.5, 112.5, 157.5])
ORIENTATION_COUNTS = np.array([66.0, 49.0, 77.0, 54.0])
# De Valois, Albrecht & Thorell 1982: peak spatial frequency counts (cycles/deg), log-spaced bins.
SF_EDGES = np.array([0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0, 11.2])
SF_COUNTS = np.array([4.0, 4.0, 8.0, 25.0, 32.0, 26.0, 28.0, 12.0, 8.0])
# Ringach 2002: joint counts of n_x (rows) and n_y (columns), bins log-spaced from 10^-1 to 10^0.2.
NXY_EDGES = np.logspace(-1, 0.2, 6)
NXY_COUNTS = np.array(
    [
        [2.0, 0.0, 1.0, 0.0, 0.0],
        [8.0, 9.0, 4.0, 1.0, 0.0],
        [1.0, 2.0, 19.0, 17.0, 3.0],
        [0.0, 0.0, 1.0, 7.0, 4.0],
        [0.0, 0.0, 0.0, 0.0, 0.0],
    ]
)


def _inverse_hist_cdf(u: np.ndarray, edges: np.ndarray, counts: np.ndarray, log: bool) -> np.ndarray:
    """Inverse CDF of a piecewise-uniform histogram (uniform in log space when ``log``)."""
    cdf = np.concatenate([[0.0], np.cumsum(counts) / counts.sum()])
    grid = np.log(edges) if log else edges
    values = np.interp(u, cdf, grid)
    return np.exp(values) if log else values


def sf_histogram(sf_min: float = 0.0, sf_max: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """The spatial-frequency histogram of De Valois, Albrecht & Thorell (1982) cut to its bins within
    [sf_min, sf_max] c/deg: ``(edges, counts)``, ``len(edges) == len(counts) + 1``."""
    keep = (SF_EDGES >= sf_min) & (SF_EDGES <= sf_max)
    first, last = int(np.argmax(keep)), len(keep) - 1 - int(np.argmax(keep[::-1]))
    if not keep.any() or last == first:
        raise ValueError(f"sf range [{sf_min}, {sf_max}] must span at least one bin of {SF_EDGES.tolist()} c/deg")
    return SF_EDGES[first : last + 1], SF_COUNTS[first:last]


def sample_v1_parameters(
    n: int, seed: int = 0, *, sf_max: float = 5.0, sf_min: float = 0.0, sf_corr: float = 0.75
) -> dict[str, np.ndarray]:
    """Sample ``n`` V1 receptive fields: ``sf`` (cycles/deg), ``theta`` and ``phase`` (deg), ``nx``, ``ny``.

    Spatial frequencies are restricted to the histogram bins lying within [sf_min, sf_max];
    ``nx`` and ``sf`` are correlated with coefficient ``sf_corr`` (Gaussian copula); ``ny`` is
    drawn from the Ringach histogram conditional on the ``nx`` bin.
    """
    n = check_int("n", n, minimum=1)
    sf_corr = check_float("sf_corr", sf_corr, minimum=-1.0, maximum=1.0)
    sf_edges, sf_counts = sf_histogram(sf_min, sf_max)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    u_ori, u_phase, u_ny = rng.random(n), rng.random(n), rng.random(n)
    z = rng.multivariate_normal([0.0, 0.0], [[1.0, sf_corr], [sf_corr, 1.0]], size=n)
    u_nx, u_sf = stats.norm.cdf(z[:, 0]), stats.norm.cdf(z[:, 1])
    theta = _inverse_hist_cdf(u_ori, ORIENTATION_EDGES, ORIENTATION_COUNTS, log=False) % 180.0
    nx_counts = NXY_COUNTS.sum(axis=1)
    nx = _inverse_hist_cdf(u_nx, NXY_EDGES, nx_counts, log=True)
    rows = np.clip(np.searchsorted(NXY_EDGES, nx, side="right") - 1, 0, len(nx_counts) - 1)
    ny = np.array([_inverse_hist_cdf(u, NXY_EDGES, NXY_COUNTS[r], log=True) for u, r in zip(u_ny, rows, strict=True)])
    sf = _inverse_hist_cdf(u_sf, sf_edges, sf_counts, log=True)
    return {"sf": sf, "theta": theta, "phase": 360.0 * u_phase, "nx": nx, "ny": ny}


def gabor_kernel(sf: float, theta: float, sigma_x: float, sigma_y: float, phase: float, ksize: int) -> torch.Tensor:
    """A ``ksize`` x ``ksize`` Gabor: Gaussian envelope (sigmas in px, normalised to unit integral) x cosine.

    ``sf`` in cycles/pixel, ``theta`` and ``phase`` in radians.
    """
    half = ksize // 2
    grid = torch.arange(-half, half + 1, dtype=torch.float64)
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")
    xr = xx * math.cos(theta) + yy * math.sin(theta)
    yr = -xx * math.sin(theta) + yy * math.cos(theta)
    envelope = torch.exp(-0.5 * (xr**2 / sigma_x**2 + yr**2 / sigma_y**2)) / (2 * math.pi * sigma_x * sigma_y)
    return (envelope * torch.cos(2 * math.pi * sf * xr + phase)).float()


class _FilterBankConv(torch.autograd.Function):
    """``F.conv2d`` with a fixed filter bank, whose input gradient is one matrix product and a fold.

    The forward pass is ``F.conv2d`` itself. The backward pass is the adjoint of the convolution written
    out: with ``g`` the output gradient (B, O, L) and ``W`` the bank as an (O, C k k) matrix, the
    gradient of the input is ``fold(W^T g)`` (col2im of the transposed product), the same sum as
    oneDNN's backward-data kernel in another order (equal to float rounding), and several times faster
    on a CPU for a bank of few input channels and a large kernel (1 channel, 15 x 15, stride 2: an attack's
    pass through the VOne front end in a third of the time).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(weight)
        ctx.stride, ctx.padding, ctx.size = stride, padding, tuple(x.shape[-2:])
        return F.conv2d(x, weight, stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        (weight,) = ctx.saved_tensors
        if ctx.needs_input_grad[1]:
            raise RuntimeError("the VOne filter bank is fixed: its weights take no gradient")
        out_channels, kernel = weight.shape[0], tuple(weight.shape[-2:])
        cols = weight.reshape(out_channels, -1).t() @ grad.reshape(grad.shape[0], out_channels, -1)
        grad_x = F.fold(cols, ctx.size, kernel, padding=ctx.padding, stride=ctx.stride)
        return grad_x, None, None, None


def filter_bank_conv(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int) -> torch.Tensor:
    """``F.conv2d(x, weight, stride=stride, padding=padding)`` for a fixed ``weight``; on a CPU, when ``x`` needs
    its gradient (an attack), through :class:`_FilterBankConv`'s faster backward pass."""
    if x.device.type == "cpu" and x.requires_grad and torch.is_grad_enabled() and not weight.requires_grad:
        return _FilterBankConv.apply(x, weight, stride, padding)
    return F.conv2d(x, weight, stride=stride, padding=padding)


class VOneBlock(nn.Module):
    """Fixed Gabor filter bank (simple + complex cells, gain ``k_exc``) followed by a noise stage.

    ``image_size`` pixels span ``fov_deg`` degrees of visual field, which converts the sampled
    spatial frequencies (cycles/deg) to cycles/pixel. Each filter reads one input channel,
    drawn at random (seeded). ``noise`` is a :class:`~advgeom.models.noise.StochasticNoise`
    (its ReLU rectifies the output) or ``None`` for a plain ReLU.
    """

    def __init__(
        self,
        in_channels: int = 1,
        simple_channels: int = 32,
        complex_channels: int = 32,
        *,
        ksize: int = 15,
        stride: int = 2,
        image_size: int = 28,
        fov_deg: float = 3.0,
        sf_max: float = 5.0,
        sf_min: float = 0.0,
        sf_corr: float = 0.75,
        k_exc: float = 25.0,
        noise: StochasticNoise | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        self.simple_channels = check_int("simple_channels", simple_channels, minimum=0)
        self.complex_channels = check_int("complex_channels", complex_channels, minimum=0)
        n = check_int("simple_channels + complex_channels", simple_channels + complex_channels, minimum=1)
        self.ksize = check_int("ksize", ksize, minimum=1)
        self.stride = check_int("stride", stride, minimum=1)
        self.k_exc = check_float("k_exc", k_exc, minimum=0.0)
        ppd = check_int("image_size", image_size, minimum=1) / check_float("fov_deg", fov_deg, minimum=1e-6)
        p = sample_v1_parameters(n, seed, sf_max=sf_max, sf_min=sf_min, sf_corr=sf_corr)
        sf_px = p["sf"] / ppd
        self.v1_params = p
        channel = np.random.default_rng(seed + 1).integers(0, self.in_channels, size=n)
        q0 = torch.zeros(n, self.in_channels, self.ksize, self.ksize)
        q1 = torch.zeros_like(q0)
        for i in range(n):
            args = (sf_px[i], math.radians(p["theta"][i]), p["nx"][i] / sf_px[i], p["ny"][i] / sf_px[i])
            q0[i, channel[i]] = gabor_kernel(*args, math.radians(p["phase"][i]), self.ksize)
            q1[i, channel[i]] = gabor_kernel(*args, math.radians(p["phase"][i]) + math.pi / 2, self.ksize)
        self.register_buffer("q0", q0)
        self.register_buffer("q1", q1)
        self.noise = noise if noise is not None else nn.ReLU()

    @property
    def out_channels(self) -> int:
        return self.simple_channels + self.complex_channels

    def gabor_responses(self, x: torch.Tensor) -> torch.Tensor:
        """Simple and complex cell responses times ``k_exc``, before the noise stage."""
        s = self.simple_channels
        weight = torch.cat([self.q0, self.q1[s:]])
        out = filter_bank_conv(x, weight, self.stride, self.ksize // 2)
        n = self.out_channels
        simple = F.relu(out[:, :s])
        # quadrature-pair energy; the tiny constant keeps the gradient finite at exactly zero response
        complex_ = torch.sqrt(out[:, s:n] ** 2 + out[:, n:] ** 2 + 1e-12) / math.sqrt(2)
        return self.k_exc * torch.cat([simple, complex_], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.noise(self.gabor_responses(x))

    def noise_split(self) -> tuple[Callable[[torch.Tensor], torch.Tensor], nn.Module]:
        """``(gabor_responses, noise)``: the noise-free filter bank and the noise stage (see ``split_at_noise``)."""
        return self.gabor_responses, self.noise

    def extra_repr(self) -> str:
        return (
            f"in={self.in_channels}, simple={self.simple_channels}, complex={self.complex_channels}, "
            f"ksize={self.ksize}, stride={self.stride}, k_exc={self.k_exc}"
        )
