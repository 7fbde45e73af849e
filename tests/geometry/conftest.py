"""Geometry tests run single-threaded BLAS: their matrices are small, and on a shared machine
multi-threaded BLAS is slower by integer factors (oversubscription)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="module")
def _single_thread_blas() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is in the test extra
        yield
        return
    import numpy  # noqa: F401  (load BLAS so the limit applies to it)

    with threadpool_limits(limits=1):
        yield
