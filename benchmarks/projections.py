"""Benchmark of the layer projections of one seed's geometry: each matrix drawn once, against drawn every time.

``advgeom.analysis.measurements.measure_grid`` projects every layer wider than ``width`` with a seeded
Gaussian matrix (``advgeom.analysis.manifolds.random_projection``). The matrix depends only on the layer's
width, the target width and the seed, so within one seed all the networks of an architecture and all the
protocols (clean, attack strengths, random control) use the same matrices. Chapter 01 at its classroom
preset measures, per seed, two architectures (standard and adversarial; vone and vone_nonoise) under four
protocols: each matrix is used eight times. This benchmark projects the read-outs of that pattern (a
VOne architecture's wide layers, 120 points) with the cache of projection matrices switched off (the
baseline: every call draws its matrix, as before the cache) and on, in the same run, checks that the
projected points are identical, and prints the ratio.

Run: ``python benchmarks/projections.py [--width 1000] [--uses 8]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from advgeom.analysis import manifolds
from advgeom.analysis.manifolds import random_projection

LAYER_WIDTHS = (12544, 12544, 3136, 3136, 1568, 1024)  # VOne net on 28 x 28: front, noise, bottleneck, blocks


def project_seed(points: list[np.ndarray], width: int, uses: int) -> tuple[float, list[np.ndarray]]:
    """Seconds to project every layer ``uses`` times (seed 0's layer seeds), and the last projections."""
    start = time.perf_counter()
    out: list[np.ndarray] = []
    for _ in range(uses):
        out = [random_projection(x, width, seed=i) for i, x in enumerate(points)]
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1000, help="projection width (chapter 01 classroom: 1000)")
    parser.add_argument("--uses", type=int, default=8, help="networks x protocols sharing a seed's matrices")
    parser.add_argument("--points", type=int, default=120, help="points per layer (10 classes x 12 images)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    points = [rng.standard_normal((args.points, n)).astype(np.float32) for n in LAYER_WIDTHS]
    budget = manifolds.PROJECTION_CACHE_BYTES
    manifolds.PROJECTION_CACHE_BYTES = 0
    manifolds._projections.clear()
    base, base_out = project_seed(points, args.width, args.uses)
    manifolds.PROJECTION_CACHE_BYTES = budget
    cached, cached_out = project_seed(points, args.width, args.uses)
    same = all(np.array_equal(a, b) for a, b in zip(base_out, cached_out, strict=True))
    print(
        f"{len(points)} layers x {args.uses} uses, {args.points} points, width {args.width}: drawn every time "
        f"{base:.2f} s, drawn once {cached:.2f} s, ratio {base / cached:.1f}x; identical projections: {same}"
    )


if __name__ == "__main__":
    main()
