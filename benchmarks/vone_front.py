"""Benchmark of the VOne front end's input gradient: the filter bank's fold backward beside conv2d's own.

Every attack on a VOne network differentiates its fixed Gabor filter bank (1 input channel, 15 x 15 kernels,
stride 2 on Fashion-MNIST) with respect to the image. ``advgeom.models.vone.filter_bank_conv`` keeps the
forward pass (``F.conv2d``) and writes the backward pass as one matrix product and a fold; the baseline is
``F.conv2d`` with autograd's own backward (oneDNN's backward-data kernel on a CPU), measured in the same run
on the same inputs. Printed per batch size: the wall time of one forward and backward pass through the whole
network (``vone_nonoise``: the deterministic net, as attacked with 80 steps in chapter 01; the cost does not
depend on the weights, so the untrained architecture is used), the ratio, and the largest difference between
the two input gradients relative to the gradient's largest entry (float rounding: the same sums in another
order), plus the PGD steps of one L-inf attack with both, and how many of its adversarial examples differ
(rounding can flip the sign of a near-zero gradient coordinate, and the steps amplify it).

Run: ``python benchmarks/vone_front.py [--batches 10 100] [--repeats 5] [--threads N]``.
"""

from __future__ import annotations

import argparse
import time
from unittest import mock

import torch
from torch.nn import functional as F

import advgeom.models.vone as vone
from advgeom.attacks import pgd
from advgeom.zoo import build_network


def conv2d_backward(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int) -> torch.Tensor:
    """The baseline: the filter bank as plain ``F.conv2d`` (autograd's own backward pass)."""
    return F.conv2d(x, weight, stride=stride, padding=padding)


def pass_time(model: torch.nn.Module, x: torch.Tensor, repeats: int) -> tuple[float, torch.Tensor]:
    """Best wall time of one forward and backward pass to the input over ``repeats``, and the gradient."""
    best, grad = float("inf"), torch.empty(0)
    for _ in range(repeats + 1):  # the first call warms up
        xi = x.clone().requires_grad_(True)
        t0 = time.perf_counter()
        grad = torch.autograd.grad(model(xi).logsumexp(dim=1).sum(), xi)[0]
        best = min(best, time.perf_counter() - t0)
    return best, grad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_network("vone_nonoise", dataset="fashion-mnist").eval()
    print(f"vone_nonoise, {torch.get_num_threads()} threads: one forward and backward pass to the input")
    print(f"{'batch':>6} {'conv2d (ms)':>12} {'fold (ms)':>10} {'speed-up':>9} {'max rel diff':>13}")
    for n in args.batches:
        x = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(n))
        with mock.patch.object(vone, "filter_bank_conv", conv2d_backward):
            base, g_base = pass_time(model, x, args.repeats)
        fast, g_fast = pass_time(model, x, args.repeats)
        rel = ((g_fast - g_base).abs().max() / g_base.abs().max()).item()
        print(f"{n:>6} {base * 1e3:>12.1f} {fast * 1e3:>10.1f} {base / fast:>8.2f}x {rel:>13.1e}")
    x = torch.rand(args.batches[-1], 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x).argmax(dim=1)
    attack = {"eps": 0.03, "norm": "linf", "steps": 20, "seed": 0}
    t0 = time.perf_counter()
    with mock.patch.object(vone, "filter_bank_conv", conv2d_backward):
        adv_base = pgd(model, x, y, **attack)
    t1 = time.perf_counter()
    adv_fast = pgd(model, x, y, **attack)
    t2 = time.perf_counter()
    differ = int((adv_base != adv_fast).flatten(1).any(dim=1).sum())
    print(f"PGD L-inf 0.03, 20 steps, {len(x)} images: conv2d {t1 - t0:.2f} s, fold {t2 - t1:.2f} s "
          f"({(t1 - t0) / (t2 - t1):.2f}x); adversarial examples that differ: {differ} of {len(x)}")  # fmt: skip


if __name__ == "__main__":
    main()
