"""Measure manifolds layer by layer: MFTMA geometry, and the overlap of clean and adversarial exemplars.

Dapello, Feather et al. (NeurIPS 2021), section 3: perturb the inputs as a :class:`Protocol`
says, read out every layer, randomly project wide layers to a fixed width, and measure the
manifolds with MFTMA (:func:`advgeom.geometry.manifold_analysis`). Two measurements:

* ``kind="manifolds"`` (:func:`manifold_geometry`): capacity, radius, dimension and center
  correlation of the protocol's class or exemplar manifolds;
* ``kind="overlap"`` (:func:`overlap_geometry`): per image, how far its clean and adversarial
  exemplar manifolds overlap.

:func:`measure` is the one cached entry point for both (also used by the distributed sweeps of
:mod:`advgeom.analysis.sweep`): a result is stored under ``cache_dir()/measure`` as a checked cache
entry (:mod:`advgeom.cache`) keyed by the model's content fingerprint, the inputs' digest, the
protocol and the layers, and is returned as read back, so a fresh and a cached result are
identical. A table read back must also have exactly the columns of its kind, the layers asked for
and finite metrics (:func:`check_measurement`); one that does not is set aside and recomputed.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from advgeom.analysis.manifolds import random_projection, representations, split_by_label, split_exemplars
from advgeom.analysis.protocol import Protocol, attack_steps_for, perturb, with_protocol_columns
from advgeom.cache import cache_path, load_entry, write_entry
from advgeom.checks import check_choice
from advgeom.fingerprint import model_fingerprint, tensor_digest
from advgeom.geometry import centroid_overlap, manifold_analysis
from advgeom.geometry.spectrum import spectrum_of_manifolds
from advgeom.models.representations import layer_names

KINDS = ("manifolds", "overlap")
METRICS = ("capacity", "radius", "dimension", "center_correlation", "K")
STANDARD_ERRORS = ("capacity_se", "radius_se", "dimension_se")  # over MFTMA's Gaussian samples
SPECTRUM = ("PR", "EVD90")  # participation ratio and EVD90 of all the layer's points (advgeom.geometry.spectrum)
SIZES = ("P", "M", "N")  # manifolds, points per manifold (the smallest), features
OVERLAP_METRICS = ("pair_capacity", "overlap", "pair_capacity_se", "overlap_se")  # se: over MFTMA samples; images
# 6: stochastic models attacked to their last iterate; 5: checked cache entries (checksum, key, columns, finite
# metrics) with standard errors, PR, EVD90, P, M, N;
# 4: standard errors without the checked entry; 3: one cache for both kinds, keyed by the model's content
# fingerprint (format 2 keyed by checkpoint name)
MEASURE_FORMAT = 6


def manifold_geometry(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    protocol: Protocol,
    layers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """MFTMA capacity, radius, dimension and center correlation of the protocol's manifolds, one row per layer.

    ``x, y``: for class manifolds, P classes x M images (grouped by class or not); for exemplar
    manifolds, the P images. Each layer is randomly projected to ``protocol.width`` when wider.
    Besides the metrics, each row holds their standard errors over MFTMA's Gaussian samples
    (``*_se``), the participation ratio and EVD90 of all the layer's points (``PR``, ``EVD90``) and
    the sizes ``P`` (manifolds), ``M`` (points per manifold; the smallest) and ``N`` (features).
    """
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} labels")
    layers = layer_names(model) if layers is None else list(layers)
    inputs = perturb(model, x, y, protocol)
    reps = representations(model, inputs, layers, protocol.seed)
    rows = []
    for i, layer in enumerate(layers):
        feats = random_projection(reps[layer], protocol.width, seed=protocol.seed * 1000 + i)
        if protocol.manifold == "class":
            manifolds = split_by_label(feats, y.numpy())
        else:
            manifolds = split_exemplars(feats, len(x))
        res = manifold_analysis(manifolds, kappa=protocol.kappa, n_t=protocol.n_t, seed=protocol.seed)
        spectrum = spectrum_of_manifolds(manifolds)
        rows.append({
            "layer": layer, "depth": i, **{m: float(getattr(res, m)) for m in METRICS + STANDARD_ERRORS},
            "PR": spectrum.PR, "EVD90": spectrum.EVD90, "P": len(manifolds),
            "M": min(len(m) for m in manifolds), "N": feats.shape[1],
        })  # fmt: skip
    return with_protocol_columns(pd.DataFrame(rows), protocol)


def overlap_geometry(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    protocol: Protocol,
    layers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Overlap of each image's clean and adversarial exemplar manifolds, one row per layer.

    For every image, the clean manifold is ``protocol.repeats`` passes of the clean image (fresh
    noise in a stochastic net; a point otherwise) and the adversarial manifold ``repeats``
    random-start attacks at ``protocol.eps``. Per layer we report the MFTMA capacity of the pair
    (clean vs adversarial of the same image; lower = harder to tell apart), averaged over images,
    and :func:`~advgeom.geometry.centroid_overlap`, averaged over images, with their standard errors
    (``pair_capacity_se`` over MFTMA's samples, ``overlap_se`` over the images).
    """
    if protocol.manifold != "exemplar":
        raise ValueError(f"overlap compares exemplar manifolds; got manifold={protocol.manifold!r}")
    layers = layer_names(model) if layers is None else list(layers)
    clean_in = perturb(model, x, y, replace(protocol, eps=0.0))
    adv_in = perturb(model, x, y, protocol)
    reps = representations(model, torch.cat([clean_in, adv_in]), layers, protocol.seed)
    n, m = len(x), protocol.repeats
    rows = []
    for i, layer in enumerate(layers):
        feats = random_projection(reps[layer], protocol.width, seed=protocol.seed * 1000 + i)
        clean, adv = split_exemplars(feats[: n * m], n), split_exemplars(feats[n * m :], n)
        pairs = [
            manifold_analysis([c, a], kappa=protocol.kappa, n_t=protocol.n_t, seed=protocol.seed)
            for c, a in zip(clean, adv, strict=True)
        ]
        overlap = [centroid_overlap(c, a) for c, a in zip(clean, adv, strict=True)]
        se = np.sqrt(np.sum([p.capacity_se**2 for p in pairs])) / len(pairs)
        overlap_se = np.std(overlap, ddof=1) / np.sqrt(len(overlap)) if len(overlap) > 1 else float("nan")
        rows.append({"layer": layer, "depth": i, "pair_capacity": float(np.mean([p.capacity for p in pairs])),
                     "overlap": float(np.mean(overlap)), "pair_capacity_se": float(se),
                     "overlap_se": float(overlap_se)})  # fmt: skip
    return with_protocol_columns(pd.DataFrame(rows), protocol)


