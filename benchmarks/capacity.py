"""Benchmark of manifold_analysis on one core: where the time goes, and its ratio to the frame floor.

Two kinds of data at the companion notebook's sizes (P=50, M=50, N=2000, n_t=200):

- ``clouds``: small Gaussian clouds around distinct centers (norm ~1, RMS radius 0.3), independent or
  with a shared rank-3 center component; most Gaussian samples have ``F = 0`` or one active point;
- ``gaussian``: the reference implementation's README example, P arrays ``randn(M, N)``; the cone
  projections are hard there (capacity ~0.04, some 25 active points per sample).

For each case it prints the best CPU time of the analysis (nnls backend) over ``--repeats`` runs, the
split over its stages (center-correlation search; per-manifold frames; cone projections; the rest:
input conversion, global centering, sampling, statistics), and the ratio to the FLOOR measured in the same
run on the same data: one thin SVD per centered manifold, the frame computation every exact method must
do (target: within 2x). Exactness: every per-sample ``F`` and anchor is compared with scipy's
Lawson-Hanson NNLS, and (P=50, unless ``--skip-cvxpy``) the capacity with the cvxpy reference backend.
Then P=100, N=5000 clouds. Run: ``python benchmarks/capacity.py``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: single-threaded BLAS

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402


def random_manifolds(P: int, M: int, N: int, *, shared: int = 0, seed: int = 0) -> list[np.ndarray]:
    """P full-rank Gaussian clouds of M float32 points in N dims: centers ``N(0, I/N)`` (norm ~1) plus,
    if ``shared > 0``, a shared rank-``shared`` center component (what the center-correlation
    removal is for); deviations ``N(0, 0.3^2 I/N)``."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((P, N)) / np.sqrt(N)
    if shared:
        centers += 2.0 * rng.standard_normal((P, shared)) @ rng.standard_normal((shared, N)) / np.sqrt(N)
    return [(c + 0.3 * rng.standard_normal((M, N)) / np.sqrt(N)).astype(np.float32) for c in centers]


def gaussian_manifolds(P: int, M: int, N: int, *, seed: int = 0) -> list[np.ndarray]:
    """The reference code's README example: P manifolds of M points, every coordinate ``N(0, 1)``."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((M, N)) for _ in range(P)]


def frame_floor(manifolds: list[np.ndarray]) -> None:
    """The floor: a thin SVD of every centered manifold (in float64, as the analysis works)."""
    for m in manifolds:
        a = np.asarray(m, dtype=np.float64)
        np.linalg.svd(a - a.mean(axis=0), full_matrices=False)


def best_cpu(fns: dict[str, Callable[[], Any]], repeats: int) -> tuple[dict[str, float], dict[str, Any]]:
    """Best CPU (process) time of each function over ``repeats`` rounds, run in turn within each round
    so that they share the machine's load; and each one's last result. Single-threaded, CPU time is
    what the wall time would be on an otherwise idle core."""
    best = dict.fromkeys(fns, np.inf)
    out: dict[str, Any] = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            c0 = time.process_time()
            out[name] = fn()
            best[name] = min(best[name], time.process_time() - c0)
    return best, out


@contextmanager
def stage_timer(module: Any, names: dict[str, str]) -> Iterator[tuple[dict[str, float], list[tuple]]]:
    """Wrap ``module``'s functions (attribute -> stage label) to add up their CPU time per stage; the cone
    projection's inputs ``(S, T, kappa)`` are recorded too (for the exactness check)."""
    spent = dict.fromkeys(names.values(), 0.0)
    calls: list[tuple] = []
    saved = {attr: getattr(module, attr) for attr in names}

    def wrap(attr: str, fn: Callable) -> Callable:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if attr == "solve_cone":
                calls.append(tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args[:3]))
            c0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[names[attr]] += time.process_time() - c0

        return timed

    for attr, fn in saved.items():
        setattr(module, attr, wrap(attr, fn))
    try:
        yield spent, calls
    finally:
        for attr, fn in saved.items():
            setattr(module, attr, fn)


