"""Benchmark of EOT attacks on stochastic models: the shared noise-free prefix, and beside torchattacks.

``advgeom.attacks`` runs the noise-free front of a stochastic model (the cochleagram of the word
nets, the Gabor filter bank of VOne nets) once per PGD step and only the noisy rest ``eot``
times (``advgeom.models.split_at_noise``).

``prefix``: the baseline is the same model behind an opaque wrapper, which the split does not see
through, so every draw runs the whole model. Both runs use the same seeds and the same noise
draws: the gradients agree to float rounding, and the column ``differ`` counts the examples whose
adversarial example moved apart (rounding can flip the sign of a near-zero gradient coordinate, and
ten steps amplify it). Untrained networks (``advgeom.zoo.build_network``:
``word_stochastic`` and ``vone``): the cost does not depend on the weights.

``torchattacks``: our L-inf PGD-EOT beside torchattacks' ``EOTPGD`` on a VOne network and
Fashion-MNIST test images (in [0, 1], as torchattacks expects), like for like: cross-entropy loss,
the same eps, steps, step size (eps / 4), uniform random start, EOT draws and batches, so the same
number of gradient evaluations (``steps`` x ``eot`` per batch) and, on a stochastic model with one
run, the same answer: each example's last iterate (no extra scoring pass). Both adversarial sets
are scored by ``advgeom.attacks.example_scores`` over the same fresh noise draws (same seed):
robust accuracy +- its standard error over images, and the paired difference. The network is the
zoo's ``vone`` trained on a small class-balanced subset (``advgeom.zoo.get_network``, cached after
the first run) or, with ``--untrained``, the untrained architecture (timing only).

Run: ``python benchmarks/eot.py`` (both), ``--only prefix`` or ``--only torchattacks``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

TARGET_SPEEDUP = 2.0  # ours at least this much faster than torchattacks' EOTPGD


class Opaque(nn.Module):
    """``model`` behind a custom ``forward``: :func:`advgeom.models.split_at_noise` returns None for it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def timed(fn: Callable[[], torch.Tensor], repeats: int) -> tuple[float, torch.Tensor]:
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


def prefix_table(args: argparse.Namespace) -> None:
    """The shared prefix against full passes per draw, on the untrained word and VOne nets."""
    from advgeom.data.audio import WAVEFORM_BOUNDS
    from advgeom.zoo import build_network

    torch.manual_seed(0)
    cases = {
        "word net (cochleagram)": (build_network("word_stochastic").eval(), 0.05 * torch.randn(args.batch, 16000),
                                   {"norm": "l2", "eps": 0.3, "bounds": WAVEFORM_BOUNDS}),
        "VOne net (Gabor bank)": (build_network("vone").eval(), torch.rand(args.batch, 1, 28, 28),
                                  {"norm": "linf", "eps": 0.03}),
    }  # fmt: skip
    print(f"Shared prefix: PGD {args.steps} steps, EOT {args.eot}, batch {args.batch}, {args.threads} threads")
    print(f"{'model':<24} {'full passes s':>14} {'shared prefix s':>16} {'speed-up':>9} {'differ':>8}")
    for name, (model, x, attack) in cases.items():
        compare(name, model, x, attack, args)


def vone_network(args: argparse.Namespace) -> nn.Module:
    """The zoo's ``vone`` trained on ``args.train_size`` images (cached), or untrained with ``--untrained``."""
    from advgeom.zoo import build_network, get_network

    if args.untrained:
        torch.manual_seed(0)
        return build_network("vone").eval()
    t0 = time.perf_counter()
    model = get_network("vone", train_size=args.train_size, epochs=args.epochs, seed=0, progress=False, device="cpu")
    print(f"vone ({args.train_size} training images, {args.epochs} epochs) ready in {time.perf_counter() - t0:.0f} s")
    return model


def attack_batches(attack: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor,
                   y: torch.Tensor, batch: int) -> torch.Tensor:  # fmt: skip
    """``attack`` run on consecutive batches of ``batch`` examples, the adversarial examples concatenated."""
    return torch.cat([attack(x[i : i + batch], y[i : i + batch]) for i in range(0, len(x), batch)])


def mean_se(scores: np.ndarray) -> tuple[float, float]:
    """Mean of per-example scores and its standard error over examples."""
    return float(scores.mean()), float(scores.std(ddof=1) / np.sqrt(len(scores)))


