"""Validation of manifold inputs: a sequence of P real arrays of shape (M_i, N), points as rows."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import numpy as np

__all__ = ["as_manifolds", "single_blas_thread"]

P = ParamSpec("P")
R = TypeVar("R")


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach") and hasattr(x, "cpu") and hasattr(x, "dtype"):  # torch tensor, without importing torch
        x = x.detach().cpu()
        kind = str(x.dtype)
        if x.is_complex():
            raise TypeError("complex")
        if kind == "torch.bool":
            return np.asarray(x.numpy())
        return x.double().numpy()  # also covers float16/bfloat16, which numpy cannot take directly
    return np.asarray(x)


def as_manifolds(manifolds: Sequence[Any], *, min_points: int = 2, min_manifolds: int = 2) -> list[np.ndarray]:
    """Return the manifolds as float64 arrays (M_i, N), or raise ValueError naming the problem.

    Accepted: a sequence of numpy arrays, torch tensors or nested lists of real numbers, or one
    stacked (P, M, N) array or tensor; bool, complex, object and string dtypes are rejected. All
    2-D with the same N, finite, with at least ``min_points`` rows each; at least ``min_manifolds``.
    """
    if getattr(manifolds, "ndim", None) == 3:  # a stacked (P, M, N) numpy array or torch tensor
        manifolds = list(manifolds)
    if not isinstance(manifolds, Sequence) or isinstance(manifolds, (str, bytes)):
        got = type(manifolds).__name__
        if hasattr(manifolds, "ndim"):
            got += f" with ndim={manifolds.ndim}"
        raise ValueError(
            f"manifolds must be a sequence (list/tuple) of 2-D arrays of shape (M_i, N) or one stacked "
            f"(P, M, N) array, got {got}"
        )
    if len(manifolds) < min_manifolds:
        raise ValueError(f"need at least {min_manifolds} manifolds, got {len(manifolds)}")
    out: list[np.ndarray] = []
    N = None
    for i, m in enumerate(manifolds):
        try:
            a = _to_numpy(m)
        except TypeError:
            raise ValueError(f"manifold {i} has a complex dtype; only real numbers are allowed") from None
        except Exception as err:
            raise ValueError(f"manifold {i} could not be read as a numeric array: {err}") from None
        if a.dtype == bool or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
            kind = "complex" if np.issubdtype(a.dtype, np.complexfloating) else str(a.dtype)
            raise ValueError(f"manifold {i} has dtype {kind}; only real integer or floating-point numbers are allowed")
        if a.ndim != 2:
            raise ValueError(f"manifold {i} must be 2-D (M_i points x N features), got ndim={a.ndim} shape {a.shape}")
        if a.shape[0] < min_points:
            raise ValueError(f"manifold {i} has {a.shape[0]} point(s); at least {min_points} are needed")
        if a.shape[1] < 1:
            raise ValueError(f"manifold {i} has N=0 features")
        if N is None:
            N = a.shape[1]
        elif a.shape[1] != N:
            raise ValueError(f"manifold {i} has N={a.shape[1]} features but manifold 0 has N={N}; all must match")
        a = np.asarray(a, dtype=np.float64)
        if not np.all(np.isfinite(a)):
            bad = "NaN" if np.isnan(a).any() else "inf"
            raise ValueError(f"manifold {i} contains {bad} values; all values must be finite")
        out.append(a)
    return out


def single_blas_thread(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` with BLAS limited to one thread.

    The solver works on many small matrices (eigh of M x M Grams, NNLS of D x M systems), where
    threading only costs: on a busy 2-core machine an 80 x 80 ``eigh`` was ~200x slower with 2
    OpenBLAS threads than with one.
    """
    from threadpoolctl import threadpool_limits

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with threadpool_limits(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper
