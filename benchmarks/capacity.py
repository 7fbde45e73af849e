"""Benchmark of manifold_analysis: nnls backend vs the cvxpy reference backend, single thread.

Random manifolds (Gaussian centers, each manifold a Gaussian cloud around its center), the
sizes of the companion notebook: P=50, M=50, N=2000, n_t=200 (both backends, same input and
samples), then P=100, M=50, N=5000 (nnls only); each with independent centers and with a shared
rank-3 center component. Run: ``python benchmarks/capacity.py``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: single-threaded BLAS

import argparse  # noqa: E402
import time  # noqa: E402

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


def timed(fn, repeats: int):
    """Best wall and CPU (process) time over ``repeats`` calls and the last result. Single-threaded,
    CPU time is what the wall time would be on an otherwise idle core."""
    wall, cpu, out = np.inf, np.inf, None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return wall, cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats for the nnls backend (best is reported)")
    parser.add_argument("--skip-cvxpy", action="store_true", help="do not time the (slow) cvxpy backend")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from advgeom.geometry import manifold_analysis

    try:  # belt and braces: also cap BLAS pools that ignore the environment variables
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
    except ImportError:
        pass

    cases = [(50, 50, 2000, 0), (50, 50, 2000, 3), (100, 50, 5000, 0), (100, 50, 5000, 3)]
    for P, M, N, shared in cases:
        X = random_manifolds(P, M, N, shared=shared)
        t_nnls, c_nnls, res = timed(
            lambda X=X: manifold_analysis(X, kappa=0.0, n_t=200, seed=0, backend="nnls"), args.repeats
        )
        kind = f"shared rank-{shared} centers" if shared else "independent centers"
        label = f"P={P} M={M} N={N} n_t=200 {kind}"
        print(
            f"{label}: nnls wall {t_nnls:.3f} s, cpu {c_nnls:.3f} s (best of {args.repeats}); "
            f"capacity {res.capacity:.4f} +- "
            f"{res.capacity_se:.4f}, R {res.radius:.4f}, D {res.dimension:.2f}, K {res.K}, "
            f"center corr {res.center_correlation:.3f} -> {res.residual_correlation:.3f}",
            flush=True,
        )
        if P == 50 and not args.skip_cvxpy:
            t_cvx, c_cvx, ref = timed(lambda X=X: manifold_analysis(X, kappa=0.0, n_t=200, seed=0, backend="cvxpy"), 1)
            print(
                f"    cvxpy (Clarabel, same input and samples): wall {t_cvx:.2f} s, cpu {c_cvx:.2f} s; "
                f"speedup x{t_cvx / t_nnls:.0f} (wall), x{c_cvx / c_nnls:.0f} (cpu); "
                f"|capacity difference| {abs(ref.capacity - res.capacity):.1e}",
                flush=True,
            )


if __name__ == "__main__":
    main()
