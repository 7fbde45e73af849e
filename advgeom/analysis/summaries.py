"""Summaries of measurement tables and the checks of the findings that several chapters share.

The findings of Dapello, Feather et al. (NeurIPS 2021) that hold for vision and hearing alike are
checked by one function each, so the chapters assert the same thing in the same way:

* :func:`assert_points` / :func:`assert_extended`: a deterministic network maps the copies of a
  clean input to one point (radius 0, capacity 2, the Gardner value); a stochastic one gives
  them extent from its noise stage on (radius > 0, capacity < 2);
* :func:`assert_untangling`: class capacity at the last layer exceeds that at the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

GEOMETRY_METRICS = ("capacity", "radius", "dimension", "center_correlation")
SEED_KEYS = ("model", "perturbation", "eps", "depth", "layer")
POINT_RADIUS = 1e-3  # below this an exemplar manifold is a point (float noise of a deterministic network)


def median_over_seeds(
    frame: pd.DataFrame, metrics: Sequence[str] = GEOMETRY_METRICS, by: Sequence[str] = SEED_KEYS
) -> pd.DataFrame:
    """Median of each of ``metrics`` over seeds, per group of ``by`` (default: model, perturbation, eps, layer)."""
    return frame.groupby(list(by), as_index=False)[list(metrics)].median()


def late_layers(frame: pd.DataFrame, n: int = 2) -> list[int]:
    """The depths of the last ``n`` layers in ``frame`` (where a network's decision is made)."""
    return sorted(frame.depth.unique())[-n:]


def late_mean(frame: pd.DataFrame, model: str, eps: float, metric: str, n: int = 2) -> float:
    """Mean over the last ``n`` layers of ``metric`` for one model and eps (rows of a per-layer table)."""
    rows = frame[(frame.model == model) & np.isclose(frame.eps, eps) & frame.depth.isin(late_layers(frame, n))]
    return float(rows[metric].mean())


def assert_points(frame: pd.DataFrame, models: Iterable[str], margin: float) -> None:
    """Every row of ``models`` in ``frame`` (exemplar manifolds of clean inputs) is a point manifold.

    Radius below :data:`POINT_RADIUS` and capacity within ``margin`` of 2 (the capacity of points).
    """
    for name in models:
        rows = frame[frame.model == name]
        assert len(rows), f"{name}: no rows to check"
        assert (rows.radius < POINT_RADIUS).all(), f"{name}: clean exemplar manifolds should be points\n{rows}"
        assert (rows.capacity > 2 - margin).all(), f"{name}: point manifolds have capacity 2\n{rows}"


def assert_extended(frame: pd.DataFrame, models: Iterable[str], margin: float) -> None:
    """Every row of ``models`` in ``frame`` has extent: radius above ``margin``, capacity below ``2 - margin``."""
    for name in models:
        rows = frame[frame.model == name]
        assert len(rows), f"{name}: no rows to check"
        assert (rows.radius > margin).all(), f"{name}: noise should give clean exemplar manifolds extent\n{rows}"
        assert (rows.capacity < 2 - margin).all(), f"{name}: noisy manifolds have capacity < 2\n{rows}"


def untangling(frame: pd.DataFrame) -> pd.DataFrame:
    """Class capacity at the first and the last layer of each model (rows of a clean class-manifold table).

    Columns ``first``, ``last`` and ``gain`` (last minus first), indexed by model.
    """
    table = frame.pivot_table(index="model", columns="depth", values="capacity")
    first, last = table[table.columns.min()], table[table.columns.max()]
    return pd.DataFrame({"first": first, "last": last, "gain": last - first})


def assert_untangling(frame: pd.DataFrame, models: Iterable[str], margin: float) -> pd.DataFrame:
    """Class capacity rises from the input to the last layer by more than ``margin`` for every model; returns
    :func:`untangling` of ``frame``."""
    table = untangling(frame)
    for name in models:
        gain = table.loc[name, "gain"]
        assert gain > margin, f"{name}: class capacity should rise from the input to the last layer ({gain:+.3f})"
    return table
