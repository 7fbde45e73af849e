"""Cochlear front end: ERB filter bank, analytic envelopes, downsampling, compression, auditory-nerve noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from advgeom.models.cochlea import (
    Cochleagram,
    auditory_nerve_noise,
    cochlear_front_end,
    erb_filter_bank,
    erb_to_freq,
    freq_to_erb,
)
from advgeom.models.noise import NeuronalNoise, frozen_noise, is_stochastic, noise_disabled

SR = 16000


def test_erb_scale_matches_glasberg_moore() -> None:
    # E(1 kHz) = 21.4 log10(5.37) = 15.62 Cams; the scale's slope is 1 / ERB(f), ERB(f) = 24.7 (4.37 f/1000 + 1)
    assert freq_to_erb(1000.0) == pytest.approx(15.62, abs=0.01)
    f = np.array([100.0, 500.0, 2000.0, 6000.0])
    slope = (freq_to_erb(f + 0.5) - freq_to_erb(f - 0.5)) / 1.0
    np.testing.assert_allclose(slope, 1.0 / (24.7 * (4.37 * f / 1000 + 1)), rtol=5e-3)
    np.testing.assert_allclose(erb_to_freq(freq_to_erb(f)), f, rtol=1e-12)


def test_filters_tile_the_spectrum_and_are_erb_spaced() -> None:
    n, ch, low, high = 16000, 40, 50.0, 7500.0
    bank, cf = erb_filter_bank(ch, n, SR, low, high, edges=True)
    power = (bank**2).sum(axis=0)
    np.testing.assert_allclose(power, 1.0, atol=1e-9)  # with the edge filters: everywhere, DC to Nyquist
    inner, centres = erb_filter_bank(ch, n, SR, low, high)
    freqs = np.fft.rfftfreq(n, 1 / SR)
    band = (freqs >= centres[0]) & (freqs <= centres[-1])
    np.testing.assert_allclose((inner**2).sum(axis=0)[band], 1.0, atol=1e-9)  # band-pass only: between the centres
    assert ((inner**2).sum(axis=0) <= 1 + 1e-9).all() and (inner >= 0).all()
    assert inner[:, 0].max() == 0 and inner[:, -1].max() == 0  # nothing at DC or Nyquist (analytic signal is exact)
    steps = np.diff(freq_to_erb(centres))
    np.testing.assert_allclose(steps, steps[0], rtol=1e-9)
    np.testing.assert_allclose(steps[0], (freq_to_erb(high) - freq_to_erb(low)) / (ch + 1), rtol=1e-12)
    # each filter peaks (at 1) at the frequency bin closest to its centre
    peaks = freqs[inner.argmax(axis=1)]
    assert np.all(np.abs(peaks - centres) <= 0.5 + 1e-9)
    np.testing.assert_allclose(cf[1:-1], centres)  # the edge version adds the bank edges around the centres
    assert cf[0] == pytest.approx(low) and cf[-1] == pytest.approx(high)


def test_shapes_and_validation() -> None:
    coch = Cochleagram()
    assert coch(torch.zeros(3, 16000)).shape == (3, 40, 100)
    assert coch(torch.zeros(16000)).shape == (40, 100)
    assert coch(torch.zeros(2, 8123)).shape == (2, 40, coch.n_frames(8123)) == (2, 40, 51)
    assert Cochleagram(n_channels=30, envelope_rate=200)(torch.zeros(1, 16000)).shape == (1, 30, 200)
    assert len(coch.center_frequencies) == 40
    with pytest.raises(ValueError, match="high_hz"):
        Cochleagram(low_hz=4000, high_hz=3000)
    with pytest.raises(ValueError, match="high_hz"):
        Cochleagram(high_hz=9000)
    with pytest.raises(ValueError, match="n_channels"):
        Cochleagram(n_channels=0)
    with pytest.raises(ValueError, match="compression"):
        Cochleagram(compression=0.0)
    with pytest.raises(ValueError, match="envelope_rate"):
        Cochleagram(envelope_rate=9000)
    with pytest.raises(ValueError, match="waveforms"):
        coch(torch.zeros(1, 1, 100))


@pytest.mark.parametrize("freq", [150.0, 440.0, 1000.0, 2500.0, 6000.0])
def test_pure_tone_excites_nearest_channel(freq: float) -> None:
    coch = Cochleagram()
    t = torch.arange(SR) / SR
    out = coch(0.05 * torch.sin(2 * math.pi * freq * t))
    best = int(out.mean(dim=-1).argmax())
    nearest = int(np.argmin(np.abs(freq_to_erb(coch.center_frequencies) - freq_to_erb(freq))))
    assert best == nearest


def test_envelope_of_am_tone_is_its_modulator() -> None:
    # Hilbert envelope of (1 + m cos 2pi fm t) cos 2pi fc t is (1 + m cos 2pi fm t) when the band passes fc +- fm.
    coch = Cochleagram(compression=1.0)
    k = 20
    fc, fm, m = float(coch.center_frequencies[k]), 4.0, 0.5
    t = torch.arange(SR, dtype=torch.float64) / SR
    x = (1 + m * torch.cos(2 * math.pi * fm * t)) * torch.cos(2 * math.pi * fc * t)
    frames = torch.arange(100, dtype=torch.float64) / 100
    want = 1 + m * torch.cos(2 * math.pi * fm * frames)
    for exact in (False, True):
        env = coch.envelopes(x[None], exact=exact)[0, k]
        np.testing.assert_allclose(env[5:-5].numpy(), want[5:-5].numpy(), rtol=0.02)


def test_fast_envelopes_agree_with_full_rate_reference() -> None:
    torch.manual_seed(0)
    coch = Cochleagram()
    t = torch.arange(SR) / SR
    x = torch.stack([0.05 * torch.randn(SR), 0.05 * torch.sin(2 * math.pi * 700 * t) * (t < 0.5)])
    fast, ref = coch.envelopes(x), coch.envelopes(x, exact=True)
    assert ((fast - ref).norm() / ref.norm()).item() < 0.01


def test_compression_is_power_law_with_finite_gradient() -> None:
    coch = Cochleagram(compression=0.3, compression_offset=1e-5)
    env = torch.tensor([0.0, 1e-9, 1e-3, 0.5], requires_grad=True)
    out = coch.compress(env)
    want = (env.detach() + 1e-5) ** 0.3 - 1e-5**0.3
    torch.testing.assert_close(out, want)
    assert out[0] == 0
    out.sum().backward()
    assert torch.isfinite(env.grad).all() and env.grad.max() <= 0.3 * 1e-5 ** (0.3 - 1) * (1 + 1e-6)


def test_gradients_reach_the_waveform() -> None:
    torch.manual_seed(0)
    coch = Cochleagram()
    for scale in (0.05, 1e-6):  # speech-level noise, and near-silence where x^0.3 would blow up
        x = (scale * torch.randn(2, SR)).requires_grad_(True)
        coch(x).sum().backward()
        assert torch.isfinite(x.grad).all() and x.grad.abs().max() > 0
    # exact silence: the cochleagram is even in x (C(x) = C(-x)), so its gradient there is 0; it must stay finite
    x = torch.zeros(1, SR, requires_grad=True)
    coch(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_gradcheck_small_cochleagram() -> None:
    torch.manual_seed(0)
    coch = Cochleagram(sample_rate=1000, n_channels=4, low_hz=30, high_hz=450, envelope_rate=50)
    x = (0.1 * torch.randn(1, 200, dtype=torch.float64)).requires_grad_(True)
    assert torch.autograd.gradcheck(coch, (x,), eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)


def test_nerve_noise_variance_is_rate_over_gain() -> None:
    torch.manual_seed(0)
    c = torch.full((200_000,), 1.0)
    for gain, spont in ((20.0, 0.0), (80.0, 0.0), (20.0, 5.0)):
        nerve = auditory_nerve_noise(gain, spontaneous=spont).eval()
        assert isinstance(nerve, NeuronalNoise)  # the shared noise code, not a copy
        out = nerve(c)
        var = (1.0 + spont / gain) / gain + 1e-5 / gain**2
        assert abs(out.mean().item() - 1.0) < 5 * math.sqrt(var / len(c))
        assert abs(out.var().item() / var - 1) < 5 * math.sqrt(2 / len(c))
    with pytest.raises(ValueError, match="gain"):
        auditory_nerve_noise(0.0)


def test_stochastic_front_end_noise_on_in_eval_and_twin_deterministic() -> None:
    torch.manual_seed(0)
    x = 0.05 * torch.randn(2, SR)
    noisy = cochlear_front_end(gain=30.0).eval()
    assert is_stochastic(noisy)
    a, b = noisy(x), noisy(x)
    assert not torch.equal(a, b)
    clean = noisy.cochleagram(x)
    # noise std ~ sqrt(c / gain) on average
    ratio = ((a - clean) ** 2).mean() / (clean.clamp_min(0) / 30.0).mean()
    assert 0.8 < ratio.item() < 1.2
    with noise_disabled(noisy):
        torch.testing.assert_close(noisy(x), torch.relu(clean))
    with frozen_noise(noisy, seed=3):
        torch.testing.assert_close(noisy(x), noisy(x))
    twin = cochlear_front_end(gain=None).eval()
    assert not is_stochastic(twin)
    torch.testing.assert_close(twin(x), twin(x))
    torch.testing.assert_close(twin(x), clean)
    xg = x.clone().requires_grad_(True)
    noisy(xg).sum().backward()
    assert torch.isfinite(xg.grad).all() and xg.grad.abs().max() > 0
