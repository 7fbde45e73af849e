"""One checkpoint format for every network trained here (vision zoo and word networks).

A checkpoint is a dict ``{"params", "state_dict", "history"}`` serialised with ``torch.save``
(:func:`checkpoint_bytes`) and stored as a checked cache entry (:mod:`advgeom.cache`: checksum, length
and key in its header) under ``cache_dir()/<folder>/<param_key(params)>.pt``, written atomically through
:func:`advgeom.cache.cached`: ``params`` holds every parameter that shapes the network (the key's
content, ``format`` = :data:`CHECKPOINT_FORMAT` included), ``state_dict`` the weights on the CPU and
``history`` the training history. On load (``weights_only=True``, :func:`read_checkpoint`) the entry
must pass its checks, hold all three keys, have been trained with exactly the requested parameters,
hold finite weights, no all-zero tensor where the untrained architecture has none, and fit the
architecture; else it is set aside and retrained, never used.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advgeom.cache import cache_path, cached, canonical_json, read_entry, write_entry

if TYPE_CHECKING:
    import torch
    from torch import nn

# 2: a checked cache entry, with weights checked for finiteness and zeros (1: a bare torch.save file)
CHECKPOINT_FORMAT = 2
CHECKPOINT_KEYS = ("params", "state_dict", "history")


def checkpoint_dict(params: Mapping[str, Any], net: nn.Module, history: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint of a trained ``net``: ``{"params", "state_dict" (detached, on the CPU), "history"}``."""
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    return {"params": params, "state_dict": state, "history": history}


def checkpoint_bytes(ckpt: dict[str, Any]) -> bytes:
    """A ``{"params", "state_dict", "history"}`` checkpoint serialised by ``torch.save`` (a cache payload)."""
    import torch

    buffer = io.BytesIO()
    torch.save(ckpt, buffer)
    return buffer.getvalue()


def read_checkpoint(payload: bytes, params: Mapping[str, Any], build: Callable[[], nn.Module]) -> dict[str, Any]:
    """The checkpoint serialised in ``payload`` (by :func:`checkpoint_bytes`), checked: a dict with
    ``params``, ``state_dict`` and ``history``, trained with exactly ``params``, its weights finite, no
    tensor all zero where ``build()``'s untrained one is not, and fitting ``build()``. Raises ``ValueError``
    (``RuntimeError`` for weights that do not fit) otherwise."""
    import torch

    ckpt = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise ValueError("it is not an advgeom model checkpoint")
    missing = [k for k in CHECKPOINT_KEYS if k not in ckpt]
    if missing:
        raise ValueError(f"the checkpoint lacks {missing}")
    if canonical_json(ckpt["params"]) != canonical_json(params):
        raise ValueError(f"it was trained with other parameters: {ckpt['params']} != {params}")
    net = build()
    untrained = net.state_dict()
    for name, value in ckpt["state_dict"].items():
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            continue
        if not torch.isfinite(value).all():
            raise ValueError(f"its weights {name!r} are not all finite")
        reference = untrained.get(name)
        if value.numel() and not value.any() and reference is not None and reference.any():
            raise ValueError(f"its weights {name!r} are all zero (the untrained network's are not)")
    net.load_state_dict(ckpt["state_dict"])  # raises if the weights do not fit
    return ckpt


def save_checkpoint(ckpt: dict[str, Any], path: Path) -> None:
    """Write a checkpoint to ``path`` as the checked cache entry of its ``params`` (atomically)."""
    write_entry(path, ckpt["params"], checkpoint_bytes(ckpt))


def load_checkpoint(path: Path, params: Mapping[str, Any], build: Callable[[], nn.Module]) -> dict[str, Any]:
    """Read the checkpoint entry at ``path`` written for ``params`` and check it (:func:`read_checkpoint`);
    raises ``ValueError`` naming the file when it is not a good checkpoint of ``params``."""
    try:
        return read_checkpoint(read_entry(path, params), params, build)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def checkpoint_network(
    ckpt: dict[str, Any], build: Callable[[], nn.Module], path: Path, device: torch.device
) -> nn.Module:
    """``build()`` with the checkpoint's weights, ``train_history`` and ``checkpoint_path`` attached, in eval mode."""
    net = build()
    net.load_state_dict(ckpt["state_dict"])
    net.train_history = ckpt["history"]
    net.checkpoint_path = path
    return net.to(device).eval()


def cached_network(
    folder: str,
    params: Mapping[str, Any],
    build: Callable[[], nn.Module],
    train: Callable[[], dict[str, Any]],
    device: torch.device,
) -> nn.Module:
    """The network of ``params``: its checkpoint in ``cache_dir()/folder`` if good, else ``train()``'s (saved).

    ``train()`` returns a checkpoint dict (:func:`checkpoint_dict`); ``build()`` makes the untrained
    architecture the weights are loaded into. Returns :func:`checkpoint_network`'s network.
    """
    path = cache_path(folder, params, ".pt")
    ckpt = cached(path, params, train, checkpoint_bytes, lambda payload: read_checkpoint(payload, params, build))
    return checkpoint_network(ckpt, build, path, device)
