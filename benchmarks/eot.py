"""Benchmark of EOT attacks on stochastic models: shared noise-free prefix vs full passes per draw.

``advgeom.attacks`` runs the noise-free front of a stochastic model (the cochleagram of the word
nets, the Gabor filter bank of VOne nets) once per PGD step and only the noisy rest ``eot``
times (``advgeom.models.split_at_noise``). The baseline here is the same model behind an opaque
wrapper, which the split does not see through, so every draw runs the whole model. Both runs
use the same seeds and the same noise draws: the gradients agree to float rounding, and the
column ``differ`` counts the examples whose adversarial example moved apart (rounding can flip
a near-tie when PGD keeps each example's best iterate, and ten steps amplify it). Untrained
networks (``advgeom.zoo.build_network``: ``word_stochastic`` and ``vone``): the cost does not depend on
the weights. Run: ``python benchmarks/eot.py``.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn


class Opaque(nn.Module):
    """``model`` behind a custom ``forward``: :func:`advgeom.models.split_at_noise` returns None for it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def timed(fn, repeats: int) -> tuple[float, torch.Tensor]:
    """Best wall time over ``repeats`` calls and the last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def compare(name: str, model: nn.Module, x: torch.Tensor, attack: dict, args: argparse.Namespace) -> None:
    """Time PGD and scoring on ``model`` with the shared prefix and behind :class:`Opaque`; print one row each."""
    from advgeom.attacks import accuracy, pgd
    from advgeom.models import split_at_noise

    assert split_at_noise(model) is not None
    y = torch.arange(len(x)) % 10
    opaque = Opaque(model).eval()
    t_full, x_full = timed(lambda: pgd(opaque, x, y, steps=args.steps, eot=args.eot, seed=0, **attack), args.repeats)
    t_split, x_split = timed(lambda: pgd(model, x, y, steps=args.steps, eot=args.eot, seed=0, **attack), args.repeats)
    differ = int(((x_full - x_split).flatten(1).abs().amax(1) > 1e-4).sum())
    print(f"{name:<24} {t_full:>14.2f} {t_split:>16.2f} {t_full / t_split:>8.1f}x {differ:>4}/{len(x)}")
    s_full, _ = timed(lambda: accuracy(opaque, x, y, n_draws=16, seed=0), args.repeats)
    s_split, _ = timed(lambda: accuracy(model, x, y, n_draws=16, seed=0), args.repeats)
    print(f"{'  scoring, 16 draws':<24} {s_full:>14.2f} {s_split:>16.2f} {s_full / s_split:>8.1f}x")


def main() -> None:
    from advgeom.data.audio import WAVEFORM_BOUNDS
    from advgeom.zoo import build_network

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=40, help="examples per attack (chapter 02 uses 40)")
    parser.add_argument("--eot", type=int, default=8, help="noise draws per gradient")
    parser.add_argument("--steps", type=int, default=10, help="PGD steps")
    parser.add_argument("--repeats", type=int, default=2, help="timing repeats (best is reported)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cases = {
        "word net (cochleagram)": (build_network("word_stochastic").eval(), 0.05 * torch.randn(args.batch, 16000),
                                   {"norm": "l2", "eps": 0.3, "bounds": WAVEFORM_BOUNDS}),
        "VOne net (Gabor bank)": (build_network("vone").eval(), torch.rand(args.batch, 1, 28, 28),
                                  {"norm": "linf", "eps": 0.03}),
    }  # fmt: skip
    print(f"PGD {args.steps} steps, EOT {args.eot}, batch {args.batch}, {args.threads} threads")
    print(f"{'model':<24} {'full passes s':>14} {'shared prefix s':>16} {'speed-up':>9} {'differ':>8}")
    for name, (model, x, attack) in cases.items():
        compare(name, model, x, attack, args)


if __name__ == "__main__":
    main()
