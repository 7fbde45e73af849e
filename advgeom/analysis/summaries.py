"""Summaries of measurement tables and the checks of the findings that several chapters share.

Numbers are summarised over seeds with their intervals (:func:`over_seeds`: mean and t interval, or
the run's own standard error when there is one seed), and differences between conditions are paired
over the seeds that measured both (:func:`seed_difference`); :mod:`advgeom.analysis.uncertainty`
holds the interval arithmetic.

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

from advgeom.analysis.uncertainty import (
    LEVEL,
    Estimate,
    normal_interval,
    paired_interval,
    summarise_over_seeds,
    t_interval,
)

GEOMETRY_METRICS = ("capacity", "radius", "dimension", "center_correlation")
SEED_KEYS = ("model", "perturbation", "eps", "depth", "layer")
POINT_RADIUS = 1e-3  # below this an exemplar manifold is a point (float noise of a deterministic network)


def over_seeds(
    frame: pd.DataFrame, metrics: Sequence[str] = GEOMETRY_METRICS, by: Sequence[str] = SEED_KEYS, level: float = LEVEL
) -> pd.DataFrame:
    """Mean over seeds of each of ``metrics`` per group of ``by``, with ``<metric>_lo``, ``_hi``, ``_half``: the t
    interval over seeds, or with one seed the run's own standard error (columns ``<metric>_se`` when present)."""
    se = {m: f"{m}_se" for m in metrics if f"{m}_se" in frame}
    return summarise_over_seeds(frame, metrics, by, se=se, level=level)


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


def layer_values(
    frame: pd.DataFrame, model: str, eps: float, metric: str, depths: Iterable[int]
) -> pd.DataFrame:
    """Per seed, the mean of ``metric`` over the layers at ``depths`` (``value``) and its standard error (``se``,
    from the column ``<metric>_se`` when present, else NaN), for one model and eps of a per-layer, per-seed table."""
    depths = list(depths)
    rows = frame[(frame.model == model) & np.isclose(frame.eps, eps) & frame.depth.isin(depths)]
    if rows.empty:
        raise ValueError(f"no rows for model {model!r} at eps {eps!r} and depths {depths}")
    groups = rows.groupby("seed")
    out = pd.DataFrame({"value": groups[metric].mean()})
    se_col = f"{metric}_se"
    out["se"] = np.sqrt(groups[se_col].apply(lambda s: np.sum(s**2))) / groups.size() if se_col in rows else np.nan
    return out


def late_per_seed(frame: pd.DataFrame, model: str, eps: float, metric: str, n: int = 2) -> pd.DataFrame:
    """:func:`layer_values` over the last ``n`` layers of ``frame`` (where a network's decision is made)."""
    return layer_values(frame, model, eps, metric, late_layers(frame, n))


def seed_estimate(values: pd.DataFrame, level: float = LEVEL) -> Estimate:
    """The mean over seeds of a :func:`late_per_seed`-like table (``value``, ``se`` by seed) with its interval:
    a t interval over two or more seeds, else the normal interval of the single run's standard error."""
    if len(values) >= 2:
        return t_interval(values["value"].to_numpy(), level)
    return normal_interval(values["value"].iloc[0], values["se"].iloc[0], level)


def seed_difference(a: pd.DataFrame, b: pd.DataFrame, level: float = LEVEL) -> Estimate:
    """``a - b`` for two :func:`late_per_seed`-like tables: paired over their common seeds (two or more), or with one
    seed the difference of the two runs with the normal interval of their combined standard errors."""
    common = a.index.intersection(b.index)
    if len(common) == 0:
        raise ValueError("the two tables share no seed")
    a, b = a.loc[common], b.loc[common]
    if len(common) >= 2:
        return paired_interval(a["value"].to_numpy(), b["value"].to_numpy(), level)
    se = float(np.hypot(a["se"].iloc[0], b["se"].iloc[0]))
    return normal_interval(float(a["value"].iloc[0] - b["value"].iloc[0]), se, level)


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