def nnls_check(calls: list[tuple]) -> tuple[float, float]:
    """Largest |F - F_scipy| / (1 + F_scipy) and largest anchor difference over every sample of every manifold."""
    from scipy.optimize import nnls

    from advgeom.geometry.cone import solve_cone

    worst_F = worst_anchor = 0.0
    for S, T, kappa in calls:
        F, anchors = solve_cone(S, T, kappa)
        x = T.copy()
        x[:, -1] += kappa
        for k in range(T.shape[0]):
            lam, _ = nnls(S, x[k], maxiter=50 * S.shape[1] + 100)
            p = S @ lam
            worst_F = max(worst_F, abs(F[k] - p @ p) / (1.0 + p @ p))
            if lam.sum() > 0:
                worst_anchor = max(worst_anchor, float(np.max(np.abs(anchors[k] - p / lam.sum()))))
    return worst_F, worst_anchor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="timing rounds (the best is reported)")
    parser.add_argument("--skip-cvxpy", action="store_true", help="do not run the (slow) cvxpy backend")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from advgeom.geometry import manifold_analysis, mftma

    try:  # belt and braces: also cap BLAS pools that ignore the environment variables
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
    except ImportError:
        pass

    stages = {"find_center_subspace": "center search", "_frame": "frames", "solve_cone": "cone projections"}
    cases = [
        ("clouds, independent centers", random_manifolds(50, 50, 2000)),
        ("clouds, shared rank-3 centers", random_manifolds(50, 50, 2000, shared=3)),
        ("gaussian (reference README)", gaussian_manifolds(50, 50, 2000)),
        ("clouds, independent centers", random_manifolds(100, 50, 5000)),
        ("clouds, shared rank-3 centers", random_manifolds(100, 50, 5000, shared=3)),
    ]
    for kind, X in cases:
        P, (M, N) = len(X), X[0].shape
        analysis = lambda X=X: manifold_analysis(X, kappa=0.0, n_t=200, seed=0, backend="nnls")  # noqa: E731
        cpu, out = best_cpu({"analysis": analysis, "floor": lambda X=X: frame_floor(X)}, args.repeats)
        res = out["analysis"]
        with stage_timer(mftma, stages) as (spent, calls):
            c0 = time.process_time()
            analysis()
            total = time.process_time() - c0
        split = ", ".join(f"{k} {v / total:.0%}" for k, v in spent.items())
        print(
            f"P={P} M={M} N={N} n_t=200, {kind}: analysis {cpu['analysis']:.3f} s cpu, floor (SVD per manifold) "
            f"{cpu['floor']:.3f} s, ratio {cpu['analysis'] / cpu['floor']:.2f} (target <= 2; best of {args.repeats})\n"
            f"    time split: {split}, other {1 - sum(spent.values()) / total:.0%}\n"
            f"    capacity {res.capacity:.4f} +- {res.capacity_se:.4f}, R {res.radius:.4f}, D {res.dimension:.2f}, "
            f"K {res.K}, center corr {res.center_correlation:.3f} -> {res.residual_correlation:.3f}",
            flush=True,
        )
        worst_F, worst_anchor = nnls_check(calls)
        print(
            f"    exactness on all {P * 200} samples vs scipy NNLS: max |F - F_nnls| / (1 + F_nnls) {worst_F:.1e}, "
            f"max anchor difference {worst_anchor:.1e}",
            flush=True,
        )
        if P == 50 and not args.skip_cvxpy:
            c0 = time.process_time()
            ref = manifold_analysis(X, kappa=0.0, n_t=200, seed=0, backend="cvxpy")
            c_cvx = time.process_time() - c0
            per = np.max(np.abs(ref.per_manifold.capacity / res.per_manifold.capacity - 1))
            print(
                f"    cvxpy (Clarabel, same input and samples): cpu {c_cvx:.2f} s (x{c_cvx / cpu['analysis']:.0f}); "
                f"|capacity difference| {abs(ref.capacity - res.capacity):.1e}, "
                f"largest per-manifold relative difference {per:.1e}",
                flush=True,
            )


if __name__ == "__main__":
    main()
