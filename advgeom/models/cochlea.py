"""A differentiable cochlear front end: waveform -> cochleagram, with optional auditory-nerve noise.

Following McDermott & Simoncelli (2011) and Feather et al. (NeurIPS 2019, 2021; chcochleagram):

1. Half-cosine band-pass filters evenly spaced on the ERB-number scale of Glasberg & Moore
   (1990), ``E(f) = 21.4 log10(1 + 0.00437 f)``, applied in the frequency domain (rfft).
   Adjacent filters overlap by half, so their squared responses sum to one between the first
   and last centre frequency (with the low- and high-pass edge filters, everywhere).
2. Envelopes: magnitude of each channel's analytic signal (Hilbert transform via the FFT).
3. Downsampling of the envelopes to ``envelope_rate`` Hz by windowed-sinc resampling
   (:func:`torchaudio.functional.resample`, Hann window; low-pass just below half the new rate).
4. Power compression ``(relu(e) + offset) ** p - offset ** p`` (p = 0.3): the small offset keeps
   the gradient finite at zero envelope (at most ``p * offset ** (p - 1)``).
5. Optional auditory-nerve noise after compression (:func:`auditory_nerve_noise`), reusing the
   reparameterised Poisson-like noise of :mod:`advgeom.models.noise`, on in ``eval()``.

Every step is a torch operation, so gradients reach the waveform and attacks act on sound.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import torch
import torchaudio
from torch import nn
from torch.nn import functional as F

from advgeom.checks import check_float, check_int
from advgeom.models.noise import NeuronalNoise

_OVERSAMPLE = 2.0  # reduced-rate envelope: at least this many samples per bin of the widest pass band


def freq_to_erb(f: np.ndarray | float) -> np.ndarray:
    """ERB-number (Cams) of frequency ``f`` in Hz: ``21.4 log10(1 + 0.00437 f)`` (Glasberg & Moore 1990)."""
    return 21.4 * np.log10(1.0 + 0.00437 * np.asarray(f, dtype=np.float64))


def erb_to_freq(e: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`freq_to_erb`: frequency in Hz of ERB-number ``e``."""
    return (10.0 ** (np.asarray(e, dtype=np.float64) / 21.4) - 1.0) / 0.00437


