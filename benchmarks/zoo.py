"""Model zoo benchmark: train (or load) the vision zoo on Fashion-MNIST and print its accuracy table.

Usage: python benchmarks/zoo.py [--n-eval 500] [--threads 2] [--retrain]

Trains the vision zoo (``advgeom.zoo.list_networks("vision", source="trained")``: standard,
adversarial, vone, vone_nonoise) with the default recipes through ``advgeom.zoo.get_network`` (so the
checkpoints land in cache_dir()/models, where the book's chapters reuse them), then reports
clean accuracy (full test set; stochastic models averaged over 8 noise draws), accuracy under
PGD for each norm at two radii (a seeded class-balanced test subset, 20 steps of eps/4, EOT 8
for stochastic models, scored over 16 fresh draws), training time and PGD speed, and checks
the targets of the model-zoo issue. Training time is the one stored with the checkpoint
(measured when it was trained); ``--retrain`` trains afresh in a temporary cache.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch

from advgeom.attacks import accuracy, pgd, robust_accuracy
from advgeom.data import class_balanced_subset, load_fashion_mnist
from advgeom.models import is_stochastic
from advgeom.zoo import get_network, list_networks

EPSILONS = {"linf": (0.03, 0.1), "l2": (0.5, 1.5), "l1": (5.0, 15.0)}
STEPS = 20


def pgd_speed(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """PGD steps per second on a batch of len(x) images (EOT draws included for stochastic models)."""
    start = time.perf_counter()
    pgd(model, x, y, eps=0.1, steps=STEPS, seed=0)
    return STEPS / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-eval", type=int, default=500, help="test images attacked (class-balanced, seeded)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--retrain", action="store_true", help="train afresh in a temporary cache")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.retrain:
        os.environ["ADVGEOM_CACHE"] = tempfile.mkdtemp(prefix="advgeom-zoo-")
    test = load_fashion_mnist("test")
    x_all, y_all = test.tensors
    x, y = class_balanced_subset(test, 10, args.n_eval // 10, seed=0)
    rows = {}
    for variant in list_networks("vision", source="trained"):
        t0 = time.perf_counter()
        model = get_network(variant, progress=False)
        print(f"{variant}: ready in {time.perf_counter() - t0:.0f} s", flush=True)
        stochastic = is_stochastic(model)
        row = {
            "clean": accuracy(model, x_all, y_all, n_draws=8 if stochastic else 1, seed=0),
            "train_s": model.train_history["train_seconds"],
            "cpu_s": model.train_history.get("cpu_seconds", float("nan")),
            "epochs": len(model.train_history["epochs"]),
            "steps_per_s": pgd_speed(model, x[:250], y[:250]),
        }
        for norm, epsilons in EPSILONS.items():
            for eps in epsilons:
                row[f"{norm}@{eps:g}"] = robust_accuracy(model, (x, y), eps=eps, norm=norm, steps=STEPS, seed=0)
        rows[variant] = row
        print(f"{variant}: {row}", flush=True)

    cols = [f"{n}@{e:g}" for n, es in EPSILONS.items() for e in es]
    header = f"| variant | clean | {' | '.join(cols)} | train s (epochs) | train CPU s | PGD steps/s |"
    print()
    print(f"Fashion-MNIST, {args.n_eval} attacked test images, PGD {STEPS} steps of eps/4, "
          f"EOT 8 for stochastic models, torch threads {args.threads}")  # fmt: skip
    print(header)
    print("|" + "---|" * (len(cols) + 5))
    for variant, r in rows.items():
        accs = " | ".join(f"{100 * r[c]:.1f}" for c in cols)
        print(f"| {variant} | {100 * r['clean']:.1f} | {accs} | {r['train_s']:.0f} ({r['epochs']}) | "
              f"{r['cpu_s']:.0f} | {r['steps_per_s']:.1f} |")  # fmt: skip
    total = sum(r["train_s"] for r in rows.values())
    linf = "linf@0.1"
    checks = [
        ("four variants train in < 15 min", total < 900, f"{total:.0f} s"),
        ("standard clean >= 91%", rows["standard"]["clean"] >= 0.91, rows["standard"]["clean"]),
        ("vone clean >= 88%", rows["vone"]["clean"] >= 0.88, rows["vone"]["clean"]),
        ("adversarial clean >= 80%", rows["adversarial"]["clean"] >= 0.80, rows["adversarial"]["clean"]),
        ("standard L-inf 0.1 <= 10%", rows["standard"][linf] <= 0.10, rows["standard"][linf]),
        ("adversarial L-inf 0.1 >= 65%", rows["adversarial"][linf] >= 0.65, rows["adversarial"][linf]),
        ("vone L-inf 0.1 > standard", rows["vone"][linf] > rows["standard"][linf], rows["vone"][linf]),
        ("vone L-inf 0.1 > vone_nonoise", rows["vone"][linf] > rows["vone_nonoise"][linf],
         rows["vone_nonoise"][linf]),
    ]  # fmt: skip
    print()
    for name, ok, value in checks:
        shown = f"{value:.3f}" if isinstance(value, float) else value
        print(f"{'PASS' if ok else 'FAIL'}  {name}  ({shown})")


if __name__ == "__main__":
    main()