MEASUREMENTS = {"manifolds": manifold_geometry, "overlap": overlap_geometry}


def measure_key(
    model_id: str, x: torch.Tensor, y: torch.Tensor, protocol: Protocol, layers: Sequence[str] | None, kind: str
) -> dict:
    """Everything that shapes a measurement: its kind, the model's fingerprint, the inputs, protocol and layers."""
    return {
        "format": MEASURE_FORMAT,
        "kind": check_choice("kind", kind, KINDS),
        "model": model_id,
        "inputs": tensor_digest(x, y),
        "protocol": protocol.key(),
        "layers": None if layers is None else list(layers),
    }


def measure_path(key: Mapping) -> Path:
    """The cache file of a measurement with this :func:`measure_key`."""
    return cache_path("measure", key, ".csv")


def parse_measurement(source: Any) -> pd.DataFrame:
    """A measurement table from CSV (a path or a file-like object), with exact floats and ``eot`` None restored."""
    # exact float round trip: pandas >= 3 by default, older pandas only when asked
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    frame = pd.read_csv(source, **exact)
    if frame.empty or "layer" not in frame or "depth" not in frame:
        raise ValueError("not a measurement table")
    if "eot" in frame:
        frame["eot"] = frame["eot"].astype(object).where(frame["eot"].notna(), None)
    if "bounds" in frame:
        frame["bounds"] = frame["bounds"].astype(str)
    return frame


def _metrics(kind: str) -> tuple[str, ...]:
    if check_choice("kind", kind, KINDS) == "manifolds":
        return METRICS + STANDARD_ERRORS + SPECTRUM + SIZES
    return OVERLAP_METRICS


def measurement_columns(kind: str) -> list[str]:
    """The columns of a ``kind`` measurement table: layer, depth, the metrics, then every protocol field."""
    return ["layer", "depth", *_metrics(kind), *(f.name for f in fields(Protocol))]


def check_measurement(
    frame: pd.DataFrame, kind: str, protocol: Protocol, layers: Sequence[str] | None = None
) -> pd.DataFrame:
    """``frame`` if it is a whole ``kind`` table measured with ``protocol``: exactly its columns, one row per layer
    (``layers`` when given) with depths 0, 1, ..., finite metrics and the protocol's values in its columns; else
    ValueError saying what is wrong."""
    expected = measurement_columns(kind)
    if list(frame.columns) != expected:
        missing, extra = sorted(set(expected) - set(frame)), sorted(set(frame) - set(expected))
        raise ValueError(f"its columns are not those of a {kind!r} table (missing {missing}, unexpected {extra})")
    if layers is not None and list(frame["layer"]) != list(layers):
        raise ValueError(f"it holds the layers {list(frame['layer'])}, not {list(layers)}")
    if list(frame["depth"]) != list(range(len(frame))):
        raise ValueError("its depths are not 0, 1, 2, ... (rows missing or out of order)")
    metrics = frame[list(_metrics(kind))]
    values = metrics.to_numpy(dtype=float, na_value=np.nan)
    # a standard error may be undefined (NaN: one image, one sample), never infinite
    undefined = np.isnan(values) & np.array([c.endswith("_se") for c in metrics.columns])
    finite = np.isfinite(values) | undefined
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise ValueError(f"its {metrics.columns[col]} at layer {frame['layer'].iloc[row]!r} is not a finite number")
    columns = expected[2 + len(metrics.columns) :]
    if frame[columns].to_csv(index=False) != with_protocol_columns(pd.DataFrame(index=frame.index), protocol).to_csv(
        index=False
    ):
        raise ValueError("its protocol columns do not hold the protocol it was measured with")
    return frame


