"""Assemble class and exemplar manifolds from layer representations.

Follows the protocol of Dapello, Feather et al. (NeurIPS 2021) and its companion notebook:

* **class manifolds**: P classes x M images; manifold i is the set of responses to the M
  (perturbed) images of class i;
* **exemplar manifolds**: P images x M perturbed versions each (random-start attacks and, for
  stochastic networks, fresh noise draws); manifold i is the set of responses to image i.

Layers wider than ``width`` are reduced by a Gaussian random projection (Johnson-Lindenstrauss),
the same matrix for every point of a layer, so relative geometry is kept up to O(1/sqrt(width)).
A layer's matrix depends only on its width, the target width and the seed, so the (read-only)
matrices are kept in a small in-process cache (:data:`PROJECTION_CACHE_BYTES`): every network of
an architecture and every protocol of a seed projects a layer with the same matrix, drawn once.
The read-out of a stochastic network draws its noise from a stream seeded by the protocol
(:func:`representations`), so a measurement never depends on what ran before it in the process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from advgeom.checks import check_int
from advgeom.device import model_device
from advgeom.models.noise import seeded_noise
from advgeom.models.representations import extract_representations

DRAW_SEED_OFFSET = 1_000_003  # representation draws: a stream apart from the attacks' (seed, seed + 1)
PROJECTION_CACHE_BYTES = 1 << 30
"""Most bytes of projection matrices kept for reuse (least recently used dropped first; 0 keeps none)."""

_projections: OrderedDict[tuple[int, int, int], np.ndarray] = OrderedDict()
_projections_lock = threading.Lock()


def representations(
    model: nn.Module, inputs: torch.Tensor, layers: Sequence[str], seed: int
) -> dict[str, torch.Tensor]:
    """:func:`~advgeom.models.extract_representations` with a stochastic model's noise draws seeded by ``seed``."""
    with seeded_noise(DRAW_SEED_OFFSET + seed, model_device(model)):
        return extract_representations(model, inputs, layers=layers)


def random_projection(features: torch.Tensor | np.ndarray, width: int, seed: int = 0) -> np.ndarray:
    """Project rows of ``features`` (n, N) to ``width`` dims with a seeded Gaussian matrix when N > width.

    The matrix has i.i.d. N(0, 1/width) entries, so squared norms are preserved in expectation.
    Narrow layers (N <= width) are returned unchanged (as float64).
    """
    width = check_int("width", width, minimum=1)
    x = features.detach().cpu().numpy() if isinstance(features, torch.Tensor) else np.asarray(features)
    x = x.reshape(x.shape[0], -1).astype(np.float64, copy=False)
    n_features = x.shape[1]
    if n_features <= width:
        return x
    return x @ projection_matrix(n_features, width, seed)


def projection_matrix(n_features: int, width: int, seed: int) -> np.ndarray:
    """The ``(n_features, width)`` matrix of :func:`random_projection`: i.i.d. ``N(0, 1/width)`` entries from
    ``numpy.random.default_rng(seed)``, read-only, drawn once and kept while it fits in
    :data:`PROJECTION_CACHE_BYTES` (a few layers of a network at the book's widths)."""
    key = (int(n_features), int(width), int(seed))
    with _projections_lock:
        if key in _projections:
            _projections.move_to_end(key)
            return _projections[key]
    matrix = np.random.default_rng(seed).standard_normal((n_features, width)) / np.sqrt(width)
    matrix.setflags(write=False)
    with _projections_lock:
        _projections[key] = matrix
        while _projections and sum(m.nbytes for m in _projections.values()) > PROJECTION_CACHE_BYTES:
            _projections.popitem(last=False)
    return matrix


def split_by_label(features: np.ndarray, labels: Sequence[int] | np.ndarray) -> list[np.ndarray]:
    """Class manifolds: one (M_c, N) array of rows per distinct label, in sorted label order."""
    labels = np.asarray(labels)
    if len(labels) != len(features):
        raise ValueError(f"got {len(features)} feature rows but {len(labels)} labels")
    return [features[labels == c] for c in np.unique(labels)]


def split_exemplars(features: np.ndarray, n_exemplars: int) -> list[np.ndarray]:
    """Exemplar manifolds from rows ordered exemplar-major: rows [i*M:(i+1)*M] belong to exemplar i."""
    n_exemplars = check_int("n_exemplars", n_exemplars, minimum=1)
    if len(features) % n_exemplars:
        raise ValueError(f"{len(features)} rows cannot be split into {n_exemplars} equal exemplar manifolds")
    return list(features.reshape(n_exemplars, len(features) // n_exemplars, -1))