def erb_filter_bank(
    n_channels: int, n_samples: int, sample_rate: int, low_hz: float, high_hz: float, *, edges: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Half-cosine filters on the rfft grid of ``n_samples`` points: ``(responses (C, n_samples//2+1), centres (C,))``.

    ERB-numbers ``e_0 < ... < e_{n+1}`` are evenly spaced from ``E(low_hz)`` to ``E(high_hz)``
    (spacing ``d``); channel ``k`` (1..n) is ``cos(pi/2 (E(f) - e_k) / d)`` for ``|E(f) - e_k| < d``
    and 0 elsewhere. With ``edges=True`` a low-pass (1 below ``e_0``, falling to 0 at ``e_1``) and a
    high-pass (rising from ``e_n``, 1 above ``e_{n+1}``) filter are added first and last, and the
    squared responses then sum to exactly 1 at every frequency.
    """
    n_channels = check_int("n_channels", n_channels, minimum=1)
    n_samples = check_int("n_samples", n_samples, minimum=2)
    e = np.linspace(freq_to_erb(low_hz), freq_to_erb(high_hz), n_channels + 2)
    d = e[1] - e[0]
    erb = freq_to_erb(np.fft.rfftfreq(n_samples, 1.0 / sample_rate))
    u = (erb[None, :] - e[1:-1, None]) / d
    bank = np.where(np.abs(u) < 1.0, np.cos(0.5 * math.pi * u), 0.0)
    centres = erb_to_freq(e[1:-1])
    if edges:
        low = np.where(erb <= e[0], 1.0, np.where(erb < e[1], np.cos(0.5 * math.pi * (erb - e[0]) / d), 0.0))
        high = np.where(erb >= e[-1], 1.0, np.where(erb > e[-2], np.cos(0.5 * math.pi * (erb - e[-1]) / d), 0.0))
        bank = np.concatenate([low[None], bank, high[None]])
        centres = np.concatenate([[erb_to_freq(e[0])], centres, [erb_to_freq(e[-1])]])
    return bank, centres


class Cochleagram(nn.Module):
    """Deterministic cochleagram of waveforms ``(B, T)`` (or ``(T,)``): ``(B, n_channels, n_frames)``.

    ``n_frames = ceil(T * envelope_rate / sample_rate)`` (100 for 1 s at 100 Hz). Parameters:
    ``n_channels`` band-pass filters with edges ``low_hz``..``high_hz`` (centres strictly inside),
    ``envelope_rate`` in Hz, ``compression`` exponent p in (0, 1] and ``compression_offset`` (> 0
    when p < 1), see the module docstring. No learnable parameters; filters are built per input
    length and cached.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_channels: int = 40,
        low_hz: float = 50.0,
        high_hz: float = 7500.0,
        envelope_rate: int = 100,
        compression: float = 0.3,
        compression_offset: float = 1e-5,
    ) -> None:
        super().__init__()
        self.sample_rate = check_int("sample_rate", sample_rate, minimum=1000)
        self.n_channels = check_int("n_channels", n_channels, minimum=1)
        self.low_hz = check_float("low_hz", low_hz, minimum=1e-3)
        self.high_hz = check_float("high_hz", high_hz, maximum=self.sample_rate / 2)
        if self.high_hz <= self.low_hz:
            raise ValueError(f"high_hz={high_hz} must exceed low_hz={low_hz}")
        self.envelope_rate = check_int("envelope_rate", envelope_rate, minimum=1, maximum=self.sample_rate // 2)
        self.compression = check_float("compression", compression, minimum=1e-3, maximum=1.0)
        offset_min = 0.0 if self.compression == 1.0 else 1e-12
        self.compression_offset = check_float("compression_offset", compression_offset, minimum=offset_min)
        self._bank: dict[tuple[int, str, torch.dtype], tuple[torch.Tensor, torch.Tensor, int]] = {}

    @property
    def settings(self) -> dict[str, float | int]:
        """The constructor's arguments as validated (``Cochleagram(**c.settings)`` builds the same front end)."""
        return {
            "sample_rate": self.sample_rate, "n_channels": self.n_channels, "low_hz": self.low_hz,
            "high_hz": self.high_hz, "envelope_rate": self.envelope_rate, "compression": self.compression,
            "compression_offset": self.compression_offset,
        }  # fmt: skip

    @property
    def center_frequencies(self) -> np.ndarray:
        """Centre frequencies (Hz) of the channels, low to high."""
        return erb_filter_bank(self.n_channels, 64, self.sample_rate, self.low_hz, self.high_hz)[1]

    def n_frames(self, n_samples: int) -> int:
        """Number of envelope frames for a waveform of ``n_samples``."""
        return math.ceil(n_samples * self.envelope_rate / self.sample_rate)

    def _padded_length(self, n_samples: int) -> int:
        # a whole number of envelope frames: q samples per frame
        q = self.sample_rate // math.gcd(self.sample_rate, self.envelope_rate)
        return math.ceil(n_samples / q) * q

    def filters(self, n_samples: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        """The (C, n_samples//2+1) filter responses on the rfft grid of ``n_samples`` points."""
        bank, _ = erb_filter_bank(self.n_channels, n_samples, self.sample_rate, self.low_hz, self.high_hz)
        return torch.as_tensor(bank, dtype=dtype, device=device)

    def _band_plan(self, n: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Per channel, the rfft bins of its pass band shifted to 0..L-1 (gather index, weights) and L."""
        key = (n, str(device), dtype)
        if key not in self._bank:
            bank, _ = erb_filter_bank(self.n_channels, n, self.sample_rate, self.low_hz, self.high_hz)
            nz = [np.flatnonzero(row) for row in bank]
            first = np.array([b[0] if len(b) else 0 for b in nz])
            width = max(int(b[-1] - b[0] + 1) if len(b) else 1 for b in nz)
            frames = n * self.envelope_rate // self.sample_rate
            step = max(1, math.ceil(_OVERSAMPLE * width / frames))
            length = step * frames
            idx = first[:, None] + np.arange(length)[None, :]
            inside = idx < bank.shape[1]
            idx = np.where(inside, idx, 0)
            weights = np.where(inside, np.take_along_axis(bank, idx, axis=1), 0.0)
            self._bank[key] = (
                torch.as_tensor(idx, device=device),
                torch.as_tensor(2.0 * weights * length / n, dtype=dtype, device=device),
                step,
            )
        return self._bank[key]

    def subbands(self, x: torch.Tensor) -> torch.Tensor:
        """Full-rate analytic signals of the filtered waveform: complex ``(B, C, T)``; real part = sub-band signal."""
        n = x.shape[-1]
        spectrum = torch.fft.rfft(x, dim=-1)
        bank = self.filters(n, x.device, x.real.dtype)
        # Analytic signal: keep positive frequencies, doubled (the filters vanish at DC and Nyquist).
        return torch.fft.ifft(2.0 * spectrum.unsqueeze(-2) * bank, n=n, dim=-1)

    def envelopes(self, x: torch.Tensor, *, exact: bool = False) -> torch.Tensor:
        """Sub-band envelopes downsampled to ``envelope_rate`` (before compression): ``(B, C, n_frames)``.

        Fast path (default): each channel's band is shifted to base band and inverse-transformed
        at a reduced rate (``L`` points, at least twice the widest band): these are exact samples of
        the envelope (a frequency shift does not change the analytic signal's magnitude), which are
        then low-pass filtered and decimated to ``envelope_rate``. ``exact=True`` computes the
        envelopes at the full sample rate first (slower; the two agree closely, see the tests).
        """
        n = x.shape[-1]
        frames = self.n_frames(n)
        padded = self._padded_length(n)
        if padded != n:
            x = F.pad(x, (0, padded - n))
        if exact:
            env = self.subbands(x).abs()
            out = torchaudio.functional.resample(env, self.sample_rate, self.envelope_rate)
        else:
            idx, weights, step = self._band_plan(padded, x.device, x.real.dtype)
            spectrum = torch.fft.rfft(x, dim=-1)
            env = torch.fft.ifft(spectrum[..., idx] * weights, dim=-1).abs()
            out = torchaudio.functional.resample(env, step, 1) if step > 1 else env
        return out[..., :frames]

    def compress(self, env: torch.Tensor) -> torch.Tensor:
        """``(relu(env) + offset) ** p - offset ** p``: zero at zero, finite gradient everywhere."""
        if self.compression == 1.0:
            return F.relu(env)
        c = self.compression_offset
        return (F.relu(env) + c) ** self.compression - c**self.compression

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() not in (1, 2):
            raise ValueError(f"Cochleagram expects waveforms (B, T) or (T,), got shape {tuple(x.shape)}")
        squeeze = x.dim() == 1
        out = self.compress(self.envelopes(x[None] if squeeze else x))
        return out[0] if squeeze else out

    def extra_repr(self) -> str:
        return (
            f"sample_rate={self.sample_rate}, n_channels={self.n_channels}, low_hz={self.low_hz}, "
            f"high_hz={self.high_hz}, envelope_rate={self.envelope_rate}, compression={self.compression}"
        )


def auditory_nerve_noise(gain: float, *, spontaneous: float = 0.0, eps: float = 1e-5) -> NeuronalNoise:
    """Poisson-like auditory-nerve noise on a compressed cochleagram ``c >= 0``, reparameterised.

    The cochleagram is read as a firing rate; ``gain`` converts it to expected spike counts
    ``r = gain * c + spontaneous``; counts are drawn as ``r + sqrt(relu(r) + eps) z`` (``z ~ N(0,1)``,
    variance = mean, as for Poisson), divided back by ``gain`` and rectified:

        out = relu(c + sqrt(gain * c + spontaneous + eps) / gain * z),

    so the noise variance is ``(c + spontaneous / gain) / gain`` (+ ``eps / gain**2``): larger
    ``gain`` = more spikes = less noise (std ~ ``sqrt(c / gain)``; gains ~10-100 for
    cochleagrams of 0.05-RMS sound, whose values are ~0.1-0.5). It is
    :class:`advgeom.models.noise.NeuronalNoise` with this gain and offset, so the shared tools
    (``set_noise``, ``noise_disabled``, ``frozen_noise``) apply; noise stays on in ``eval()``.
    """
    gain = check_float("gain", gain, minimum=1e-6)
    spontaneous = check_float("spontaneous", spontaneous, minimum=0.0)
    return NeuronalNoise(1.0, gain=gain, offset=spontaneous, eps=eps, relu=True)


def cochlear_front_end(gain: float | None = None, *, spontaneous: float = 0.0, **cochleagram_kwargs) -> nn.Sequential:
    """``Sequential(cochleagram=Cochleagram(**kwargs), nerve=...)``: the nerve stage is
    :func:`auditory_nerve_noise` (``gain``) or, for the deterministic twin (``gain=None``), the identity."""
    nerve: nn.Module = nn.Identity() if gain is None else auditory_nerve_noise(gain, spontaneous=spontaneous)
    return nn.Sequential(OrderedDict(cochleagram=Cochleagram(**cochleagram_kwargs), nerve=nerve))