def encode_measurement(frame: pd.DataFrame) -> bytes:
    """A measurement table as its cache payload (CSV)."""
    return frame.to_csv(index=False).encode()


def decode_measurement(
    payload: bytes, kind: str, protocol: Protocol, layers: Sequence[str] | None = None
) -> pd.DataFrame:
    """A measurement table from its cache payload, checked (:func:`check_measurement`)."""
    return check_measurement(parse_measurement(io.BytesIO(payload)), kind, protocol, layers)


def as_stored(
    frame: pd.DataFrame, kind: str, protocol: Protocol, layers: Sequence[str] | None = None
) -> pd.DataFrame:
    """``frame`` as it reads back from the cache (the same values and column types, checked, without a file)."""
    return decode_measurement(encode_measurement(frame), kind, protocol, layers)


def _decoder(key: Mapping) -> Any:
    """The payload decoder of the entry of :func:`measure_key` ``key``."""
    protocol = Protocol(**key["protocol"])
    return lambda payload: decode_measurement(payload, key["kind"], protocol, key["layers"])


def read_measurement(key: Mapping) -> pd.DataFrame | None:
    """The cached table of :func:`measure_key` ``key``, or None when missing or damaged (then set aside, with a
    warning naming the file and the reason; see :func:`advgeom.cache.load_entry`)."""
    return load_entry(measure_path(key), key, _decoder(key))


def store_measurement(frame: pd.DataFrame, key: Mapping) -> pd.DataFrame:
    """Write ``frame`` as the entry of ``key`` (atomically) and return it as read back (fresh and cached results
    are identical); a table that fails :func:`check_measurement` raises instead of being stored."""
    payload = encode_measurement(frame)
    stored = _decoder(key)(payload)
    write_entry(measure_path(key), key, payload)
    return stored


def measure(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    protocol: Protocol,
    layers: Sequence[str] | None = None,
    *,
    kind: str = "manifolds",
    cache: bool = True,
) -> pd.DataFrame:
    """:func:`manifold_geometry` (``kind="manifolds"``) or :func:`overlap_geometry` (``kind="overlap"``), cached.

    The cache key is :func:`measure_key`: the model by its content
    (:func:`advgeom.fingerprint.model_fingerprint`: weights, buffers and noise settings), the
    inputs by their bytes, every protocol field and the layers. ``cache=False`` computes and
    writes nothing, and returns the result as it would have read back (:func:`as_stored`).
    """
    if not cache:
        frame = MEASUREMENTS[check_choice("kind", kind, KINDS)](model, x, y, protocol, layers)
        return as_stored(frame, kind, protocol, layers)
    key = measure_key(model_fingerprint(model), x, y, protocol, layers, kind)
    cached = read_measurement(key)
    if cached is not None:
        return cached
    return store_measurement(MEASUREMENTS[kind](model, x, y, protocol, layers), key)


def measure_grid(
    models: Mapping[str, nn.Module],
    inputs: Mapping[int, tuple[torch.Tensor, torch.Tensor]],
    protocols: Sequence[Protocol],
    *,
    kind: str = "manifolds",
    layers: Sequence[str] | None = None,
    deterministic_steps: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """:func:`measure` for every model, protocol and seed in this process; one row per (model, protocol, seed, layer).

    ``inputs`` maps a seed to the (x, y) used with that seed (the same images for every model);
    each protocol is run with ``seed`` replaced by each key of ``inputs``. A ``model`` column
    holds the keys of ``models``. ``deterministic_steps`` replaces the protocols' ``attack_steps`` for
    deterministic models (:func:`~advgeom.analysis.protocol.attack_steps_for`). The rows come in the order
    model, protocol, seed; they are computed seed by seed (a seed's projection matrices, shared by its
    networks and protocols, are drawn once: :func:`~advgeom.analysis.manifolds.projection_matrix`).
    """
    from tqdm import tqdm

    check_choice("kind", kind, KINDS)
    jobs = [
        (name, replace(p, seed=seed, attack_steps=attack_steps_for(models[name], p.attack_steps, deterministic_steps)))
        for name in models
        for p in protocols
        for seed in inputs
    ]
    seed_rank = {seed: i for i, seed in enumerate(inputs)}
    frames: dict[int, pd.DataFrame] = {}
    order = sorted(range(len(jobs)), key=lambda j: seed_rank[jobs[j][1].seed])  # stable: model, protocol within
    for j in tqdm(order, desc=f"measure {kind}", disable=not progress):
        name, protocol = jobs[j]
        x, y = inputs[protocol.seed]
        frame = measure(models[name], x, y, protocol, layers, kind=kind)
        frame.insert(0, "model", name)
        frames[j] = frame
    return pd.concat([frames[j] for j in range(len(jobs))], ignore_index=True)