def torchattacks_table(args: argparse.Namespace) -> None:
    """Our PGD-EOT beside torchattacks' ``EOTPGD``: wall time, speed ratio and robust accuracy of each."""
    import torchattacks

    from advgeom.attacks import example_scores, pgd
    from advgeom.data import class_balanced_subset, load_fashion_mnist

    model = vone_network(args)
    x, y = class_balanced_subset(load_fashion_mnist("test"), 10, args.images // 10, seed=0)
    eps, step_size = args.eps, args.eps / 4
    theirs_attack = torchattacks.EOTPGD(model, eps=eps, alpha=step_size, steps=args.steps, eot_iter=args.eot,
                                        random_start=True)  # fmt: skip

    def ours() -> torch.Tensor:
        def one(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
            return pgd(model, xb, yb, eps=eps, norm="linf", steps=args.steps, step_size=step_size, eot=args.eot,
                       random_start=True, loss="ce", bounds=(0.0, 1.0), seed=0)  # fmt: skip

        return attack_batches(one, x, y, args.batch)

    def theirs() -> torch.Tensor:
        torch.manual_seed(0)
        return attack_batches(theirs_attack, x, y, args.batch)

    print(f"\nBeside torchattacks {torchattacks.__version__} EOTPGD: L-inf eps {eps:g}, {args.steps} steps of "
          f"{step_size:g}, EOT {args.eot}, cross-entropy, random start, {len(x)} images in batches of "
          f"{args.batch}, {args.threads} threads")  # fmt: skip
    t_ours, t_theirs = float("inf"), float("inf")
    for _ in range(args.repeats):  # interleaved, best of each: the machine's load hits both alike
        t, x_theirs = timed(theirs, 1)
        t_theirs = min(t_theirs, t)
        t, x_ours = timed(ours, 1)
        t_ours = min(t_ours, t)
    score = {"n_draws": args.draws, "seed": 123}
    clean = mean_se(example_scores(model, x, y, **score))
    s_ours, s_theirs = example_scores(model, x_ours, y, **score), example_scores(model, x_theirs, y, **score)
    (a_ours, se_ours), (a_theirs, se_theirs) = mean_se(s_ours), mean_se(s_theirs)
    diff, se_diff = mean_se(s_ours - s_theirs)
    ratio = t_theirs / t_ours
    print(f"{'attack':<22} {'wall s':>8} {'robust accuracy':>20}")
    print(f"{'torchattacks EOTPGD':<22} {t_theirs:>8.2f} {a_theirs:>12.3f} +- {se_theirs:.3f}")
    print(f"{'advgeom pgd':<22} {t_ours:>8.2f} {a_ours:>12.3f} +- {se_ours:.3f}")
    print(f"clean accuracy {clean[0]:.3f} +- {clean[1]:.3f}; scored over {args.draws} noise draws (seed 123)")
    print(f"speed ratio {ratio:.2f}x (target >= {TARGET_SPEEDUP:g}x: {'met' if ratio >= TARGET_SPEEDUP else 'MISSED'})")
    ok = a_ours <= a_theirs + se_ours
    print(f"ours - theirs {diff:+.4f} +- {se_diff:.4f} (paired); target ours <= theirs within its standard error: "
          f"{'met' if ok else 'MISSED'}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("prefix", "torchattacks"), help="run one of the two comparisons")
    parser.add_argument("--batch", type=int, default=40, help="examples per attack (chapter 02 uses 40)")
    parser.add_argument("--eot", type=int, default=8, help="noise draws per gradient")
    parser.add_argument("--steps", type=int, default=10, help="PGD steps")
    parser.add_argument("--repeats", type=int, default=2, help="timing repeats (best is reported)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--eps", type=float, default=0.03, help="L-inf radius of the torchattacks comparison")
    parser.add_argument("--images", type=int, default=200, help="test images attacked (class-balanced, seeded)")
    parser.add_argument("--draws", type=int, default=32, help="noise draws scoring each adversarial example")
    parser.add_argument("--train-size", type=int, default=4000, help="training images of the vone network")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs of the vone network")
    parser.add_argument("--untrained", action="store_true", help="the untrained vone (timing only)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.only != "torchattacks":
        prefix_table(args)
    if args.only != "prefix":
        torchattacks_table(args)


if __name__ == "__main__":
    main()
