"""Our PGD against AutoAttack (pyautoattack) at full size: robust accuracy of both, and the gap.

Usage: python benchmarks/autoattack.py [--n-images 100]   (threads: ``$ADVGEOM_THREADS``, :mod:`advgeom.threads`)

The full versions of the suite's cross-checks (``tests/test_attacks.py``, which runs AutoAttack
'rand' with fewer iterations and draws on fewer images): the same small nets, trained the same way
on 5,000 Fashion-MNIST images, and the same class-balanced test images.

* 'standard' (APGD-CE, APGD-T, FAB-T, Square) on the FGSM-trained ResNet at L-inf 0.1 against our
  default evaluation (20 steps, cross-entropy then margin loss);
* 'rand' (APGD-CE and APGD-DLR, 100 iterations x 20 EOT draws) on the stochastic VOneResNet at
  L-inf 0.03 against our PGD-EOT (20 steps, 8 draws), both scored over the same 32 noise draws.

Ours should be at most 0.02 above AutoAttack (a stronger attack gives a lower accuracy).
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from advgeom.attacks import accuracy, robust_accuracy
from advgeom.data import class_balanced_subset, load_fashion_mnist
from advgeom.models import small_resnet, vone_resnet
from advgeom.threads import configure_threads
from advgeom.train import train_model

SCORE = {"n_draws": 32, "seed": 123}
TOLERANCE = 0.02


def trained(net: nn.Module, data: tuple[torch.Tensor, torch.Tensor], **kw: object) -> nn.Module:
    train_model(net, data, progress=False, device="cpu", seed=0, **kw)
    return net.eval()


def autoattack(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, version: str) -> torch.Tensor:
    from pyautoattack import AutoAttack

    aa = AutoAttack(model, norm="Linf", eps=eps, version=version, seed=0, device="cpu")
    aa.logger.disabled = True
    return aa.run_standard_evaluation(x, y, batch_size=len(x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=100, help="test images, class-balanced (multiple of 10)")
    args = parser.parse_args()
    print(f"torch: {configure_threads().describe()}")
    train = class_balanced_subset(load_fashion_mnist("train"), 10, 500, seed=0)
    x, y = class_balanced_subset(load_fashion_mnist("test"), 10, args.n_images // 10, seed=0)
    torch.manual_seed(0)
    adversarial = trained(small_resnet(widths=(8, 16, 32)), train, epochs=4, adversarial="fgsm", eps=0.1)
    torch.manual_seed(0)
    vone = trained(vone_resnet(simple_channels=8, complex_channels=8, widths=(8, 16, 32), noise_scale=1.0), train,
                   epochs=3)  # fmt: skip
    rows = []
    for name, model, eps, version, ours_kw, score in (
        ("adversarial", adversarial, 0.1, "standard", {"steps": 20}, {}),
        ("vone", vone, 0.03, "rand", {"steps": 20, "eot": 8}, SCORE),
    ):
        start = time.perf_counter()
        theirs = accuracy(model, autoattack(model, x, y, eps, version)[0], y, **score)
        aa_seconds = time.perf_counter() - start
        start = time.perf_counter()
        ours = robust_accuracy(model, (x, y), eps=eps, **ours_kw, **score)
        rows.append((name, version, eps, ours, theirs, time.perf_counter() - start, aa_seconds))
    print(f"{len(x)} images; ours should be <= AutoAttack + {TOLERANCE}")
    print(f"{'model':<12}{'version':<10}{'eps':>6}{'ours':>8}{'AA':>8}{'gap':>8}{'ours s':>8}{'AA s':>8}  verdict")
    for name, version, eps, ours, theirs, s_ours, s_aa in rows:
        verdict = "ok" if ours <= theirs + TOLERANCE else "WEAKER"
        print(f"{name:<12}{version:<10}{eps:>6}{ours:>8.3f}{theirs:>8.3f}{ours - theirs:>+8.3f}{s_ours:>8.1f}"
              f"{s_aa:>8.1f}  {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
