"""Word networks: waveform in, logits out; named layers; deterministic twin; training on cochleagrams."""

from __future__ import annotations

import math

import pytest
import torch

from advgeom.models.noise import is_stochastic, noise_disabled
from advgeom.models.representations import extract_representations, layer_names
from advgeom.models.wordnet import build_word_net, forward_from, stages_from, word_resnet

SR = 16000


def test_shapes_layers_and_config_round_trip() -> None:
    torch.manual_seed(0)
    net = word_resnet(20, gain=30.0).eval()
    x = 0.05 * torch.randn(3, SR)
    assert net(x).shape == (3, 20)
    assert layer_names(net) == ["waveform", "nerve", "block1", "block2", "block3", "logits"]
    assert net.cochleagram(x).shape == (3, 40, 100)
    assert sum(p.numel() for p in net.parameters()) < 200_000
    twin = build_word_net(net.config).eval()
    assert net.config["gain"] == 30.0 and twin.config == net.config
    twin.load_state_dict(net.state_dict())
    with noise_disabled(net), noise_disabled(twin):
        torch.testing.assert_close(net(x), twin(x))
    with pytest.raises(ValueError, match="arch"):
        build_word_net({**net.config, "arch": "small_resnet"})


def test_cochleagram_options_pass_through_and_are_recorded() -> None:
    torch.manual_seed(0)
    net = word_resnet(3, n_channels=20, high_hz=4000, widths=(8, 8, 8))
    coch = net.cochleagram
    assert (coch.n_channels, coch.high_hz) == (20, 4000.0)
    assert {k: net.config[k] for k in coch.settings} == coch.settings  # the values used, defaults included
    assert net.config["sample_rate"] == 16000 and net.config["compression_offset"] == 1e-5
    assert build_word_net(net.config).cochleagram.settings == coch.settings
    with pytest.raises(TypeError):
        word_resnet(3, n_chanels=20)  # a misspelt option is refused by the cochleagram
    with pytest.raises(ValueError, match="high_hz"):
        word_resnet(3, high_hz=9000.0)  # above Nyquist: the cochleagram's own check


def test_stochastic_and_deterministic_twins() -> None:
    torch.manual_seed(0)
    x = 0.05 * torch.randn(4, SR)
    noisy, det = word_resnet(10, gain=20.0).eval(), word_resnet(10).eval()
    assert is_stochastic(noisy) and not is_stochastic(det)
    assert not torch.equal(noisy(x), noisy(x))
    torch.testing.assert_close(det(x), det(x))
    reps = extract_representations(noisy, x, layers=["nerve", "logits"], n_draws=3)
    assert reps["nerve"].shape == (4, 3, 4000)
    assert (reps["nerve"][:, 0] != reps["nerve"][:, 1]).any()  # fresh noise per draw, from the nerve stage on
    det_reps = extract_representations(det, x, layers=["nerve"], n_draws=2)
    torch.testing.assert_close(det_reps["nerve"][:, 0], det_reps["nerve"][:, 1])
    torch.testing.assert_close(det_reps["nerve"][:, 0], det.cochleagram(x).flatten(1))


def test_forward_from_cochleagram_matches_waveform_path_and_gradients_flow() -> None:
    torch.manual_seed(0)
    net = word_resnet(5).eval()
    x = (0.05 * torch.randn(2, SR)).requires_grad_(True)
    out = net(x)
    torch.testing.assert_close(forward_from(net, net.cochleagram(x), "nerve"), out)
    torch.testing.assert_close(forward_from(net, x, "cochleagram"), out)
    out[:, 0].sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().max() > 0
    with pytest.raises(ValueError, match="start"):
        forward_from(net, x, "bogus")
    back = stages_from(net, "nerve")
    assert list(dict(back.named_children())) == ["nerve", "stem", "block1", "block2", "block3", "logits"]
    assert back.logits is net.logits  # shared modules: training the back end trains the network


def test_learns_tones_from_cochleagrams() -> None:
    # two "words": tone sweeps up vs down; trained on precomputed cochleagrams, tested on the waveform path
    torch.manual_seed(0)
    t = torch.arange(SR // 2) / SR

    def sweep(n: int, up: bool) -> torch.Tensor:
        f0 = 300 + 200 * torch.rand(n, 1)
        f1 = 2000 + 500 * torch.rand(n, 1)
        lo, hi = (f0, f1) if up else (f1, f0)
        phase = 2 * math.pi * (lo * t + (hi - lo) * t**2)  # linear chirp over 0.5 s
        return 0.05 * math.sqrt(2) * torch.sin(phase) + 0.01 * torch.randn(n, len(t))

    x = torch.cat([sweep(24, True), sweep(24, False)])
    y = torch.cat([torch.zeros(24), torch.ones(24)]).long()
    net = word_resnet(2, gain=50.0, widths=(8, 16, 32))
    coch = net.cochleagram(x).detach()
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    net.train()
    for _ in range(40):
        batch = torch.randperm(len(y))[:16]
        loss = torch.nn.functional.cross_entropy(forward_from(net, coch[batch], "nerve"), y[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
    for m in net.modules():  # BatchNorm statistics of the final weights (running averages lag in 40 quick steps)
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    with torch.no_grad():
        forward_from(net, coch, "nerve")
    net.eval()
    xt = torch.cat([sweep(10, True), sweep(10, False)])
    yt = torch.cat([torch.zeros(10), torch.ones(10)]).long()
    assert (net(xt).argmax(1) == yt).float().mean() >= 0.9
