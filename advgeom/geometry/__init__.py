"""Manifold geometry: mean-field manifold capacity (MFTMA), its exact theory, and simulated capacity.

>>> from advgeom.geometry import manifold_analysis, simulated_capacity, theory
"""

from advgeom.geometry import theory
from advgeom.geometry.mftma import ManifoldAnalysis, PerManifold, manifold_analysis
from advgeom.geometry.overlap import centroid_overlap
from advgeom.geometry.simcap import SimulatedCapacity, simulated_capacity

__all__ = [
    "ManifoldAnalysis",
    "PerManifold",
    "SimulatedCapacity",
    "centroid_overlap",
    "manifold_analysis",
    "simulated_capacity",
    "theory",
]
