"""Glue numbers with their intervals into a chapter's prose (myst-nb ``glue``), as plain numbers.

A number a chapter reports comes with its interval: :func:`glue_estimate` glues ``name`` (the value)
and ``name_half`` (the half-width of its interval), so the prose writes
``{glue:text}`name:.3f` ± {glue:text}`name_half:.3f``` and the landing page can paste either.
"""

from __future__ import annotations

from typing import Any


def glue_number(name: str, value: Any) -> None:
    """Glue ``value`` as a plain Python number (an int stays an int), not displayed where it is computed."""
    from myst_nb import glue

    number = int(value) if isinstance(value, (bool, int)) or getattr(value, "dtype", None) == "int64" else float(value)
    glue(name, number, display=False)


def glue_estimate(name: str, estimate: Any) -> None:
    """Glue an :class:`~advgeom.analysis.uncertainty.Estimate` as ``name`` (value) and ``name_half`` (half-width of
    its interval; NaN, printed as such, when there is nothing to estimate it from)."""
    glue_number(name, estimate.value)
    glue_number(f"{name}_half", float(estimate.half))
