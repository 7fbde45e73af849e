"""Geometry tables in the schema of the study's companion code, to lay our numbers beside theirs.

chung-neuroai-lab/adversarial-manifolds writes one CSV row per manifold with the columns
``cap, dim, rad, mean_cap, center_corr, K, EVD90, PR, P, M, N, layer, seed, model, manifold_type, eps,
eps_step, max_iter, random``: ``cap``/``dim``/``rad`` of the manifold, and per layer (the same in every
row of a layer) the aggregate capacity ``mean_cap``, the center correlation, the number ``K`` of removed
center directions, EVD90 and the participation ratio of all the layer's points, the sizes P, M, N and
the attack (strength ``eps``, step ``eps_step``, steps ``max_iter``, ``random`` for the random-direction
control). Our measurement tables (:func:`advgeom.analysis.measurements.manifold_geometry`) hold one row
per layer with the aggregate values, so :func:`to_reference_schema` writes one row per layer, with the
layer means of capacity, dimension and radius in ``cap``/``dim``/``rad``.
"""

from __future__ import annotations

import pandas as pd

REFERENCE_COLUMNS = (
    "cap", "dim", "rad", "mean_cap", "center_corr", "K", "EVD90", "PR", "P", "M", "N", "layer", "seed", "model",
    "manifold_type", "eps", "eps_step", "max_iter", "random",
)  # fmt: skip
_NEEDED = ("capacity", "dimension", "radius", "center_correlation", "K", "PR", "EVD90", "P", "M", "N", "layer",
           "seed", "manifold", "eps", "attack_steps", "perturbation")  # fmt: skip


def to_reference_schema(frame: pd.DataFrame, model: str | None = None) -> pd.DataFrame:
    """A measurement table (``kind="manifolds"``, one row per layer) in the companion code's CSV columns.

    ``model`` names the network when ``frame`` has no ``model`` column. The PGD step is the protocol's
    ``eps / 4``; ``max_iter`` its steps; ``random`` is True for the random-perturbation control.
    """
    missing = [c for c in _NEEDED if c not in frame]
    if missing:
        raise ValueError(f"not a geometry measurement table: it lacks the columns {missing}")
    if "model" not in frame and model is None:
        raise ValueError("the table has no 'model' column: pass model= the network's name")
    out = pd.DataFrame({
        "cap": frame["capacity"], "dim": frame["dimension"], "rad": frame["radius"], "mean_cap": frame["capacity"],
        "center_corr": frame["center_correlation"], "K": frame["K"].astype(int), "EVD90": frame["EVD90"],
        "PR": frame["PR"], "P": frame["P"], "M": frame["M"], "N": frame["N"], "layer": frame["layer"],
        "seed": frame["seed"], "model": frame["model"] if "model" in frame else model,
        "manifold_type": frame["manifold"], "eps": frame["eps"], "eps_step": frame["eps"] / 4,
        "max_iter": frame["attack_steps"], "random": frame["perturbation"] == "random",
    })  # fmt: skip
    return out[list(REFERENCE_COLUMNS)].reset_index(drop=True)
